#include "core/config/preset.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>

namespace gpumod::config {

std::string ConfigProblem::format() const
{
    if (position.line <= 0) {
        return fmt::format("{}: {}", file.string(), message);
    }
    return fmt::format("{}:{}:{}: {}", file.string(), position.line, position.column, message);
}

Error to_error(const std::vector<ConfigProblem>& problems)
{
    std::string message;
    for (const auto& problem : problems) {
        message += (message.empty() ? "" : "\n") + problem.format();
    }
    return Error{message};
}

SourcePosition Preset::position_of(const std::string& key) const
{
    const auto it = positions.find(key);
    return it == positions.end() ? SourcePosition{} : it->second;
}

std::string_view driver_name(ServiceDriver driver)
{
    switch (driver) {
    case ServiceDriver::llamacpp:
        return "llamacpp";
    case ServiceDriver::vllm:
        return "vllm";
    case ServiceDriver::command:
        return "command";
    }
    return "llamacpp";
}

std::optional<ServiceDriver> parse_driver(std::string_view name)
{
    for (auto driver : {ServiceDriver::llamacpp, ServiceDriver::vllm, ServiceDriver::command}) {
        if (driver_name(driver) == name) {
            return driver;
        }
    }
    return std::nullopt;
}

std::string_view flash_attn_name(FlashAttn value)
{
    switch (value) {
    case FlashAttn::on:
        return "on";
    case FlashAttn::off:
        return "off";
    case FlashAttn::automatic:
        return "auto";
    }
    return "auto";
}

std::string gpu_layers_text(const GpuLayers& value)
{
    switch (value.kind) {
    case GpuLayers::Kind::all:
        return "all";
    case GpuLayers::Kind::automatic:
        return "auto";
    case GpuLayers::Kind::count:
        break;
    }
    return std::to_string(value.count);
}

bool is_valid_id(std::string_view id)
{
    if (id.empty() || id.size() > 64) {
        return false;
    }
    const auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!lower_or_digit(id.front())) {
        return false;
    }
    return std::all_of(id.begin(), id.end(), [&](char c) {
        return lower_or_digit(c) || c == '.' || c == '_' || c == '-';
    });
}

const std::vector<std::string>& known_cache_types()
{
    // llama-server 0.7.0 --help: "allowed values: f32, f16, bf16, q8_0, q4_0, q4_1, iq4_nl,
    // q5_0, q5_1".
    static const std::vector<std::string> types{"f32",  "f16",    "bf16", "q8_0", "q4_0",
                                                "q4_1", "iq4_nl", "q5_0", "q5_1"};
    return types;
}

const std::vector<std::string>& known_spec_types()
{
    static const std::vector<std::string> types{
        "none",         "draft-simple", "draft-eagle3", "draft-mtp",     "draft-dflash", "draft-dspark",
        "ngram-simple", "ngram-map-k",  "ngram-map-k4v", "ngram-mod",    "ngram-cache"};
    return types;
}

std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates)
{
    // Optimal string alignment distance: a swap of two neighbours ("chta") counts as one edit.
    const auto distance = [](std::string_view a, std::string_view b) {
        const std::size_t w = b.size() + 1;
        std::vector<std::size_t> d((a.size() + 1) * w);
        for (std::size_t i = 0; i <= a.size(); ++i) {
            d[i * w] = i;
        }
        for (std::size_t j = 0; j <= b.size(); ++j) {
            d[j] = j;
        }
        for (std::size_t i = 1; i <= a.size(); ++i) {
            for (std::size_t j = 1; j <= b.size(); ++j) {
                const std::size_t cost = a[i - 1] == b[j - 1] ? 0U : 1U;
                std::size_t best = std::min({d[(i - 1) * w + j] + 1, d[i * w + j - 1] + 1,
                                             d[(i - 1) * w + j - 1] + cost});
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                    best = std::min(best, d[(i - 2) * w + j - 2] + 1);
                }
                d[i * w + j] = best;
            }
        }
        return d[a.size() * w + b.size()];
    };
    std::optional<std::string> best;
    std::size_t best_distance = 0;
    for (const auto& candidate : candidates) {
        const auto d = distance(word, candidate);
        if (!best || d < best_distance) {
            best = candidate;
            best_distance = d;
        }
    }
    // A third of the word (at least one edit) is a typo; more is a different word.
    if (best && best_distance <= std::max<std::size_t>(1, word.size() / 3)) {
        return best;
    }
    return std::nullopt;
}

