#include "core/report/svg_chart.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>

#include <fmt/format.h>

#include "core/report/xml_text.hpp"

namespace gpumod::report {
namespace {

// Layout in viewBox units (the SVG scales to its container; text stays proportional).
constexpr double k_font_size = 12.0;
constexpr double k_title_size = 14.0;
// Average advance of a code point at 12px in a sans-serif font; used to fit labels, so a bit
// generous rather than too small.
constexpr double k_char_width = 7.0;
constexpr double k_title_band = 30.0;
constexpr double k_legend_line = 18.0;
constexpr double k_margin_right = 16.0;
constexpr double k_axis_band = 44.0; // tick labels plus the axis label under the plot
constexpr double k_min_bar = 1.5;    // drawn height of a bar at the baseline
// Beyond this the axis arithmetic (high - low, rounding to steps) would overflow; such values
// are drawn at the edge of the plot and their tooltips still tell the number.
constexpr double k_axis_limit = 1e300;

// Okabe & Ito (2008), "Color Universal Design": blue and orange first, the pair that stays
// apart under protanopia, deuteranopia and tritanopia.
constexpr std::array<std::string_view, 8> k_palette{
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
};

/// A coordinate with one decimal; "-0.0" would differ from "0.0" for the same picture.
std::string coord(double value)
{
    std::string text = fmt::format("{:.1f}", value);
    if (text == "-0.0") {
        text = "0.0";
    }
    return text;
}

bool usable(const std::optional<double>& value)
{
    return value.has_value() && std::isfinite(*value);
}

bool usable(const std::optional<ChartInterval>& interval)
{
    return interval.has_value() && std::isfinite(interval->low) && std::isfinite(interval->high);
}

/// Code points in `text` (continuation bytes are not counted).
std::size_t code_points(std::string_view text)
{
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
    }));
}

/// The first `count` code points of `text`.
std::string_view prefix_code_points(std::string_view text, std::size_t count)
{
    std::size_t seen = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if ((static_cast<unsigned char>(text[i]) & 0xC0U) != 0x80U) {
            if (seen == count) {
                return text.substr(0, i);
            }
            ++seen;
        }
    }
    return text;
}

double text_width(std::string_view text)
{
    return static_cast<double>(code_points(text)) * k_char_width;
}

/// A <text> element; when `text` is wider than `max_width` it is cut with an ellipsis and the
/// whole text becomes its tooltip, so nothing is lost.
std::string text_element(double x, double y, std::string_view text, std::string_view attributes,
                         double max_width = 1e9)
{
    std::string shown(text);
    std::string tooltip;
    if (text_width(text) > max_width) {
        const auto fits = static_cast<std::size_t>(std::max(1.0, max_width / k_char_width));
        shown = std::string(prefix_code_points(text, fits > 1 ? fits - 1 : 1)) + "\u2026";
        tooltip = "<title>" + escape_xml(text) + "</title>";
    }
    return fmt::format("<text x=\"{}\" y=\"{}\"{}{}>{}{}</text>\n", coord(x), coord(y),
                       attributes.empty() ? "" : " ", attributes, tooltip, escape_xml(shown));
}

/// Axis range and tick step: round numbers that cover the data, unless the caller fixed an end.
struct Scale
{
    double low = 0.0;
    double high = 1.0;
    double step = 0.2;
    int tick_decimals = 1;

    /// Ticks from the first multiple of the step at or above `low` up to `high`.
    [[nodiscard]] std::vector<double> ticks() const
    {
        std::vector<double> out;
        const double first = std::ceil(low / step - 1e-9);
        for (int k = 0; k < 100; ++k) {
            const double tick = (first + k) * step;
            if (tick > high + step * 1e-9) {
                break;
            }
            out.push_back(tick);
        }
        return out;
    }

    /// Position of `value` between `from` (at low) and `to` (at high), clamped to the axis.
    [[nodiscard]] double map(double value, double from, double to) const
    {
        double t = (value - low) / (high - low);
        if (std::isnan(t)) {
            t = 0.5; // an overflowed sum (a mean of +-1e308 values): anything but "nan"
        }
        t = std::clamp(t, 0.0, 1.0);
        return from + t * (to - from);
    }
};

