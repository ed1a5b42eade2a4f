#pragma once

// Descriptive statistics of one sample: the "Mean / Std Dev / 95% CI" columns of a report.

#include <cstddef>
#include <span>

#include "core/base/error.hpp"
#include "core/stats/common.hpp"

namespace gpumod::stats {

/// Mean, sample standard deviation and a t-based confidence interval for the mean.
struct MeanSummary
{
    std::size_t n = 0;
    double mean = 0.0;
    double sd = 0.0;             ///< sample SD, divisor n - 1
    double standard_error = 0.0; ///< sd / sqrt(n)
    double t_quantile = 0.0;     ///< t(1 - (1 - confidence) / 2, n - 1)
    double confidence = 0.95;
    Interval ci; ///< mean -/+ t_quantile * standard_error
    double min = 0.0;
    double max = 0.0;
};

/// Arithmetic mean; fails on an empty sample or a non-finite value.
Result<double> mean(std::span<const double> values);

/// Sample standard deviation with divisor n - 1 (two-pass); fails for fewer than 2 values.
Result<double> sample_sd(std::span<const double> values);

/// Mean, SD (n - 1), and the Student-t confidence interval for the mean with exact t quantiles
/// (mean -/+ t(1 - alpha/2, n - 1) * sd / sqrt(n)); needs at least 2 finite values.
Result<MeanSummary> summarize(std::span<const double> values, double confidence = 0.95);

} // namespace gpumod::stats
