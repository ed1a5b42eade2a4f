#pragma once

// What the user asks llama-server to do, typed: each field means what the llama-server 0.7.0
// flag of the same name means, and defaults are llama-server's defaults.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/gguf/gguf_types.hpp"

namespace gpumod::plan {

/// --flash-attn on|off|auto.
enum class FlashAttn
{
    on,
    off,
    automatic, ///< llama-server's default: on where the backend supports it
};

/// --spec-type (the kinds that change memory).
enum class SpecType
{
    none,
    draft_mtp,    ///< the model's own nextn/MTP head in a second context
    draft_simple, ///< a separate draft model (--model-draft)
};

/// llama-server's flags that decide memory.
struct PlanRequest
{
    uint32_t n_ctx = 0;    ///< --ctx-size; 0: the model's training context
    int32_t parallel = -1; ///< --parallel; -1: auto (4 slots with a unified KV cache)
    /// --kv-unified / --no-kv-unified; unset: unified exactly when parallel is auto.
    std::optional<bool> kv_unified;
    gguf::TensorType cache_type_k = gguf::TensorType::f16;
    gguf::TensorType cache_type_v = gguf::TensorType::f16;
    FlashAttn flash_attn = FlashAttn::automatic;
    int32_t n_gpu_layers = -1; ///< -1: all layers and the output
    uint32_t n_cpu_moe = 0;    ///< experts of the first N layers stay in host memory
    uint32_t n_batch = 2048;
    uint32_t n_ubatch = 512;
    bool swa_full = false;
    bool op_offload = true; ///< --no-op-offload: batched products of host weights stay on the CPU
    SpecType spec_type = SpecType::none;
    uint32_t spec_draft_n_max = 3;
    gguf::TensorType draft_cache_type_k = gguf::TensorType::f16; ///< -ctkd
    gguf::TensorType draft_cache_type_v = gguf::TensorType::f16; ///< -ctvd
};

/// Number of slots llama-server runs for --parallel `parallel` (auto is 4).
inline uint32_t effective_slots(int32_t parallel)
{
    return parallel <= 0 ? 4U : static_cast<uint32_t>(parallel);
}

/// The flag spelling: "on", "off", "auto".
inline std::string_view flash_attn_name(FlashAttn fa)
{
    switch (fa) {
    case FlashAttn::on:
        return "on";
    case FlashAttn::off:
        return "off";
    case FlashAttn::automatic:
        break;
    }
    return "auto";
}

/// The flag spelling: "none", "draft-mtp", "draft-simple".
inline std::string_view spec_type_name(SpecType spec)
{
    switch (spec) {
    case SpecType::draft_mtp:
        return "draft-mtp";
    case SpecType::draft_simple:
        return "draft-simple";
    case SpecType::none:
        break;
    }
    return "none";
}

} // namespace gpumod::plan
