#pragma once

// Text for XML and HTML documents (SVG charts, the HTML report). Labels come from result files
// (model names, level names, failure messages), so everything written into markup goes through
// here: a stray "<" or an invalid byte must not break the document.

#include <string>
#include <string_view>

namespace gpumod::report {

/// `text` with & < > " ' written as entities, so it is safe in element content and in quoted
/// attribute values; bytes that are not valid UTF-8 and characters XML 1.0 forbids (C0 controls
/// other than tab, newline, carriage return; U+FFFE, U+FFFF) become U+FFFD.
std::string escape_xml(std::string_view text);

} // namespace gpumod::report
