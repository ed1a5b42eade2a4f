#include "core/report/text_table.hpp"

#include <algorithm>
#include <cassert>

namespace gpumod {

std::size_t display_width(const std::string& text)
{
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U;
    }));
}

void TextTable::add_column(std::string header, Align align)
{
    m_columns.push_back(Column{std::move(header), align});
}

void TextTable::add_row(std::vector<std::string> cells)
{
    assert(cells.size() <= m_columns.size());
    cells.resize(m_columns.size());
    m_rows.push_back(std::move(cells));
}

std::string TextTable::render() const
{
    std::vector<std::size_t> widths(m_columns.size(), 0);
    for (std::size_t c = 0; c < m_columns.size(); ++c) {
        widths[c] = display_width(m_columns[c].header);
        for (const auto& row : m_rows) {
            widths[c] = std::max(widths[c], display_width(row[c]));
        }
    }
    auto render_line = [&](const std::vector<std::string>& cells) {
        std::string line;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            const std::size_t pad = widths[c] - display_width(cells[c]);
            const bool last = c + 1 == cells.size();
            if (c > 0) {
                line += "  ";
            }
            if (m_columns[c].align == Align::right) {
                line.append(pad, ' ');
                line += cells[c];
            } else {
                line += cells[c];
                if (!last) {
                    line.append(pad, ' ');
                }
            }
        }
        while (!line.empty() && line.back() == ' ') {
            line.pop_back();
        }
        return line + "\n";
    };
    std::vector<std::string> headers;
    std::vector<std::string> rules;
    for (std::size_t c = 0; c < m_columns.size(); ++c) {
        headers.push_back(m_columns[c].header);
        rules.emplace_back(widths[c], '-');
    }
    std::string out = render_line(headers) + render_line(rules);
    for (const auto& row : m_rows) {
        out += render_line(row);
    }
    return out;
}

} // namespace gpumod
