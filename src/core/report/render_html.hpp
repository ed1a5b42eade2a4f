#pragma once

// The comparison report as one self-contained HTML file: the same sections, tables and
// numbers as the Markdown report (render_markdown.cpp), plus SVG charts (mean score, score
// distribution, level pass rates with Wilson intervals, TPS, draft acceptance, smoke pass
// rates). Inline CSS (light and dark), no scripts beyond the render check, no network. Pure.

#include <string>

#include "core/report/comparison.hpp"

namespace gpumod::report {

/// The whole report as an HTML document, ending in one newline. Same input, same bytes.
std::string render_html(const Comparison& comparison);

} // namespace gpumod::report