/// 1, 2 or 5 times a power of ten, the smallest at or above `raw`.
double nice_step(double raw)
{
    if (!(raw > 0.0) || !std::isfinite(raw)) {
        return 1.0;
    }
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double fraction = raw / magnitude;
    double nice = 10.0;
    if (fraction <= 1.0 + 1e-9) {
        nice = 1.0;
    } else if (fraction <= 2.0 + 1e-9) {
        nice = 2.0;
    } else if (fraction <= 5.0 + 1e-9) {
        nice = 5.0;
    }
    return nice * magnitude;
}

/// A scale over [data_low, data_high] (may be empty: data_low > data_high) with optional fixed
/// ends; a single value gets room around it so its mark is not on the frame.
Scale make_scale(double data_low, double data_high, std::optional<double> fixed_low,
                 std::optional<double> fixed_high)
{
    if (data_low > data_high) {
        data_low = 0.0;
        data_high = 1.0;
    }
    const auto limited = [](double v) { return std::clamp(v, -k_axis_limit, k_axis_limit); };
    const bool fix_low = usable(fixed_low);
    const bool fix_high = usable(fixed_high);
    double low = limited(fix_low ? *fixed_low : data_low);
    double high = limited(fix_high ? *fixed_high : data_high);
    if (!(high > low)) {
        const double pad = low == 0.0 ? 1.0 : std::abs(low) * 0.1;
        if (fix_low == fix_high && low == 0.0) {
            high = 1.0; // all zero (or a contradictory fixed range at zero): show 0..1
        } else if (fix_low && !fix_high) {
            high = low + pad;
        } else if (fix_high && !fix_low) {
            low = high - pad;
        } else if (!fix_low) {
            low -= pad;
            high += pad;
        } else {
            high = low + pad; // contradictory fixed range: keep the floor
        }
    }
    Scale scale;
    scale.step = nice_step((high - low) / 5.0);
    scale.low = fix_low ? low : std::floor(low / scale.step + 1e-9) * scale.step;
    scale.high = fix_high ? high : std::ceil(high / scale.step - 1e-9) * scale.step;
    if (!(scale.high > scale.low)) {
        scale.high = scale.low + scale.step;
    }
    scale.tick_decimals =
        scale.step >= 1.0 ? 0 : static_cast<int>(std::ceil(-std::log10(scale.step) - 1e-9));
    return scale;
}

/// Running minimum and maximum of the finite values seen.
struct Extent
{
    double low = 1.0;
    double high = 0.0; // low > high: nothing seen yet

    void add(double value)
    {
        if (!std::isfinite(value)) {
            return;
        }
        if (low > high) {
            low = value;
            high = value;
            return;
        }
        low = std::min(low, value);
        high = std::max(high, value);
    }
    [[nodiscard]] bool empty() const { return low > high; }
};

std::string with_unit(double value, const ChartNumberFormat& format)
{
    return format_chart_number(value, format.decimals) + format.unit;
}

std::string interval_text(const ChartInterval& interval, const ChartNumberFormat& format)
{
    // The unit is on the value already; repeating it inside the brackets only adds noise.
    return fmt::format("[{}, {}]", format_chart_number(interval.low, format.decimals),
                       format_chart_number(interval.high, format.decimals));
}

/// Opening tag, tooltip title and visible title shared by every chart.
std::string open_svg(std::string_view title, double height)
{
    std::string out = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {:.0f} {:.0f}\" width=\"100%\" "
        "role=\"img\" class=\"chart\" font-family=\"system-ui, sans-serif\" "
        "font-size=\"{:.0f}\">\n",
        k_chart_width, std::ceil(height), k_font_size);
    out += "<title>" + escape_xml(title) + "</title>\n";
    out += text_element(8.0, 20.0, title,
                        fmt::format("class=\"chart-title\" font-size=\"{}\" font-weight=\"600\" "
                                    "fill=\"currentColor\"",
                                    coord(k_title_size)),
                        k_chart_width - 16.0);
    return out;
}

