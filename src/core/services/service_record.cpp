#include "core/services/service_record.hpp"

#include <charconv>

namespace gpumod {

std::string_view state_word(ServiceState state)
{
    switch (state) {
    case ServiceState::stopped:
        return "stopped";
    case ServiceState::loading:
        return "loading";
    case ServiceState::ready:
        return "ready";
    case ServiceState::unhealthy:
        return "unhealthy";
    }
    return "unknown";
}

ServiceState derive_state(const ServiceFacts& facts)
{
    if (!facts.process_alive) {
        return ServiceState::stopped;
    }
    if (!facts.has_health_check) {
        return ServiceState::ready;
    }
    if (facts.health_status) {
        if (*facts.health_status == 200) {
            return ServiceState::ready;
        }
        // llama-server answers 503 {"error":{"message":"Loading model"}} while it loads.
        return *facts.health_status == 503 ? ServiceState::loading : ServiceState::unhealthy;
    }
    return facts.health_refused ? ServiceState::loading : ServiceState::unhealthy;
}

namespace {

/// The fields after "pid (comm) ", split on spaces; empty when the text is malformed.
std::vector<std::string_view> fields_after_comm(std::string_view text)
{
    // comm may contain anything, ")" included, so the last ")" ends it.
    const auto close = text.rfind(')');
    if (close == std::string_view::npos || text.find('(') == std::string_view::npos) {
        return {};
    }
    std::vector<std::string_view> fields;
    std::size_t pos = close + 1;
    while (pos < text.size()) {
        while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\n')) {
            ++pos;
        }
        const auto end = text.find_first_of(" \n", pos);
        const auto stop = end == std::string_view::npos ? text.size() : end;
        if (stop > pos) {
            fields.push_back(text.substr(pos, stop - pos));
        }
        pos = stop;
    }
    return fields;
}

} // namespace

std::optional<uint64_t> parse_proc_start_time(std::string_view stat_text)
{
    // Field 3 (state) is the first after comm, so field 22 is index 19.
    constexpr std::size_t k_start_time_index = 22 - 3;
    const auto fields = fields_after_comm(stat_text);
    if (fields.size() <= k_start_time_index) {
        return std::nullopt;
    }
    const auto field = fields[k_start_time_index];
    uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
    if (ec != std::errc() || ptr != field.data() + field.size()) {
        return std::nullopt;
    }
    return value;
}

char parse_proc_state(std::string_view stat_text)
{
    const auto fields = fields_after_comm(stat_text);
    if (fields.empty() || fields[0].size() != 1) {
        return '?';
    }
    return fields[0][0];
}

std::string encode_string_list(const std::vector<std::string>& items)
{
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) {
            out += ',';
        }
        out += '"';
        for (const char c : items[i]) {
            const auto byte = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\') {
                out += '\\';
                out += c;
            } else if (byte < 0x20) {
                out += "\\u00";
                out += k_hex[byte >> 4];
                out += k_hex[byte & 0xF];
            } else {
                out += c;
            }
        }
        out += '"';
    }
    out += ']';
    return out;
}

namespace {

std::optional<uint32_t> hex4(std::string_view text, std::size_t pos)
{
    if (pos + 4 > text.size()) {
        return std::nullopt;
    }
    uint32_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + pos + 4, value, 16);
    if (ec != std::errc() || ptr != text.data() + pos + 4) {
        return std::nullopt;
    }
    return value;
}

void append_utf8(std::string& out, uint32_t cp)
{
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

} // namespace

std::optional<std::vector<std::string>> decode_string_list(std::string_view text)
{
    std::vector<std::string> items;
    std::size_t pos = 0;
    auto skip_space = [&] {
        while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\n' || text[pos] == '\t' ||
                                     text[pos] == '\r')) {
            ++pos;
        }
    };
    skip_space();
    if (pos >= text.size() || text[pos] != '[') {
        return std::nullopt;
    }
    ++pos;
    skip_space();
    if (pos < text.size() && text[pos] == ']') {
        ++pos;
        skip_space();
        return pos == text.size() ? std::optional(items) : std::nullopt;
    }
    for (;;) {
        skip_space();
        if (pos >= text.size() || text[pos] != '"') {
            return std::nullopt;
        }
        ++pos;
        std::string item;
        for (;;) {
            if (pos >= text.size()) {
                return std::nullopt;
            }
            const char c = text[pos++];
            if (c == '"') {
                break;
            }
            if (c != '\\') {
                item += c;
                continue;
            }
            if (pos >= text.size()) {
                return std::nullopt;
            }
            const char e = text[pos++];
            switch (e) {
            case '"': item += '"'; break;
            case '\\': item += '\\'; break;
            case '/': item += '/'; break;
            case 'b': item += '\b'; break;
            case 'f': item += '\f'; break;
            case 'n': item += '\n'; break;
            case 'r': item += '\r'; break;
            case 't': item += '\t'; break;
            case 'u': {
                auto cp = hex4(text, pos);
                if (!cp) {
                    return std::nullopt;
                }
                pos += 4;
                if (*cp >= 0xD800 && *cp < 0xDC00) {
                    // A surrogate pair: the low half must follow.
                    if (pos + 6 > text.size() || text[pos] != '\\' || text[pos + 1] != 'u') {
                        return std::nullopt;
                    }
                    auto low = hex4(text, pos + 2);
                    if (!low || *low < 0xDC00 || *low >= 0xE000) {
                        return std::nullopt;
                    }
                    pos += 6;
                    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
                } else if (*cp >= 0xDC00 && *cp < 0xE000) {
                    return std::nullopt;
                }
                append_utf8(item, *cp);
                break;
            }
            default:
                return std::nullopt;
            }
        }
        items.push_back(std::move(item));
        skip_space();
        if (pos < text.size() && text[pos] == ',') {
            ++pos;
            continue;
        }
        if (pos < text.size() && text[pos] == ']') {
            ++pos;
            skip_space();
            return pos == text.size() ? std::optional(items) : std::nullopt;
        }
        return std::nullopt;
    }
}

} // namespace gpumod