namespace {

class Checker
{
public:
    explicit Checker(const Preset& preset) : m_preset(preset) {}

    void add(const std::string& key, std::string message)
    {
        m_problems.push_back(ConfigProblem{m_preset.source_file, m_preset.position_of(key),
                                           std::move(message)});
    }

    std::vector<ConfigProblem> take() { return std::move(m_problems); }

private:
    const Preset& m_preset;
    std::vector<ConfigProblem> m_problems;
};

bool is_env_name(std::string_view name)
{
    if (name.empty() || (name.front() >= '0' && name.front() <= '9')) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

bool is_quantized(const std::string& cache_type)
{
    return cache_type != "f32" && cache_type != "f16" && cache_type != "bf16";
}

// The flag part of an argument: "--port=80" -> "--port".
std::string_view flag_of(std::string_view arg)
{
    const auto eq = arg.find('=');
    return eq == std::string_view::npos ? arg : arg.substr(0, eq);
}

// llama-server flags gpumod sets itself, with the preset key that sets them ("" = always set).
struct ManagedFlag
{
    std::string_view key;
    std::array<std::string_view, 4> spellings;
};

constexpr std::array<ManagedFlag, 17> k_llama_flags{{
    {"", {"-m", "--model", "", ""}},
    {"", {"--host", "", "", ""}},
    {"", {"--port", "", "", ""}},
    {"llamacpp.ctx", {"-c", "--ctx-size", "", ""}},
    {"llamacpp.parallel", {"-np", "--parallel", "", ""}},
    {"llamacpp.cache_type_k", {"-ctk", "--cache-type-k", "", ""}},
    {"llamacpp.cache_type_v", {"-ctv", "--cache-type-v", "", ""}},
    {"llamacpp.flash_attn", {"-fa", "--flash-attn", "", ""}},
    {"llamacpp.n_gpu_layers", {"-ngl", "--gpu-layers", "--n-gpu-layers", ""}},
    {"llamacpp.n_cpu_moe", {"-ncmoe", "--n-cpu-moe", "", ""}},
    {"llamacpp.speculative.type", {"--spec-type", "", "", ""}},
    {"llamacpp.speculative.n_max", {"--spec-draft-n-max", "", "", ""}},
    {"llamacpp.speculative.draft_model", {"-md", "--model-draft", "--spec-draft-model", ""}},
    {"llamacpp.mmproj", {"-mm", "--mmproj", "", ""}},
    {"llamacpp.chat_template_kwargs", {"--chat-template-kwargs", "", "", ""}},
    {"llamacpp.reasoning_budget", {"--reasoning-budget", "", "", ""}},
    {"llamacpp.threads", {"-t", "--threads", "", ""}},
}};

void check_extra_args(const Preset& preset, Checker& check)
{
    const auto& o = preset.llamacpp;
    const std::map<std::string_view, bool> typed_set{
        {"llamacpp.ctx", o.ctx.has_value()},
        {"llamacpp.parallel", o.parallel.has_value()},
        {"llamacpp.cache_type_k", o.cache_type_k.has_value()},
        {"llamacpp.cache_type_v", o.cache_type_v.has_value()},
        {"llamacpp.flash_attn", o.flash_attn.has_value()},
        {"llamacpp.n_gpu_layers", o.n_gpu_layers.has_value()},
        {"llamacpp.n_cpu_moe", o.n_cpu_moe.has_value()},
        {"llamacpp.speculative.type", o.speculative.type.has_value()},
        {"llamacpp.speculative.n_max", o.speculative.n_max.has_value()},
        {"llamacpp.speculative.draft_model", o.speculative.draft_model.has_value()},
        {"llamacpp.mmproj", o.mmproj.has_value()},
        {"llamacpp.chat_template_kwargs", o.chat_template_kwargs.has_value()},
        {"llamacpp.reasoning_budget", o.reasoning_budget.has_value()},
        {"llamacpp.threads", o.threads.has_value()},
    };
    const auto& args = o.extra_args;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const auto flag = flag_of(args[i]);
        for (const auto& managed : k_llama_flags) {
            const bool matches = !flag.empty() && std::find(managed.spellings.begin(),
                                                             managed.spellings.end(),
                                                             flag) != managed.spellings.end();
            if (!matches) {
                continue;
            }
            const auto at = fmt::format("llamacpp.extra_args[{}]", i);
            if (managed.key.empty()) {
                check.add(at, fmt::format("extra_args must not contain '{}': gpumod sets it from "
                                          "{}",
                                          flag, flag == "-m" || flag == "--model" ? "model_path"
                                                                                  : "host/port"));
            } else if (typed_set.at(managed.key)) {
                check.add(at, fmt::format("'{}' in extra_args repeats '{}', which is already set",
                                          flag, managed.key.substr(sizeof("llamacpp.") - 1)));
            }
        }
    }
}

void check_llamacpp(const Preset& preset, Checker& check)
{
    const auto& o = preset.llamacpp;
    if (!preset.model_path) {
        check.add("id", "driver llamacpp needs 'model_path' (the GGUF file to serve)");
    }
    if (o.parallel && *o.parallel != -1 && *o.parallel < 1) {
        check.add("llamacpp.parallel", "parallel must be -1 (auto) or at least 1");
    }
    for (const auto& [key, value] : {std::pair{"llamacpp.cache_type_k", &o.cache_type_k},
                                     std::pair{"llamacpp.cache_type_v", &o.cache_type_v}}) {
        const auto& types = known_cache_types();
        if (*value && std::find(types.begin(), types.end(), **value) == types.end()) {
            check.add(key, fmt::format("unknown cache type '{}' (one of: {})", **value,
                                       fmt::join(types, ", ")));
        }
    }
    if (o.cache_type_v && is_quantized(*o.cache_type_v) && o.flash_attn == FlashAttn::off) {
        check.add("llamacpp.flash_attn",
                  fmt::format("cache_type_v {} needs flash attention; llama-server refuses a "
                              "quantized V cache with flash_attn off",
                              *o.cache_type_v));
    }
    if (o.n_gpu_layers && o.n_gpu_layers->kind == GpuLayers::Kind::count && o.n_gpu_layers->count < 0) {
        check.add("llamacpp.n_gpu_layers", "n_gpu_layers must be a count >= 0, 'all' or 'auto'");
    }
    if (o.n_cpu_moe && *o.n_cpu_moe < 0) {
        check.add("llamacpp.n_cpu_moe", "n_cpu_moe must be >= 0");
    }
    if (o.speculative.type) {
        const auto& types = known_spec_types();
        std::string_view rest = *o.speculative.type;
        bool simple = false;
        while (true) {
            const auto comma = rest.find(',');
            const auto part = rest.substr(0, comma);
            if (std::find(types.begin(), types.end(), part) == types.end()) {
                check.add("llamacpp.speculative.type",
                          fmt::format("unknown speculative type '{}' (one of: {})", part,
                                      fmt::join(types, ", ")));
            }
            simple = simple || part == "draft-simple";
            if (comma == std::string_view::npos) {
                break;
            }
            rest = rest.substr(comma + 1);
        }
        if (simple && !o.speculative.draft_model) {
            check.add("llamacpp.speculative.type",
                      "speculative type draft-simple needs 'draft_model' (the drafter GGUF)");
        }
    }
    if (o.speculative.n_max && *o.speculative.n_max < 1) {
        check.add("llamacpp.speculative.n_max", "n_max must be at least 1");
    }
    if (o.reasoning_budget && *o.reasoning_budget < -1) {
        check.add("llamacpp.reasoning_budget",
                  "reasoning_budget must be -1 (unrestricted), 0 (no thinking) or a token count");
    }
    if (o.threads && *o.threads < 1) {
        check.add("llamacpp.threads", "threads must be at least 1");
    }
    check_extra_args(preset, check);
}

void check_vllm(const Preset& preset, Checker& check)
{
    const auto& o = preset.vllm;
    if (o.model.empty()) {
        check.add("id", "driver vllm needs 'vllm.model' (a Hugging Face id or a model directory)");
    }
    if (o.gpu_memory_utilization && !(*o.gpu_memory_utilization > 0.0 && *o.gpu_memory_utilization <= 1.0)) {
        check.add("vllm.gpu_memory_utilization",
                  "gpu_memory_utilization is a fraction of the GPU's memory: above 0, at most 1");
    }
    if (o.max_model_len && *o.max_model_len == 0) {
        check.add("vllm.max_model_len", "max_model_len must be at least 1");
    }
    if (o.max_num_seqs && *o.max_num_seqs == 0) {
        check.add("vllm.max_num_seqs", "max_num_seqs must be at least 1");
    }
    if (o.tensor_parallel_size && *o.tensor_parallel_size == 0) {
        check.add("vllm.tensor_parallel_size", "tensor_parallel_size must be at least 1 (GPUs)");
    }
}

} // namespace

