#include "core/report/svg_chart.hpp"

#include <cmath>
#include <limits>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <pugixml.hpp>
#include <rapidcheck/gtest.h>

#include "core/report/xml_text.hpp"

namespace gpumod::report {
namespace {

constexpr const char* k_nasty = "a<b & \"c\" 'd'>";

struct Box
{
    double x = 0;
    double y = 0;
    double width = 0;
    double height = 0;
};

/// Parses `svg` or fails the test with pugixml's message.
void parse(pugi::xml_document& doc, const std::string& svg)
{
    const pugi::xml_parse_result result = doc.load_string(svg.c_str());
    ASSERT_TRUE(result) << result.description() << " at offset " << result.offset << "\n" << svg;
}

Box plot_area(const pugi::xml_document& doc)
{
    const pugi::xml_node rect = doc.select_node("//rect[@class='plot-area']").node();
    return Box{rect.attribute("x").as_double(), rect.attribute("y").as_double(),
               rect.attribute("width").as_double(), rect.attribute("height").as_double()};
}

bool inside_x(const Box& box, double x)
{
    return x >= box.x - 1e-6 && x <= box.x + box.width + 1e-6;
}

bool inside_y(const Box& box, double y)
{
    return y >= box.y - 1e-6 && y <= box.y + box.height + 1e-6;
}

/// Every bar, interval line and point of the chart lies in its plot area.
void expect_marks_inside(const pugi::xml_document& doc)
{
    const Box area = plot_area(doc);
    ASSERT_GT(area.width, 0.0);
    ASSERT_GT(area.height, 0.0);
    for (const auto& hit : doc.select_nodes("//rect[@class='bar']")) {
        const auto rect = hit.node();
        const double x = rect.attribute("x").as_double();
        const double y = rect.attribute("y").as_double();
        EXPECT_TRUE(inside_x(area, x) && inside_x(area, x + rect.attribute("width").as_double()));
        EXPECT_TRUE(inside_y(area, y) && inside_y(area, y + rect.attribute("height").as_double()));
    }
    for (const auto& hit : doc.select_nodes("//line[@class='interval' or @class='interval-cap']")) {
        const auto line = hit.node();
        EXPECT_TRUE(inside_x(area, line.attribute("x1").as_double()));
        EXPECT_TRUE(inside_x(area, line.attribute("x2").as_double()));
        EXPECT_TRUE(inside_y(area, line.attribute("y1").as_double()) ||
                    line.attribute("class").as_string() == std::string("interval-cap"));
        EXPECT_TRUE(inside_y(area, line.attribute("y2").as_double()) ||
                    line.attribute("class").as_string() == std::string("interval-cap"));
    }
    for (const auto& hit : doc.select_nodes("//circle")) {
        EXPECT_TRUE(inside_x(area, hit.node().attribute("cx").as_double()));
        EXPECT_TRUE(inside_y(area, hit.node().attribute("cy").as_double()));
    }
}

void expect_standalone_svg(const pugi::xml_document& doc, const std::string& title)
{
    const pugi::xml_node svg = doc.document_element();
    EXPECT_STREQ(svg.name(), "svg");
    EXPECT_STREQ(svg.attribute("xmlns").as_string(), "http://www.w3.org/2000/svg");
    EXPECT_STREQ(svg.attribute("width").as_string(), "100%");
    EXPECT_TRUE(std::string(svg.attribute("viewBox").as_string()).starts_with("0 0 640 "));
    EXPECT_STREQ(svg.first_child().name(), "title");
    EXPECT_EQ(svg.first_child().text().as_string(), title);
}

GroupedBarChart pass_rates()
{
    GroupedBarChart chart;
    chart.title = "Level pass rates (Wilson 95% CI)";
    chart.y_label = "pass rate";
    chart.groups = {"L1", "L2", "L3"};
    chart.format = ChartNumberFormat{1, "%"};
    chart.y_min = 0.0;
    chart.y_max = 100.0;
    chart.series = {
        BarSeries{"base",
                  {ChartBar{90.0, ChartInterval{69.9, 97.2}, "18/20"},
                   ChartBar{50.0, ChartInterval{29.9, 70.1}, "10/20"},
                   ChartBar{0.0, ChartInterval{0.0, 16.1}, "0/20"}}},
        BarSeries{"candidate",
                  {ChartBar{95.0, ChartInterval{76.4, 99.1}, "19/20"},
                   ChartBar{100.0, ChartInterval{83.9, 100.0}, "20/20"}, ChartBar{}}},
    };
    return chart;
}

TEST(EscapeXml, WritesMarkupCharactersAsEntities)
{
    EXPECT_EQ(escape_xml(k_nasty), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
    EXPECT_EQ(escape_xml("plain"), "plain");
    EXPECT_EQ(escape_xml(""), "");
}

TEST(EscapeXml, KeepsValidUtf8AndReplacesWhatXmlCannotHold)
{
    EXPECT_EQ(escape_xml("Δ −2.7 pp ✓"), "Δ −2.7 pp ✓");
    EXPECT_EQ(escape_xml("tab\tnl\n"), "tab\tnl\n");
    EXPECT_EQ(escape_xml(std::string("a\x01"
                                     "b")),
              "a\xEF\xBF\xBD"
              "b");
    EXPECT_EQ(escape_xml("\xFF"), "\xEF\xBF\xBD");                 // not UTF-8
    EXPECT_EQ(escape_xml("\xC3"), "\xEF\xBF\xBD");                 // truncated sequence
    EXPECT_EQ(escape_xml("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD"); // overlong '/'
    EXPECT_EQ(escape_xml("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); // surrogate
}

TEST(ChartNumber, FixedDecimalsWithoutNegativeZero)
{
    EXPECT_EQ(format_chart_number(88.3333, 1), "88.3");
    EXPECT_EQ(format_chart_number(-0.04, 1), "0.0");
    EXPECT_EQ(format_chart_number(-1.25, 2), "-1.25");
    EXPECT_EQ(format_chart_number(7.0, 0), "7");
    EXPECT_EQ(format_chart_number(std::numeric_limits<double>::quiet_NaN(), 1), "n/a");
}

TEST(ChartPalette, SeriesGetDistinctColoursThatRepeatAfterEight)
{
    std::set<std::string_view> colours;
    for (std::size_t i = 0; i < 8; ++i) {
        colours.insert(series_colour(i));
    }
    EXPECT_EQ(colours.size(), 8U);
    EXPECT_EQ(series_colour(0), "#0072B2");
    EXPECT_EQ(series_colour(8), series_colour(0));
}

TEST(GroupedBarChart, IsStandaloneSvgWithAxisLegendAndTooltips)
{
    const std::string svg = render_grouped_bar_chart(pass_rates());
    pugi::xml_document doc;
    parse(doc, svg);
    expect_standalone_svg(doc, "Level pass rates (Wilson 95% CI)");
    EXPECT_EQ(doc.select_nodes("//rect[@class='bar']").size(), 5U);
    EXPECT_EQ(doc.select_nodes("//g[@class='bar-missing']").size(), 1U);
    EXPECT_EQ(doc.select_nodes("//line[@class='interval']").size(), 5U);
    EXPECT_EQ(doc.select_nodes("//g[@class='legend']/text").size(), 2U);
    // Ticks 0, 20, ..., 100 with the unit.
    std::vector<std::string> ticks;
    for (const auto& hit : doc.select_nodes("//g[@class='axis axis-y']/text[@text-anchor='end']")) {
        ticks.emplace_back(hit.node().text().as_string());
    }
    EXPECT_EQ(ticks, (std::vector<std::string>{"0%", "20%", "40%", "60%", "80%", "100%"}));
    const auto tooltip = doc.select_node("//g[@class='bar-group']/title").node();
    EXPECT_STREQ(tooltip.text().as_string(), "base · L1: 90.0% [69.9, 97.2] — 18/20");
    EXPECT_EQ(svg.find("<script"), std::string::npos);
    EXPECT_EQ(svg.find("http://"), svg.find("http://www.w3.org/2000/svg"));
    expect_marks_inside(doc);
}

TEST(GroupedBarChart, BarHeightsAreProportionalToValues)
{
    pugi::xml_document doc;
    parse(doc, render_grouped_bar_chart(pass_rates()));
    const Box area = plot_area(doc);
    const auto bars = doc.select_nodes("//rect[@class='bar']");
    ASSERT_EQ(bars.size(), 5U);
    // Document order: L1 base, L1 candidate, L2 base, L2 candidate, L3 base.
    EXPECT_NEAR(bars[0].node().attribute("height").as_double(), area.height * 0.90, 0.15);
    EXPECT_NEAR(bars[2].node().attribute("height").as_double(), area.height * 0.50, 0.15);
    EXPECT_NEAR(bars[3].node().attribute("height").as_double(), area.height, 0.15);
    // 0% keeps a hairline on the baseline so its colour still shows.
    EXPECT_NEAR(bars[4].node().attribute("height").as_double(), 1.5, 0.15);
    EXPECT_NEAR(bars[4].node().attribute("y").as_double(), area.y + area.height - 1.5, 0.15);
    // Bars stand on the bottom of a 0..100 axis.
    EXPECT_NEAR(bars[2].node().attribute("y").as_double() +
                    bars[2].node().attribute("height").as_double(),
                area.y + area.height, 0.15);
    // Series take their palette colours.
    EXPECT_STREQ(bars[0].node().attribute("fill").as_string(), "#0072B2");
    EXPECT_STREQ(bars[1].node().attribute("fill").as_string(), "#E69F00");
}

TEST(GroupedBarChart, ValuesBeyondAFixedAxisAndNegativeValuesStayInThePlot)
{
    GroupedBarChart chart = pass_rates();
    chart.series[0].bars[0] = ChartBar{130.0, ChartInterval{110.0, 150.0}, ""};
    chart.series[1].bars[0] = ChartBar{-20.0, ChartInterval{-40.0, 5.0}, ""};
    pugi::xml_document doc;
    parse(doc, render_grouped_bar_chart(chart));
    expect_marks_inside(doc);

    chart.y_min.reset();
    chart.y_max.reset();
    pugi::xml_document automatic;
    parse(automatic, render_grouped_bar_chart(chart));
    expect_marks_inside(automatic);
    // The automatic axis covers the data: -40 .. 150 needs ticks below zero.
    const std::string svg = render_grouped_bar_chart(chart);
    EXPECT_NE(svg.find(">-50%</text>"), std::string::npos) << svg;
    EXPECT_NE(svg.find(">150%</text>"), std::string::npos);
}

TEST(GroupedBarChart, EscapesEveryLabel)
{
    GroupedBarChart chart = pass_rates();
    chart.title = k_nasty;
    chart.y_label = k_nasty;
    chart.groups[0] = k_nasty;
    chart.series[0].name = k_nasty;
    chart.series[0].bars[0].note = k_nasty;
    chart.format.unit = "<u>";
    const std::string svg = render_grouped_bar_chart(chart);
    pugi::xml_document doc;
    parse(doc, svg);
    expect_standalone_svg(doc, k_nasty);
    EXPECT_STREQ(doc.select_node("//g[@class='legend']/text").node().text().as_string(), k_nasty);
    EXPECT_STREQ(doc.select_node("//text[@class='group-label']").node().text().as_string(),
                 k_nasty);
    EXPECT_EQ(svg.find("<u>"), std::string::npos);
}

TEST(GroupedBarChart, LongLabelsAreShortenedWithTheFullTextAsTooltip)
{
    GroupedBarChart chart = pass_rates();
    chart.groups[1] = std::string(200, 'x');
    pugi::xml_document doc;
    parse(doc, render_grouped_bar_chart(chart));
    const auto label = doc.select_nodes("//text[@class='group-label']")[1].node();
    EXPECT_EQ(label.child("title").text().as_string(), std::string(200, 'x'));
    const std::string shown = label.last_child().value();
    EXPECT_LT(shown.size(), 200U);
    EXPECT_TRUE(shown.ends_with("…"));
}

TEST(GroupedBarChart, EmptyAndAllMissingDataStillRender)
{
    GroupedBarChart empty;
    empty.title = "nothing";
    pugi::xml_document doc;
    parse(doc, render_grouped_bar_chart(empty));
    expect_standalone_svg(doc, "nothing");
    EXPECT_STREQ(doc.select_node("//text[@class='empty']").node().text().as_string(), "no data");

    GroupedBarChart missing;
    missing.title = "missing";
    missing.groups = {"L1"};
    missing.series = {
        BarSeries{"base", {ChartBar{std::numeric_limits<double>::quiet_NaN(), {}, ""}}}};
    pugi::xml_document doc2;
    parse(doc2, render_grouped_bar_chart(missing));
    EXPECT_EQ(doc2.select_nodes("//rect[@class='bar']").size(), 0U);
    EXPECT_EQ(doc2.select_nodes("//g[@class='bar-missing']").size(), 1U);
}

TEST(GroupedBarChart, SameInputSameBytes)
{
    EXPECT_EQ(render_grouped_bar_chart(pass_rates()), render_grouped_bar_chart(pass_rates()));
    GroupedBarChart other = pass_rates();
    other.series[0].bars[0].value = 85.0;
    EXPECT_NE(render_grouped_bar_chart(pass_rates()), render_grouped_bar_chart(other));
}

DotPlot seed_scores()
{
    DotPlot chart;
    chart.title = "Score per iteration";
    chart.x_label = "score";
    chart.x_min = 0.0;
    chart.x_max = 100.0;
    chart.format = ChartNumberFormat{0, ""};
    DotSeries base{"base", std::vector<double>(14, 90.0), {}, ""};
    base.values.push_back(65.0);
    DotSeries cand{"candidate", std::vector<double>(11, 90.0), {}, ""};
    cand.values.insert(cand.values.end(), 4, 65.0);
    for (std::size_t i = 0; i < 15; ++i) {
        base.labels.push_back("iteration " + std::to_string(i + 1));
    }
    chart.series = {base, cand};
    return chart;
}

TEST(DotPlot, StacksEqualValuesAndMarksTheMean)
{
    const std::string svg = render_dot_plot(seed_scores());
    pugi::xml_document doc;
    parse(doc, svg);
    expect_standalone_svg(doc, "Score per iteration");
    const auto lanes = doc.select_nodes("//g[@class='lane']");
    ASSERT_EQ(lanes.size(), 2U);
    const auto base_dots = lanes[0].node().select_nodes("circle[@class='dot']");
    ASSERT_EQ(base_dots.size(), 15U);
    std::set<std::string> xs;
    std::set<std::string> ys;
    for (std::size_t i = 0; i < 14; ++i) {
        xs.insert(base_dots[i].node().attribute("cx").as_string());
        ys.insert(base_dots[i].node().attribute("cy").as_string());
    }
    EXPECT_EQ(xs.size(), 1U) << "equal scores share an x position";
    EXPECT_EQ(ys.size(), 14U) << "and stack";
    EXPECT_STREQ(base_dots[14].node().child("title").text().as_string(), "base · iteration 15: 65");
    const Box area = plot_area(doc);
    // Dots sit at their values, not at a bin edge.
    EXPECT_NEAR(base_dots[14].node().attribute("cx").as_double(), area.x + area.width * 0.65, 0.1);
    EXPECT_NEAR(base_dots[0].node().attribute("cx").as_double(), area.x + area.width * 0.90, 0.1);
    const auto mean = lanes[0].node().child("line").next_sibling("line");
    ASSERT_STREQ(mean.attribute("class").as_string(), "mean");
    // mean 88.33 on a 0..100 axis
    EXPECT_NEAR(mean.attribute("x1").as_double(), area.x + area.width * 0.8833, 0.2);
    EXPECT_STREQ(mean.child("title").text().as_string(), "base mean: 88 (n=15)");
    expect_marks_inside(doc);
    EXPECT_EQ(svg, render_dot_plot(seed_scores()));
}

TEST(DotPlot, SingleValueEmptySeriesAndNoDataRender)
{
    DotPlot chart;
    chart.title = "one";
    chart.series = {DotSeries{"base", {42.0}, {}, ""}, DotSeries{k_nasty, {}, {}, ""}};
    pugi::xml_document doc;
    parse(doc, render_dot_plot(chart));
    EXPECT_EQ(doc.select_nodes("//circle[@class='dot']").size(), 1U);
    EXPECT_STREQ(doc.select_nodes("//text[@class='lane-label']")[1].node().text().as_string(),
                 k_nasty);

    chart.series[0].lane_label = "short";
    pugi::xml_document labelled;
    parse(labelled, render_dot_plot(chart));
    EXPECT_STREQ(labelled.select_node("//text[@class='lane-label']").node().text().as_string(),
                 "short");
    EXPECT_STREQ(labelled.select_node("//g[@class='legend']/text").node().text().as_string(),
                 "base");
    expect_marks_inside(doc);
    const Box area = plot_area(doc);
    const double cx = doc.select_node("//circle").node().attribute("cx").as_double();
    EXPECT_GT(cx, area.x + 1.0) << "a single value is not drawn on the frame";
    EXPECT_LT(cx, area.x + area.width - 1.0);

    DotPlot empty;
    empty.title = "none";
    pugi::xml_document doc2;
    parse(doc2, render_dot_plot(empty));
    EXPECT_STREQ(doc2.select_node("//text[@class='empty']").node().text().as_string(), "no data");
}

TEST(DotPlot, ManyEqualValuesOverlapInsteadOfLeavingTheLane)
{
    DotPlot chart;
    chart.title = "many";
    chart.series = {DotSeries{"base", std::vector<double>(500, 1.0), {}, ""}};
    pugi::xml_document doc;
    parse(doc, render_dot_plot(chart));
    EXPECT_EQ(doc.select_nodes("//circle").size(), 500U);
    expect_marks_inside(doc);
}

PointChart throughput()
{
    PointChart chart;
    chart.title = "Mean TPS (95% CI)";
    chart.x_label = "tokens per second";
    chart.series = {"base", "candidate"};
    chart.format = ChartNumberFormat{1, " tok/s"};
    chart.include_zero = true;
    chart.rows = {PointRow{"base", 0, 62.4, ChartInterval{60.1, 64.7}, "15 iterations"},
                  PointRow{"candidate", 1, 61.2, ChartInterval{59.0, 63.4}, ""},
                  PointRow{"no draft", 1, std::nullopt, std::nullopt, "not recorded"}};
    return chart;
}

TEST(PointChart, DrawsPointsInsideTheirIntervalsAndWritesTheNumbers)
{
    const std::string svg = render_point_chart(throughput());
    pugi::xml_document doc;
    parse(doc, svg);
    expect_standalone_svg(doc, "Mean TPS (95% CI)");
    const auto rows = doc.select_nodes("//g[@class='point-row']");
    ASSERT_EQ(rows.size(), 3U);
    const auto point = rows[0].node().child("circle");
    const auto whisker = rows[0].node().child("line");
    ASSERT_STREQ(whisker.attribute("class").as_string(), "interval");
    const double cx = point.attribute("cx").as_double();
    EXPECT_LT(whisker.attribute("x1").as_double(), cx);
    EXPECT_GT(whisker.attribute("x2").as_double(), cx);
    EXPECT_STREQ(rows[0].node().child("text").text().as_string(), "62.4 tok/s [60.1, 64.7]");
    EXPECT_STREQ(rows[2].node().child("text").text().as_string(), "n/a");
    EXPECT_EQ(rows[2].node().child("circle"), pugi::xml_node());
    EXPECT_STREQ(rows[1].node().child("circle").attribute("fill").as_string(), "#E69F00");
    // include_zero: the axis runs 0 .. 80 (round ticks above 64.7).
    std::vector<std::string> ticks;
    for (const auto& hit : doc.select_nodes("//g[@class='axis axis-x']/text")) {
        ticks.emplace_back(hit.node().text().as_string());
    }
    ASSERT_FALSE(ticks.empty());
    EXPECT_EQ(ticks.front(), "0");                // a long unit is left to the axis label
    EXPECT_EQ(ticks.back(), "tokens per second"); // the axis label
    EXPECT_EQ(ticks[ticks.size() - 2], "80");
    const Box area = plot_area(doc);
    EXPECT_NEAR(cx, area.x + area.width * 62.4 / 80.0, 0.2);
    expect_marks_inside(doc);
    EXPECT_EQ(svg, render_point_chart(throughput()));
}

TEST(PointChart, EscapesLabelsAndHandlesNoRows)
{
    PointChart chart = throughput();
    chart.rows[0].label = k_nasty;
    chart.series[0] = k_nasty;
    pugi::xml_document doc;
    parse(doc, render_point_chart(chart));
    EXPECT_STREQ(doc.select_node("//text[@class='row-label']").node().text().as_string(), k_nasty);

    PointChart empty;
    empty.title = "none";
    pugi::xml_document doc2;
    parse(doc2, render_point_chart(empty));
    EXPECT_STREQ(doc2.select_node("//text[@class='empty']").node().text().as_string(), "no data");
}

// Any numbers (NaN, infinities, huge, tiny) and any label bytes: the chart is well-formed XML
// and every mark stays inside the plot.
rc::Gen<double> any_number()
{
    return rc::gen::oneOf(rc::gen::arbitrary<double>(),
                          rc::gen::element(std::numeric_limits<double>::quiet_NaN(),
                                           std::numeric_limits<double>::infinity(),
                                           -std::numeric_limits<double>::infinity(), 0.0,
                                           std::numeric_limits<double>::max(),
                                           std::numeric_limits<double>::lowest(), -1e-300),
                          rc::gen::map(rc::gen::inRange(-1000, 1000),
                                       [](int v) { return static_cast<double>(v) / 7.0; }));
}

rc::Gen<std::optional<double>> any_value()
{
    return rc::gen::map(rc::gen::tuple(rc::gen::arbitrary<bool>(), any_number()),
                        [](const auto& t) {
                            const auto& [present, v] = t;
                            return present ? std::optional<double>(v) : std::nullopt;
                        });
}

rc::Gen<std::optional<ChartInterval>> any_interval()
{
    return rc::gen::map(
        rc::gen::tuple(rc::gen::arbitrary<bool>(), any_number(), any_number()), [](const auto& t) {
            const auto& [present, a, b] = t;
            return present ? std::optional<ChartInterval>(ChartInterval{a, b}) : std::nullopt;
        });
}

void expect_parses_with_marks_inside(const std::string& svg)
{
    pugi::xml_document doc;
    const auto parsed = doc.load_string(svg.c_str());
    RC_ASSERT(static_cast<bool>(parsed));
    if (doc.select_node("//text[@class='empty']")) {
        return;
    }
    const Box area = plot_area(doc);
    for (const auto& hit : doc.select_nodes("//rect[@class='bar']")) {
        const auto r = hit.node();
        const double y = r.attribute("y").as_double();
        RC_ASSERT(inside_y(area, y));
        RC_ASSERT(inside_y(area, y + r.attribute("height").as_double()));
    }
    for (const auto& hit : doc.select_nodes("//line[@class='interval']")) {
        const auto l = hit.node();
        RC_ASSERT(inside_x(area, l.attribute("x1").as_double()));
        RC_ASSERT(inside_x(area, l.attribute("x2").as_double()));
        RC_ASSERT(inside_y(area, l.attribute("y1").as_double()));
        RC_ASSERT(inside_y(area, l.attribute("y2").as_double()));
    }
    for (const auto& hit : doc.select_nodes("//circle")) {
        RC_ASSERT(inside_x(area, hit.node().attribute("cx").as_double()));
        RC_ASSERT(inside_y(area, hit.node().attribute("cy").as_double()));
    }
}

RC_GTEST_PROP(ChartProperty, GroupedBarsAreWellFormedAndInside, ())
{
    GroupedBarChart chart;
    chart.title = *rc::gen::arbitrary<std::string>();
    chart.groups = *rc::gen::container<std::vector<std::string>>(
        *rc::gen::inRange<std::size_t>(0, 6), rc::gen::arbitrary<std::string>());
    const auto series = *rc::gen::inRange<std::size_t>(0, 4);
    for (std::size_t s = 0; s < series; ++s) {
        BarSeries one{*rc::gen::arbitrary<std::string>(), {}};
        for (std::size_t g = 0; g < chart.groups.size(); ++g) {
            one.bars.push_back(
                ChartBar{*any_value(), *any_interval(), *rc::gen::arbitrary<std::string>()});
        }
        chart.series.push_back(one);
    }
    if (*rc::gen::arbitrary<bool>()) {
        chart.y_min = *any_number();
        chart.y_max = *any_number();
    }
    expect_parses_with_marks_inside(render_grouped_bar_chart(chart));
}

RC_GTEST_PROP(ChartProperty, DotPlotsAreWellFormedAndInside, ())
{
    DotPlot chart;
    chart.title = *rc::gen::arbitrary<std::string>();
    const auto series = *rc::gen::inRange<std::size_t>(0, 4);
    for (std::size_t s = 0; s < series; ++s) {
        chart.series.push_back(DotSeries{
            *rc::gen::arbitrary<std::string>(),
            *rc::gen::container<std::vector<double>>(*rc::gen::inRange<std::size_t>(0, 40),
                                                     any_number()),
            *rc::gen::container<std::vector<std::string>>(*rc::gen::inRange<std::size_t>(0, 3),
                                                          rc::gen::arbitrary<std::string>()),
            *rc::gen::arbitrary<std::string>()});
    }
    chart.bin_width = *any_number();
    if (*rc::gen::arbitrary<bool>()) {
        chart.x_min = *any_number();
        chart.x_max = *any_number();
    }
    expect_parses_with_marks_inside(render_dot_plot(chart));
}

RC_GTEST_PROP(ChartProperty, PointChartsAreWellFormedAndInside, ())
{
    PointChart chart;
    chart.title = *rc::gen::arbitrary<std::string>();
    chart.series = *rc::gen::container<std::vector<std::string>>(
        *rc::gen::inRange<std::size_t>(0, 3), rc::gen::arbitrary<std::string>());
    const auto rows = *rc::gen::inRange<std::size_t>(0, 6);
    for (std::size_t r = 0; r < rows; ++r) {
        chart.rows.push_back(PointRow{*rc::gen::arbitrary<std::string>(),
                                      *rc::gen::inRange<std::size_t>(0, 10), *any_value(),
                                      *any_interval(), *rc::gen::arbitrary<std::string>()});
    }
    chart.include_zero = *rc::gen::arbitrary<bool>();
    if (*rc::gen::arbitrary<bool>()) {
        chart.x_min = *any_number();
        chart.x_max = *any_number();
    }
    expect_parses_with_marks_inside(render_point_chart(chart));
}

} // namespace
} // namespace gpumod::report
