#pragma once

// The preflight gate's judgement, pure: a service's predicted GPU memory against the free
// memory of the GPUs it will see. llama-server services are predicted by the planner
// (core/plan) from their exact argv, vLLM services by vLLM's own start-up rule
// (gpu_memory_utilization x total must be free), and a preset's vram_budget_mb replaces any
// prediction. The app layer reads NVML and the model files and calls these.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/gguf/model_architecture.hpp"
#include "core/gpu/gpu_info.hpp"
#include "core/plan/fallbacks.hpp"
#include "core/services/server_args.hpp"

namespace gpumod {

/// Bytes added to NVML's free memory per GPU index: what services about to stop hold (+),
/// what services started earlier in the same switch will take (-).
using FreeMemoryDelta = std::map<uint32_t, int64_t>;

/// The preflight gate's answer for one service.
struct PreflightVerdict
{
    enum class Outcome
    {
        not_checked, ///< nothing to check against (no NVIDIA GPU, no model): start proceeds
        fits,
        does_not_fit, ///< refused unless --force
    };
    Outcome outcome = Outcome::not_checked;
    std::string summary; ///< one line: the prediction against free memory, or why not checked
    std::string detail;  ///< for does_not_fit: breakdown per GPU and ranked fallbacks (lines)
    std::string basis;   ///< "planner", "vram_budget_mb", "vllm gpu_memory_utilization"
    std::map<uint32_t, uint64_t> needs_by_gpu; ///< predicted bytes per GPU index
    std::map<uint32_t, uint64_t> free_by_gpu;  ///< free bytes judged against, per GPU index
    std::vector<plan::Fallback> fallbacks;     ///< planner's alternatives when it does not fit
};

/// "not checked", "fits", "does not fit".
std::string_view preflight_outcome_word(PreflightVerdict::Outcome outcome);

/// A verdict that checked nothing, saying why.
PreflightVerdict preflight_not_checked(std::string why);

/// A GPU as the gate sees it: free memory already adjusted by a FreeMemoryDelta.
struct PreflightGpu
{
    uint32_t index = 0; ///< NVML index
    std::string name;
    uint64_t total_bytes = 0;
    uint64_t free_bytes = 0;
};

/// The GPUs a service's process will see.
struct VisibleGpus
{
    std::vector<PreflightGpu> gpus;
    std::string note; ///< how CUDA_VISIBLE_DEVICES was read, when it was set
};

/// The GPUs of `devices` that CUDA_VISIBLE_DEVICES leaves visible (all when unset; entries
/// are NVML indices or UUID prefixes; an unreadable entry ends the list, as in CUDA), with
/// `delta` applied to their free memory (clamped to 0..total).
VisibleGpus visible_gpus(std::span<const GpuDevice> devices,
                         const std::optional<std::string>& cuda_visible_devices,
                         const FreeMemoryDelta& delta);

/// What the planner needs besides the GPUs for a llama-server service.
struct LlamaPreflightInputs
{
    const LlamaServerArgs* args = nullptr;
    const gguf::ModelArchitecture* model = nullptr;
    const gguf::ModelArchitecture* draft = nullptr; ///< -md, for draft-simple
    uint64_t mmproj_bytes = 0;                      ///< counted in the first GPU's weights
    plan::Backend backend = plan::Backend::cuda;
};

/// The planner's prediction (as given, or as llama-server's --fit would lower unpinned
/// context and GPU layers) against the GPUs' free memory; fallbacks when it does not fit.
PreflightVerdict judge_llama_server(const LlamaPreflightInputs& inputs,
                                    std::span<const PreflightGpu> gpus);

/// vLLM refuses to start unless gpu_memory_utilization x total memory is free on each of
/// its tensor_parallel_size GPUs; this applies that rule.
PreflightVerdict judge_vllm(const VllmArgs& args, std::span<const PreflightGpu> gpus);

/// A preset's vram_budget_mb against the GPUs' free memory together.
PreflightVerdict judge_budget(uint64_t budget_bytes, std::span<const PreflightGpu> gpus);

/// What the gate does with a verdict.
struct PreflightDecision
{
    bool refuse = false;
    std::string words; ///< for the audit log: "refused", "started anyway (--force)", ...
};

/// Refuses a verdict of does_not_fit unless `force`; an ungated start (putting back what ran
/// before a failed switch) is never refused.
PreflightDecision decide_preflight(const PreflightVerdict& verdict, bool force, bool gated = true);

/// The message for a refused (or, with --force, a warned-about) start: "service 'ID' does
/// not fit: ...", the breakdown and fallbacks, then "next step: NEXT_STEP".
std::string preflight_refusal_message(std::string_view service_id, const PreflightVerdict& verdict,
                                      std::string_view next_step);

/// The audit-log text of a verdict: "ID: OUTCOME (BASIS): SUMMARY; DECISION".
std::string preflight_event_detail(std::string_view service_id, const PreflightVerdict& verdict,
                                   std::string_view decision);

} // namespace gpumod
