#include "core/report/html_document.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/report/xml_text.hpp"

namespace gpumod::report {
namespace {

// Colours come from variables so one rule set serves light and dark; the charts draw text and
// axes in currentColor and pick this up. The series colours (Okabe-Ito) read on both.
constexpr std::string_view k_stylesheet = R"css(
:root { color-scheme: light dark; --fg: #1b1b1f; --bg: #ffffff; --muted: #5c5f66;
  --rule: #d6d8dc; --head: #f2f3f5; --mark: #fff4d6; --warn: #8a4b00; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e4e5e8; --bg: #16171a; --muted: #a2a5ad; --rule: #3a3c42; --head: #222429;
    --mark: #3b3220; --warn: #f0b45a; }
}
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 1.6em; margin: 0 0 0.4em; }
h2 { font-size: 1.25em; margin: 2em 0 0.5em; padding-bottom: 0.2em; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.05em; margin: 1.5em 0 0.4em; }
p, ul { margin: 0.5em 0; }
.note { color: var(--muted); font-size: 0.92em; }
.warning { color: var(--warn); }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.92em; }
.table-wrap { overflow-x: auto; margin: 0.6em 0 1em; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 0.93em; }
caption { caption-side: top; text-align: left; color: var(--muted); padding: 0 0 4px; }
th, td { border: 1px solid var(--rule); padding: 4px 9px; vertical-align: top; }
th { background: var(--head); font-weight: 600; }
.l { text-align: left; }
.r { text-align: right; white-space: nowrap; }
tr.differs td, tr.delta td { background: var(--mark); }
tr.delta td { font-weight: 600; }
figure { margin: 1em 0 1.5em; }
figure svg.chart { display: block; max-width: 720px; height: auto; }
figcaption { color: var(--muted); font-size: 0.9em; margin-top: 4px; }
nav.toc ul { columns: 2; padding-left: 1.2em; }
@media print { nav.toc { display: none; } h2 { break-after: avoid; } figure { break-inside: avoid; } }
)css";

// Counts charts that have a size and drawn content; the Chromium test reads the attributes
// from the dumped DOM (tests/report/check_html_report.py). Nothing else runs on the page.
// Written without "<" and "&" so the page stays well-formed XML (tests parse it with pugixml).
constexpr std::string_view k_render_check = R"js(
(function () {
  var charts = document.querySelectorAll("svg.chart");
  var drawn = 0;
  Array.prototype.forEach.call(charts, function (chart) {
    var box = chart.getBoundingClientRect();
    var content = chart.getBBox();
    if (Math.min(box.width, box.height, content.width, content.height) > 0) {
      drawn += 1;
    }
  });
  document.body.setAttribute("data-charts", String(charts.length));
  document.body.setAttribute("data-charts-rendered", String(drawn));
})();
)js";

// The report must open from a file with no network: forbid every load except inline style
// and the inline render check, so an accidental external reference fails loudly.
constexpr std::string_view k_content_security_policy =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

std::string_view align_class(Align align)
{
    return align == Align::right ? "r" : "l";
}

} // namespace

void HtmlTable::add_column(std::string header, Align align, CellFormat format)
{
    m_columns.push_back(Column{std::move(header), align, format});
}

void HtmlTable::add_row(std::vector<std::string> cells, std::string row_class)
{
    cells.resize(m_columns.size());
    m_rows.push_back(Row{std::move(cells), std::move(row_class)});
}

void HtmlTable::set_caption(std::string caption)
{
    m_caption = std::move(caption);
}

std::string HtmlTable::render() const
{
    std::string out = "<div class=\"table-wrap\"><table>\n";
    if (!m_caption.empty()) {
        out += "<caption>" + escape_xml(m_caption) + "</caption>\n";
    }
    out += "<thead><tr>";
    for (const auto& column : m_columns) {
        out += fmt::format("<th class=\"{}\" scope=\"col\">{}</th>", align_class(column.align),
                           escape_xml(column.header));
    }
    out += "</tr></thead>\n<tbody>\n";
    for (const auto& row : m_rows) {
        out += row.row_class.empty() ? "<tr>"
                                     : fmt::format("<tr class=\"{}\">", escape_xml(row.row_class));
        for (std::size_t c = 0; c < m_columns.size(); ++c) {
            const std::string& cell = row.cells[c];
            const bool code =
                m_columns[c].format == CellFormat::code && !cell.empty() && cell != "-";
            out += fmt::format("<td class=\"{}\">{}{}{}</td>", align_class(m_columns[c].align),
                               code ? "<code>" : "", escape_xml(cell), code ? "</code>" : "");
        }
        out += "</tr>\n";
    }
    out += "</tbody>\n</table></div>\n";
    return out;
}

std::string html_heading(int level, std::string_view text, std::string_view id)
{
    const int n = std::clamp(level, 1, 6);
    const std::string id_attribute = id.empty() ? "" : fmt::format(" id=\"{}\"", escape_xml(id));
    return fmt::format("<h{0}{1}>{2}</h{0}>\n", n, id_attribute, escape_xml(text));
}

std::string html_paragraph(std::string_view text, std::string_view css_class)
{
    if (css_class.empty()) {
        return "<p>" + escape_xml(text) + "</p>\n";
    }
    return fmt::format("<p class=\"{}\">{}</p>\n", escape_xml(css_class), escape_xml(text));
}

std::string html_list(const std::vector<std::string>& items, std::string_view css_class)
{
    if (items.empty()) {
        return "";
    }
    std::string out =
        css_class.empty() ? "<ul>\n" : fmt::format("<ul class=\"{}\">\n", escape_xml(css_class));
    for (const auto& item : items) {
        out += "<li>" + escape_xml(item) + "</li>\n";
    }
    out += "</ul>\n";
    return out;
}

std::string html_figure(std::string_view svg_html, std::string_view caption)
{
    std::string out = "<figure>\n";
    out += svg_html;
    if (!caption.empty()) {
        out += "<figcaption>" + escape_xml(caption) + "</figcaption>\n";
    }
    out += "</figure>\n";
    return out;
}

std::string html_page(std::string_view title, std::string_view body_html)
{
    std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n";
    out += fmt::format("<meta http-equiv=\"Content-Security-Policy\" content=\"{}\"/>\n",
                       k_content_security_policy);
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n";
    out += "<meta name=\"generator\" content=\"gpumod\"/>\n";
    out += "<title>" + escape_xml(title) + "</title>\n";
    out += "<style>" + std::string(k_stylesheet) + "</style>\n</head>\n<body>\n<main>\n";
    out += body_html;
    out += "</main>\n<script>" + std::string(k_render_check) + "</script>\n</body>\n</html>\n";
    return out;
}

} // namespace gpumod::report
