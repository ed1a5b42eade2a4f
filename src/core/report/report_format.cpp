#include "core/report/report_format.hpp"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace gpumod::report {
namespace {

/// fmt prints -0.0 as "-0.0"; a report should not show a sign on nothing.
double no_negative_zero(double value, int decimals)
{
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) == 0.0 ? 0.0 : value;
}

} // namespace

std::string format_p(double p)
{
    if (std::isnan(p)) {
        return k_missing;
    }
    if (p < 0.001) {
        return "<0.001";
    }
    if (p < 0.01) {
        return fmt::format("{:.3f}", p);
    }
    return fmt::format("{:.2f}", p);
}

std::string format_percent(double ratio, int decimals)
{
    return fmt::format("{:.{}f}%", no_negative_zero(100.0 * ratio, decimals), decimals);
}

std::string format_percent_interval(const stats::Interval& interval, int decimals)
{
    return fmt::format("[{}, {}]", format_percent(interval.low, decimals),
                       format_percent(interval.high, decimals));
}

std::string format_pp(double difference, int decimals)
{
    return format_signed(100.0 * difference, decimals) + " pp";
}

std::string format_fixed(double value, int decimals)
{
    return fmt::format("{:.{}f}", no_negative_zero(value, decimals), decimals);
}

std::string format_signed(double value, int decimals)
{
    const double shown = no_negative_zero(value, decimals);
    if (shown == 0.0) {
        return fmt::format("{:.{}f}", 0.0, decimals);
    }
    return fmt::format("{:+.{}f}", shown, decimals);
}

std::string format_interval(const stats::Interval& interval, int decimals)
{
    return fmt::format("[{}, {}]", format_fixed(interval.low, decimals),
                       format_fixed(interval.high, decimals));
}

std::string format_count(std::int64_t value)
{
    // -(INT64_MIN) overflows; the magnitude is taken in unsigned arithmetic.
    const std::uint64_t magnitude = value < 0 ? static_cast<std::uint64_t>(-(value + 1)) + 1U
                                              : static_cast<std::uint64_t>(value);
    const std::string digits = std::to_string(magnitude);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) {
            out.push_back(',');
        }
        out.push_back(digits[i]);
    }
    return value < 0 ? "-" + out : out;
}

std::string format_elapsed(double seconds)
{
    if (std::isnan(seconds)) {
        return k_missing;
    }
    if (std::abs(seconds) < 120.0) {
        return fmt::format("{} s", format_fixed(seconds, 1));
    }
    if (std::abs(seconds) < 7200.0) {
        return fmt::format("{} min", format_fixed(seconds / 60.0, 1));
    }
    return fmt::format("{} h", format_fixed(seconds / 3600.0, 2));
}

std::string format_size(std::int64_t bytes)
{
    const double value = static_cast<double>(bytes);
    if (value >= 1e9) {
        return fmt::format("{:.1f} GB", value / 1e9);
    }
    if (value >= 1e6) {
        return fmt::format("{:.1f} MB", value / 1e6);
    }
    return fmt::format("{} bytes", format_count(bytes));
}

std::string format_parameters(std::int64_t parameters)
{
    const double value = static_cast<double>(parameters);
    if (value >= 1e9) {
        return fmt::format("{:.1f} B", value / 1e9);
    }
    if (value >= 1e6) {
        return fmt::format("{:.1f} M", value / 1e6);
    }
    return format_count(parameters);
}

} // namespace gpumod::report
