#include "core/config/expand.hpp"

#include <fmt/format.h>

namespace gpumod::config {
namespace {

bool is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

// A default may itself hold references; the bound keeps a crafted value from recursing deeply.
constexpr int k_max_depth = 16;

// Index of the '}' that closes a "${" whose body starts at `from`, or npos.
std::size_t find_closing_brace(std::string_view text, std::size_t from)
{
    int depth = 1;
    std::size_t k = from;
    while (k < text.size()) {
        if (text[k] == '$' && k + 1 < text.size() && (text[k + 1] == '$' || text[k + 1] == '{')) {
            if (text[k + 1] == '{') {
                ++depth;
            }
            k += 2;
            continue;
        }
        if (text[k] == '}' && --depth == 0) {
            return k;
        }
        ++k;
    }
    return std::string_view::npos;
}

Result<std::string> expand(std::string_view text, const EnvMap& env, int depth)
{
    if (depth > k_max_depth) {
        return fail("variable defaults nested too deeply");
    }
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    const auto undefined = [](std::string_view name) {
        return fail(fmt::format("undefined variable '{}' (set it, or write ${{{}:-default}})", name,
                                name));
    };
    while (i < text.size()) {
        const char c = text[i];
        if (c != '$') {
            out += c;
            ++i;
            continue;
        }
        if (i + 1 >= text.size()) {
            return fail("a lone '$' at the end (write '$$' for a literal dollar sign)");
        }
        const char next = text[i + 1];
        if (next == '$') {
            out += '$';
            i += 2;
            continue;
        }
        if (next == '{') {
            std::size_t j = i + 2;
            while (j < text.size() && is_name_char(text[j])) {
                ++j;
            }
            const auto name = text.substr(i + 2, j - (i + 2));
            if (name.empty() || !is_name_start(name.front())) {
                return fail(fmt::format("'${{' at offset {} must be followed by a variable name", i));
            }
            const auto found = env.find(std::string(name));
            if (j < text.size() && text[j] == '}') {
                if (found == env.end()) {
                    return undefined(name);
                }
                out += found->second;
                i = j + 1;
                continue;
            }
            if (text.substr(j, 2) != ":-") {
                return fail(fmt::format("malformed '${{{}' (expected '}}' or ':-default}}')", name));
            }
            const auto close = find_closing_brace(text, j + 2);
            if (close == std::string_view::npos) {
                return fail(fmt::format("unclosed '${{{}:-' (missing '}}')", name));
            }
            if (found != env.end() && !found->second.empty()) {
                out += found->second;
            } else {
                auto fallback = expand(text.substr(j + 2, close - (j + 2)), env, depth + 1);
                if (!fallback) {
                    return fallback;
                }
                out += *fallback;
            }
            i = close + 1;
            continue;
        }
        if (!is_name_start(next)) {
            return fail(fmt::format("'$' at offset {} is not followed by a variable name (write "
                                    "'$$' for a literal dollar sign)",
                                    i));
        }
        std::size_t j = i + 1;
        while (j < text.size() && is_name_char(text[j])) {
            ++j;
        }
        const auto name = text.substr(i + 1, j - (i + 1));
        const auto found = env.find(std::string(name));
        if (found == env.end()) {
            return undefined(name);
        }
        out += found->second;
        i = j;
    }
    return out;
}

} // namespace

Result<std::string> expand_variables(std::string_view text, const EnvMap& env)
{
    return expand(text, env, 0);
}

} // namespace gpumod::config
