#pragma once

// Reads an ExecStart= value back into argv the way systemd does (words split on blanks,
// double-quoted words with C escapes, `$$` -> `$`, `%%` -> `%`, a lone `\;` -> `;`), written
// from systemd.service(5) and systemd.syntax(7) independently of the renderer it checks.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpumod::testing {

/// The argv of `value`, or nullopt when it is malformed (unterminated quote, bad escape, a
/// lone `$` or `%` that systemd would expand).
inline std::optional<std::vector<std::string>> systemd_exec_words(std::string_view value)
{
    std::vector<std::string> words;
    std::size_t i = 0;
    const auto at = [&](std::size_t k) { return k < value.size() ? value[k] : '\0'; };
    while (i < value.size()) {
        if (value[i] == ' ' || value[i] == '\t') {
            ++i;
            continue;
        }
        std::string word;
        const bool quoted = value[i] == '"';
        if (quoted) {
            ++i;
        }
        if (!quoted && value.substr(i, 2) == "\\;" && (at(i + 2) == ' ' || at(i + 2) == '\0')) {
            words.emplace_back(";");
            i += 2;
            continue;
        }
        for (;;) {
            if (i >= value.size()) {
                if (quoted) {
                    return std::nullopt;
                }
                break;
            }
            const char c = value[i];
            if (quoted && c == '"') {
                ++i;
                break;
            }
            if (!quoted && (c == ' ' || c == '\t')) {
                break;
            }
            if (c == '\\') {
                const char e = at(i + 1);
                if (e == '\\' || e == '"' || e == '\'') {
                    word += e;
                    i += 2;
                } else if (e == 'n') {
                    word += '\n';
                    i += 2;
                } else if (e == 't') {
                    word += '\t';
                    i += 2;
                } else if (e == 'x' && i + 3 < value.size()) {
                    word += static_cast<char>(
                        std::stoi(std::string(value.substr(i + 2, 2)), nullptr, 16));
                    i += 4;
                } else {
                    return std::nullopt;
                }
                continue;
            }
            if (c == '$' || c == '%') {
                if (at(i + 1) != c) {
                    return std::nullopt; // systemd would expand it
                }
                word += c;
                i += 2;
                continue;
            }
            word += c;
            ++i;
        }
        words.push_back(std::move(word));
    }
    return words;
}

} // namespace gpumod::testing
