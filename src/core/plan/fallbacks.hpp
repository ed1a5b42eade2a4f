#pragma once

// Verdicts and what to do when a configuration does not fit: the largest context that fits,
// quantized KV cache, fewer slots, no MTP, experts to the host, fewer GPU layers, smaller
// quantizations; and the adjustment llama-server's own `--fit on` would make. Pure.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/error.hpp"
#include "core/gguf/model_architecture.hpp"
#include "core/plan/memory_model.hpp"
#include "core/plan/plan_request.hpp"

namespace gpumod::plan {

/// Whether a plan fits the devices' free memory.
enum class Verdict
{
    fits,
    does_not_fit,
    unknown_capacity, ///< some checked device has no known free memory
};

/// "fits", "does_not_fit", "unknown_capacity".
std::string_view verdict_name(Verdict verdict);

/// Fits when every checked device (the GPUs, or the host without GPUs) has total + margin
/// within its free memory.
Verdict judge(const MemoryPlan& plan, uint64_t margin_bytes);

/// What stays fixed while fallbacks vary the request.
struct PlanInputs
{
    const gguf::ModelArchitecture* model = nullptr;
    std::span<const DeviceSpec> gpus;
    const gguf::ModelArchitecture* draft = nullptr;
    uint64_t margin_bytes = 0;
    std::optional<uint64_t> host_free; ///< host memory available (checked without GPUs)
};

/// The largest --ctx-size (a multiple of 256, at most `upper`) whose plan fits; nullopt when
/// not even 256 tokens fit or the capacity is unknown. A binary search over plans.
std::optional<uint32_t> largest_fitting_ctx(const PlanInputs& inputs, const PlanRequest& request,
                                            uint32_t upper);

/// What llama-server's `--fit on` does with the settings the user left unset.
struct FitOutcome
{
    PlanRequest request; ///< the fitted request
    bool changed = false;
    std::string note; ///< what it changed, in words
};

/// Mirrors `--fit on` (target `target_bytes` free per GPU, context not below `min_ctx`): when
/// the plan does not fit, lowers an unpinned context first, then moves experts of an MoE model
/// to the host, then lowers unpinned GPU layers. Without GPUs nothing changes.
FitOutcome fit_like_llama_server(const PlanInputs& inputs, const PlanRequest& request,
                                 bool ctx_pinned, bool ngl_pinned,
                                 uint64_t target_bytes = uint64_t{1024} << 20U,
                                 uint32_t min_ctx = 4096);

/// Kinds of fallback, in the order they are tried.
enum class FallbackKind
{
    reduce_ctx,
    kv_q8_0,
    kv_q4_0,
    fewer_slots,
    no_mtp,
    cpu_moe,
    fewer_gpu_layers,
    smaller_quant,
};

/// "reduce_ctx", "kv_q8_0", ...
std::string_view fallback_kind_name(FallbackKind kind);

/// One alternative configuration with its prediction.
struct Fallback
{
    uint32_t rank = 0;
    FallbackKind kind = FallbackKind::reduce_ctx;
    std::string change;            ///< "--ctx-size 65536"
    std::vector<std::string> args; ///< the same as separate arguments
    uint64_t predicted_total = 0;  ///< MemoryPlan::checked_total of the alternative
    bool fits = false;
    std::string note;
};

/// Another quantization of the same model.
struct Candidate
{
    std::string path;
    gguf::ModelArchitecture model;
};

/// Ranked alternatives to `request`: the ones that fit first (in FallbackKind order), then
/// the others by predicted total.
std::vector<Fallback> rank_fallbacks(const PlanInputs& inputs, const PlanRequest& request,
                                     std::span<const Candidate> candidates);

} // namespace gpumod::plan
