#include "core/report/html_document.hpp"

#include <string>

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include "core/report/svg_chart.hpp"

namespace gpumod::report {
namespace {

constexpr const char* k_nasty = "a<b & \"c\" 'd'>";

TEST(HtmlTable, EscapesCellsAndAlignsColumns)
{
    HtmlTable table;
    table.add_column("Model");
    table.add_column("Mean", Align::right);
    table.set_caption(k_nasty);
    table.add_row({k_nasty, "88.3"});
    table.add_row({"Δ", "-5.0"}, "delta");
    table.add_row({"short"});
    EXPECT_EQ(table.row_count(), 3U);
    EXPECT_EQ(table.render(),
              "<div class=\"table-wrap\"><table>\n"
              "<caption>a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;</caption>\n"
              "<thead><tr><th class=\"l\" scope=\"col\">Model</th>"
              "<th class=\"r\" scope=\"col\">Mean</th></tr></thead>\n"
              "<tbody>\n"
              "<tr><td class=\"l\">a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;</td>"
              "<td class=\"r\">88.3</td></tr>\n"
              "<tr class=\"delta\"><td class=\"l\">Δ</td><td class=\"r\">-5.0</td></tr>\n"
              "<tr><td class=\"l\">short</td><td class=\"r\"></td></tr>\n"
              "</tbody>\n</table></div>\n");
}

TEST(HtmlTable, CodeColumnsWrapRecordedValuesOnly)
{
    HtmlTable table;
    table.add_column("Run", Align::left, CellFormat::code);
    table.add_row({"run<1>"});
    table.add_row({"-"});
    table.add_row({""});
    const std::string html = table.render();
    EXPECT_NE(html.find("<td class=\"l\"><code>run&lt;1&gt;</code></td>"), std::string::npos);
    EXPECT_NE(html.find("<td class=\"l\">-</td>"), std::string::npos);
    EXPECT_NE(html.find("<td class=\"l\"></td>"), std::string::npos);
}

TEST(HtmlTable, ExtraCellsAreDropped)
{
    HtmlTable table;
    table.add_column("only");
    table.add_row({"kept", "dropped"});
    EXPECT_EQ(table.render().find("dropped"), std::string::npos);
}

TEST(HtmlElements, EscapeTextAndClampHeadingLevels)
{
    EXPECT_EQ(html_heading(2, "Summary & delta", "summary"),
              "<h2 id=\"summary\">Summary &amp; delta</h2>\n");
    EXPECT_EQ(html_heading(9, "x"), "<h6>x</h6>\n");
    EXPECT_EQ(html_heading(0, "x"), "<h1>x</h1>\n");
    EXPECT_EQ(html_paragraph("1 < 2", "note"), "<p class=\"note\">1 &lt; 2</p>\n");
    EXPECT_EQ(html_list({}), "");
    EXPECT_EQ(html_list({"<a>", "b"}), "<ul>\n<li>&lt;a&gt;</li>\n<li>b</li>\n</ul>\n");
    EXPECT_EQ(html_figure("<svg/>", "caption & more"),
              "<figure>\n<svg/><figcaption>caption &amp; more</figcaption>\n</figure>\n");
}

TEST(HtmlPage, IsSelfContainedWellFormedAndCountsCharts)
{
    GroupedBarChart chart;
    chart.title = "chart";
    chart.groups = {"L1"};
    chart.series = {BarSeries{"base", {ChartBar{1.0, std::nullopt, ""}}}};
    const std::string page = html_page(k_nasty, html_heading(1, "Report") +
                                                    html_figure(render_grouped_bar_chart(chart)));

    EXPECT_TRUE(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    EXPECT_NE(page.find("<meta charset=\"utf-8\"/>"), std::string::npos);
    EXPECT_NE(page.find("Content-Security-Policy\" content=\"default-src 'none';"),
              std::string::npos);
    EXPECT_NE(page.find("prefers-color-scheme: dark"), std::string::npos);
    EXPECT_NE(page.find("data-charts-rendered"), std::string::npos);
    // Nothing is loaded from anywhere: the only URL is the SVG namespace.
    EXPECT_EQ(page.find("https://"), std::string::npos);
    EXPECT_EQ(page.find("http://"), page.find("http://www.w3.org/2000/svg"));
    EXPECT_EQ(page.find(" src="), std::string::npos);
    EXPECT_EQ(page.find("<link"), std::string::npos);

    pugi::xml_document doc;
    const auto parsed = doc.load_string(page.c_str());
    ASSERT_TRUE(parsed) << parsed.description() << " at " << parsed.offset;
    EXPECT_STREQ(doc.select_node("/html/head/title").node().text().as_string(), k_nasty);
    EXPECT_EQ(doc.select_nodes("/html/body/main/figure/svg").size(), 1U);
    EXPECT_EQ(doc.select_nodes("/html/body/script").size(), 1U);
}

} // namespace
} // namespace gpumod::report
