#include "core/stats/summary.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/stats/distributions.hpp"

namespace gpumod::stats {
namespace {

Status check_finite(std::span<const double> values)
{
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i])) {
            return fail(fmt::format("values: element {} is not finite ({})", i, values[i]));
        }
    }
    return {};
}

} // namespace

Result<double> mean(std::span<const double> values)
{
    if (values.empty()) {
        return fail("values: need at least 1 value for a mean, got none");
    }
    if (auto ok = check_finite(values); !ok) {
        return tl::unexpected(ok.error());
    }
    double sum = 0.0;
    for (const double v : values) {
        sum += v;
    }
    return sum / static_cast<double>(values.size());
}

Result<double> sample_sd(std::span<const double> values)
{
    if (values.size() < 2) {
        return fail(fmt::format("values: need at least 2 values for a standard deviation, got {}",
                                values.size()));
    }
    auto m = mean(values);
    if (!m) {
        return tl::unexpected(m.error());
    }
    // Two passes (deviations from the mean) instead of sum of squares: no cancellation when
    // the values are large and close together, as token rates are.
    double squares = 0.0;
    for (const double v : values) {
        squares += (v - *m) * (v - *m);
    }
    return std::sqrt(squares / static_cast<double>(values.size() - 1));
}

Result<MeanSummary> summarize(std::span<const double> values, double confidence)
{
    if (auto ok = check_confidence(confidence); !ok) {
        return tl::unexpected(ok.error());
    }
    auto sd = sample_sd(values);
    if (!sd) {
        return tl::unexpected(sd.error());
    }
    MeanSummary s;
    s.n = values.size();
    s.mean = *mean(values);
    s.sd = *sd;
    s.confidence = confidence;
    s.standard_error = s.sd / std::sqrt(static_cast<double>(s.n));
    auto t = student_t_quantile(1.0 - (1.0 - confidence) / 2.0, static_cast<double>(s.n - 1));
    if (!t) {
        return tl::unexpected(t.error());
    }
    s.t_quantile = *t;
    s.ci = Interval{s.mean - s.t_quantile * s.standard_error,
                    s.mean + s.t_quantile * s.standard_error};
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    s.min = *lo;
    s.max = *hi;
    return s;
}

} // namespace gpumod::stats
