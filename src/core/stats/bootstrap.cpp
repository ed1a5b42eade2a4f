#include "core/stats/bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/stats/distributions.hpp"

namespace gpumod::stats {
namespace {

constexpr std::uint64_t k_min_resamples = 100;

double as_double(std::size_t v)
{
    return static_cast<double>(v);
}

Status check_sample(std::span<const double> values, std::string_view name)
{
    if (values.size() < 2) {
        return fail(fmt::format("{}: need at least 2 values, got {}", name, values.size()));
    }
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i])) {
            return fail(fmt::format("{}: element {} is not finite ({})", name, i, values[i]));
        }
    }
    return {};
}

Status check_options(const BootstrapOptions& options)
{
    if (auto ok = check_confidence(options.confidence, "options.confidence"); !ok) {
        return ok;
    }
    if (options.resamples < k_min_resamples) {
        return fail(fmt::format("options.resamples: must be at least {}, got {}", k_min_resamples,
                                options.resamples));
    }
    return {};
}

double mean_of(std::span<const double> values)
{
    return std::accumulate(values.begin(), values.end(), 0.0) / as_double(values.size());
}

// Sample quantile by linear interpolation between order statistics (Hyndman & Fan type 7,
// R's default); `sorted` is ascending and non-empty.
double quantile_type7(const std::vector<double>& sorted, double p)
{
    const double h = (as_double(sorted.size()) - 1.0) * p;
    const auto lo = static_cast<std::size_t>(std::floor(h));
    if (lo + 1 >= sorted.size()) {
        return sorted.back();
    }
    return sorted[lo] + (h - std::floor(h)) * (sorted[lo + 1] - sorted[lo]);
}

// Sum of cubes and sum of squares of influence values, each divided by n^3 and n^2, the
// per-sample terms of the multi-sample acceleration.
struct InfluenceSums
{
    double cubes = 0.0;
    double squares = 0.0;
};

InfluenceSums influence_sums(std::span<const double> values, double sign)
{
    const double m = mean_of(values);
    const double n = as_double(values.size());
    InfluenceSums s;
    for (const double v : values) {
        const double l = sign * (v - m);
        s.cubes += l * l * l;
        s.squares += l * l;
    }
    s.cubes /= n * n * n;
    s.squares /= n * n;
    return s;
}

// Fills the intervals of `r` from the replicates (sorted here) and the acceleration.
Status finish(BootstrapResult& r, std::vector<double>& replicates, double acceleration,
              const BootstrapOptions& options)
{
    r.resamples = options.resamples;
    r.seed = options.seed;
    r.confidence = options.confidence;
    const double mean_rep = mean_of(replicates);
    double squares = 0.0;
    for (const double v : replicates) {
        squares += (v - mean_rep) * (v - mean_rep);
    }
    r.standard_error = std::sqrt(squares / (as_double(replicates.size()) - 1.0));
    std::sort(replicates.begin(), replicates.end());
    const double alpha = (1.0 - options.confidence) / 2.0;
    r.percentile_ci =
        Interval{quantile_type7(replicates, alpha), quantile_type7(replicates, 1.0 - alpha)};

    // BCa: z0 from the share of replicates below the observed value, ties counted half, so a
    // symmetric replicate distribution gives z0 = 0 exactly.
    const auto below = static_cast<double>(
        std::lower_bound(replicates.begin(), replicates.end(), r.observed_difference) -
        replicates.begin());
    const auto not_above = static_cast<double>(
        std::upper_bound(replicates.begin(), replicates.end(), r.observed_difference) -
        replicates.begin());
    const double share = (below + not_above) / 2.0 / as_double(replicates.size());
    if (share <= 0.0 || share >= 1.0) {
        r.bca_ci.reset();
        return {};
    }
    auto z0 = normal_quantile(share);
    auto z_alpha = normal_quantile(alpha);
    if (!z0 || !z_alpha) {
        return fail("bootstrap: normal quantile failed");
    }
    const auto adjusted = [&](double z) -> Result<double> {
        const double shifted = *z0 + z;
        return normal_cdf(*z0 + shifted / (1.0 - acceleration * shifted));
    };
    auto a1 = adjusted(*z_alpha);
    auto a2 = adjusted(-*z_alpha);
    if (!a1 || !a2) {
        return fail("bootstrap: normal cdf failed");
    }
    r.bca_ci = Interval{quantile_type7(replicates, *a1), quantile_type7(replicates, *a2)};
    return {};
}

} // namespace

Result<BootstrapResult> bootstrap_mean_difference(std::span<const double> first,
                                                  std::span<const double> second,
                                                  BootstrapOptions options)
{
    if (auto ok = check_options(options); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_sample(first, "first"); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_sample(second, "second"); !ok) {
        return tl::unexpected(ok.error());
    }
    BootstrapResult r;
    r.observed_difference = mean_of(first) - mean_of(second);
    SplitMix64 rng(options.seed);
    std::vector<double> replicates(static_cast<std::size_t>(options.resamples));
    for (double& rep : replicates) {
        double sum_first = 0.0;
        for (std::size_t i = 0; i < first.size(); ++i) {
            sum_first += first[static_cast<std::size_t>(rng.uniform_below(first.size()))];
        }
        double sum_second = 0.0;
        for (std::size_t i = 0; i < second.size(); ++i) {
            sum_second += second[static_cast<std::size_t>(rng.uniform_below(second.size()))];
        }
        rep = sum_first / as_double(first.size()) - sum_second / as_double(second.size());
    }
    const InfluenceSums a = influence_sums(first, 1.0);
    const InfluenceSums b = influence_sums(second, -1.0);
    const double spread = a.squares + b.squares;
    const double acceleration =
        spread > 0.0 ? (a.cubes + b.cubes) / (6.0 * std::pow(spread, 1.5)) : 0.0;
    if (auto ok = finish(r, replicates, acceleration, options); !ok) {
        return tl::unexpected(ok.error());
    }
    return r;
}

Result<BootstrapResult> bootstrap_paired_mean_difference(std::span<const double> first,
                                                         std::span<const double> second,
                                                         BootstrapOptions options)
{
    if (auto ok = check_options(options); !ok) {
        return tl::unexpected(ok.error());
    }
    if (first.size() != second.size()) {
        return fail(fmt::format("first, second: paired samples need equal lengths, got {} and {}",
                                first.size(), second.size()));
    }
    if (auto ok = check_sample(first, "first"); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_sample(second, "second"); !ok) {
        return tl::unexpected(ok.error());
    }
    std::vector<double> diffs(first.size());
    for (std::size_t i = 0; i < first.size(); ++i) {
        diffs[i] = first[i] - second[i];
    }
    BootstrapResult r;
    r.observed_difference = mean_of(diffs);
    SplitMix64 rng(options.seed);
    std::vector<double> replicates(static_cast<std::size_t>(options.resamples));
    for (double& rep : replicates) {
        double sum = 0.0;
        for (std::size_t i = 0; i < diffs.size(); ++i) {
            sum += diffs[static_cast<std::size_t>(rng.uniform_below(diffs.size()))];
        }
        rep = sum / as_double(diffs.size());
    }
    const InfluenceSums d = influence_sums(diffs, 1.0);
    const double acceleration = d.squares > 0.0 ? d.cubes / (6.0 * std::pow(d.squares, 1.5)) : 0.0;
    if (auto ok = finish(r, replicates, acceleration, options); !ok) {
        return tl::unexpected(ok.error());
    }
    return r;
}

} // namespace gpumod::stats
