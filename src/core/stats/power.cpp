#include "core/stats/power.hpp"

#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "core/stats/common.hpp"
#include "core/stats/distributions.hpp"

namespace gpumod::stats {
namespace {

Status check_rate(double p, std::string_view name)
{
    if (!(p >= 0.0 && p <= 1.0)) {
        return fail(fmt::format("{}: must be a proportion in [0, 1], got {}", name, p));
    }
    return {};
}

Status check_pair(double p1, double p2)
{
    if (auto ok = check_rate(p1, "p1"); !ok) {
        return ok;
    }
    if (auto ok = check_rate(p2, "p2"); !ok) {
        return ok;
    }
    if (p1 == p2) {
        return fail(fmt::format("p1, p2: must differ, both are {}", p1));
    }
    return {};
}

// Standard deviations (per sqrt(n)) of the difference under the null (pooled) and under the
// alternative.
struct Spreads
{
    double null_sd = 0.0;
    double alternative_sd = 0.0;
};

Spreads spreads(double p1, double p2)
{
    const double pbar = (p1 + p2) / 2.0;
    return Spreads{std::sqrt(2.0 * pbar * (1.0 - pbar)),
                   std::sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2))};
}

// The power formula without argument checks; z_alpha is z(1 - alpha/2).
Result<double> power_unchecked(double p1, double p2, double n, double z_alpha)
{
    const Spreads s = spreads(p1, p2);
    const double signal = std::sqrt(n) * std::abs(p1 - p2) - z_alpha * s.null_sd;
    if (s.alternative_sd <= 0.0) {
        // p1, p2 are 0 and 1: the outcome is certain under the alternative.
        return signal > 0.0 ? 1.0 : 0.0;
    }
    return normal_cdf(signal / s.alternative_sd);
}

} // namespace

Result<SampleSize> sample_size_two_proportions(double p1, double p2, double alpha, double power)
{
    if (auto ok = check_pair(p1, p2); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_open_probability(alpha, "alpha"); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_open_probability(power, "power"); !ok) {
        return tl::unexpected(ok.error());
    }
    auto z_alpha = normal_quantile(1.0 - alpha / 2.0);
    auto z_beta = normal_quantile(power);
    if (!z_alpha || !z_beta) {
        return fail("sample size: normal quantile failed");
    }
    const Spreads s = spreads(p1, p2);
    const double root = *z_alpha * s.null_sd + *z_beta * s.alternative_sd;
    SampleSize n;
    n.exact = root * root / ((p1 - p2) * (p1 - p2));
    // A hair of tolerance so that an n that is an integer in exact arithmetic is not rounded
    // up to the next one by floating-point noise.
    n.per_side = static_cast<std::uint64_t>(std::ceil(n.exact - 1e-9));
    return n;
}

Result<double> power_two_proportions(double p1, double p2, double n_per_side, double alpha)
{
    if (auto ok = check_pair(p1, p2); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_open_probability(alpha, "alpha"); !ok) {
        return tl::unexpected(ok.error());
    }
    if (!(n_per_side > 0.0) || std::isinf(n_per_side)) {
        return fail(fmt::format("n_per_side: must be positive and finite, got {}", n_per_side));
    }
    auto z_alpha = normal_quantile(1.0 - alpha / 2.0);
    if (!z_alpha) {
        return tl::unexpected(z_alpha.error());
    }
    return power_unchecked(p1, p2, n_per_side, *z_alpha);
}

Result<double> minimal_detectable_proportion(double p1, double n_per_side, double alpha,
                                             double power, Direction direction)
{
    if (auto ok = check_rate(p1, "p1"); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_open_probability(alpha, "alpha"); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_open_probability(power, "power"); !ok) {
        return tl::unexpected(ok.error());
    }
    if (!(n_per_side > 0.0) || std::isinf(n_per_side)) {
        return fail(fmt::format("n_per_side: must be positive and finite, got {}", n_per_side));
    }
    auto z_alpha = normal_quantile(1.0 - alpha / 2.0);
    if (!z_alpha) {
        return tl::unexpected(z_alpha.error());
    }
    const double limit = direction == Direction::above ? 1.0 : 0.0;
    if (p1 == limit) {
        return fail(fmt::format("p1: is {}, so nothing lies {} it", p1,
                                direction == Direction::above ? "above" : "below"));
    }
    auto at_limit = power_unchecked(p1, limit, n_per_side, *z_alpha);
    if (!at_limit) {
        return tl::unexpected(at_limit.error());
    }
    if (*at_limit < power) {
        return fail(fmt::format("n_per_side: {} attempts per side cannot reach power {} for any "
                                "pass rate {} {}",
                                n_per_side, power,
                                direction == Direction::above ? "above" : "below", p1));
    }
    // Bisection between p1 (power ~ alpha/2 < power) and the limit (power >= target); power
    // grows with the distance from p1 over this range.
    double near = p1;
    double far = limit;
    for (int i = 0; i < 200 && std::abs(far - near) > 1e-12; ++i) {
        const double mid = (near + far) / 2.0;
        auto pw = power_unchecked(p1, mid, n_per_side, *z_alpha);
        if (!pw) {
            return tl::unexpected(pw.error());
        }
        if (*pw >= power) {
            far = mid;
        } else {
            near = mid;
        }
    }
    return far;
}

} // namespace gpumod::stats
