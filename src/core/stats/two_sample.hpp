#pragma once

// Comparisons of two samples of scores or timings: Welch's t-test, a paired t-test, the
// Mann-Whitney U test and a permutation test on the difference of means.

#include <cstdint>
#include <span>

#include "core/base/error.hpp"
#include "core/stats/common.hpp"
#include "core/stats/random.hpp"

namespace gpumod::stats {

/// Outcome of a t-test on mean(first) - mean(second).
struct TTestResult
{
    double mean_difference = 0.0;
    double standard_error = 0.0;
    double t = 0.0;
    double df = 0.0;
    double p_value = 1.0; ///< two-sided
    double confidence = 0.95;
    Interval ci; ///< for the mean difference
};

/// Welch's unequal-variance t-test (Welch 1947) with Welch-Satterthwaite degrees of freedom and
/// exact t quantiles; each sample needs 2 or more finite values, not both constant.
Result<TTestResult> welch_t_test(std::span<const double> first, std::span<const double> second,
                                 double confidence = 0.95);

/// Paired t-test on first[i] - second[i] (equal lengths, n >= 2, differences not all equal).
Result<TTestResult> paired_t_test(std::span<const double> first, std::span<const double> second,
                                  double confidence = 0.95);

enum class MannWhitneyMethod
{
    exact,                ///< exact null distribution of U (no ties, both n < 50)
    normal_approximation, ///< with tie correction of the variance and continuity correction
};

/// Outcome of the Mann-Whitney U (Wilcoxon rank-sum) test.
struct MannWhitneyResult
{
    double u = 0.0;       ///< pairs (x, y) with x > y, ties counting 1/2; R's "W"
    double p_value = 1.0; ///< two-sided
    MannWhitneyMethod method = MannWhitneyMethod::exact;
    bool has_ties = false;
};

/// Mann-Whitney U test (Mann & Whitney 1947) of first vs second, two-sided, with R's choice of
/// method: exact when both samples have fewer than 50 values and there are no ties, otherwise
/// the normal approximation with tie and continuity correction.
Result<MannWhitneyResult> mann_whitney_u(std::span<const double> first,
                                         std::span<const double> second);

/// Settings of the permutation test.
struct PermutationOptions
{
    /// Enumerate every relabelling when there are at most this many, else sample.
    std::uint64_t max_exact = 200000;
    /// Random relabellings when sampling.
    std::uint64_t resamples = 100000;
    std::uint64_t seed = k_default_seed;
};

/// Outcome of the permutation test.
struct PermutationResult
{
    double observed_difference = 0.0; ///< mean(first) - mean(second)
    double p_value = 1.0;             ///< two-sided
    bool exact = false;               ///< every relabelling enumerated
    std::uint64_t permutations = 0;   ///< relabellings enumerated or sampled
    std::uint64_t seed = 0;           ///< seed used when sampled
};

/// Two-sided permutation test of the difference of means (Fisher-Pitman): the share of
/// relabellings of the pooled values whose |difference| is at least the observed one. Exact by
/// enumeration when feasible, else Monte Carlo with SplitMix64 and p = (1 + hits) / (1 + R)
/// (Phipson & Smyth 2010), so a sampled p is never 0.
Result<PermutationResult> permutation_test(std::span<const double> first,
                                           std::span<const double> second,
                                           PermutationOptions options = {});

} // namespace gpumod::stats
