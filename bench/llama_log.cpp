#include "llama_log.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <regex>
#include <sstream>

namespace gpumod::bench {
namespace {

struct LogLine
{
    char level = ' '; ///< I, W, E, D; ' ' for continuation lines without a prefix
    std::string_view message;
};

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

// llama.cpp's log prefix is "<mm>.<ss>.<mmm>.<uuu> <L> " (four dotted numbers, a level letter).
LogLine split_prefix(std::string_view line)
{
    size_t i = 0;
    int groups = 0;
    while (i < line.size() && groups < 4) {
        const size_t start = i;
        while (i < line.size() && is_digit(line[i])) {
            ++i;
        }
        if (i == start) {
            return {' ', line};
        }
        ++groups;
        if (groups < 4) {
            if (i >= line.size() || line[i] != '.') {
                return {' ', line};
            }
            ++i;
        }
    }
    if (groups == 4 && i + 2 < line.size() && line[i] == ' ' && line[i + 2] == ' ') {
        return {line[i + 1], line.substr(i + 3)};
    }
    return {' ', line};
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

double to_double(std::string_view s)
{
    // strtod needs a terminated string; the numbers are short.
    const std::string copy(trim(s));
    return std::strtod(copy.c_str(), nullptr);
}

template <typename T> T to_uint(std::string_view s)
{
    s = trim(s);
    T value{};
    std::from_chars(s.data(), s.data() + s.size(), value);
    return value;
}

// The whitespace-separated words of `s`.
std::vector<std::string_view> words(std::string_view s)
{
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && s[i] == ' ') {
            ++i;
        }
        const size_t start = i;
        while (i < s.size() && s[i] != ' ') {
            ++i;
        }
        if (i > start) {
            out.push_back(s.substr(start, i - start));
        }
    }
    return out;
}

bool is_buffer_kind(std::string_view kind)
{
    return kind == "model" || kind == "KV" || kind == "RS" || kind == "compute" || kind == "output";
}

// "<func>:   <device> <kind> buffer size =   <x> MiB"
std::optional<BufferLine> parse_buffer_line(std::string_view message)
{
    static constexpr std::string_view k_marker = " buffer size =";
    const size_t at = message.find(k_marker);
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    const auto before = words(message.substr(0, at));
    if (before.size() < 2) {
        return std::nullopt;
    }
    BufferLine line;
    line.kind = std::string(before.back());
    line.device = std::string(before[before.size() - 2]);
    if (!is_buffer_kind(line.kind)) {
        return std::nullopt;
    }
    auto rest = trim(message.substr(at + k_marker.size()));
    const size_t unit = rest.find("MiB");
    if (unit == std::string_view::npos) {
        return std::nullopt;
    }
    line.mib = to_double(rest.substr(0, unit));
    return line;
}

// All integers of a breakdown row after the device cell, in order (signs kept).
std::vector<int64_t> integers(std::string_view s)
{
    std::vector<int64_t> out;
    size_t i = 0;
    while (i < s.size()) {
        const bool negative = s[i] == '-' && i + 1 < s.size() && is_digit(s[i + 1]);
        if (is_digit(s[i]) || negative) {
            size_t j = negative ? i + 1 : i;
            int64_t v = 0;
            while (j < s.size() && is_digit(s[j])) {
                v = v * 10 + (s[j] - '0');
                ++j;
            }
            out.push_back(negative ? -v : v);
            i = j;
        } else {
            ++i;
        }
    }
    return out;
}

// "|   - Host   |   19 =  5 +  4 +  9   |" or
// "|   - Vulkan0 (H200) | 143771 = 143106 + (36 = 1 + 17 + 18) + 628 |"
std::optional<BreakdownRow> parse_breakdown_row(std::string_view message)
{
    const size_t bar = message.find('|');
    if (bar == std::string_view::npos ||
        message.find("memory breakdown [MiB]") != std::string_view::npos) {
        return std::nullopt;
    }
    auto rest = message.substr(bar + 1);
    const size_t bar2 = rest.find('|');
    if (bar2 == std::string_view::npos) {
        return std::nullopt;
    }
    auto name = trim(rest.substr(0, bar2));
    if (name.starts_with("- ")) {
        name = trim(name.substr(2));
    }
    const auto cells = rest.substr(bar2 + 1);
    const auto n = integers(cells);
    BreakdownRow row;
    row.device = std::string(name);
    if (cells.find('(') != std::string_view::npos && n.size() >= 7) {
        row.total = n[0];
        row.free = n[1];
        row.self = n[2];
        row.model = n[3];
        row.context = n[4];
        row.compute = n[5];
        row.unaccounted = n[6];
    } else if (n.size() >= 4) {
        row.self = n[0];
        row.model = n[1];
        row.context = n[2];
        row.compute = n[3];
    } else {
        return std::nullopt;
    }
    return row;
}

// Value after "=" in "print_info: <key>   = <value>" or "llama_context: <key>  = <value>".
std::optional<std::string_view> setting(std::string_view message, std::string_view prefix,
                                        std::string_view key)
{
    const size_t p = message.find(prefix);
    if (p == std::string_view::npos) {
        return std::nullopt;
    }
    auto rest = trim(message.substr(p + prefix.size()));
    if (!rest.starts_with(key)) {
        return std::nullopt;
    }
    rest = rest.substr(key.size());
    if (rest.empty() || rest.front() != ' ') {
        return std::nullopt; // a longer key with the same start
    }
    rest = trim(rest);
    if (!rest.starts_with("=")) {
        return std::nullopt;
    }
    return trim(rest.substr(1));
}

} // namespace

