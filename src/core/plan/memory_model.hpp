#pragma once

// Memory per component and device for a model under a llama-server configuration, computed
// the way llama.cpp sizes its buffers: exact tensor bytes by placement, KV cache rows from
// ggml's type table with llama.cpp's context padding and SWA sizing, recurrent states, the
// output buffer, and compute buffers from a graph model calibrated against llama-server's
// own buffer lines (see docs/plan.md). Pure and fast: one plan is a walk over the layers.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/error.hpp"
#include "core/gguf/model_architecture.hpp"
#include "core/plan/plan_request.hpp"

namespace gpumod::plan {

/// The ggml backend a device runs.
enum class Backend
{
    cpu,
    cuda,
    vulkan,
};

/// "cpu", "cuda", "vulkan".
std::string_view backend_name(Backend backend);

/// A device memory is planned for.
struct DeviceSpec
{
    std::string name = "CPU"; ///< "CPU", "GPU0", ...
    bool gpu = false;
    Backend backend = Backend::cpu;
    std::optional<uint64_t> free_bytes; ///< what can be used; unset: unknown
    std::string label; ///< where the capacity came from, e.g. "NVIDIA RTX 4090 (NVML)"
};

/// Bytes per component on one device; names match `gpumod plan --json`.
struct Components
{
    uint64_t weights = 0;
    uint64_t kv_cache = 0;
    uint64_t recurrent_state = 0;
    uint64_t draft_weights = 0;
    uint64_t draft_kv_cache = 0;
    uint64_t mtp_context = 0; ///< the draft-mtp context: its KV, compute and output buffers
    uint64_t compute_buffer = 0;
    uint64_t output_buffer = 0;
    uint64_t runtime_overhead = 0;

    [[nodiscard]] uint64_t total() const;
};

/// One device's share.
struct DevicePlan
{
    DeviceSpec device;
    Components components;
    uint32_t layers = 0; ///< main-stack layers placed here
};

/// The draft-mtp context's buffers, summed over devices (they also appear in mtp_context).
struct MtpDetail
{
    uint64_t kv_cache = 0;
    uint64_t compute_buffer = 0;
    uint64_t output_buffer = 0;
};

/// The configuration llama-server ends up with after its own rounding and defaults.
struct ResolvedConfig
{
    uint32_t n_ctx = 0;          ///< total cells, padded to 256 (and to n_seq * n_ctx_seq)
    uint32_t n_ctx_per_slot = 0; ///< n_ctx_seq
    uint32_t n_seq = 1;          ///< slots (n_seq_max)
    bool kv_unified = true;
    gguf::TensorType cache_type_k = gguf::TensorType::f16;
    gguf::TensorType cache_type_v = gguf::TensorType::f16;
    bool flash_attn = true;
    uint32_t n_gpu_layers = 0; ///< 0 .. n_layer + 1 (n_layer + 1: the output too)
    uint32_t n_cpu_moe = 0;
    SpecType spec_type = SpecType::none;
    uint32_t spec_draft_n_max = 3;
    uint32_t n_batch = 2048;
    uint32_t n_ubatch = 512;
    uint32_t n_outputs_max = 1;
    bool swa_full = false;     ///< --swa-full: SWA layers keep the whole context
    bool op_offload = true;    ///< host weights' batched products run on a GPU
    gguf::TensorType draft_cache_type_k = gguf::TensorType::f16; ///< -ctkd (draft contexts)
    gguf::TensorType draft_cache_type_v = gguf::TensorType::f16; ///< -ctvd
    uint32_t kv_cells = 0;     ///< cells of full-attention layers (all streams)
    uint32_t swa_kv_cells = 0; ///< cells of sliding-window layers (all streams)
};

/// A whole prediction.
struct MemoryPlan
{
    ResolvedConfig config;
    std::vector<DevicePlan> devices; ///< GPUs first, host last; only the host without GPUs
    MtpDetail mtp;
    std::vector<std::string> notes; ///< assumptions made for this configuration

    /// Sum over the devices the verdict is about: the GPUs, or the host when there is none.
    [[nodiscard]] uint64_t checked_total() const;
};

/// Bytes of one cache row of `n` values of `type` (whole ggml blocks).
uint64_t row_bytes(gguf::TensorType type, uint64_t n);

/// Predicts memory for `model` under `request` on `gpus` (empty: the CPU backend alone).
/// `draft` is the --model-draft architecture for draft-simple; `host_free` the host memory
/// available (the capacity checked when there is no GPU). Fails where llama-server would
/// refuse to start: quantized V cache without flash attention, draft-mtp on a model without
/// an MTP head, draft-simple without a draft model.
Result<MemoryPlan> plan_memory(const gguf::ModelArchitecture& model, const PlanRequest& request,
                               std::span<const DeviceSpec> gpus,
                               const gguf::ModelArchitecture* draft = nullptr,
                               std::optional<uint64_t> host_free = std::nullopt);

/// Calibrated per-backend constants (documented estimates in docs/plan.md).
inline constexpr uint64_t k_mib = uint64_t{1} << 20U;
/// CUDA context and llama-server's start-up per GPU beyond its buffers, plus the MMQ kernels
/// loaded by the first long prompt: nvidia-smi's device delta minus the buffers was 596-600
/// MiB over 35 cells on an H200 (CUDA 13.0, driver 580), +10 MiB after a long prompt
/// (bench/plan-accuracy/gpu/results-cuda.md, results-cuda-load.md).
inline constexpr uint64_t k_cuda_runtime_overhead = 610 * k_mib;
/// cuBLAS kernels loaded on first use: once F32/F16/BF16 weights are multiplied with a batch,
/// and again without flash attention (KQ and KQV products): +108 MiB each after a long prompt.
inline constexpr uint64_t k_cuda_cublas_kernels = 108 * k_mib;
/// The llama-server process beyond its buffers on the host (code, tokenizer tables, graph
/// metadata, allocator slack): a tiny model's server has ~24 MiB RSS for ~10 MiB of buffers.
inline constexpr uint64_t k_host_runtime_overhead = 12 * k_mib;
/// Vulkan instance, device and driver reservations per GPU beyond llama-server's buffers:
/// measured as nvidia-smi's device delta minus the buffers, 57-66 MiB over 41 cells on an
/// H200 with driver 580 (bench/plan-accuracy/gpu/results-gpu.md); the largest is used.
inline constexpr uint64_t k_vulkan_runtime_overhead = 66 * k_mib;

} // namespace gpumod::plan
