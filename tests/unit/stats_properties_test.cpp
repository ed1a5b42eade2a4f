// Properties every interval and test must have whatever the data: checked on random inputs.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <vector>

#include "core/stats/bootstrap.hpp"
#include "core/stats/proportions.hpp"
#include "core/stats/summary.hpp"
#include "core/stats/two_sample.hpp"

namespace gpumod::stats {
namespace {

constexpr double k_tol = 1e-12;

Counts draw_counts()
{
    const auto trials = *rc::gen::inRange<std::uint64_t>(1, 500);
    const auto successes = *rc::gen::inRange<std::uint64_t>(0, trials + 1);
    return Counts{successes, trials};
}

std::vector<double> draw_scores(std::size_t min_size)
{
    // Scores as a benchmark produces them: a few distinct values, many ties.
    const auto size = *rc::gen::inRange<std::size_t>(min_size, 25);
    return *rc::gen::container<std::vector<double>>(
        size, rc::gen::map(rc::gen::inRange(0, 21), [](int v) { return 5.0 * v; }));
}

RC_GTEST_PROP(StatsProperties, WilsonContainsEstimateAndWidensWithConfidence, ())
{
    const Counts c = draw_counts();
    const auto w90 = wilson_interval(c, 0.90);
    const auto w95 = wilson_interval(c, 0.95);
    const auto w99 = wilson_interval(c, 0.99);
    RC_ASSERT(w90 && w95 && w99);
    RC_ASSERT(w95->ci.low <= w95->estimate + k_tol && w95->estimate <= w95->ci.high + k_tol);
    RC_ASSERT(0.0 <= w95->ci.low && w95->ci.high <= 1.0);
    RC_ASSERT(w99->ci.low <= w95->ci.low + k_tol && w95->ci.low <= w90->ci.low + k_tol);
    RC_ASSERT(w99->ci.high + k_tol >= w95->ci.high && w95->ci.high + k_tol >= w90->ci.high);
}

RC_GTEST_PROP(StatsProperties, WilsonIsSymmetricUnderSwappingPassAndFail, ())
{
    const Counts c = draw_counts();
    const auto w = wilson_interval(c);
    const auto mirrored = wilson_interval({c.trials - c.successes, c.trials});
    RC_ASSERT(w && mirrored);
    RC_ASSERT(std::abs(w->ci.low - (1.0 - mirrored->ci.high)) < 1e-9);
    RC_ASSERT(std::abs(w->ci.high - (1.0 - mirrored->ci.low)) < 1e-9);
}

RC_GTEST_PROP(StatsProperties, NewcombeContainsDifferenceAndIsAntisymmetric, ())
{
    const Counts a = draw_counts();
    const Counts b = draw_counts();
    const auto d = newcombe_difference(a, b);
    const auto swapped = newcombe_difference(b, a);
    const auto wide = newcombe_difference(a, b, 0.99);
    RC_ASSERT(d && swapped && wide);
    RC_ASSERT(d->ci.contains(d->difference) || std::abs(d->ci.low - d->difference) < k_tol ||
              std::abs(d->ci.high - d->difference) < k_tol);
    RC_ASSERT(-1.0 - k_tol <= d->ci.low && d->ci.high <= 1.0 + k_tol);
    RC_ASSERT(std::abs(d->ci.low + swapped->ci.high) < 1e-9);
    RC_ASSERT(std::abs(d->ci.high + swapped->ci.low) < 1e-9);
    RC_ASSERT(wide->ci.low <= d->ci.low + k_tol && wide->ci.high + k_tol >= d->ci.high);
}

RC_GTEST_PROP(StatsProperties, FisherIsAProbabilityAndSymmetric, ())
{
    const Counts a = draw_counts();
    const Counts b = draw_counts();
    const auto p = fisher_exact_two_sided(a, b);
    const auto swapped = fisher_exact_two_sided(b, a);
    RC_ASSERT(p && swapped);
    RC_ASSERT(0.0 < *p && *p <= 1.0);
    RC_ASSERT(std::abs(*p - *swapped) < 1e-9);
    RC_ASSERT(*fisher_exact_two_sided(a, a) > 1.0 - 1e-9);
}

RC_GTEST_PROP(StatsProperties, CmhAndMcNemarPValuesAreProbabilities, ())
{
    std::vector<Stratum> strata(*rc::gen::inRange<std::size_t>(1, 6));
    for (auto& s : strata) {
        s = Stratum{draw_counts(), draw_counts()};
    }
    const auto cmh = cochran_mantel_haenszel(strata);
    RC_ASSERT(cmh);
    RC_ASSERT(0.0 <= cmh->p_value && cmh->p_value <= 1.0);
    RC_ASSERT(cmh->statistic >= 0.0);
    const PairedCounts pairs{
        *rc::gen::inRange<std::uint64_t>(0, 100), *rc::gen::inRange<std::uint64_t>(0, 100),
        *rc::gen::inRange<std::uint64_t>(0, 100), *rc::gen::inRange<std::uint64_t>(0, 100)};
    const auto p = mcnemar_exact(pairs);
    RC_ASSERT(p);
    RC_ASSERT(0.0 < *p && *p <= 1.0);
}

RC_GTEST_PROP(StatsProperties, MeanIntervalContainsMeanAndWidens, ())
{
    const auto values = draw_scores(2);
    const auto s95 = summarize(values, 0.95);
    const auto s99 = summarize(values, 0.99);
    RC_ASSERT(s95 && s99);
    RC_ASSERT(s95->ci.low <= s95->mean + k_tol && s95->mean <= s95->ci.high + k_tol);
    RC_ASSERT(s99->ci.low <= s95->ci.low + k_tol && s99->ci.high + k_tol >= s95->ci.high);
    RC_ASSERT(std::abs((s95->mean - s95->ci.low) - (s95->ci.high - s95->mean)) < 1e-9);
}

RC_GTEST_PROP(StatsProperties, TwoSampleTestsGiveProbabilities, ())
{
    const auto a = draw_scores(2);
    const auto b = draw_scores(2);
    const auto mw = mann_whitney_u(a, b);
    RC_ASSERT(mw);
    RC_ASSERT(0.0 <= mw->p_value && mw->p_value <= 1.0);
    const auto mw_swapped = mann_whitney_u(b, a);
    RC_ASSERT(mw_swapped);
    RC_ASSERT(std::abs(mw->p_value - mw_swapped->p_value) < 1e-9);
    PermutationOptions options;
    options.max_exact = 2000;
    options.resamples = 500;
    const auto perm = permutation_test(a, b, options);
    RC_ASSERT(perm);
    RC_ASSERT(0.0 < perm->p_value && perm->p_value <= 1.0);
    const auto welch = welch_t_test(a, b);
    if (welch) { // both samples constant is a reported error, not a property violation
        RC_ASSERT(0.0 <= welch->p_value && welch->p_value <= 1.0);
        RC_ASSERT(welch->ci.contains(welch->mean_difference));
    }
}

RC_GTEST_PROP(StatsProperties, BootstrapIsDeterministicAndShiftEquivariant, ())
{
    const auto a = draw_scores(2);
    const auto b = draw_scores(2);
    BootstrapOptions options;
    options.resamples = 200;
    options.seed = *rc::gen::arbitrary<std::uint64_t>();
    const auto first = bootstrap_mean_difference(a, b, options);
    const auto again = bootstrap_mean_difference(a, b, options);
    RC_ASSERT(first && again);
    RC_ASSERT(first->percentile_ci.low == again->percentile_ci.low);
    RC_ASSERT(first->percentile_ci.high == again->percentile_ci.high);
    RC_ASSERT(first->percentile_ci.low <= first->percentile_ci.high);
    // Adding 10 to every first-run score moves the interval by 10 and changes nothing else.
    std::vector<double> shifted = a;
    for (double& v : shifted) {
        v += 10.0;
    }
    const auto moved = bootstrap_mean_difference(shifted, b, options);
    RC_ASSERT(moved);
    RC_ASSERT(std::abs(moved->percentile_ci.low - first->percentile_ci.low - 10.0) < 1e-9);
    RC_ASSERT(std::abs(moved->percentile_ci.high - first->percentile_ci.high - 10.0) < 1e-9);
}

} // namespace
} // namespace gpumod::stats
