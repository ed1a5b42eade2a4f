#include "core/bench/summary.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <nlohmann/json.hpp>

#include "core/stats/draft_acceptance.hpp"
#include "core/stats/proportions.hpp"
#include "core/stats/summary.hpp"

namespace gpumod::bench {
namespace {

using nlohmann::ordered_json;

std::optional<stats::Interval> wilson(int passed, int trials)
{
    if (trials <= 0) {
        return std::nullopt;
    }
    auto estimate = stats::wilson_interval(
        {static_cast<std::uint64_t>(passed), static_cast<std::uint64_t>(trials)}, 0.95);
    if (!estimate) {
        return std::nullopt;
    }
    return estimate->ci;
}

ordered_json interval_json(const std::optional<stats::Interval>& interval)
{
    if (!interval) {
        return nullptr;
    }
    return ordered_json{{"low", interval->low}, {"high", interval->high}};
}

template <typename T> ordered_json optional_json(const std::optional<T>& value)
{
    if (!value) {
        return nullptr;
    }
    return *value;
}

ordered_json metric_json(const std::optional<MetricSummary>& metric)
{
    if (!metric) {
        return nullptr;
    }
    return ordered_json{{"n", metric->n},       {"median", metric->median}, {"mean", metric->mean},
                        {"min", metric->min},   {"max", metric->max}};
}

} // namespace

std::optional<MetricSummary> summarize_metric(std::vector<double> values)
{
    if (values.empty()) {
        return std::nullopt;
    }
    std::sort(values.begin(), values.end());
    MetricSummary metric;
    metric.n = values.size();
    const std::size_t middle = values.size() / 2;
    metric.median = values.size() % 2 == 1 ? values[middle]
                                           : (values[middle - 1] + values[middle]) / 2.0;
    metric.mean = std::accumulate(values.begin(), values.end(), 0.0) /
                  static_cast<double>(values.size());
    metric.min = values.front();
    metric.max = values.back();
    return metric;
}

RunSummary summarize_run(const RunRecord& run)
{
    const RunConfig& config = run.config;
    RunSummary summary;
    summary.attempts_planned =
        static_cast<std::size_t>(std::max(config.iterations, 0)) * config.level_ids.size();
    summary.attempts_recorded = run.attempts.size();

    std::map<std::string, std::size_t> level_position;
    for (std::size_t i = 0; i < config.level_ids.size(); ++i) {
        level_position[config.level_ids[i]] = i;
        LevelSummary level;
        level.level = config.level_ids[i];
        summary.levels.push_back(std::move(level));
    }
    std::map<int, IterationScore> iterations;
    std::vector<std::vector<double>> level_tokens(config.level_ids.size());
    std::vector<double> server_tps, client_tps, ttft, request_ms, tokens;
    std::vector<stats::DraftCounts> drafts;
    for (const auto& attempt : run.attempts) {
        const std::string outcome{to_string(attempt.outcome)};
        ++summary.outcomes[outcome];
        if (is_infrastructure(attempt.outcome)) {
            ++summary.infrastructure_failures;
            continue;
        }
        const auto& m = attempt.metrics;
        auto& iteration = iterations[attempt.iteration];
        iteration.iteration = attempt.iteration;
        iteration.points += attempt.points;
        iteration.possible += attempt.points_possible;
        ++iteration.levels_recorded;
        iteration.request_ms += m.request_ms;

        ++summary.scored;
        if (attempt.outcome == Outcome::pass) {
            ++summary.passed;
        }
        if (auto found = level_position.find(attempt.level); found != level_position.end()) {
            auto& level = summary.levels[found->second];
            level.points = attempt.points_possible;
            ++level.attempts;
            if (attempt.outcome == Outcome::pass) {
                ++level.passed;
            }
            ++level.outcomes[outcome];
            level_tokens[found->second].push_back(static_cast<double>(m.completion_tokens));
        }
        summary.prompt_tokens += m.prompt_tokens;
        summary.completion_tokens += m.completion_tokens;
        tokens.push_back(static_cast<double>(m.completion_tokens));
        request_ms.push_back(m.request_ms);
        summary.generation_s += m.request_ms / 1000.0;
        summary.validation_s += m.validation_ms / 1000.0;
        if (m.server_tokens_per_s) {
            server_tps.push_back(*m.server_tokens_per_s);
        }
        if (m.client_tokens_per_s) {
            client_tps.push_back(*m.client_tokens_per_s);
        }
        if (m.ttft_ms) {
            ttft.push_back(*m.ttft_ms);
        }
        if (m.draft_n && m.draft_n_accepted) {
            drafts.push_back({static_cast<std::uint64_t>(std::max<std::int64_t>(*m.draft_n, 0)),
                              static_cast<std::uint64_t>(
                                  std::max<std::int64_t>(*m.draft_n_accepted, 0))});
        }
        if (m.vram_peak_mib) {
            summary.vram_peak_mib = std::max(summary.vram_peak_mib.value_or(0.0), *m.vram_peak_mib);
        }
    }
    for (std::size_t i = 0; i < summary.levels.size(); ++i) {
        auto& level = summary.levels[i];
        if (level.attempts > 0) {
            level.pass_rate = static_cast<double>(level.passed) / level.attempts;
            level.wilson95 = wilson(level.passed, level.attempts);
            if (const auto tokens_metric = summarize_metric(level_tokens[i])) {
                level.median_completion_tokens = tokens_metric->median;
            }
        }
    }
    std::vector<double> scores;
    for (auto& [number, iteration] : iterations) {
        iteration.complete =
            iteration.levels_recorded == static_cast<int>(config.level_ids.size());
        if (iteration.complete) {
            ++summary.complete_iterations;
            scores.push_back(static_cast<double>(iteration.points));
        }
        summary.iterations.push_back(iteration);
    }
    if (!scores.empty()) {
        summary.score_mean = std::accumulate(scores.begin(), scores.end(), 0.0) /
                             static_cast<double>(scores.size());
    }
    if (scores.size() >= 2) {
        if (auto described = stats::summarize(scores, 0.95)) {
            summary.score_sd = described->sd;
            summary.score_ci95 = described->ci;
        }
    }
    summary.pass_wilson95 = wilson(summary.passed, summary.scored);
    summary.server_tokens_per_s = summarize_metric(server_tps);
    summary.client_tokens_per_s = summarize_metric(client_tps);
    summary.ttft_ms = summarize_metric(ttft);
    summary.request_ms = summarize_metric(request_ms);
    summary.completion_tokens_per_attempt = summarize_metric(tokens);
    if (!drafts.empty()) {
        if (auto acceptance = stats::draft_acceptance(drafts)) {
            summary.draft_tokens = static_cast<std::int64_t>(acceptance->total_drafted);
            summary.draft_accepted = static_cast<std::int64_t>(acceptance->total_accepted);
            if (acceptance->total_drafted > 0) {
                summary.draft_acceptance_pooled = acceptance->pooled_ratio;
                summary.draft_acceptance_mean_per_request = acceptance->mean_per_request_ratio;
            }
        }
    }
    summary.vram_idle_mib = run.environment.vram_idle_mib;
    if (run.updated_at_ms >= run.created_at_ms && run.created_at_ms > 0) {
        summary.wall_s = static_cast<double>(run.updated_at_ms - run.created_at_ms) / 1000.0;
    }
    return summary;
}

std::string encode_summary(const RunSummary& summary, int indent)
{
    ordered_json iterations = ordered_json::array();
    for (const auto& it : summary.iterations) {
        iterations.push_back({{"iteration", it.iteration},
                              {"points", it.points},
                              {"possible", it.possible},
                              {"levels_recorded", it.levels_recorded},
                              {"complete", it.complete},
                              {"request_ms", it.request_ms}});
    }
    ordered_json levels = ordered_json::array();
    for (const auto& level : summary.levels) {
        levels.push_back({{"level", level.level},
                          {"points", level.points},
                          {"attempts", level.attempts},
                          {"passed", level.passed},
                          {"pass_rate", optional_json(level.pass_rate)},
                          {"wilson95", interval_json(level.wilson95)},
                          {"outcomes", level.outcomes},
                          {"median_completion_tokens",
                           optional_json(level.median_completion_tokens)}});
    }
    ordered_json json{
        {"attempts_planned", summary.attempts_planned},
        {"attempts_recorded", summary.attempts_recorded},
        {"infrastructure_failures", summary.infrastructure_failures},
        {"complete_iterations", summary.complete_iterations},
        {"score_mean", optional_json(summary.score_mean)},
        {"score_sd", optional_json(summary.score_sd)},
        {"score_ci95_t", interval_json(summary.score_ci95)},
        {"passed", summary.passed},
        {"scored", summary.scored},
        {"pass_wilson95", interval_json(summary.pass_wilson95)},
        {"outcomes", summary.outcomes},
        {"iterations", iterations},
        {"levels", levels},
        {"prompt_tokens", summary.prompt_tokens},
        {"completion_tokens", summary.completion_tokens},
        {"server_tokens_per_s", metric_json(summary.server_tokens_per_s)},
        {"client_tokens_per_s", metric_json(summary.client_tokens_per_s)},
        {"ttft_ms", metric_json(summary.ttft_ms)},
        {"request_ms", metric_json(summary.request_ms)},
        {"completion_tokens_per_attempt", metric_json(summary.completion_tokens_per_attempt)},
        {"draft_tokens", optional_json(summary.draft_tokens)},
        {"draft_accepted", optional_json(summary.draft_accepted)},
        {"draft_acceptance_pooled", optional_json(summary.draft_acceptance_pooled)},
        {"draft_acceptance_mean_per_request",
         optional_json(summary.draft_acceptance_mean_per_request)},
        {"vram_idle_mib", optional_json(summary.vram_idle_mib)},
        {"vram_peak_mib", optional_json(summary.vram_peak_mib)},
        {"generation_s", summary.generation_s},
        {"validation_s", summary.validation_s},
        {"wall_s", optional_json(summary.wall_s)},
    };
    return json.dump(indent >= 0 ? indent : -1);
}

} // namespace gpumod::bench