/// Legend entries laid out in rows from `left`; returns the markup and the height it takes.
std::pair<std::string, double> legend(const std::vector<std::string>& names, double left,
                                      double top)
{
    if (names.empty()) {
        return {"", 0.0};
    }
    std::string out = "<g class=\"legend\">\n";
    double x = left;
    double y = top + 12.0;
    // An entry may use a whole line: a long model name wraps to its own line before it is cut.
    const double max_label = k_chart_width - k_margin_right - left - 32.0;
    for (std::size_t i = 0; i < names.size(); ++i) {
        const double width = 14.0 + std::min(text_width(names[i]), max_label) + 18.0;
        if (x > left && x + width > k_chart_width - k_margin_right) {
            x = left;
            y += k_legend_line;
        }
        out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>\n",
                           coord(x), coord(y - 9.0), series_colour(i));
        out += text_element(x + 14.0, y, names[i], "fill=\"currentColor\"", max_label);
        x += width;
    }
    out += "</g>\n";
    return {out, y - top + 8.0};
}

/// The plot frame (invisible; it names the area marks must stay in) and horizontal gridlines
/// with labels for a vertical value axis.
std::string value_axis_y(const Scale& scale, double left, double top, double width, double height,
                         const ChartNumberFormat& format, std::string_view label)
{
    std::string out = fmt::format(
        "<rect class=\"plot-area\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\"/>\n",
        coord(left), coord(top), coord(width), coord(height));
    out += "<g class=\"axis axis-y\">\n";
    // A long unit (" tok/s") on every tick crowds the axis; the axis label carries it.
    const std::string tick_unit = code_points(format.unit) <= 1 ? format.unit : "";
    for (const double tick : scale.ticks()) {
        const double y = scale.map(tick, top + height, top);
        out += fmt::format("<line class=\"grid\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" "
                           "stroke=\"currentColor\" stroke-opacity=\"0.15\"/>\n",
                           coord(left), coord(y), coord(left + width), coord(y));
        out += text_element(left - 6.0, y + 4.0,
                            format_chart_number(tick, scale.tick_decimals) + tick_unit,
                            "text-anchor=\"end\" fill=\"currentColor\"");
    }
    out +=
        fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"currentColor\"/>\n",
                    coord(left), coord(top), coord(top + height));
    if (!label.empty()) {
        const double cx = 14.0;
        const double cy = top + height / 2.0;
        out += text_element(cx, cy, label,
                            fmt::format("text-anchor=\"middle\" fill=\"currentColor\" "
                                        "transform=\"rotate(-90 {} {})\"",
                                        coord(cx), coord(cy)),
                            height);
    }
    out += "</g>\n";
    return out;
}

/// The plot frame, vertical gridlines and labels for a horizontal value axis under the plot.
std::string value_axis_x(const Scale& scale, double left, double top, double width, double height,
                         const ChartNumberFormat& format, std::string_view label)
{
    std::string out = fmt::format(
        "<rect class=\"plot-area\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\"/>\n",
        coord(left), coord(top), coord(width), coord(height));
    out += "<g class=\"axis axis-x\">\n";
    const double bottom = top + height;
    // A long unit (" tok/s") on every tick crowds the axis; the axis label carries it.
    const std::string tick_unit = code_points(format.unit) <= 1 ? format.unit : "";
    for (const double tick : scale.ticks()) {
        const double x = scale.map(tick, left, left + width);
        out += fmt::format("<line class=\"grid\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" "
                           "stroke=\"currentColor\" stroke-opacity=\"0.15\"/>\n",
                           coord(x), coord(top), coord(x), coord(bottom));
        out += text_element(x, bottom + 16.0,
                            format_chart_number(tick, scale.tick_decimals) + tick_unit,
                            "text-anchor=\"middle\" fill=\"currentColor\"");
    }
    out +=
        fmt::format("<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"currentColor\"/>\n",
                    coord(left), coord(left + width), coord(bottom));
    if (!label.empty()) {
        out += text_element(left + width / 2.0, bottom + 36.0, label,
                            "text-anchor=\"middle\" fill=\"currentColor\"", width);
    }
    out += "</g>\n";
    return out;
}

