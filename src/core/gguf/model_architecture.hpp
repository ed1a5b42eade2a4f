#pragma once

// The model geometry the memory planner needs, derived from a GGUF header alone: layer count
// (main stack vs nextn/MTP layers), attention heads and KV heads per layer, head sizes, which
// layers use a sliding window, which are recurrent (SSM / gated delta-net) and their state
// sizes, MLA ranks, experts, vocabulary, and the exact tensor bytes per layer. Pure.
//
// Known architectures follow llama.cpp's reading of the same keys; anything else takes a
// generic path that writes down each assumption it had to make in `assumptions`.

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/error.hpp"
#include "core/gguf/gguf_reader.hpp"

namespace gpumod::gguf {

/// One block (blk.N) of the model.
struct LayerGeometry
{
    bool attention = true;  ///< has a KV cache (attention layer)
    bool recurrent = false; ///< keeps a recurrent state (SSM / gated delta-net) instead
    bool swa = false;       ///< attention over a sliding window
    bool nextn = false;     ///< an MTP/nextn block, used only by --spec-type draft-mtp
    uint32_t n_head = 0;
    uint32_t n_head_kv = 0;
    uint32_t head_dim_k = 0; ///< K row per head in the cache (MLA: kv_lora_rank + rope dims)
    uint32_t head_dim_v = 0; ///< V row per head in the cache (MLA: 0, V is a view of K)
    uint32_t n_ff = 0;       ///< dense FFN width (0: none or experts only)
    uint64_t weight_bytes = 0; ///< every blk.N tensor
    uint64_t expert_bytes = 0; ///< blk.N.ffn_*_exps tensors (moved by --n-cpu-moe)
    /// A matrix of F32/F16/BF16 weights multiplied with activations (a router, an F16 block):
    /// on CUDA, batches of such products go through cuBLAS, whose kernels load on first use.
    bool float_matmul = false;
    uint64_t largest_matrix_bytes = 0; ///< the block's largest weight of 2+ dimensions
    uint64_t largest_expert_bytes = 0; ///< its largest ffn_*_exps tensor (all experts)
};

/// Recurrent state geometry (llama.cpp's ssm_* hparams).
struct SsmGeometry
{
    uint32_t conv_kernel = 0;    ///< ssm.conv_kernel (d_conv)
    uint32_t inner_size = 0;     ///< ssm.inner_size (d_inner)
    uint32_t state_size = 0;     ///< ssm.state_size (d_state)
    uint32_t group_count = 0;    ///< ssm.group_count (n_group)
    uint32_t time_step_rank = 0; ///< ssm.time_step_rank (heads of the state)

    /// F32 values of the convolution state of one layer and one sequence.
    [[nodiscard]] uint64_t conv_state_values() const;
    /// F32 values of the SSM state of one layer and one sequence.
    [[nodiscard]] uint64_t ssm_state_values() const;
};

/// Everything the planner reads from a model file.
struct ModelArchitecture
{
    std::string name;   ///< general.architecture, e.g. "qwen35", "gpt-oss"
    bool known = false; ///< one of the architectures with dedicated rules
    uint32_t n_layer_all = 0; ///< block_count
    uint32_t n_layer = 0;     ///< main stack: block_count minus nextn layers
    uint32_t n_nextn = 0;     ///< nextn_predict_layers (MTP heads)
    uint32_t n_embd = 0;
    uint32_t n_head = 0; ///< of the first attention layer (for reporting)
    uint32_t n_vocab = 0;
    uint32_t context_length = 0; ///< training context
    uint32_t sliding_window = 0; ///< 0: no SWA layers
    uint32_t n_expert = 0;
    uint32_t n_expert_used = 0;
    uint32_t expert_ff = 0;        ///< expert FFN width
    uint32_t shared_expert_ff = 0; ///< total width of the shared experts (0: none)
    uint32_t kv_lora_rank = 0; ///< MLA when > 0
    uint32_t rope_dim = 0;
    SsmGeometry ssm;
    bool delta_net = false; ///< recurrent layers are gated delta-nets (qwen35), else mamba
    bool tied_embeddings = false; ///< no output.weight: the output reuses token_embd
    uint64_t token_embd_bytes = 0;
    uint64_t output_bytes = 0; ///< output.weight, output_norm and other non-block tensors
    bool output_float_matmul = false; ///< the output head (or tied embeddings) is F32/F16/BF16
    uint64_t tensor_bytes = 0; ///< every tensor
    std::vector<LayerGeometry> layers; ///< n_layer_all entries, nextn layers last
    std::vector<std::string> assumptions;

    [[nodiscard]] bool has_swa() const;
    [[nodiscard]] bool has_recurrent() const;
    [[nodiscard]] bool is_moe() const { return n_expert > 0; }
    [[nodiscard]] bool is_mla() const { return kv_lora_rank > 0; }
};

/// Derives the architecture from a header; fails when a key the planner cannot do without
/// (block_count, embedding_length) is missing or a per-layer array has the wrong length.
Result<ModelArchitecture> derive_architecture(const GgufHeader& header);

} // namespace gpumod::gguf
