#pragma once

// The comparison report as GitHub-flavoured Markdown: verdicts first, then caveats, setup,
// models, results tables, statistics with each method named, methodology and files. Tables
// are padded so that their source lines up in a terminal as well as rendering on a code
// forge; no line ends in whitespace. Pure.

#include <string>
#include <vector>

#include "core/report/comparison.hpp"

namespace gpumod::report {

/// The whole report as Markdown, ending in one newline.
std::string render_markdown(const Comparison& comparison);

/// A GitHub-flavoured Markdown table: header, alignment row and rows, every column padded to
/// its widest cell (code points), '|' in cells escaped, newlines turned into spaces.
class MarkdownTable
{
  public:
    enum class Align
    {
        left,
        right,
    };

    /// Declares a column.
    void add_column(std::string header, Align align = Align::left);

    /// Adds a row; missing cells are blank.
    void add_row(std::vector<std::string> cells);

    /// The table, one line per row, each ending in '\n'.
    [[nodiscard]] std::string render() const;

  private:
    std::vector<std::string> m_headers;
    std::vector<Align> m_aligns;
    std::vector<std::vector<std::string>> m_rows;
};

} // namespace gpumod::report