ParsedLog parse_llama_log(std::string_view text)
{
    static const std::regex k_kv_re(
        R"(llama_kv_cache: size =\s*([0-9.]+) MiB \(\s*([0-9]+) cells,\s*([0-9]+) layers,\s*([0-9]+)/([0-9]+) seqs\), K \(([A-Za-z0-9_]+)\):\s*([0-9.]+) MiB, V \(([A-Za-z0-9_]+)\):\s*([0-9.]+) MiB)");
    static const std::regex k_rs_re(
        R"(llama_memory_recurrent: size =\s*([0-9.]+) MiB \(\s*([0-9]+) cells,\s*([0-9]+) layers,.*R \([A-Za-z0-9_]+\):\s*([0-9.]+) MiB, S \([A-Za-z0-9_]+\):\s*([0-9.]+) MiB)");

    ParsedLog out;
    int context = k_model_context;
    std::optional<bool> next_kv_swa;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        const auto raw = text.substr(pos, end - pos);
        pos = end + 1;
        const LogLine line = split_prefix(raw);
        const auto msg = line.message;
        if (line.level == 'E') {
            out.errors.emplace_back(trim(msg));
        }

        if (msg.find("llama_context: constructing llama_context") != std::string_view::npos) {
            ++context;
            out.contexts.emplace_back();
            continue;
        }
        if (msg.find("creating MTP draft context") != std::string_view::npos) {
            out.mtp_context = true;
        }
        if (msg.find("listening on http://") != std::string_view::npos) {
            out.listening = true;
        }
        if (auto buffer = parse_buffer_line(msg)) {
            buffer->context = buffer->kind == "model" ? k_model_context : std::max(context, 0);
            out.buffers.push_back(std::move(*buffer));
            continue;
        }
        if (msg.find("common_memory_breakdown_print:") != std::string_view::npos) {
            if (auto row = parse_breakdown_row(msg)) {
                out.breakdown.push_back(std::move(*row));
            }
            continue;
        }
        if (msg.find("creating     SWA KV cache") != std::string_view::npos ||
            msg.find("creating SWA KV cache") != std::string_view::npos) {
            next_kv_swa = true;
            continue;
        }
        if (msg.find("creating non-SWA KV cache") != std::string_view::npos) {
            next_kv_swa = false;
            continue;
        }
        if (msg.find("llama_kv_cache: size =") != std::string_view::npos) {
            std::match_results<std::string_view::const_iterator> m;
            if (std::regex_search(msg.begin(), msg.end(), m, k_kv_re)) {
                KvCacheLine kv;
                kv.context = std::max(context, 0);
                kv.mib = std::stod(m[1].str());
                kv.cells = std::stoull(m[2].str());
                kv.layers = static_cast<uint32_t>(std::stoul(m[3].str()));
                kv.seqs = static_cast<uint32_t>(std::stoul(m[4].str()));
                kv.seqs_max = static_cast<uint32_t>(std::stoul(m[5].str()));
                kv.k_type = m[6].str();
                kv.k_mib = std::stod(m[7].str());
                kv.v_type = m[8].str();
                kv.v_mib = std::stod(m[9].str());
                kv.swa = next_kv_swa.value_or(false);
                next_kv_swa.reset();
                out.kv_caches.push_back(std::move(kv));
            }
            continue;
        }
        if (msg.find("llama_memory_recurrent: size =") != std::string_view::npos) {
            std::match_results<std::string_view::const_iterator> m;
            if (std::regex_search(msg.begin(), msg.end(), m, k_rs_re)) {
                RecurrentLine rs;
                rs.context = std::max(context, 0);
                rs.mib = std::stod(m[1].str());
                rs.cells = std::stoull(m[2].str());
                rs.layers = static_cast<uint32_t>(std::stoul(m[3].str()));
                rs.r_mib = std::stod(m[4].str());
                rs.s_mib = std::stod(m[5].str());
                out.recurrent.push_back(rs);
            }
            continue;
        }
        if (auto v = setting(msg, "print_info:", "file size")) {
            out.file_size_mib = to_double(v->substr(0, v->find("MiB")));
            continue;
        }
        if (auto v = setting(msg, "print_info:", "model params")) {
            out.model_params = std::string(*v);
            continue;
        }
        if (context >= 0 && !out.contexts.empty()) {
            auto& c = out.contexts.back();
            if (auto v = setting(msg, "llama_context:", "n_ctx")) {
                c.n_ctx = to_uint<uint64_t>(*v);
            } else if (auto v2 = setting(msg, "llama_context:", "n_ctx_seq")) {
                c.n_ctx_seq = to_uint<uint64_t>(*v2);
            } else if (auto v3 = setting(msg, "llama_context:", "n_seq_max")) {
                c.n_seq_max = to_uint<uint32_t>(*v3);
            } else if (auto v4 = setting(msg, "llama_context:", "n_batch")) {
                c.n_batch = to_uint<uint32_t>(*v4);
            } else if (auto v5 = setting(msg, "llama_context:", "n_ubatch")) {
                c.n_ubatch = to_uint<uint32_t>(*v5);
            } else if (auto v6 = setting(msg, "llama_context:", "flash_attn")) {
                c.flash_attn = *v6 == "enabled" || *v6 == "true" || *v6 == "1";
            } else if (auto v7 = setting(msg, "llama_context:", "kv_unified")) {
                c.kv_unified = *v7 == "true" || *v7 == "1";
            }
        }
    }
    return out;
}

