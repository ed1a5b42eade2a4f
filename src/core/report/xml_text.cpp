#include "core/report/xml_text.hpp"

#include <cstddef>
#include <cstdint>

namespace gpumod::report {
namespace {

constexpr std::string_view k_replacement = "\xEF\xBF\xBD"; // U+FFFD

/// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is not one (overlong
/// forms, surrogates and code points above U+10FFFF count as invalid).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i, std::uint32_t& code_point)
{
    const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
    const std::uint8_t lead = byte(i);
    std::size_t length = 0;
    std::uint32_t minimum = 0;
    if (lead < 0x80U) {
        code_point = lead;
        return 1;
    }
    if ((lead & 0xE0U) == 0xC0U) {
        length = 2;
        minimum = 0x80U;
        code_point = lead & 0x1FU;
    } else if ((lead & 0xF0U) == 0xE0U) {
        length = 3;
        minimum = 0x800U;
        code_point = lead & 0x0FU;
    } else if ((lead & 0xF8U) == 0xF0U) {
        length = 4;
        minimum = 0x10000U;
        code_point = lead & 0x07U;
    } else {
        return 0;
    }
    if (i + length > text.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0U) != 0x80U) {
            return 0;
        }
        code_point = (code_point << 6U) | (byte(i + k) & 0x3FU);
    }
    const bool surrogate = code_point >= 0xD800U && code_point <= 0xDFFFU;
    if (code_point < minimum || code_point > 0x10FFFFU || surrogate) {
        return 0;
    }
    return length;
}

/// True for characters XML 1.0 does not allow in a document at all.
bool forbidden_in_xml(std::uint32_t code_point)
{
    if (code_point < 0x20U) {
        return code_point != '\t' && code_point != '\n' && code_point != '\r';
    }
    return code_point == 0xFFFEU || code_point == 0xFFFFU;
}

} // namespace

std::string escape_xml(std::string_view text)
{
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    std::size_t i = 0;
    while (i < text.size()) {
        std::uint32_t code_point = 0;
        const std::size_t length = utf8_sequence_length(text, i, code_point);
        if (length == 0) {
            out += k_replacement;
            ++i;
            continue;
        }
        if (forbidden_in_xml(code_point)) {
            out += k_replacement;
        } else if (length > 1) {
            out.append(text.substr(i, length));
        } else {
            switch (text[i]) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += text[i];
                break;
            }
        }
        i += length;
    }
    return out;
}

} // namespace gpumod::report
