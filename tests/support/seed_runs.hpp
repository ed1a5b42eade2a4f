#pragma once

// Benchmark runs built to match the raw counts of the seed report (a hand-written comparison of
// a Qwen3.6 UD-IQ4_XS baseline with a Qwen3.5 "heretic" Q3_K_L fine-tune): 15 iterations of
// five levels worth 25/25/25/15/10 points, L5 failed everywhere, L1 failed once (baseline) or
// four times (candidate); MTP draft totals 366,406/277,488 and 350,181/266,045; smoke runs of
// L1 with 19/20 and 18/20 passes. Used by the comparison unit tests and the golden e2e test.

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/bench/run_types.hpp"

namespace gpumod::testing::seed {

struct LevelSpec
{
    const char* id;
    int points;
};

inline const std::vector<LevelSpec>& levels()
{
    static const std::vector<LevelSpec> specs{
        {"L1", 25}, {"L2", 25}, {"L3", 25}, {"L4", 15}, {"L5", 10}};
    return specs;
}

/// Share `index` (0-based) of `total` split over `count` parts, the remainder on the last.
inline std::int64_t spread(std::int64_t total, std::int64_t count, std::int64_t index)
{
    return total / count + (index == count - 1 ? total % count : 0);
}

constexpr std::int64_t k_created_ms = 1'779'789'600'000; // 2026-05-26 10:00 UTC
constexpr const char* k_suite_hash =
    "5e1f0c2b9a7d4e3f8c6b1a0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f";

/// What is shared by every run of the seed: suite, sampler, server flags, machine.
inline bench::RunRecord common_run(std::string id, bench::RunKind kind, std::string model_file,
                                   std::uint64_t seed)
{
    bench::RunRecord run;
    run.id = std::move(id);
    run.status = bench::RunStatus::complete;
    run.created_at_ms = k_created_ms;
    auto& c = run.config;
    c.kind = kind;
    c.suite = "coding";
    c.suite_dir = "suites/coding";
    c.suite_version = 1;
    c.suite_hash = k_suite_hash;
    c.sampler =
        bench::Sampler{"thinking-coding", 0.6, 0.95, 20, 0.0, 0.0, std::nullopt, std::nullopt};
    c.max_tokens = 32768;
    c.request_timeout_s = 900;
    c.conversation = kind == bench::RunKind::run ? bench::ConversationPolicy::carry
                                                 : bench::ConversationPolicy::fresh;
    c.seed = seed;
    c.base_url = "http://127.0.0.1:7105";
    c.service = "qwen-mtp";
    run.server.build = "b9297-b0df4c0cf";
    run.server.model_path = "/models/" + model_file;
    run.server.n_ctx = 131072;
    run.server.total_slots = 1;
    run.server.chat_template_hash = "9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c";
    run.server.argv = {"llama-server",
                       "-m",
                       "/models/" + model_file,
                       "-c",
                       "131072",
                       "-ctk",
                       "q8_0",
                       "-ctv",
                       "q8_0",
                       "--spec-type",
                       "draft-mtp",
                       "--spec-draft-n-max",
                       "2",
                       "--parallel",
                       "1"};
    run.model.file_name = model_file;
    run.environment.gpumod_version = "0.1.0";
    run.environment.hostname = "bench-host";
    run.environment.gpus = {"NVIDIA GeForce RTX 4090 (24564 MiB)"};
    run.environment.driver_version = "580.65.06";
    run.environment.sandbox = "bwrap";
    return run;
}

/// A 15-iteration suite run. L1 fails (budget exhausted) in `l1_failures`, L5 always fails;
/// the server's tokens/s average `tps`; draft counts come from `drafts(iteration, level)`.
template <typename Drafts>
bench::RunRecord suite_run(std::string id, std::string model_file, std::uint64_t seed,
                           const std::set<int>& l1_failures, double tps, double wall_minutes,
                           Drafts drafts)
{
    auto run = common_run(std::move(id), bench::RunKind::run, std::move(model_file), seed);
    for (const auto& level : levels()) {
        run.config.level_ids.push_back(level.id);
    }
    run.config.iterations = 15;
    // Offsets summing to zero keep every iteration's mean tokens/s at `tps`.
    const double offsets[] = {-10.0, 10.0, 0.0, -5.0, 5.0};
    for (int iteration = 1; iteration <= 15; ++iteration) {
        for (std::size_t l = 0; l < levels().size(); ++l) {
            const auto& level = levels()[l];
            bench::AttemptRecord a;
            a.iteration = iteration;
            a.level = level.id;
            a.seed = static_cast<std::int64_t>(seed * 1000 +
                                               static_cast<std::uint64_t>(iteration) * 10 + l);
            const bool l1_fail = l == 0 && l1_failures.count(iteration) > 0;
            if (l == 4) {
                a.outcome = bench::Outcome::test_failures;
                a.detail = "2 passed, 3 failed, 0 errors, 0 skipped of 5";
            } else if (l1_fail) {
                a.outcome = bench::Outcome::budget_exhausted;
                a.detail = "finish_reason length before any code";
            } else {
                a.outcome = bench::Outcome::pass;
                a.detail = "5 passed";
            }
            a.points = a.outcome == bench::Outcome::pass ? level.points : 0;
            a.points_possible = level.points;
            a.finish_reason = l1_fail ? "length" : "stop";
            a.started_at_ms = k_created_ms + iteration * 100'000;
            auto& m = a.metrics;
            m.prompt_tokens = 900;
            m.completion_tokens = l1_fail ? 32768 : 4000;
            m.request_ms = 24'000;
            m.ttft_ms = 800;
            m.server_tokens_per_s = tps + offsets[l];
            const auto [drafted, accepted] = drafts(iteration, l);
            m.draft_n = drafted;
            m.draft_n_accepted = accepted;
            m.validation_ms = 2'000;
            run.attempts.push_back(std::move(a));
        }
    }
    run.updated_at_ms = k_created_ms + static_cast<std::int64_t>(wall_minutes * 60'000.0);
    run.finished_at_ms = run.updated_at_ms;
    return run;
}

/// The baseline: Qwen3.6 UD-IQ4_XS, 14×90 + 1×65 (L1 failed in iteration 4), 216.5 t/s,
/// drafts 366,406 / 277,488 (pooled 75.7%), spread so that the mean of per-request ratios is
/// 78.7% (the seed's "mean acceptance"): short levels accept more than the long L5.
inline bench::RunRecord baseline()
{
    auto run =
        suite_run("20260524-120000-a1b2", "Qwen3.6-35B-A3B-MTP-UD-IQ4_XS.gguf", 1111, {4}, 216.5,
                  35.0, [](int iteration, std::size_t level) {
                      if (level < 4) {
                          return std::pair<std::int64_t, std::int64_t>{1615, 1289};
                      }
                      return std::pair<std::int64_t, std::int64_t>{
                          spread(269'506, 15, iteration - 1), spread(200'148, 15, iteration - 1)};
                  });
    run.model.size_bytes = 18'200'000'000;
    run.model.sha256 = "a3f1c9e07b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e";
    run.model.parameters = 34'660'000'000;
    run.model.quantization = "IQ4_XS";
    run.model.architecture = "qwen35moe";
    run.model.name = "Qwen3.6 35B A3B";
    run.model.basename = "Qwen3.6";
    run.model.size_label = "35B-A3B";
    run.environment.vram_idle_mib = 412;
    return run;
}

/// The candidate: Qwen3.5 heretic Q3_K_L, 11×90 + 4×65 (L1 failed in iterations 1, 3, 4, 15),
/// 212.5 t/s, drafts 350,181 / 266,045 spread evenly (pooled and mean per request 76.0%).
inline bench::RunRecord candidate()
{
    auto run = suite_run("20260526-140000-c3d4",
                         "Qwen3.5-35B-A3B-uncensored-heretic-v2-Native-MTP-Preserved-Q3_K_L.gguf",
                         2222, {1, 3, 4, 15}, 212.5, 32.0, [](int iteration, std::size_t level) {
                             const std::int64_t index =
                                 (iteration - 1) * 5 + static_cast<std::int64_t>(level);
                             return std::pair<std::int64_t, std::int64_t>{
                                 spread(350'181, 75, index), spread(266'045, 75, index)};
                         });
    run.model.size_bytes = 17'400'000'000;
    run.model.sha256 = "0c2e4a6c8e0a2c4e6a8c0e2a4c6e8a0c2e4a6c8e0a2c4e6a8c0e2a4c6e8a0c2e";
    run.model.parameters = 34'660'000'000;
    run.model.quantization = "Q3_K_L";
    run.model.architecture = "qwen35moe";
    run.model.name = "Qwen3.5 35B A3B Uncensored Heretic v2";
    run.model.basename = "Qwen3.5";
    run.model.finetune = "uncensored-heretic-v2";
    run.model.size_label = "35B-A3B";
    run.environment.vram_idle_mib = 415;
    return run;
}

/// A smoke run of L1: `failures` maps attempt number -> outcome; passes take `pass_ms` and
/// `pass_tokens`, failures the given time and tokens.
inline bench::RunRecord smoke_run(std::string id, std::string model_file, std::uint64_t seed,
                                  const std::vector<std::pair<int, bench::Outcome>>& failures,
                                  double pass_ms, std::int64_t pass_tokens,
                                  const std::vector<std::pair<double, std::int64_t>>& failure_costs)
{
    auto run = common_run(std::move(id), bench::RunKind::smoke, std::move(model_file), seed);
    run.config.level_ids = {"L1"};
    run.config.iterations = 20;
    std::size_t next_failure = 0;
    for (int attempt = 1; attempt <= 20; ++attempt) {
        bench::AttemptRecord a;
        a.iteration = attempt;
        a.level = "L1";
        a.seed = static_cast<std::int64_t>(seed * 100 + static_cast<std::uint64_t>(attempt));
        a.points_possible = 25;
        a.outcome = bench::Outcome::pass;
        a.metrics.request_ms = pass_ms;
        a.metrics.completion_tokens = pass_tokens;
        for (const auto& [number, outcome] : failures) {
            if (number == attempt) {
                a.outcome = outcome;
                a.metrics.request_ms = failure_costs[next_failure].first;
                a.metrics.completion_tokens = failure_costs[next_failure].second;
                ++next_failure;
            }
        }
        a.points = a.outcome == bench::Outcome::pass ? 25 : 0;
        a.finish_reason = a.outcome == bench::Outcome::budget_exhausted ? "length" : "stop";
        run.attempts.push_back(std::move(a));
    }
    run.updated_at_ms = k_created_ms + 20 * 40'000;
    return run;
}

/// Baseline L1 smoke: 19/20, attempt 2 ran out of budget; mean 30.8 s, 4,400 tokens per pass.
inline bench::RunRecord baseline_smoke()
{
    return smoke_run("20260526-090000-e5f6", "Qwen3.6-35B-A3B-MTP-UD-IQ4_XS.gguf", 3333,
                     {{2, bench::Outcome::budget_exhausted}}, 30'000, 4'400, {{46'000, 32'768}});
}

/// Candidate L1 smoke: 18/20, attempt 1 ran out of budget, attempt 3 had a SyntaxError; mean
/// 36.0 s, 5,800 tokens per pass.
inline bench::RunRecord candidate_smoke()
{
    return smoke_run("20260526-100000-a7b8",
                     "Qwen3.5-35B-A3B-uncensored-heretic-v2-Native-MTP-Preserved-Q3_K_L.gguf", 4444,
                     {{1, bench::Outcome::budget_exhausted}, {3, bench::Outcome::syntax_error}},
                     35'000, 5'800, {{60'000, 32'768}, {30'000, 6'000}});
}

} // namespace gpumod::testing::seed
