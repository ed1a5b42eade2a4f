#include "core/report/report_cells.hpp"

#include <fmt/format.h>

#include "core/report/report_format.hpp"

namespace gpumod::report {

std::string or_dash(const std::string& text)
{
    return text.empty() ? std::string(k_missing) : text;
}

std::string pct(const std::optional<double>& ratio, int decimals)
{
    return or_missing(ratio, [decimals](double r) { return format_percent(r, decimals); });
}

std::string fixed(const std::optional<double>& value, int decimals)
{
    return or_missing(value, [decimals](double v) { return format_fixed(v, decimals); });
}

std::string pass_text(const PassRate& rate)
{
    if (rate.attempts == 0) {
        return k_missing;
    }
    return fmt::format("{}/{} ({})", rate.passed, rate.attempts, pct(rate.rate, 0));
}

std::string wilson_text(const PassRate& rate)
{
    return or_missing(rate.wilson,
                      [](const stats::Interval& i) { return format_percent_interval(i); });
}

std::string interval_cell(const std::optional<stats::Interval>& interval, int decimals)
{
    return or_missing(
        interval, [decimals](const stats::Interval& i) { return format_interval(i, decimals); });
}

std::string p_cell(const std::optional<double>& p)
{
    return or_missing(p, [](double v) { return format_p(v); });
}

} // namespace gpumod::report
