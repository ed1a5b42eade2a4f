#include "core/report/render_html.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include "../support/seed_runs.hpp"
#include "core/report/comparison.hpp"
#include "core/report/render_markdown.hpp"

namespace gpumod::report {
namespace {

constexpr const char* k_nasty_file = "heretic<&\"'>-Q3_K_L.gguf";

/// The seed report's runs (tests/support/seed_runs.hpp); the candidate's model file name is
/// hostile markup, as a result file may carry anything. `paired` gives both runs the same
/// per-attempt seeds, so the report adds its paired tables.
Comparison seed_comparison(bool with_smoke, bool paired)
{
    const bench::RunRecord base = testing::seed::baseline();
    bench::RunRecord cand = testing::seed::candidate();
    cand.model.file_name = k_nasty_file;
    if (paired) {
        cand.config.seed = base.config.seed;
        for (std::size_t i = 0; i < cand.attempts.size() && i < base.attempts.size(); ++i) {
            cand.attempts[i].seed = base.attempts[i].seed;
        }
    }
    const bench::RunRecord base_smoke = testing::seed::baseline_smoke();
    bench::RunRecord cand_smoke = testing::seed::candidate_smoke();
    cand_smoke.model.file_name = k_nasty_file;
    CompareOptions options;
    options.level_titles = {{"L1", "Basic queue <FIFO> & more"}};
    options.source_base = "result_base.json";
    options.source_cand = "result_cand.json";
    return compare_runs(base, cand, with_smoke ? &base_smoke : nullptr,
                        with_smoke ? &cand_smoke : nullptr, options);
}

using Table = std::vector<std::vector<std::string>>;

std::string trim(const std::string& text)
{
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) {
        return "";
    }
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

/// Markdown cell text as a reader sees it: no ** or backticks, "\|" as "|".
std::string plain_markdown(std::string cell)
{
    std::string out;
    for (std::size_t i = 0; i < cell.size(); ++i) {
        if (cell.compare(i, 2, "**") == 0) {
            ++i;
        } else if (cell[i] == '`') {
            continue;
        } else if (cell.compare(i, 2, "\\|") == 0) {
            out += '|';
            ++i;
        } else if (cell.compare(i, 4, "&lt;") == 0) {
            out += '<'; // the renderer escapes a '<' that would open an HTML tag
            i += 3;
        } else {
            out += cell[i];
        }
    }
    return trim(out);
}

/// Every table of a GitHub-flavoured Markdown document (header first, delimiter row dropped),
/// cells split the way GitHub splits them: on every pipe not escaped by a backslash.
std::vector<Table> markdown_tables(const std::string& markdown)
{
    std::vector<Table> tables;
    Table current;
    std::size_t row = 0;
    std::size_t start = 0;
    while (start <= markdown.size()) {
        const std::size_t end = std::min(markdown.find('\n', start), markdown.size());
        const std::string line = markdown.substr(start, end - start);
        start = end + 1;
        if (line.empty() || line[0] != '|') {
            if (!current.empty()) {
                tables.push_back(std::move(current));
                current.clear();
            }
            row = 0;
            continue;
        }
        if (row++ == 1) {
            continue; // the delimiter row
        }
        std::vector<std::string> cells;
        std::string cell;
        for (std::size_t i = 1; i < line.size(); ++i) {
            if (line[i] == '\\' && i + 1 < line.size()) {
                cell += line.substr(i, 2);
                ++i;
            } else if (line[i] == '|') {
                cells.push_back(plain_markdown(cell));
                cell.clear();
            } else {
                cell += line[i];
            }
        }
        current.push_back(std::move(cells));
    }
    return tables;
}

void collect_text(const pugi::xml_node& node, std::string& out)
{
    for (const auto& child : node.children()) {
        if (child.type() == pugi::node_pcdata) {
            out += child.value();
        } else {
            collect_text(child, out);
        }
    }
}

std::string text_of(const pugi::xml_node& node)
{
    std::string out;
    collect_text(node, out);
    return trim(out);
}

std::vector<Table> html_tables(const pugi::xml_document& doc)
{
    std::vector<Table> tables;
    for (const auto& table : doc.select_nodes("//table")) {
        Table rows;
        for (const auto& tr : table.node().select_nodes(".//tr")) {
            std::vector<std::string> cells;
            for (const auto& cell : tr.node().children()) {
                cells.push_back(text_of(cell));
            }
            rows.push_back(std::move(cells));
        }
        tables.push_back(std::move(rows));
    }
    return tables;
}

void parse(pugi::xml_document& doc, const std::string& html)
{
    const auto result = doc.load_string(html.c_str());
    ASSERT_TRUE(result) << result.description() << " at offset " << result.offset;
}

/// The HTML report shows every table of the Markdown report, in order, cell for cell.
void expect_same_tables(const Comparison& c)
{
    pugi::xml_document doc;
    parse(doc, render_html(c));
    const auto expected = markdown_tables(render_markdown(c));
    const auto actual = html_tables(doc);
    ASSERT_GT(expected.size(), 8U);
    ASSERT_EQ(actual.size(), expected.size());
    for (std::size_t t = 0; t < expected.size(); ++t) {
        EXPECT_EQ(actual[t], expected[t])
            << "table " << t + 1 << " (header: " << (expected[t].empty() ? "" : expected[t][0][0])
            << ")";
    }
}

TEST(RenderHtml, ShowsEveryMarkdownTableCellForCell)
{
    const Comparison independent = seed_comparison(true, false);
    ASSERT_FALSE(independent.pairing.paired);
    expect_same_tables(independent);
    const Comparison paired = seed_comparison(false, true);
    ASSERT_TRUE(paired.pairing.paired)
        << (paired.pairing.reasons.empty() ? "" : paired.pairing.reasons.front());
    expect_same_tables(paired);
}

TEST(RenderHtml, ShowsEveryVerdictAndWarning)
{
    const Comparison c = seed_comparison(true, false);
    pugi::xml_document doc;
    parse(doc, render_html(c));
    std::vector<std::string> items;
    for (const auto& li : doc.select_nodes("//ul[@class='verdicts']/li")) {
        items.push_back(text_of(li.node()));
    }
    ASSERT_FALSE(c.verdicts.empty());
    ASSERT_EQ(items.size(), c.verdicts.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        EXPECT_EQ(items[i], c.verdicts[i].sentence);
    }
    EXPECT_EQ(doc.select_nodes("//p[@class='warning']").size(), c.warnings.size());
    EXPECT_EQ(doc.select_nodes("//ul[@class='methods']/li").size(), c.methods.size());
}

TEST(RenderHtml, IsOneWellFormedFileWithEveryChart)
{
    const Comparison c = seed_comparison(true, false);
    const std::string html = render_html(c);
    pugi::xml_document doc;
    parse(doc, html);
    // Mean score, TPS, score distribution, level pass rates, draft acceptance, smoke.
    const auto charts = doc.select_nodes("//figure/svg[@class='chart']");
    ASSERT_EQ(charts.size(), 6U);
    std::vector<std::string> titles;
    for (const auto& chart : charts) {
        titles.emplace_back(chart.node().child("title").text().as_string());
    }
    EXPECT_EQ(titles[2], "Score per iteration");
    EXPECT_EQ(titles[3], "Pass rate per level with Wilson 95% intervals");
    // Level bars: 5 levels x 2 runs, L5 at 0% still has its interval.
    EXPECT_EQ(charts[3].node().select_nodes(".//rect[@class='bar']").size(), 10U);
    EXPECT_EQ(charts[3].node().select_nodes(".//line[@class='interval']").size(), 10U);
    // Dot plot: 15 scored iterations per run.
    EXPECT_EQ(charts[2].node().select_nodes(".//circle[@class='dot']").size(), 30U);
    // Nothing is fetched: no external URL, one inline script (the render check).
    EXPECT_EQ(html.find("https://"), std::string::npos);
    EXPECT_EQ(doc.select_nodes("//script").size(), 1U);
    EXPECT_EQ(doc.select_nodes("//*[@src]").size(), 0U);
    EXPECT_EQ(doc.select_nodes("//link").size(), 0U);
    // Every in-page link has its target.
    for (const auto& link : doc.select_nodes("//a[@href]")) {
        const std::string href = link.node().attribute("href").as_string();
        ASSERT_TRUE(href.starts_with("#")) << href;
        const std::string xpath = "//*[@id='" + href.substr(1) + "']";
        EXPECT_TRUE(doc.select_node(xpath.c_str())) << href;
    }
}

TEST(RenderHtml, EscapesLabelsFromResultFiles)
{
    const Comparison c = seed_comparison(true, false);
    ASSERT_NE(c.label_cand.find('<'), std::string::npos);
    const std::string html = render_html(c);
    pugi::xml_document doc;
    parse(doc, html);
    EXPECT_EQ(text_of(doc.select_node("//h1").node()), c.label_base + " vs " + c.label_cand);
    EXPECT_EQ(html.find("heretic<"), std::string::npos);
    EXPECT_NE(html.find("heretic&lt;&amp;&quot;&#39;&gt;"), std::string::npos);
}

TEST(RenderHtml, LeavesOutChartsItHasNoDataFor)
{
    Comparison c = seed_comparison(false, false);
    c.has_drafts = false;
    pugi::xml_document doc;
    parse(doc, render_html(c));
    // Mean score, TPS, distribution, levels: no smoke chart, no acceptance chart.
    EXPECT_EQ(doc.select_nodes("//svg[@class='chart']").size(), 4U);
    EXPECT_FALSE(doc.select_node("//*[@id='smoke']"));
    EXPECT_FALSE(doc.select_node("//a[@href='#smoke']"));
}

TEST(RenderHtml, SameInputSameBytes)
{
    EXPECT_EQ(render_html(seed_comparison(true, false)), render_html(seed_comparison(true, false)));
}

} // namespace
} // namespace gpumod::report
