#include "core/stats/proportions.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "core/stats/distributions.hpp"

namespace gpumod::stats {
namespace {

double as_double(std::uint64_t v)
{
    return static_cast<double>(v);
}

// Wilson bounds without validation; callers have checked counts and confidence.
Interval wilson_bounds(Counts c, double z)
{
    const double n = as_double(c.trials);
    const double p = as_double(c.successes) / n;
    const double z2 = z * z;
    const double denom = 1.0 + z2 / n;
    const double centre = (p + z2 / (2.0 * n)) / denom;
    const double half = z / denom * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
    // At 0/n and n/n one bound is exactly 0 or 1 in exact arithmetic; pin it so rounding
    // cannot put it a hair outside [0, 1] or a hair away from the point estimate.
    Interval ci{std::max(0.0, centre - half), std::min(1.0, centre + half)};
    if (c.successes == 0) {
        ci.low = 0.0;
    }
    if (c.successes == c.trials) {
        ci.high = 1.0;
    }
    return ci;
}

Result<double> two_sided_z(double confidence)
{
    if (auto ok = check_confidence(confidence); !ok) {
        return tl::unexpected(ok.error());
    }
    return normal_quantile(1.0 - (1.0 - confidence) / 2.0);
}

} // namespace

Result<ProportionEstimate> wilson_interval(Counts counts, double confidence)
{
    if (auto ok = check_counts(counts, "counts"); !ok) {
        return tl::unexpected(ok.error());
    }
    auto z = two_sided_z(confidence);
    if (!z) {
        return tl::unexpected(z.error());
    }
    ProportionEstimate e;
    e.counts = counts;
    e.estimate = as_double(counts.successes) / as_double(counts.trials);
    e.confidence = confidence;
    e.ci = wilson_bounds(counts, *z);
    return e;
}

Result<ProportionDifference> newcombe_difference(Counts first, Counts second, double confidence)
{
    if (auto ok = check_counts(first, "first"); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_counts(second, "second"); !ok) {
        return tl::unexpected(ok.error());
    }
    auto z = two_sided_z(confidence);
    if (!z) {
        return tl::unexpected(z.error());
    }
    const double p1 = as_double(first.successes) / as_double(first.trials);
    const double p2 = as_double(second.successes) / as_double(second.trials);
    const Interval w1 = wilson_bounds(first, *z);
    const Interval w2 = wilson_bounds(second, *z);
    ProportionDifference d;
    d.difference = p1 - p2;
    d.confidence = confidence;
    d.first_ci = w1;
    d.second_ci = w2;
    d.ci.low = d.difference - std::hypot(p1 - w1.low, w2.high - p2);
    d.ci.high = d.difference + std::hypot(w1.high - p1, p2 - w2.low);
    return d;
}

Result<double> fisher_exact_two_sided(Counts first, Counts second)
{
    if (auto ok = check_counts(first, "first"); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_counts(second, "second"); !ok) {
        return tl::unexpected(ok.error());
    }
    // X = successes of the first group given all margins ~ Hypergeometric.
    const std::uint64_t n1 = first.trials;
    const std::uint64_t n2 = second.trials;
    const std::uint64_t k = first.successes + second.successes;
    const std::uint64_t lo = k > n2 ? k - n2 : 0;
    const std::uint64_t hi = std::min(k, n1);
    // Log-probabilities up to a constant by the ratio recurrence
    // P(x+1)/P(x) = (k - x)(n1 - x) / ((x + 1)(n2 - k + x + 1)): no factorials, no overflow.
    std::vector<double> log_w(static_cast<std::size_t>(hi - lo + 1), 0.0);
    for (std::uint64_t x = lo; x < hi; ++x) {
        const double ratio =
            (as_double(k - x) * as_double(n1 - x)) / (as_double(x + 1) * as_double(n2 - k + x + 1));
        log_w[static_cast<std::size_t>(x - lo + 1)] =
            log_w[static_cast<std::size_t>(x - lo)] + std::log(ratio);
    }
    const double top = *std::max_element(log_w.begin(), log_w.end());
    const double observed = log_w[static_cast<std::size_t>(first.successes - lo)];
    // R's fisher.test counts tables "as or less likely" with a relative tolerance of 1e-7 so
    // that tables equal in exact arithmetic are not lost to rounding.
    const double cutoff = observed + std::log1p(1e-7);
    double total = 0.0;
    double tail = 0.0;
    for (const double w : log_w) {
        const double p = std::exp(w - top);
        total += p;
        if (w <= cutoff) {
            tail += p;
        }
    }
    return std::min(1.0, tail / total);
}

Result<CmhResult> cochran_mantel_haenszel(std::span<const Stratum> strata,
                                          ContinuityCorrection correction)
{
    if (strata.empty()) {
        return fail("strata: need at least 1 stratum, got none");
    }
    CmhResult r;
    double variance = 0.0;
    double or_numerator = 0.0;
    double or_denominator = 0.0;
    for (std::size_t i = 0; i < strata.size(); ++i) {
        const Stratum& s = strata[i];
        if (auto ok = check_counts(s.first, fmt::format("strata[{}].first", i)); !ok) {
            return tl::unexpected(ok.error());
        }
        if (auto ok = check_counts(s.second, fmt::format("strata[{}].second", i)); !ok) {
            return tl::unexpected(ok.error());
        }
        const double a = as_double(s.first.successes);
        const double b = as_double(s.first.trials - s.first.successes);
        const double c = as_double(s.second.successes);
        const double d = as_double(s.second.trials - s.second.successes);
        const double n1 = a + b;
        const double n2 = c + d;
        const double n = n1 + n2;
        const double m1 = a + c; // successes in the stratum
        const double m2 = b + d; // failures in the stratum
        r.observed += a;
        r.expected += n1 * m1 / n;
        const double v = n1 * n2 * m1 * m2 / (n * n * (n - 1.0));
        if (v > 0.0) {
            ++r.informative_strata;
        }
        variance += v;
        or_numerator += a * d / n;
        or_denominator += b * c / n;
    }
    if (or_denominator > 0.0) {
        r.common_odds_ratio = or_numerator / or_denominator;
    }
    if (variance <= 0.0) {
        // Every stratum is all-pass or all-fail: the data cannot show a difference.
        r.statistic = 0.0;
        r.p_value = 1.0;
        return r;
    }
    double delta = std::abs(r.observed - r.expected);
    if (correction == ContinuityCorrection::yates) {
        // As R: no correction when it would overshoot zero.
        delta = delta >= 0.5 ? delta - 0.5 : delta;
    }
    r.statistic = delta * delta / variance;
    auto p = chi_squared_upper_tail(r.statistic, 1.0);
    if (!p) {
        return tl::unexpected(p.error());
    }
    r.p_value = *p;
    return r;
}

Result<double> mcnemar_exact(PairedCounts pairs)
{
    const std::uint64_t discordant = pairs.first_only + pairs.second_only;
    if (discordant < pairs.first_only) {
        return fail("pairs: discordant counts overflow");
    }
    if (discordant == 0) {
        return 1.0;
    }
    const std::uint64_t smaller = std::min(pairs.first_only, pairs.second_only);
    auto tail = binomial_cdf(smaller, discordant, 0.5);
    if (!tail) {
        return tl::unexpected(tail.error());
    }
    return std::min(1.0, 2.0 * *tail);
}

} // namespace gpumod::stats
