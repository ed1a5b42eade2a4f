#include "app/preset_plan.hpp"

#include <span>
#include <string>

#include <fmt/format.h>

#include "core/config/render_argv.hpp"

namespace gpumod::app {

Result<LlamaServerArgs> preset_server_args(const config::Preset& preset)
{
    if (preset.driver != ServiceDriver::llamacpp) {
        return fail(fmt::format("preset '{}' ({}) runs the {} driver; gpumod plan models "
                                "llama-server only (vllm sizes its memory with "
                                "--gpu-memory-utilization, a command preset with vram_budget_mb)",
                                preset.id, preset.source_file.string(),
                                config::driver_name(preset.driver)));
    }
    // argv[0] does not matter here, so no llama-server is looked up.
    const ServiceSpec spec = config::to_service_spec(preset);
    const std::span<const std::string> argv(spec.argv);
    LlamaServerArgs args = parse_llama_server_args(argv.empty() ? argv : argv.subspan(1));
    if (!args.model && preset.model_path) {
        args.model = preset.model_path->string();
    }
    if (!args.model) {
        return fail(fmt::format("preset '{}' ({}) names no model: set model_path", preset.id,
                                preset.source_file.string()));
    }
    return args;
}

} // namespace gpumod::app
