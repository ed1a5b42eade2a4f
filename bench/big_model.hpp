#pragma once

// Models of a few hundred MB for the plan-accuracy benchmark: the tiny models' tokenizer with
// real-sized layers, so that weights, KV cache and compute buffers are large enough that the
// planner's errors are not hidden by rounding. Weights are all zero (llama-server loads and
// warms up such a model; memory does not depend on the values). Pure: returns the model.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/error.hpp"
#include "core/gguf/gguf_types.hpp"
#include "core/gguf/gguf_writer.hpp"

namespace gpumod::bench {

/// The dimensions of a generated model.
struct BigModelShape
{
    std::string architecture = "llama"; ///< "llama" or "qwen35"
    uint32_t n_embd = 1024;
    uint32_t n_layer = 12; ///< main blocks (MTP block not included)
    uint32_t n_head = 8;
    uint32_t n_head_kv = 2;
    uint32_t head_dim = 128;
    uint32_t n_ff = 2816;
    uint32_t context_length = 32768;
    gguf::TensorType weight_type = gguf::TensorType::f16; ///< of every 2-D weight matrix
    bool mtp = false;                                     ///< qwen35: one extra MTP block
    uint32_t full_attention_interval = 4;                 ///< qwen35: every Nth layer attends
    uint32_t ssm_conv = 4;
    uint32_t ssm_state = 128;
    uint32_t ssm_k_heads = 4;
    uint32_t ssm_v_heads = 8;
};

/// The named shapes the benchmark uses ("llama-f16", "llama-q8_0", "llama-q4_0",
/// "qwen35-mtp-f16": 75-270 MB; "llama-2g-f16": 2.1 GB, for the GPU run); fails for an
/// unknown name.
Result<BigModelShape> big_model_shape(std::string_view name);

/// Names accepted by big_model_shape().
std::vector<std::string> big_model_names();

/// Builds the model (metadata, tokenizer from the tiny models, zero-filled tensors).
Result<gguf::GgufModel> make_big_model(const BigModelShape& shape);

} // namespace gpumod::bench