/// A chart that has nothing to draw still says so, under its title.
std::string empty_chart(std::string_view title)
{
    const double height = 70.0;
    std::string out = open_svg(title, height);
    out += text_element(k_chart_width / 2.0, 50.0, "no data",
                        "class=\"empty\" text-anchor=\"middle\" fill=\"currentColor\" "
                        "fill-opacity=\"0.7\"");
    out += "</svg>\n";
    return out;
}

/// Vertical whisker with caps from `low` to `high` (already in pixels) at x.
std::string vertical_interval(double x, double y_low, double y_high, double cap)
{
    return fmt::format("<line class=\"interval\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" "
                       "stroke=\"currentColor\" stroke-width=\"1.5\"/>\n"
                       "<line class=\"interval-cap\" x1=\"{3}\" y1=\"{1}\" x2=\"{4}\" y2=\"{1}\" "
                       "stroke=\"currentColor\" stroke-width=\"1.5\"/>\n"
                       "<line class=\"interval-cap\" x1=\"{3}\" y1=\"{2}\" x2=\"{4}\" y2=\"{2}\" "
                       "stroke=\"currentColor\" stroke-width=\"1.5\"/>\n",
                       coord(x), coord(y_high), coord(y_low), coord(x - cap / 2.0),
                       coord(x + cap / 2.0));
}

/// Horizontal whisker with caps from `x_low` to `x_high` (pixels) at y.
std::string horizontal_interval(double y, double x_low, double x_high, double cap)
{
    return fmt::format("<line class=\"interval\" x1=\"{1}\" y1=\"{0}\" x2=\"{2}\" y2=\"{0}\" "
                       "stroke=\"currentColor\" stroke-width=\"1.5\"/>\n"
                       "<line class=\"interval-cap\" x1=\"{1}\" y1=\"{3}\" x2=\"{1}\" y2=\"{4}\" "
                       "stroke=\"currentColor\" stroke-width=\"1.5\"/>\n"
                       "<line class=\"interval-cap\" x1=\"{2}\" y1=\"{3}\" x2=\"{2}\" y2=\"{4}\" "
                       "stroke=\"currentColor\" stroke-width=\"1.5\"/>\n",
                       coord(y), coord(x_low), coord(x_high), coord(y - cap / 2.0),
                       coord(y + cap / 2.0));
}

} // namespace

std::string_view series_colour(std::size_t index)
{
    return k_palette[index % k_palette.size()];
}

std::string format_chart_number(double value, int decimals)
{
    if (!std::isfinite(value)) {
        return "n/a";
    }
    std::string text = fmt::format("{:.{}f}", value, std::clamp(decimals, 0, 12));
    if (text.front() == '-' && text.find_first_not_of("-0.") == std::string::npos) {
        text.erase(0, 1);
    }
    return text;
}

