#include "core/services/log_diagnosis.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace gpumod {
namespace {

std::string lower(std::string_view text)
{
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

struct Rule
{
    FailureKind kind;
    /// Every needle must occur in the same line (lower case).
    std::vector<std::string_view> needles;
};

// Ordered: specific causes first. A missing file or an allocation failure is followed by the
// generic "failed to load model", which must not win.
const std::array<Rule, 13>& rules()
{
    static const std::array<Rule, 13> k_rules{{
        {FailureKind::port_in_use, {"couldn't bind http server socket"}},
        {FailureKind::port_in_use, {"address already in use"}},
        {FailureKind::unknown_flag, {"error: invalid argument"}},
        {FailureKind::unknown_flag, {"unknown argument"}},
        {FailureKind::model_file_missing, {"failed to open gguf file", "no such file"}},
        {FailureKind::model_file_missing, {".gguf", "no such file or directory"}},
        {FailureKind::out_of_memory, {"out of memory"}},
        {FailureKind::out_of_memory, {"cudamalloc failed"}},
        {FailureKind::out_of_memory, {"failed to allocate"}},
        {FailureKind::out_of_memory, {"unable to allocate"}},
        {FailureKind::out_of_memory, {"bad_alloc"}},
        {FailureKind::model_load_failed, {"failed to load model"}},
        {FailureKind::model_load_failed, {"error loading model"}},
    }};
    return k_rules;
}

std::vector<std::string_view> split_lines(std::string_view text)
{
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) {
        s.remove_suffix(1);
    }
    return s;
}

LogDiagnosis describe(FailureKind kind, std::string matched)
{
    LogDiagnosis d;
    d.kind = kind;
    d.matched_line = std::move(matched);
    switch (kind) {
    case FailureKind::port_in_use:
        d.summary = "the port is already in use";
        d.next_step = "stop whatever listens on the port (ss -ltnp) or give the preset another port";
        break;
    case FailureKind::unknown_flag:
        d.summary = "llama-server rejected a command-line flag";
        d.next_step = "fix or remove the flag in the preset (this llama-server build lists its "
                      "flags in `llama-server --help`); `gpumod service cmd ID` shows the argv";
        break;
    case FailureKind::model_file_missing:
        d.summary = "the model file does not exist";
        d.next_step = "check the model path in the preset (and that $HOME/${VAR} expand as "
                      "expected); `gpumod service cmd ID` shows the path passed";
        break;
    case FailureKind::out_of_memory:
        d.summary = "out of memory while loading";
        d.next_step = "stop other GPU services (`gpumod isolate ID`), or lower ctx, quantize the "
                      "KV cache (q8_0/q4_0) or offload fewer layers; `gpumod plan ID` shows what fits";
        break;
    case FailureKind::model_load_failed:
        d.summary = "llama-server could not load the model";
        d.next_step = "check the file with `gpumod gguf inspect FILE` (truncated download, or an "
                      "architecture this llama-server build does not know)";
        break;
    case FailureKind::unknown:
        d.summary = "no known cause in the log";
        d.next_step = "read the whole log with `gpumod service logs ID`";
        break;
    }
    return d;
}

} // namespace

std::string_view failure_kind_word(FailureKind kind)
{
    switch (kind) {
    case FailureKind::port_in_use:
        return "port_in_use";
    case FailureKind::unknown_flag:
        return "unknown_flag";
    case FailureKind::model_file_missing:
        return "model_file_missing";
    case FailureKind::out_of_memory:
        return "out_of_memory";
    case FailureKind::model_load_failed:
        return "model_load_failed";
    case FailureKind::unknown:
        return "unknown";
    }
    return "unknown";
}

LogDiagnosis classify_log_tail(std::string_view tail)
{
    const auto lines = split_lines(tail);
    std::vector<std::string> lowered;
    lowered.reserve(lines.size());
    for (auto line : lines) {
        lowered.push_back(lower(line));
    }
    for (const auto& rule : rules()) {
        for (std::size_t i = 0; i < lines.size(); ++i) {
            const bool all = std::all_of(rule.needles.begin(), rule.needles.end(), [&](auto n) {
                return lowered[i].find(n) != std::string::npos;
            });
            if (all) {
                return describe(rule.kind, std::string(trim(lines[i])));
            }
        }
    }
    return describe(FailureKind::unknown, "");
}

ReadinessSignal readiness_signal(std::string_view line)
{
    const std::string l = lower(line);
    // 0.7.0: "llama_server: listening on http://..."; older: "main: server is listening on
    // http://... - starting the main loop". Both come after the model is loaded.
    if (l.find("llama_server: listening on") != std::string::npos ||
        l.find("server is listening on") != std::string::npos) {
        return ReadinessSignal::listening;
    }
    if (l.find("model loaded") != std::string::npos) {
        return ReadinessSignal::model_loaded;
    }
    return ReadinessSignal::none;
}

std::optional<int64_t> parse_log_timestamp_us(std::string_view line)
{
    // "%d.%02d.%03d.%03d " = minutes, seconds, milliseconds, microseconds.
    std::array<int64_t, 4> parts{};
    std::size_t pos = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const char* begin = line.data() + pos;
        const char* end = line.data() + line.size();
        const auto [ptr, ec] = std::from_chars(begin, end, parts[i]);
        if (ec != std::errc() || ptr == begin) {
            return std::nullopt;
        }
        pos = static_cast<std::size_t>(ptr - line.data());
        const char want = i + 1 < parts.size() ? '.' : ' ';
        if (pos >= line.size() || line[pos] != want) {
            return std::nullopt;
        }
        ++pos;
    }
    if (parts[1] >= 60 || parts[2] >= 1000 || parts[3] >= 1000) {
        return std::nullopt;
    }
    return ((parts[0] * 60 + parts[1]) * 1000 + parts[2]) * 1000 + parts[3];
}

std::vector<std::string> LineSplitter::feed(std::string_view bytes)
{
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (;;) {
        const auto newline = bytes.find('\n', start);
        if (newline == std::string_view::npos) {
            m_partial.append(bytes.substr(start));
            break;
        }
        m_partial.append(bytes.substr(start, newline - start));
        lines.push_back(std::move(m_partial));
        m_partial.clear();
        start = newline + 1;
    }
    return lines;
}

} // namespace gpumod
