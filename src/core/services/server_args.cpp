#include "core/services/server_args.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <initializer_list>
#include <string_view>

#include <fmt/format.h>

#include "core/gguf/gguf_types.hpp"

namespace gpumod {
namespace {

/// --cpu-moe keeps the experts of every layer on the host: more layers than any model has.
constexpr uint32_t k_all_layers = 1U << 16U;

/// One argument split into its flag and, for "--flag=value", the attached value.
struct FlagArg
{
    std::string_view flag;
    std::optional<std::string_view> attached;
};

FlagArg split_flag(std::string_view arg)
{
    const auto eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string_view::npos) {
        return FlagArg{arg.substr(0, eq), arg.substr(eq + 1)};
    }
    return FlagArg{arg, std::nullopt};
}

bool is_one_of(std::string_view flag, std::initializer_list<std::string_view> spellings)
{
    return std::find(spellings.begin(), spellings.end(), flag) != spellings.end();
}

template <typename T> std::optional<T> to_integer(std::string_view text)
{
    T value{};
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end) {
        return std::nullopt;
    }
    return value;
}

std::string lower(std::string_view text)
{
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

/// Walks argv: the value of a flag is the attached "=value" or the next argument.
class ArgWalker
{
  public:
    ArgWalker(std::span<const std::string> args, std::vector<std::string>& notes)
        : m_args(args), m_notes(notes)
    {
    }

    [[nodiscard]] bool done() const { return m_next >= m_args.size(); }

    /// The next argument as a flag (and moves past it).
    FlagArg next() { return m_current = split_flag(m_args[m_next++]); }

    /// The current flag's value (and moves past it when it was the next argument).
    std::optional<std::string_view> value()
    {
        if (m_current.attached) {
            return m_current.attached;
        }
        if (done()) {
            m_notes.push_back(fmt::format("{} has no value; ignored", m_current.flag));
            return std::nullopt;
        }
        return std::string_view(m_args[m_next++]);
    }

    /// The current flag's value as an integer; a note and nullopt when it is not one.
    template <typename T> std::optional<T> integer()
    {
        const auto text = value();
        if (!text) {
            return std::nullopt;
        }
        auto parsed = to_integer<T>(*text);
        if (!parsed) {
            m_notes.push_back(fmt::format("{} {}: not a number; ignored", m_current.flag, *text));
        }
        return parsed;
    }

    /// The current flag's value as a KV cache type.
    std::optional<gguf::TensorType> cache_type()
    {
        const auto text = value();
        if (!text) {
            return std::nullopt;
        }
        const auto* info = gguf::find_tensor_type(lower(*text));
        if (info == nullptr) {
            m_notes.push_back(
                fmt::format("{} {}: unknown cache type; f16 assumed", m_current.flag, *text));
            return std::nullopt;
        }
        return info->type;
    }

    void note(std::string text) { m_notes.push_back(std::move(text)); }

  private:
    std::span<const std::string> m_args;
    std::vector<std::string>& m_notes;
    std::size_t m_next = 0;
    FlagArg m_current;
};

plan::SpecType spec_type_of(std::string_view list, ArgWalker& walker)
{
    bool mtp = false;
    bool simple = false;
    std::string_view rest = list;
    while (true) {
        const auto comma = rest.find(',');
        const auto part = rest.substr(0, comma);
        mtp = mtp || part == "draft-mtp";
        simple = simple || part == "draft-simple";
        if (part != "draft-mtp" && part != "draft-simple" && part != "none" &&
            part.rfind("ngram", 0) != 0) {
            walker.note(fmt::format("--spec-type {}: its memory is not modelled", part));
        }
        if (comma == std::string_view::npos) {
            break;
        }
        rest = rest.substr(comma + 1);
    }
    return mtp      ? plan::SpecType::draft_mtp
           : simple ? plan::SpecType::draft_simple
                    : plan::SpecType::none;
}

} // namespace

