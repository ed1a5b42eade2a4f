#pragma once

// Aligned plain-text tables for terminal output. Widths count UTF-8 code points, so a
// "✓" or "—" takes one column like an ASCII letter.

#include <cstddef>
#include <string>
#include <vector>

namespace gpumod {

enum class Align
{
    left,
    right,
};

class TextTable
{
public:
    /// Declares a column; `align` applies to the header and every cell of the column.
    void add_column(std::string header, Align align = Align::left);

    /// Adds a row; missing cells are blank, extra cells are an error caught by assert.
    void add_row(std::vector<std::string> cells);

    /// Renders header, a rule of dashes, and rows, columns separated by two spaces,
    /// without trailing spaces.
    [[nodiscard]] std::string render() const;

private:
    struct Column
    {
        std::string header;
        Align align;
    };
    std::vector<Column> m_columns;
    std::vector<std::vector<std::string>> m_rows;
};

/// Number of UTF-8 code points in `text` (continuation bytes are not counted).
std::size_t display_width(const std::string& text);

} // namespace gpumod
