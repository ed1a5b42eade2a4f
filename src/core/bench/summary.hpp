#pragma once

// What a run adds up to: scores per iteration with a t-based interval, pass rates per level
// with Wilson intervals, outcome classes, speed, time to first token, draft acceptance (pooled
// and mean per request, labelled), VRAM. Pure: computed from the recorded attempts only, so a
// summary can always be recomputed from a result file.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/bench/run_types.hpp"
#include "core/stats/common.hpp"

namespace gpumod::bench {

/// Score of one iteration (smoke: one attempt).
struct IterationScore
{
    int iteration = 1;
    int points = 0;
    int possible = 0;
    int levels_recorded = 0;
    bool complete = false; ///< every level recorded
    double request_ms = 0; ///< sum of its requests' times (the generation wall time)
};

/// One level across iterations.
struct LevelSummary
{
    std::string level;
    int points = 0;    ///< worth
    int attempts = 0;  ///< scored attempts (infrastructure errors excluded)
    int passed = 0;
    std::optional<double> pass_rate;
    std::optional<stats::Interval> wilson95;
    std::map<std::string, int> outcomes; ///< outcome name -> count
    std::optional<double> median_completion_tokens;
};

/// Median, mean and count of a metric over the attempts that have it.
struct MetricSummary
{
    std::size_t n = 0;
    double median = 0;
    double mean = 0;
    double min = 0;
    double max = 0;
};

struct RunSummary
{
    std::size_t attempts_planned = 0;
    std::size_t attempts_recorded = 0;
    std::size_t infrastructure_failures = 0; ///< recorded infra outcomes (never scored)
    std::vector<IterationScore> iterations;  ///< every iteration with at least one record
    std::size_t complete_iterations = 0;
    /// Over complete iterations: mean, SD and a t-based 95% interval of the score.
    std::optional<double> score_mean;
    std::optional<double> score_sd;
    std::optional<stats::Interval> score_ci95;
    std::vector<LevelSummary> levels; ///< in run order
    std::map<std::string, int> outcomes;
    /// Over every scored attempt: passes / attempts with a Wilson 95% interval (smoke runs).
    int passed = 0;
    int scored = 0;
    std::optional<stats::Interval> pass_wilson95;
    std::int64_t prompt_tokens = 0;
    std::int64_t completion_tokens = 0;
    std::optional<MetricSummary> server_tokens_per_s;
    std::optional<MetricSummary> client_tokens_per_s;
    std::optional<MetricSummary> ttft_ms;
    std::optional<MetricSummary> request_ms;
    std::optional<MetricSummary> completion_tokens_per_attempt;
    /// Speculative decoding, over attempts that report draft counts.
    std::optional<std::int64_t> draft_tokens;
    std::optional<std::int64_t> draft_accepted;
    std::optional<double> draft_acceptance_pooled;           ///< sum accepted / sum drafted
    std::optional<double> draft_acceptance_mean_per_request; ///< mean of per-request ratios
    std::optional<double> vram_idle_mib;
    std::optional<double> vram_peak_mib;
    double generation_s = 0; ///< sum of request times
    double validation_s = 0; ///< sum of pytest times
    std::optional<double> wall_s; ///< run created -> last update
};

/// Summarizes a run from its recorded attempts.
RunSummary summarize_run(const RunRecord& run);

/// The summary as the result file's "summary" JSON object (stable key order, 2-space indent
/// when `indent`, else compact).
std::string encode_summary(const RunSummary& summary, int indent = 2);

/// The median of `values` (mean of the middle two for an even count); nullopt when empty.
std::optional<MetricSummary> summarize_metric(std::vector<double> values);

} // namespace gpumod::bench
