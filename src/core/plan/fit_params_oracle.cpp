#include "core/plan/fit_params_oracle.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "core/gguf/gguf_types.hpp"

namespace gpumod::plan {
namespace {

// How many characters of a bad line an error message quotes.
constexpr std::size_t k_quote_limit = 200;

std::string_view trim(std::string_view s)
{
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

std::vector<std::string_view> lines_of(std::string_view text)
{
    std::vector<std::string_view> out;
    while (!text.empty()) {
        const auto newline = text.find('\n');
        out.push_back(text.substr(0, newline));
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    }
    return out;
}

std::vector<std::string_view> words_of(std::string_view line)
{
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i])) != 0) {
            ++i;
        }
        const std::size_t start = i;
        while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i])) == 0) {
            ++i;
        }
        if (i > start) {
            out.push_back(line.substr(start, i - start));
        }
    }
    return out;
}

std::string quote(std::string_view s)
{
    if (s.size() > k_quote_limit) {
        return std::string(s.substr(0, k_quote_limit)) + "...";
    }
    return std::string(s);
}

template <typename T> std::optional<T> parse_integer(std::string_view s)
{
    T value{};
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, value);
    if (s.empty() || ec != std::errc() || ptr != end) {
        return std::nullopt;
    }
    return value;
}

// Words of the fitted line; a word starting with '"' runs to the closing quote (the -ot list
// is quoted by current builds), the quotes removed.
Result<std::vector<std::string>> split_answer(std::string_view line)
{
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < line.size()) {
        if (std::isspace(static_cast<unsigned char>(line[i])) != 0) {
            ++i;
            continue;
        }
        if (line[i] == '"') {
            const auto close = line.find('"', i + 1);
            if (close == std::string_view::npos) {
                return fail(fmt::format("llama-fit-params' answer has an unclosed quote: '{}'",
                                        quote(line)));
            }
            out.emplace_back(line.substr(i + 1, close - i - 1));
            i = close + 1;
            continue;
        }
        const std::size_t start = i;
        while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i])) == 0) {
            ++i;
        }
        out.emplace_back(line.substr(start, i - start));
    }
    return out;
}

bool is_buffer_type_name(std::string_view s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
    });
}

// "p1=BUFT,p2=BUFT": entries are split at commas, but a comma inside a pattern (a regex
// `{1,2}`) does not end one: an entry is complete once it ends in "=<buffer type name>".
Result<std::vector<OracleTensorOverride>> parse_overrides(std::string_view list,
                                                          std::string_view line)
{
    std::vector<OracleTensorOverride> out;
    std::string pending;
    auto bad = [&](std::string_view entry) {
        return fail(fmt::format("llama-fit-params' -ot entry '{}' is not 'pattern=BUFFER_TYPE' "
                                "(in '{}')",
                                quote(entry), quote(line)));
    };
    while (true) {
        const auto comma = list.find(',');
        const std::string_view piece = list.substr(0, comma);
        pending += pending.empty() ? std::string(piece) : "," + std::string(piece);
        const auto eq = pending.rfind('=');
        if (eq != std::string::npos && eq > 0 &&
            is_buffer_type_name(std::string_view(pending).substr(eq + 1))) {
            out.push_back({pending.substr(0, eq), pending.substr(eq + 1)});
            pending.clear();
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list = list.substr(comma + 1);
    }
    if (!pending.empty()) {
        return bad(pending);
    }
    return out;
}

bool looks_like_error(std::string_view line)
{
    std::string lower(line);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower.find("error") != std::string::npos || lower.find("failed") != std::string::npos ||
           lower.find("what():") != std::string::npos || line.find(" E ") != std::string::npos;
}

// llama.cpp's log prefix "0.00.047.809 E " (elapsed time and level) says nothing to a reader.
std::string_view without_log_prefix(std::string_view line)
{
    const auto space = line.find(' ');
    if (space == std::string_view::npos || space == 0 ||
        !std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(space), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.';
        })) {
        return line;
    }
    std::string_view rest = line.substr(space + 1);
    if (rest.size() >= 2 && std::isupper(static_cast<unsigned char>(rest[0])) != 0 &&
        rest[1] == ' ') {
        rest = rest.substr(2);
    }
    return trim(rest);
}

std::string type_name(gguf::TensorType type)
{
    return std::string(gguf::tensor_type_info(type).name);
}

// The flags both runs share: slots, cache types, flash attention, devices, experts, batches.
void add_shared_flags(std::vector<std::string>& args, const ResolvedConfig& c, bool cpu_only)
{
    const bool unified_slots = c.kv_unified && c.n_seq > 1;
    args.insert(args.end(), {"-np", std::to_string(unified_slots ? 1U : c.n_seq)});
    args.insert(args.end(), {"-ctk", type_name(c.cache_type_k), "-ctv", type_name(c.cache_type_v),
                             "-fa", c.flash_attn ? "on" : "off"});
    if (cpu_only) {
        args.insert(args.end(), {"-dev", "none"});
    }
    if (c.n_cpu_moe > 0) {
        args.insert(args.end(), {"-ncmoe", std::to_string(c.n_cpu_moe)});
    }
    args.insert(args.end(), {"-b", std::to_string(c.n_batch), "-ub", std::to_string(c.n_ubatch)});
    if (c.swa_full) {
        args.emplace_back("--swa-full");
    }
    if (!c.op_offload) {
        args.emplace_back("--no-op-offload");
    }
}

} // namespace