std::string render_grouped_bar_chart(const GroupedBarChart& chart)
{
    if (chart.groups.empty() || chart.series.empty()) {
        return empty_chart(chart.title);
    }
    std::vector<std::string> names;
    Extent extent;
    extent.add(0.0); // bars grow from zero
    for (const auto& series : chart.series) {
        names.push_back(series.name);
        for (const auto& bar : series.bars) {
            if (usable(bar.value)) {
                extent.add(*bar.value);
            }
            if (usable(bar.interval)) {
                extent.add(bar.interval->low);
                extent.add(bar.interval->high);
            }
        }
    }
    const Scale scale = make_scale(extent.low, extent.high, chart.y_min, chart.y_max);

    const double left = 64.0;
    auto [legend_markup, legend_height] = legend(names, left, k_title_band);
    const double top = k_title_band + legend_height + 8.0;
    const double plot_width = k_chart_width - left - k_margin_right;
    const double plot_height = 220.0;
    const double height = top + plot_height + k_axis_band - 8.0;

    std::string out = open_svg(chart.title, height);
    out += legend_markup;
    out += value_axis_y(scale, left, top, plot_width, plot_height, chart.format, chart.y_label);

    const double bottom = top + plot_height;
    const double base_y = scale.map(std::clamp(0.0, scale.low, scale.high), bottom, top);
    const auto group_count = static_cast<double>(chart.groups.size());
    const auto series_count = static_cast<double>(chart.series.size());
    const double group_width = plot_width / group_count;
    const double cluster = std::min(group_width * 0.8, series_count * 56.0);
    const double slot = cluster / series_count;

    out += "<g class=\"bars\">\n";
    for (std::size_t g = 0; g < chart.groups.size(); ++g) {
        const double group_left = left + static_cast<double>(g) * group_width;
        for (std::size_t s = 0; s < chart.series.size(); ++s) {
            const auto& series = chart.series[s];
            const ChartBar missing;
            const ChartBar& bar = g < series.bars.size() ? series.bars[g] : missing;
            const double slot_left =
                group_left + (group_width - cluster) / 2.0 + static_cast<double>(s) * slot;
            const double centre = slot_left + slot / 2.0;
            std::string tip = fmt::format("{} \u00b7 {}: ", series.name, chart.groups[g]);
            if (!usable(bar.value)) {
                tip += "n/a";
                if (!bar.note.empty()) {
                    tip += " \u2014 " + bar.note;
                }
                out += fmt::format("<g class=\"bar-missing\"><title>{}</title>\n", escape_xml(tip));
                out += text_element(centre, base_y - 4.0, "n/a",
                                    "text-anchor=\"middle\" font-size=\"10\" fill=\"currentColor\" "
                                    "fill-opacity=\"0.7\"");
                out += "</g>\n";
                continue;
            }
            tip += with_unit(*bar.value, chart.format);
            if (usable(bar.interval)) {
                tip += " " + interval_text(*bar.interval, chart.format);
            }
            if (!bar.note.empty()) {
                tip += " \u2014 " + bar.note;
            }
            // A bar at the baseline (0%) keeps a hairline so its colour still shows which
            // series it is; it grows away from the baseline, inside the plot.
            double value_y = scale.map(*bar.value, bottom, top);
            if (std::abs(base_y - value_y) < k_min_bar) {
                value_y = base_y > top + k_min_bar ? base_y - k_min_bar : base_y + k_min_bar;
            }
            out += fmt::format("<g class=\"bar-group\"><title>{}</title>\n", escape_xml(tip));
            out +=
                fmt::format("<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
                            "fill=\"{}\"/>\n",
                            coord(slot_left + slot * 0.1), coord(std::min(value_y, base_y)),
                            coord(slot * 0.8), coord(std::abs(base_y - value_y)), series_colour(s));
            if (usable(bar.interval)) {
                out += vertical_interval(centre, scale.map(bar.interval->low, bottom, top),
                                         scale.map(bar.interval->high, bottom, top), slot * 0.4);
            }
            out += "</g>\n";
        }
        out += text_element(group_left + group_width / 2.0, bottom + 18.0, chart.groups[g],
                            "class=\"group-label\" text-anchor=\"middle\" fill=\"currentColor\"",
                            group_width - 4.0);
    }
    out += "</g>\n";
    out += fmt::format("<line class=\"baseline\" x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" "
                       "stroke=\"currentColor\"/>\n",
                       coord(left), coord(left + plot_width), coord(base_y));
    out += "</svg>\n";
    return out;
}

