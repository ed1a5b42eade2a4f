#pragma once

// How report numbers are written, shared by the verdict sentences and every renderer
// (Markdown, HTML), so one number reads the same everywhere. Pure.

#include <cstdint>
#include <optional>
#include <string>

#include "core/stats/common.hpp"

namespace gpumod::report {

/// Placeholder for a number that was not recorded or could not be computed.
inline constexpr const char* k_missing = "-";

/// A p-value: "1.00", "0.33", "0.003", "<0.001".
std::string format_p(double p);

/// A ratio as a percentage: 0.9 -> "90.0%" (`decimals` after the point).
std::string format_percent(double ratio, int decimals = 1);

/// An interval of ratios as percentages: "[69.9%, 97.2%]".
std::string format_percent_interval(const stats::Interval& interval, int decimals = 1);

/// A difference of ratios in percentage points with its sign: 0.0024 -> "+0.2 pp".
std::string format_pp(double difference, int decimals = 1);

/// A number with a fixed number of decimals: "88.3".
std::string format_fixed(double value, int decimals = 1);

/// A number with an explicit sign: "+4.9", "-5.0", "0.0".
std::string format_signed(double value, int decimals = 1);

/// An interval: "[84.8, 91.9]".
std::string format_interval(const stats::Interval& interval, int decimals = 1);

/// An integer with thousands separators: 366406 -> "366,406".
std::string format_count(std::int64_t value);

/// A duration for people: "30.8 s", "35.0 min", "2.50 h".
std::string format_elapsed(double seconds);

/// A file size in decimal gigabytes as model cards write it: "18.2 GB" ("512.0 MB" below 1 GB).
std::string format_size(std::int64_t bytes);

/// A parameter count: "34.7 B", "596.0 M", "12,345".
std::string format_parameters(std::int64_t parameters);

/// `value` formatted by `format`, or k_missing.
template <typename T, typename F> std::string or_missing(const std::optional<T>& value, F format)
{
    return value ? format(*value) : std::string(k_missing);
}

} // namespace gpumod::report