std::string device_group(std::string_view device)
{
    if (device.starts_with("CPU") || device.ends_with("_Host")) {
        return "host";
    }
    return std::string(device);
}

std::map<std::string, ReportedComponents> reported_components(const ParsedLog& log)
{
    std::map<std::string, ReportedComponents> out;
    // Largest compute buffer per (context, device).
    std::map<std::pair<int, std::string>, double> compute;
    for (const auto& b : log.buffers) {
        const std::string group = device_group(b.device);
        auto& c = out[group];
        const bool main = b.context <= 0;
        if (b.kind == "model") {
            c.weights += b.mib;
        } else if (b.kind == "KV") {
            (main ? c.kv_cache : c.mtp_kv_cache) += b.mib;
        } else if (b.kind == "RS") {
            (main ? c.recurrent_state : c.mtp_kv_cache) += b.mib;
        } else if (b.kind == "output") {
            (main ? c.output_buffer : c.mtp_compute) += b.mib;
        } else if (b.kind == "compute") {
            auto& slot = compute[{b.context, b.device}];
            slot = std::max(slot, b.mib);
        }
    }
    for (const auto& [key, mib] : compute) {
        auto& c = out[device_group(key.second)];
        (key.first <= 0 ? c.compute_buffer : c.mtp_compute) += mib;
    }
    return out;
}

} // namespace gpumod::bench