std::string render_dot_plot(const DotPlot& chart)
{
    Extent extent;
    std::vector<std::string> names;
    for (const auto& series : chart.series) {
        names.push_back(series.name);
        for (const double value : series.values) {
            extent.add(value);
        }
    }
    if (chart.series.empty() || (extent.empty() && !(usable(chart.x_min) && usable(chart.x_max)))) {
        return empty_chart(chart.title);
    }
    const Scale scale = make_scale(extent.low, extent.high, chart.x_min, chart.x_max);
    const double bin = chart.bin_width > 0.0 && std::isfinite(chart.bin_width)
                           ? chart.bin_width
                           : nice_step((scale.high - scale.low) / 50.0);

    // Which stack position each value takes: values of one series in the same bin stack in
    // input (iteration) order, drawn at the mean of the bin's values, so equal values sit
    // exactly at their value rather than at a bin edge.
    struct Dot
    {
        std::int64_t bin = 0;
        std::size_t level = 0;
        double value = 0.0;
        std::size_t index = 0;
    };
    struct Bin
    {
        std::size_t count = 0;
        double sum = 0.0;
    };
    std::vector<std::vector<Dot>> dots(chart.series.size());
    std::vector<std::map<std::int64_t, Bin>> bins(chart.series.size());
    std::size_t tallest = 1;
    for (std::size_t s = 0; s < chart.series.size(); ++s) {
        const auto& values = chart.series[s].values;
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (!std::isfinite(values[i])) {
                continue;
            }
            const double steps = std::round((values[i] - scale.low) / bin);
            const auto key = static_cast<std::int64_t>(std::clamp(steps, -1e9, 1e9));
            Bin& slot = bins[s][key];
            dots[s].push_back(Dot{key, slot.count, values[i], i});
            ++slot.count;
            slot.sum += values[i];
            tallest = std::max(tallest, slot.count);
        }
    }

    const double radius = 4.5;
    const double lane_limit = 140.0;
    double spacing = 2.0 * radius + 1.0;
    double lane_height = std::max(36.0, static_cast<double>(tallest) * spacing + 12.0);
    if (lane_height > lane_limit) {
        lane_height = lane_limit;
        spacing = (lane_limit - 12.0) / static_cast<double>(tallest); // dots overlap
    }
    const double lane_gap = 8.0;

    const double left = 120.0;
    auto [legend_markup, legend_height] = legend(names, left, k_title_band);
    const double top = k_title_band + legend_height + 8.0;
    const double plot_width = k_chart_width - left - k_margin_right;
    const auto lanes = static_cast<double>(chart.series.size());
    const double plot_height = lanes * lane_height + (lanes - 1.0) * lane_gap;
    const double height = top + plot_height + k_axis_band;

    std::string out = open_svg(chart.title, height);
    out += legend_markup;
    out += value_axis_x(scale, left, top, plot_width, plot_height, chart.format, chart.x_label);

    for (std::size_t s = 0; s < chart.series.size(); ++s) {
        const auto& series = chart.series[s];
        const double lane_top = top + static_cast<double>(s) * (lane_height + lane_gap);
        const double lane_bottom = lane_top + lane_height;
        out += "<g class=\"lane\">\n";
        out += text_element(left - 8.0, lane_top + lane_height / 2.0 + 4.0,
                            series.lane_label.empty() ? series.name : series.lane_label,
                            "class=\"lane-label\" text-anchor=\"end\" fill=\"currentColor\"",
                            left - 16.0);
        out += fmt::format("<line class=\"grid\" x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" "
                           "stroke=\"currentColor\" stroke-opacity=\"0.3\"/>\n",
                           coord(left), coord(left + plot_width), coord(lane_bottom));
        if (dots[s].empty()) {
            out += text_element(
                left + plot_width / 2.0, lane_top + lane_height / 2.0 + 4.0, "no values",
                "text-anchor=\"middle\" fill=\"currentColor\" fill-opacity=\"0.7\"");
            out += "</g>\n";
            continue;
        }
        double sum = 0.0;
        for (const auto& dot : dots[s]) {
            sum += dot.value;
            const std::string label = dot.index < series.labels.size()
                                          ? series.labels[dot.index]
                                          : fmt::format("value {}", dot.index + 1);
            const Bin& slot = bins[s][dot.bin];
            const double centre = slot.sum / static_cast<double>(slot.count);
            const double cx = scale.map(centre, left, left + plot_width);
            const double cy = lane_bottom - 6.0 - radius - static_cast<double>(dot.level) * spacing;
            out += fmt::format("<circle class=\"dot\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\" "
                               "fill-opacity=\"0.85\"><title>{}</title></circle>\n",
                               coord(cx), coord(std::max(cy, lane_top + radius)), coord(radius),
                               series_colour(s),
                               escape_xml(fmt::format("{} \u00b7 {}: {}", series.name, label,
                                                      with_unit(dot.value, chart.format))));
        }
        const double mean = sum / static_cast<double>(dots[s].size());
        const double mx = scale.map(mean, left, left + plot_width);
        out += fmt::format(
            "<line class=\"mean\" x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\" "
            "stroke-width=\"2\" stroke-dasharray=\"4 3\"><title>{4}</title></line>\n",
            coord(mx), coord(lane_top + 2.0), coord(lane_bottom), series_colour(s),
            escape_xml(fmt::format("{} mean: {} (n={})", series.name, with_unit(mean, chart.format),
                                   dots[s].size())));
        out += "</g>\n";
    }
    out += "</svg>\n";
    return out;
}