Result<std::vector<OracleDeviceEstimate>> parse_fit_params_estimate(std::string_view text)
{
    std::vector<OracleDeviceEstimate> out;
    const auto lines = lines_of(text);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const std::string_view line = trim(lines[i]);
        if (line.empty()) {
            continue;
        }
        auto bad = [&](std::string_view why) {
            return fail(fmt::format("line {} of llama-fit-params' estimate {}: '{}' (expected "
                                    "'<device> <model MiB> <context MiB> <compute MiB>')",
                                    i + 1, why, quote(line)));
        };
        if (!out.empty() && out.back().host()) {
            return bad("follows the Host line, which comes last");
        }
        const auto words = words_of(line);
        if (words.size() < 4) {
            return bad("has fewer than four fields");
        }
        // The device name is what precedes the three numbers (backends name devices without
        // spaces, but nothing requires it).
        const std::size_t n = words.size();
        std::optional<uint64_t> values[3];
        for (std::size_t k = 0; k < 3; ++k) {
            values[k] = parse_integer<uint64_t>(words[n - 3 + k]);
            if (!values[k]) {
                return bad(fmt::format("has '{}' where a whole number of MiB belongs",
                                       quote(words[n - 3 + k])));
            }
        }
        const auto name_end =
            static_cast<std::size_t>(words[n - 4].data() + words[n - 4].size() - line.data());
        OracleDeviceEstimate e;
        e.device = std::string(line.substr(0, name_end));
        e.model_mib = *values[0];
        e.context_mib = *values[1];
        e.compute_mib = *values[2];
        out.push_back(std::move(e));
    }
    if (out.empty()) {
        return fail("llama-fit-params printed no estimate (stdout was empty)");
    }
    if (!out.back().host()) {
        return fail(fmt::format("llama-fit-params' estimate has no Host line (the last line is "
                                "'{}')",
                                out.back().device));
    }
    return out;
}

Result<OracleFittedArgs> parse_fit_params_answer(std::string_view text)
{
    std::string_view line;
    for (const auto raw : lines_of(text)) {
        const auto l = trim(raw);
        if (l.empty()) {
            continue;
        }
        if (!line.empty()) {
            return fail(fmt::format("llama-fit-params' answer is one line, but a second one "
                                    "follows: '{}'",
                                    quote(l)));
        }
        line = l;
    }
    if (line.empty()) {
        return fail("llama-fit-params printed no answer (stdout was empty)");
    }
    auto words = split_answer(line);
    if (!words) {
        return tl::unexpected(words.error());
    }
    OracleFittedArgs out;
    out.line = std::string(line);
    bool have_ctx = false;
    bool have_ngl = false;
    auto bad = [&](const std::string& why) {
        return fail(fmt::format("llama-fit-params' answer {}: '{}' (expected '-c N -ngl N "
                                "[-ts A,B] [-ot \"PATTERN=BUFFER,...\"]')",
                                why, quote(line)));
    };
    for (std::size_t i = 0; i < words->size(); i += 2) {
        const std::string& flag = (*words)[i];
        if (i + 1 >= words->size()) {
            return bad(fmt::format("ends after '{}' without its value", flag));
        }
        const std::string& value = (*words)[i + 1];
        if (flag == "-c") {
            auto n = parse_integer<uint32_t>(value);
            if (!n) {
                return bad(fmt::format("has -c '{}', not a context size", value));
            }
            out.n_ctx = *n;
            have_ctx = true;
        } else if (flag == "-ngl") {
            auto n = parse_integer<int32_t>(value);
            if (!n || *n < -1) {
                return bad(fmt::format("has -ngl '{}', not a layer count", value));
            }
            out.n_gpu_layers = *n;
            have_ngl = true;
        } else if (flag == "-ts") {
            std::string_view list = value;
            while (true) {
                const auto comma = list.find(',');
                auto n = parse_integer<uint32_t>(list.substr(0, comma));
                if (!n) {
                    return bad(fmt::format("has -ts '{}', not a list of whole numbers", value));
                }
                out.tensor_split.push_back(*n);
                if (comma == std::string_view::npos) {
                    break;
                }
                list = list.substr(comma + 1);
            }
        } else if (flag == "-ot") {
            auto overrides = parse_overrides(value, line);
            if (!overrides) {
                return tl::unexpected(overrides.error());
            }
            out.overrides = std::move(*overrides);
        } else {
            return bad(fmt::format("has '{}' where -c, -ngl, -ts or -ot belongs", flag));
        }
    }
    if (!have_ctx || !have_ngl) {
        return bad(fmt::format("lacks {}", have_ctx ? "-ngl" : "-c"));
    }
    return out;
}

