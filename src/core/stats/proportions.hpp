#pragma once

// Pass rates: intervals for one proportion, for the difference of two, and tests that compare
// pass counts of two runs (independent or paired, one level or stratified by level).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "core/base/error.hpp"
#include "core/stats/common.hpp"

namespace gpumod::stats {

/// A proportion k/n with its confidence interval.
struct ProportionEstimate
{
    Counts counts;
    double estimate = 0.0; ///< successes / trials
    double confidence = 0.95;
    Interval ci;
};

/// Difference first - second of two independent proportions with its confidence interval.
struct ProportionDifference
{
    double difference = 0.0;
    double confidence = 0.95;
    Interval ci;
    Interval first_ci;  ///< the Wilson interval the difference interval is built from
    Interval second_ci; ///< likewise for the second proportion
};

/// Wilson score interval for successes/trials (Wilson 1927; Newcombe 1998a method 3, no
/// continuity correction). Stays inside [0, 1] and behaves at 0/n and n/n.
Result<ProportionEstimate> wilson_interval(Counts counts, double confidence = 0.95);

/// Newcombe's hybrid score interval for p1 - p2 of two independent proportions (Newcombe 1998b,
/// method 10): combines the two Wilson intervals; stays inside [-1, 1].
Result<ProportionDifference> newcombe_difference(Counts first, Counts second,
                                                 double confidence = 0.95);

/// Fisher's exact test on the 2x2 table of successes/failures of two independent groups,
/// two-sided p-value by summing every table with probability <= the observed one (relative
/// tolerance 1e-7, as R's fisher.test).
Result<double> fisher_exact_two_sided(Counts first, Counts second);

/// One stratum (e.g. one benchmark level) of a stratified comparison of two groups.
struct Stratum
{
    Counts first;
    Counts second;
};

enum class ContinuityCorrection
{
    none,
    yates, ///< subtract 1/2 from |observed - expected| (R's mantelhaen.test default)
};

/// Outcome of the Cochran-Mantel-Haenszel test.
struct CmhResult
{
    double statistic = 0.0; ///< chi-squared with 1 df
    double p_value = 1.0;
    /// Mantel-Haenszel common odds ratio (first vs second); absent when undefined (0/0, x/0).
    std::optional<double> common_odds_ratio;
    std::size_t informative_strata = 0; ///< strata with non-zero variance
    double observed = 0.0;              ///< sum of first-group successes
    double expected = 0.0;              ///< its expectation under no association
};

/// Cochran-Mantel-Haenszel chi-squared test (Mantel & Haenszel 1959) of "no difference between
/// the groups in any stratum" against a consistent difference across strata, 1 df. When no
/// stratum carries information (all pass or all fail everywhere) the statistic is 0, p is 1.
Result<CmhResult>
cochran_mantel_haenszel(std::span<const Stratum> strata,
                        ContinuityCorrection correction = ContinuityCorrection::yates);

/// Paired binary outcomes of two runs on the same items (same prompt, same seed).
struct PairedCounts
{
    std::uint64_t both = 0;        ///< passed in both runs
    std::uint64_t first_only = 0;  ///< passed in the first run only
    std::uint64_t second_only = 0; ///< passed in the second run only
    std::uint64_t neither = 0;     ///< failed in both runs
};

/// Exact McNemar test: two-sided binomial test of first_only vs second_only against p = 1/2
/// (p = min(1, 2 P(X <= min(b, c))), as R's binom.test on the discordant pairs). 1 when there
/// are no discordant pairs.
Result<double> mcnemar_exact(PairedCounts pairs);

} // namespace gpumod::stats