std::string render_point_chart(const PointChart& chart)
{
    if (chart.rows.empty()) {
        return empty_chart(chart.title);
    }
    Extent extent;
    if (chart.include_zero) {
        extent.add(0.0);
    }
    for (const auto& row : chart.rows) {
        if (usable(row.value)) {
            extent.add(*row.value);
        }
        if (usable(row.interval)) {
            extent.add(row.interval->low);
            extent.add(row.interval->high);
        }
    }
    const Scale scale = make_scale(extent.low, extent.high, chart.x_min, chart.x_max);

    const double left = 176.0;
    const double right_text = 180.0;
    auto [legend_markup, legend_height] = legend(chart.series, left, k_title_band);
    const double top = k_title_band + legend_height + 8.0;
    const double plot_width = k_chart_width - left - right_text;
    const double row_height = 26.0;
    const double plot_height = static_cast<double>(chart.rows.size()) * row_height + 8.0;
    const double height = top + plot_height + k_axis_band;

    std::string out = open_svg(chart.title, height);
    out += legend_markup;
    out += value_axis_x(scale, left, top, plot_width, plot_height, chart.format, chart.x_label);
    out += "<g class=\"rows\">\n";
    for (std::size_t r = 0; r < chart.rows.size(); ++r) {
        const auto& row = chart.rows[r];
        const double y = top + 4.0 + (static_cast<double>(r) + 0.5) * row_height;
        out += text_element(left - 8.0, y + 4.0, row.label,
                            "class=\"row-label\" text-anchor=\"end\" fill=\"currentColor\"",
                            left - 16.0);
        std::string summary = "n/a";
        if (usable(row.value)) {
            summary = with_unit(*row.value, chart.format);
            if (usable(row.interval)) {
                summary += " " + interval_text(*row.interval, chart.format);
            }
        }
        std::string tip = row.label + ": " + summary;
        if (!row.note.empty()) {
            tip += " \u2014 " + row.note;
        }
        out += fmt::format("<g class=\"point-row\"><title>{}</title>\n", escape_xml(tip));
        if (usable(row.value)) {
            if (usable(row.interval)) {
                out += horizontal_interval(y, scale.map(row.interval->low, left, left + plot_width),
                                           scale.map(row.interval->high, left, left + plot_width),
                                           8.0);
            }
            out +=
                fmt::format("<circle class=\"point\" cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\"/>\n",
                            coord(scale.map(*row.value, left, left + plot_width)), coord(y),
                            series_colour(row.series));
        }
        out += text_element(left + plot_width + 10.0, y + 4.0, summary,
                            "class=\"row-value\" fill=\"currentColor\"", right_text - 14.0);
        out += "</g>\n";
    }
    out += "</g>\n</svg>\n";
    return out;
}

} // namespace gpumod::report