OracleInvocation fit_params_invocation(const OracleQuery& q)
{
    OracleInvocation out;
    const ResolvedConfig& c = q.config;
    out.estimate_args = {"-m", q.model_path, "--fit-print", "on", "-c", std::to_string(c.n_ctx)};
    add_shared_flags(out.estimate_args, c, q.cpu_only);
    if (!q.cpu_only) {
        out.estimate_args.insert(out.estimate_args.end(), {"-ngl", std::to_string(c.n_gpu_layers)});
    }

    if (q.fit_from) {
        out.fit_args = {"-m", q.model_path};
        if (q.pinned_ctx) {
            out.fit_args.insert(out.fit_args.end(), {"-c", std::to_string(*q.pinned_ctx)});
        }
        add_shared_flags(out.fit_args, *q.fit_from, q.cpu_only);
        if (q.pinned_ngl && !q.cpu_only) {
            out.fit_args.insert(out.fit_args.end(), {"-ngl", std::to_string(*q.pinned_ngl)});
        }
        if (q.margin_mib) {
            out.fit_args.insert(out.fit_args.end(),
                                {"--fit-target", std::to_string(*q.margin_mib)});
        }
    }

    if (c.kv_unified && c.n_seq > 1) {
        out.not_passed.push_back(fmt::format(
            "--kv-unified ({} slots sharing one cache): llama-fit-params has no such flag; asked "
            "as -np 1 with the same {} cells (one stream, as unified is), so its recurrent state "
            "and outputs are for one slot",
            c.n_seq, c.n_ctx));
    }
    if (c.spec_type == SpecType::draft_mtp) {
        out.not_passed.push_back(
            "--spec-type draft-mtp: llama-fit-params plans no speculative decoding, so it has "
            "no MTP context and skips the nextn block's weights (ours count them)");
    }
    if (c.spec_type == SpecType::draft_simple || q.model_draft) {
        out.not_passed.push_back("--model-draft: llama-fit-params loads no draft model (ours "
                                 "counts it apart, as draft weights and draft KV cache)");
    }
    if (q.mmproj) {
        out.not_passed.push_back("--mmproj: llama-fit-params loads no projector (it is left out "
                                 "of our weights below)");
    }
    if (q.assumed_gpu) {
        out.not_passed.push_back("--gpu CARD|SIZE: llama-fit-params plans for the devices this "
                                 "machine has, whatever --gpu assumes");
    }
    if (q.vulkan) {
        out.not_passed.push_back("--backend vulkan: llama-fit-params uses the ggml backends it "
                                 "was built with");
    }
    return out;
}

std::vector<OracleComparisonRow>
compare_oracle_estimate(const std::vector<OracleDeviceEstimate>& estimate, const MemoryPlan& plan,
                        uint64_t projector_bytes)
{
    std::vector<OracleComparable> our_gpus;
    std::optional<OracleComparable> our_host;
    for (std::size_t i = 0; i < plan.devices.size(); ++i) {
        const DevicePlan& d = plan.devices[i];
        OracleComparable c;
        c.device = d.device.name;
        c.weights = d.components.weights;
        if (i == 0) {
            c.weights -= std::min(c.weights, projector_bytes);
        }
        c.context = d.components.kv_cache + d.components.recurrent_state;
        c.compute = d.components.compute_buffer;
        if (d.device.gpu) {
            our_gpus.push_back(std::move(c));
        } else {
            our_host = std::move(c);
        }
    }
    std::vector<OracleDeviceEstimate> oracle_gpus;
    std::optional<OracleDeviceEstimate> oracle_host;
    for (const auto& e : estimate) {
        if (e.host()) {
            oracle_host = e;
        } else {
            oracle_gpus.push_back(e);
        }
    }
    std::vector<OracleComparisonRow> rows;
    for (std::size_t i = 0; i < std::max(our_gpus.size(), oracle_gpus.size()); ++i) {
        OracleComparisonRow row;
        if (i < oracle_gpus.size()) {
            row.oracle = oracle_gpus[i];
        }
        if (i < our_gpus.size()) {
            row.ours = our_gpus[i];
        }
        rows.push_back(std::move(row));
    }
    if (oracle_host || our_host) {
        rows.push_back(OracleComparisonRow{oracle_host, our_host});
    }
    return rows;
}

std::string summarize_fit_params_failure(std::string_view stderr_text)
{
    std::vector<std::string> picked;
    std::string last;
    for (const auto raw : lines_of(stderr_text)) {
        const auto line = trim(raw);
        if (line.empty()) {
            continue;
        }
        last = quote(without_log_prefix(line));
        // "terminate called after throwing ... runtime_error": its what() line says why.
        if (looks_like_error(line) && !line.starts_with("terminate called")) {
            picked.push_back(last);
        }
    }
    if (picked.empty()) {
        return last.empty() ? "it printed nothing on stderr" : last;
    }
    // The first errors are the cause; later ones are its consequences.
    if (picked.size() > 3) {
        picked.resize(3);
    }
    std::string out;
    for (const auto& p : picked) {
        out += (out.empty() ? "" : "; ") + p;
    }
    return out;
}

} // namespace gpumod::plan