std::vector<ConfigProblem> validate_preset(const Preset& preset)
{
    Checker check(preset);
    if (!is_valid_id(preset.id)) {
        check.add("id", fmt::format("invalid id '{}': use lower-case letters, digits, '.', '_' "
                                    "and '-', starting with a letter or digit (at most 64)",
                                    preset.id));
    }
    if (preset.host.empty() ||
        preset.host.find_first_of(" \t\n") != std::string::npos) {
        check.add("host", fmt::format("invalid host '{}'", preset.host));
    }
    const bool needs_port = preset.driver != ServiceDriver::command ||
                            (preset.health_path && !preset.health_path->empty());
    if (needs_port && preset.port == 0) {
        check.add(preset.positions.count("port") != 0 ? "port" : "id",
                  preset.driver == ServiceDriver::command
                      ? std::string("a health_path needs a 'port' to check")
                      : fmt::format("driver {} needs a 'port' (1-65535)", driver_name(preset.driver)));
    }
    if (preset.health_path && !preset.health_path->empty() && preset.health_path->front() != '/') {
        check.add("health_path", fmt::format("health_path '{}' must start with '/'", *preset.health_path));
    }
    if (preset.startup_timeout_s == 0) {
        check.add("startup_timeout_s", "startup_timeout_s must be at least 1");
    }
    if (preset.vram_budget_mb && *preset.vram_budget_mb == 0) {
        check.add("vram_budget_mb", "vram_budget_mb must be at least 1 (MiB)");
    }
    for (const auto& [name, value] : preset.env) {
        if (!is_env_name(name)) {
            check.add("env." + name, fmt::format("invalid environment variable name '{}'", name));
        }
    }
    switch (preset.driver) {
    case ServiceDriver::llamacpp:
        check_llamacpp(preset, check);
        break;
    case ServiceDriver::vllm:
        check_vllm(preset, check);
        break;
    case ServiceDriver::command:
        if (preset.command.argv.empty() || preset.command.argv.front().empty()) {
            check.add("id", "driver command needs 'command.argv' (the program and its arguments)");
        }
        break;
    }
    return check.take();
}

} // namespace gpumod::config
