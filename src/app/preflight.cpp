#include "app/preflight.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "adapters/gguf/model_files.hpp"
#include "adapters/nvml/nvml_library.hpp"
#include "adapters/posix/environment.hpp"
#include "core/gguf/model_architecture.hpp"

namespace gpumod::app {
namespace {

Result<gguf::ModelArchitecture> read_architecture(const std::filesystem::path& path)
{
    auto view = gguf::read_model_files(path);
    if (!view) {
        return tl::unexpected(view.error());
    }
    return gguf::derive_architecture(view->header);
}

std::string no_gpu_reason(const GpuInventory& inventory)
{
    switch (inventory.state) {
    case NvmlState::library_not_found:
        return fmt::format("no NVIDIA GPU (NVML library {} not found)",
                           inventory.requested_library);
    case NvmlState::no_devices:
        return "no NVIDIA GPU (NVML reports 0 GPUs)";
    case NvmlState::ok:
        if (inventory.gpus.empty()) {
            return "no NVIDIA GPU (NVML reports 0 GPUs)";
        }
        break;
    case NvmlState::unavailable:
        break;
    }
    return describe_nvml_state(inventory);
}

PreflightVerdict judge_llama(const ServiceSpec& spec, std::span<const PreflightGpu> gpus)
{
    const std::span<const std::string> argv(spec.argv);
    const auto args = parse_llama_server_args(argv.empty() ? argv : argv.subspan(1));
    const std::optional<std::filesystem::path> model_path =
        args.model ? std::optional<std::filesystem::path>(*args.model) : spec.model_path;
    if (!model_path) {
        return preflight_not_checked("the command line names no model (-m)");
    }
    // An unreadable model is llama-server's to report: the start shows its classified error.
    auto model = read_architecture(*model_path);
    if (!model) {
        return preflight_not_checked(fmt::format("cannot read the model '{}' ({})",
                                                 model_path->string(), model.error().message));
    }
    std::optional<gguf::ModelArchitecture> draft;
    if (args.request.spec_type == plan::SpecType::draft_simple && args.draft_model) {
        auto d = read_architecture(*args.draft_model);
        if (!d) {
            return preflight_not_checked(fmt::format("cannot read the draft model '{}' ({})",
                                                     *args.draft_model, d.error().message));
        }
        draft = std::move(*d);
    }
    uint64_t mmproj_bytes = 0;
    if (args.mmproj) {
        auto mm = gguf::read_model_files(*args.mmproj);
        if (!mm) {
            return preflight_not_checked(fmt::format("cannot read the projector '{}' ({})",
                                                     *args.mmproj, mm.error().message));
        }
        for (const auto& t : mm->header.tensors) {
            mmproj_bytes += t.byte_size;
        }
    }
    LlamaPreflightInputs inputs;
    inputs.args = &args;
    inputs.model = &*model;
    inputs.draft = draft ? &*draft : nullptr;
    inputs.mmproj_bytes = mmproj_bytes;
    auto verdict = judge_llama_server(inputs, gpus);
    if (verdict.outcome == PreflightVerdict::Outcome::does_not_fit) {
        for (const auto& note : args.notes) {
            verdict.detail += "  note: " + note + "\n";
        }
        verdict.detail += fmt::format("  `gpumod plan {}` with the preset's flags shows the whole "
                                      "breakdown\n",
                                      model_path->string());
    }
    return verdict;
}

} // namespace

PreflightVerdict preflight(const ServiceSpec& spec, const FreeMemoryDelta& delta)
{
    if (spec.driver == ServiceDriver::command && !spec.vram_budget_bytes) {
        return preflight_not_checked("the command driver has no memory model (vram_budget_mb in "
                                     "the preset gates it)");
    }
    auto inventory = nvml::query_gpus();
    if (!inventory) {
        return preflight_not_checked(inventory.error().message);
    }
    if (inventory->state != NvmlState::ok || inventory->gpus.empty()) {
        return preflight_not_checked(no_gpu_reason(*inventory));
    }
    // The child inherits gpumod's environment plus the preset's: the preset's value wins.
    std::optional<std::string> cuda_visible = posix::get_env("CUDA_VISIBLE_DEVICES");
    if (auto it = spec.env.find("CUDA_VISIBLE_DEVICES"); it != spec.env.end()) {
        cuda_visible = it->second;
    }
    const auto visible = visible_gpus(inventory->gpus, cuda_visible, delta);
    if (visible.gpus.empty()) {
        return preflight_not_checked(fmt::format("{} leaves no GPU visible", visible.note));
    }
    PreflightVerdict verdict;
    if (spec.vram_budget_bytes) {
        verdict = judge_budget(*spec.vram_budget_bytes, visible.gpus);
    } else if (spec.driver == ServiceDriver::vllm) {
        const std::span<const std::string> argv(spec.argv);
        verdict = judge_vllm(parse_vllm_args(argv.empty() ? argv : argv.subspan(1)), visible.gpus);
    } else {
        verdict = judge_llama(spec, visible.gpus);
    }
    if (!visible.note.empty()) {
        verdict.summary += " (" + visible.note + ")";
    }
    return verdict;
}

} // namespace gpumod::app
