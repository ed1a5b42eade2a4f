#pragma once

// Building blocks of the self-contained HTML report: a table with escaped cells and column
// alignment, small element helpers, and the page around them (inline CSS with light and dark
// colours, a Content-Security-Policy that forbids every network load, and a tiny inline script
// that records how many charts rendered, which the headless-browser test reads). Every text
// argument is plain text and is escaped here; only arguments named `*_html` carry markup.
// The markup is also well-formed XML (self-closed void elements, no "<" or "&" in the script),
// so tests can parse a whole report.

#include <string>
#include <string_view>
#include <vector>

#include "core/report/text_table.hpp"

namespace gpumod::report {

/// How a column's cells are marked up: plain text, or <code> for identifiers (run ids, file
/// names, hashes); a cell reading "-" (nothing recorded) stays plain text either way.
enum class CellFormat
{
    text,
    code,
};

/// A <table> with a header row, left- or right-aligned columns and escaped cells.
class HtmlTable
{
  public:
    /// Declares a column; `align` applies to the header and every cell of the column.
    void add_column(std::string header, Align align = Align::left,
                    CellFormat format = CellFormat::text);

    /// Adds a row; missing cells are blank, extra cells are dropped. `row_class` ("delta",
    /// "differs") lets the stylesheet mark the row.
    void add_row(std::vector<std::string> cells, std::string row_class = "");

    /// A caption shown above the table.
    void set_caption(std::string caption);

    /// Number of rows added so far.
    [[nodiscard]] std::size_t row_count() const { return m_rows.size(); }

    /// The table as HTML, one row per line.
    [[nodiscard]] std::string render() const;

  private:
    struct Column
    {
        std::string header;
        Align align;
        CellFormat format;
    };
    struct Row
    {
        std::vector<std::string> cells;
        std::string row_class;
    };
    std::vector<Column> m_columns;
    std::vector<Row> m_rows;
    std::string m_caption;
};

/// <hN id="id">text</hN>; `level` is clamped to 1..6, an empty id is left out.
std::string html_heading(int level, std::string_view text, std::string_view id = "");

/// <p>text</p>, with an optional class ("note", "warning").
std::string html_paragraph(std::string_view text, std::string_view css_class = "");

/// <ul> with one escaped <li> per item; empty when there are no items.
std::string html_list(const std::vector<std::string>& items, std::string_view css_class = "");

/// A chart in a <figure>, with an optional caption under it; `svg_html` is inserted as is.
std::string html_figure(std::string_view svg_html, std::string_view caption = "");

/// The whole document: doctype, UTF-8, title, inline stylesheet, no network access, `body_html`
/// inside <main>, and the render check that sets data-charts / data-charts-rendered on <body>.
std::string html_page(std::string_view title, std::string_view body_html);

} // namespace gpumod::report
