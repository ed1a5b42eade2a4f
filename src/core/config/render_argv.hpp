#pragma once

// Preset -> ServiceSpec: the exact command line a preset runs. Pure; the same preset always
// renders the same argv, and only options the preset sets appear on it.

#include <string>
#include <vector>

#include "core/config/preset.hpp"
#include "core/services/service_spec.hpp"

namespace gpumod::config {

/// Programs to put in argv[0]; the app layer fills them from the llama-server search.
struct RenderPrograms
{
    std::string llama_server = "llama-server";
    std::string vllm = "vllm";
};

/// The argv for `preset`:
///   llamacpp: llama-server -m MODEL --host H --port P [-c N] [-np N] [-ctk T] [-ctv T] [-fa V]
///             [-ngl N] [--n-cpu-moe N] [--spec-type T] [--spec-draft-n-max N] [-md F]
///             [--mmproj F] [--chat-template-kwargs JSON] [--reasoning-budget N] [-t N] EXTRA...
///   vllm:     vllm serve MODEL --host H --port P [--gpu-memory-utilization X]
///             [--max-model-len N] [--max-num-seqs N] [--tensor-parallel-size N] [--dtype T]
///             [--enforce-eager]
///             [--enable-sleep-mode] EXTRA...
///   command:  the preset's argv as is.
std::vector<std::string> render_argv(const Preset& preset, const RenderPrograms& programs = {});

/// The ServiceSpec the supervisor runs: argv as above, env (vLLM with sleep mode also gets
/// VLLM_SERVER_DEV_MODE=1, which exposes /sleep and /wake_up, unless the preset sets it),
/// the driver's default health path, timeout and VRAM budget converted to the spec's units.
ServiceSpec to_service_spec(const Preset& preset, const RenderPrograms& programs = {});

/// argv as one line a POSIX shell reads back to the same argv (single quotes where needed).
std::string format_command_line(const std::vector<std::string>& argv);

} // namespace gpumod::config