LlamaServerArgs parse_llama_server_args(std::span<const std::string> args)
{
    LlamaServerArgs out;
    auto& r = out.request;
    ArgWalker walk(args, out.notes);
    std::optional<plan::SpecType> spec_type;
    while (!walk.done()) {
        const FlagArg arg = walk.next();
        const auto f = arg.flag;
        if (is_one_of(f, {"-m", "--model"})) {
            if (auto v = walk.value()) {
                out.model = std::string(*v);
            }
        } else if (is_one_of(f, {"-md", "--model-draft", "--spec-draft-model"})) {
            if (auto v = walk.value()) {
                out.draft_model = std::string(*v);
            }
        } else if (is_one_of(f, {"-mm", "--mmproj"})) {
            if (auto v = walk.value()) {
                out.mmproj = std::string(*v);
            }
        } else if (is_one_of(f, {"-c", "--ctx-size"})) {
            if (auto v = walk.integer<uint32_t>()) {
                r.n_ctx = *v;
                out.ctx_pinned = true;
            }
        } else if (is_one_of(f, {"-np", "--parallel"})) {
            if (auto v = walk.integer<int32_t>()) {
                r.parallel = *v;
            }
        } else if (is_one_of(f, {"-kvu", "--kv-unified"})) {
            r.kv_unified = true;
        } else if (f == "--no-kv-unified") {
            r.kv_unified = false;
        } else if (is_one_of(f, {"-ctk", "--cache-type-k"})) {
            r.cache_type_k = walk.cache_type().value_or(r.cache_type_k);
        } else if (is_one_of(f, {"-ctv", "--cache-type-v"})) {
            r.cache_type_v = walk.cache_type().value_or(r.cache_type_v);
        } else if (is_one_of(f, {"-ctkd", "--cache-type-k-draft"})) {
            r.draft_cache_type_k = walk.cache_type().value_or(r.draft_cache_type_k);
        } else if (is_one_of(f, {"-ctvd", "--cache-type-v-draft"})) {
            r.draft_cache_type_v = walk.cache_type().value_or(r.draft_cache_type_v);
        } else if (is_one_of(f, {"-fa", "--flash-attn"})) {
            if (auto v = walk.value()) {
                r.flash_attn = *v == "on"    ? plan::FlashAttn::on
                               : *v == "off" ? plan::FlashAttn::off
                                             : plan::FlashAttn::automatic;
            }
        } else if (is_one_of(f, {"-ngl", "--gpu-layers", "--n-gpu-layers"})) {
            if (auto v = walk.value()) {
                if (*v == "auto") {
                    r.n_gpu_layers = -1;
                } else if (*v == "all") {
                    r.n_gpu_layers = -1;
                    out.ngl_pinned = true;
                } else if (auto n = to_integer<int32_t>(*v)) {
                    r.n_gpu_layers = *n;
                    out.ngl_pinned = true;
                } else {
                    walk.note(fmt::format("{} {}: not a layer count; ignored", f, *v));
                }
            }
        } else if (is_one_of(f, {"-ncmoe", "--n-cpu-moe"})) {
            if (auto v = walk.integer<uint32_t>()) {
                r.n_cpu_moe = *v;
            }
        } else if (is_one_of(f, {"-cmoe", "--cpu-moe"})) {
            r.n_cpu_moe = k_all_layers;
        } else if (is_one_of(f, {"-b", "--batch-size"})) {
            r.n_batch = walk.integer<uint32_t>().value_or(r.n_batch);
        } else if (is_one_of(f, {"-ub", "--ubatch-size"})) {
            r.n_ubatch = walk.integer<uint32_t>().value_or(r.n_ubatch);
        } else if (f == "--swa-full") {
            r.swa_full = true;
        } else if (f == "--no-op-offload") {
            r.op_offload = false;
        } else if (f == "--op-offload") {
            r.op_offload = true;
        } else if (f == "--spec-type") {
            if (auto v = walk.value()) {
                spec_type = spec_type_of(*v, walk);
            }
        } else if (is_one_of(f, {"--spec-draft-n-max", "--draft-max", "--draft-n", "--draft"})) {
            r.spec_draft_n_max = walk.integer<uint32_t>().value_or(r.spec_draft_n_max);
        } else if (is_one_of(f, {"-fit", "--fit"})) {
            if (auto v = walk.value()) {
                out.fit = *v != "off";
            }
        }
    }
    r.spec_type =
        spec_type.value_or(out.draft_model ? plan::SpecType::draft_simple : plan::SpecType::none);
    if (!spec_type && out.draft_model) {
        out.notes.push_back("a draft model without --spec-type: planned as draft-simple");
    }
    return out;
}

VllmArgs parse_vllm_args(std::span<const std::string> args)
{
    VllmArgs out;
    ArgWalker walk(args, out.notes);
    while (!walk.done()) {
        const FlagArg arg = walk.next();
        if (arg.flag == "--gpu-memory-utilization") {
            if (auto v = walk.value()) {
                char* end = nullptr;
                const std::string text(*v);
                const double parsed = std::strtod(text.c_str(), &end);
                if (end != text.c_str() && *end == '\0' && parsed > 0.0 && parsed <= 1.0) {
                    out.gpu_memory_utilization = parsed;
                } else {
                    walk.note(fmt::format("--gpu-memory-utilization {}: not a fraction in (0, 1]; "
                                          "0.9 assumed",
                                          text));
                }
            }
        } else if (is_one_of(arg.flag, {"-tp", "--tensor-parallel-size"})) {
            if (auto v = walk.integer<uint32_t>(); v && *v > 0) {
                out.tensor_parallel_size = *v;
            }
        }
    }
    return out;
}

} // namespace gpumod
