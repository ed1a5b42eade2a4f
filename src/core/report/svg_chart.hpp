#pragma once

// Small, dependency-free SVG charts for the HTML report: grouped bars with interval bars (level
// pass rates with Wilson intervals), a stacked dot plot (per-iteration scores), and a point chart
// with intervals (a scalar per run: TPS, draft acceptance). Each chart is a standalone <svg>
// (xmlns, viewBox, width 100%) that also works inlined in HTML: text and axes use currentColor,
// so a page's dark mode reaches them. Output is deterministic: the same input gives the same
// bytes (fixed-precision numbers, no ids, no clocks). Values that are not finite are treated
// as missing. These types know nothing of benchmarks; report code maps its model onto them.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpumod::report {

/// A closed interval [low, high], drawn as an error bar (e.g. a 95% confidence interval).
struct ChartInterval
{
    double low = 0.0;
    double high = 0.0;
};

/// How values are written on axes and in tooltips: fixed decimals plus a unit suffix.
struct ChartNumberFormat
{
    int decimals = 1; ///< tooltips and value labels; tick labels use what the tick step needs
    std::string unit; ///< appended without a space, e.g. "%" or " tok/s"; ticks show it only
                      ///< when it is one character (the axis label names longer units)
};

/// One bar of a grouped bar chart. A missing value draws "n/a" instead of a bar.
struct ChartBar
{
    std::optional<double> value;
    std::optional<ChartInterval> interval;
    std::string note; ///< extra tooltip text, e.g. "18/20 passed"
};

/// A named series of a grouped bar chart: one bar per group, in group order (missing = n/a).
struct BarSeries
{
    std::string name;
    std::vector<ChartBar> bars;
};

/// Bars grouped by category (x) with one bar per series in each group.
struct GroupedBarChart
{
    std::string title;
    std::string y_label;
    std::vector<std::string> groups; ///< category labels along the x axis
    std::vector<BarSeries> series;   ///< legend entries, coloured by index
    ChartNumberFormat format;
    std::optional<double> y_min; ///< axis floor; default 0 or the lowest value if negative
    std::optional<double> y_max; ///< axis ceiling; default a round number above the data
};

/// Values of one series in a dot plot, with an optional tooltip label per value.
struct DotSeries
{
    std::string name; ///< legend and tooltips
    std::vector<double> values;
    std::vector<std::string> labels; ///< labels[i] names values[i] ("iteration 3"); may be short
    std::string lane_label;          ///< at the lane's left; "" uses name
};

/// One lane per series; each value is a dot, values in the same bin stack upward, and a
/// vertical mark shows the series mean.
struct DotPlot
{
    std::string title;
    std::string x_label;
    std::vector<DotSeries> series;
    ChartNumberFormat format;
    std::optional<double> x_min;
    std::optional<double> x_max;
    double bin_width = 0.0; ///< values this close stack; 0 or less picks a round 1/50 of the axis
};

/// One row of a point chart: a value with an optional interval, coloured by series.
struct PointRow
{
    std::string label;      ///< row label at the left, e.g. "base, pooled"
    std::size_t series = 0; ///< index into PointChart::series (colour and legend)
    std::optional<double> value;
    std::optional<ChartInterval> interval;
    std::string note; ///< extra tooltip text, e.g. "277,488 / 366,406 tokens"
};

/// Horizontal rows (a forest plot): a dot per row at its value, whiskers for its interval, and
/// the numbers written at the right so the chart reads without hovering.
struct PointChart
{
    std::string title;
    std::string x_label;
    std::vector<std::string> series; ///< legend names; rows refer to them by index
    std::vector<PointRow> rows;
    ChartNumberFormat format;
    std::optional<double> x_min;
    std::optional<double> x_max;
    bool include_zero = false; ///< stretch the axis to 0 so the length of the scale is honest
};

/// Width of every chart's viewBox; the height follows from its content.
inline constexpr double k_chart_width = 640.0;

/// Colour (#rrggbb) of series `index`: the Okabe-Ito palette, distinguishable with the common
/// colour-vision deficiencies; it repeats after eight series.
std::string_view series_colour(std::size_t index);

/// `value` with `decimals` fixed decimals ("-0.0" written as "0.0"); not finite reads "n/a".
std::string format_chart_number(double value, int decimals);

/// A grouped bar chart as a standalone SVG document fragment (<svg ...>...</svg>).
std::string render_grouped_bar_chart(const GroupedBarChart& chart);

/// A dot plot as a standalone SVG document fragment.
std::string render_dot_plot(const DotPlot& chart);

/// A point chart as a standalone SVG document fragment.
std::string render_point_chart(const PointChart& chart);

} // namespace gpumod::report
