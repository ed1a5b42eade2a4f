#include "core/config/render_argv.hpp"

#include <fmt/format.h>

namespace gpumod::config {
namespace {

void add(std::vector<std::string>& argv, const char* flag, const std::string& value)
{
    argv.emplace_back(flag);
    argv.push_back(value);
}

template <typename T> void add_number(std::vector<std::string>& argv, const char* flag, const std::optional<T>& value)
{
    if (value) {
        add(argv, flag, fmt::format("{}", *value));
    }
}

std::vector<std::string> render_llamacpp(const Preset& preset, const std::string& program)
{
    const auto& o = preset.llamacpp;
    std::vector<std::string> argv{program};
    add(argv, "-m", preset.model_path ? preset.model_path->string() : std::string());
    add(argv, "--host", preset.host);
    add(argv, "--port", std::to_string(preset.port));
    add_number(argv, "-c", o.ctx);
    add_number(argv, "-np", o.parallel);
    if (o.cache_type_k) {
        add(argv, "-ctk", *o.cache_type_k);
    }
    if (o.cache_type_v) {
        add(argv, "-ctv", *o.cache_type_v);
    }
    if (o.flash_attn) {
        // llama-server >= 0.7 rejects a bare -fa; the value is always given.
        add(argv, "-fa", std::string(flash_attn_name(*o.flash_attn)));
    }
    if (o.n_gpu_layers) {
        add(argv, "-ngl", gpu_layers_text(*o.n_gpu_layers));
    }
    add_number(argv, "--n-cpu-moe", o.n_cpu_moe);
    if (o.speculative.type) {
        add(argv, "--spec-type", *o.speculative.type);
    }
    add_number(argv, "--spec-draft-n-max", o.speculative.n_max);
    if (o.speculative.draft_model) {
        add(argv, "-md", o.speculative.draft_model->string());
    }
    if (o.mmproj) {
        add(argv, "--mmproj", o.mmproj->string());
    }
    if (o.chat_template_kwargs) {
        add(argv, "--chat-template-kwargs", *o.chat_template_kwargs);
    }
    add_number(argv, "--reasoning-budget", o.reasoning_budget);
    add_number(argv, "-t", o.threads);
    argv.insert(argv.end(), o.extra_args.begin(), o.extra_args.end());
    return argv;
}

std::vector<std::string> render_vllm(const Preset& preset, const std::string& program)
{
    const auto& o = preset.vllm;
    std::vector<std::string> argv{program, "serve", o.model};
    add(argv, "--host", preset.host);
    add(argv, "--port", std::to_string(preset.port));
    add_number(argv, "--gpu-memory-utilization", o.gpu_memory_utilization);
    add_number(argv, "--max-model-len", o.max_model_len);
    add_number(argv, "--max-num-seqs", o.max_num_seqs);
    add_number(argv, "--tensor-parallel-size", o.tensor_parallel_size);
    if (o.dtype) {
        add(argv, "--dtype", *o.dtype);
    }
    if (o.enforce_eager) {
        argv.emplace_back("--enforce-eager");
    }
    if (o.enable_sleep_mode) {
        argv.emplace_back("--enable-sleep-mode");
    }
    argv.insert(argv.end(), o.extra_args.begin(), o.extra_args.end());
    return argv;
}

bool needs_quoting(const std::string& arg)
{
    if (arg.empty()) {
        return true;
    }
    for (const char c : arg) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           c == '-' || c == '_' || c == '.' || c == '/' || c == ',' || c == ':' ||
                           c == '=' || c == '+' || c == '@' || c == '%';
        if (!plain) {
            return true;
        }
    }
    return false;
}

} // namespace

std::vector<std::string> render_argv(const Preset& preset, const RenderPrograms& programs)
{
    switch (preset.driver) {
    case ServiceDriver::llamacpp:
        return render_llamacpp(preset, programs.llama_server);
    case ServiceDriver::vllm:
        return render_vllm(preset, programs.vllm);
    case ServiceDriver::command:
        break;
    }
    return preset.command.argv;
}

ServiceSpec to_service_spec(const Preset& preset, const RenderPrograms& programs)
{
    ServiceSpec spec;
    spec.id = preset.id;
    spec.name = preset.name.empty() ? preset.id : preset.name;
    spec.driver = preset.driver;
    spec.argv = render_argv(preset, programs);
    spec.env = preset.env;
    if (preset.driver == ServiceDriver::vllm && preset.vllm.enable_sleep_mode) {
        spec.env.emplace("VLLM_SERVER_DEV_MODE", "1");
        spec.sleep_mode = true;
    }
    spec.host = preset.host;
    spec.port = preset.port;
    if (preset.health_path) {
        spec.health_path = *preset.health_path;
    } else {
        // An arbitrary command may serve no /health: it is checked only when the preset says so.
        spec.health_path = preset.driver == ServiceDriver::command ? "" : "/health";
    }
    spec.startup_timeout = std::chrono::seconds(preset.startup_timeout_s);
    spec.model_path = preset.model_path;
    if (preset.vram_budget_mb) {
        spec.vram_budget_bytes = *preset.vram_budget_mb * 1024ULL * 1024ULL;
    }
    spec.source_file = preset.source_file;
    return spec;
}

std::string format_command_line(const std::vector<std::string>& argv)
{
    std::string line;
    for (const auto& arg : argv) {
        if (!line.empty()) {
            line += ' ';
        }
        if (!needs_quoting(arg)) {
            line += arg;
            continue;
        }
        line += '\'';
        for (const char c : arg) {
            if (c == '\'') {
                line += "'\\''";
            } else {
                line += c;
            }
        }
        line += '\'';
    }
    return line;
}

} // namespace gpumod::config
