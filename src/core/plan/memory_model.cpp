#include "core/plan/memory_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <string>

namespace gpumod::plan {

namespace {

using gguf::LayerGeometry;
using gguf::ModelArchitecture;
using gguf::TensorType;

constexpr uint32_t k_ctx_pad = 256; // llama_context pads n_ctx (and n_ctx_seq) to 256
constexpr uint64_t k_f32 = 4;
// F32 n_embd rows per token in the host compute buffer of a GPU run: the gathered token rows
// and the embeddings input (the main graph), on Vulkan also their copies for the split
// (measured: 4.00 on Vulkan, 2.00 on CUDA; H200, 41 and 38 cells).
constexpr uint32_t k_host_embd_rows_vulkan = 4;
constexpr uint32_t k_host_embd_rows_cuda = 2;
// The draft-mtp graph's host inputs: the gathered token rows and the hidden-state input.
constexpr uint32_t k_mtp_host_embd_rows = 2;

uint32_t pad_to(uint64_t value, uint32_t multiple)
{
    const uint64_t padded = (value + multiple - 1) / multiple * multiple;
    return static_cast<uint32_t>(std::min<uint64_t>(padded, UINT32_MAX - k_ctx_pad));
}

bool is_quantized(TensorType type)
{
    return type != TensorType::f32 && type != TensorType::f16 && type != TensorType::bf16;
}

// llama.cpp (0.7.0) rotates Q, K and V with Walsh-Hadamard matrices when the KV cache is
// quantized ("n_rot_k"/"n_rot_v" in its log; off with LLAMA_ATTN_ROT_DISABLE): K when the
// cache type of K is quantized and every attention layer has the same K head size, a
// multiple of 64; V likewise. The K matrix is the largest power of two (>= 64) dividing the
// head size, the V matrix always 64 x 64 (llama_kv_cache::build_input_k_rot/v_rot).
struct AttnRotation
{
    uint32_t k = 0; ///< K matrix side, 0 = off
    uint32_t v = 0; ///< V matrix side, 0 = off
};

AttnRotation attn_rotation(const ModelArchitecture& model, TensorType type_k, TensorType type_v)
{
    constexpr uint32_t k_min_rot = 64;
    uint32_t head_k = 0;
    uint32_t head_v = 0;
    bool uniform_k = true;
    bool uniform_v = true;
    for (uint32_t il = 0; il < model.n_layer; ++il) {
        const auto& layer = model.layers[il];
        if (!layer.attention) {
            continue;
        }
        uniform_k = uniform_k && (head_k == 0 || head_k == layer.head_dim_k);
        uniform_v = uniform_v && (head_v == 0 || head_v == layer.head_dim_v);
        head_k = layer.head_dim_k;
        head_v = layer.head_dim_v;
    }
    AttnRotation rot;
    if (is_quantized(type_k) && uniform_k && head_k > 0 && head_k % k_min_rot == 0) {
        rot.k = k_min_rot;
        while (head_k % (rot.k * 2) == 0) {
            rot.k *= 2;
        }
    }
    if (!model.is_mla() && is_quantized(type_v) && uniform_v && head_v > 0 &&
        head_v % k_min_rot == 0) {
        rot.v = k_min_rot;
    }
    return rot;
}

// Which device index (into the device list) holds each layer: GPUs first, host last.
struct Placement
{
    std::vector<std::size_t> layer_device; ///< n_layer_all entries
    std::size_t output_device = 0;
    std::size_t host = 0;
};

Placement place_layers(const ModelArchitecture& model, uint32_t ngl, std::span<const DeviceSpec> gpus)
{
    Placement placement;
    placement.host = gpus.size();
    placement.layer_device.assign(model.n_layer_all, placement.host);
    placement.output_device = placement.host;
    if (gpus.empty() || ngl == 0) {
        return placement;
    }
    // llama.cpp: the last ngl of the n_layer + 1 slots (the output is slot n_layer) go to the
    // GPUs (i_gpu_start = n_layer + 1 - ngl), split in proportion to free memory (its default
    // tensor split).
    const uint32_t slots = model.n_layer + 1;
    const uint32_t i_gpu_start = slots - std::min(ngl, slots);
    std::vector<double> cumulative;
    double sum = 0;
    for (const auto& gpu : gpus) {
        sum += static_cast<double>(gpu.free_bytes.value_or(1));
    }
    double acc = 0;
    for (const auto& gpu : gpus) {
        acc += static_cast<double>(gpu.free_bytes.value_or(1)) / sum;
        cumulative.push_back(acc);
    }
    const uint32_t act = slots - i_gpu_start;
    auto gpu_for = [&](uint32_t il) {
        const double x = static_cast<double>(il - i_gpu_start) / static_cast<double>(act);
        auto it = std::upper_bound(cumulative.begin(), cumulative.end(), x);
        return std::min<std::size_t>(static_cast<std::size_t>(it - cumulative.begin()),
                                     gpus.size() - 1);
    };
    for (uint32_t il = i_gpu_start; il < model.n_layer; ++il) {
        placement.layer_device[il] = gpu_for(il);
    }
    // The output is slot n_layer, so any ngl >= 1 puts it on the last GPU first ("-ngl N"
    // offloads N - 1 blocks plus the output).
    placement.output_device = gpu_for(model.n_layer);
    // nextn/MTP blocks sit beside the output head.
    for (uint32_t il = model.n_layer; il < model.n_layer_all; ++il) {
        placement.layer_device[il] = placement.output_device;
    }
    return placement;
}

uint64_t layer_kv_bytes(const LayerGeometry& layer, uint64_t cells, TensorType k, TensorType v)
{
    if (!layer.attention) {
        return 0;
    }
    const uint64_t kw = uint64_t{layer.head_dim_k} * layer.n_head_kv;
    const uint64_t vw = uint64_t{layer.head_dim_v} * layer.n_head_kv;
    return (row_bytes(k, kw) + row_bytes(v, vw)) * cells;
}

// FFN width per token: a dense FFN, or the experts a token is routed to (plus shared ones).
uint64_t ffn_width(const ModelArchitecture& model, const LayerGeometry& layer)
{
    if (layer.expert_bytes > 0 && model.n_expert_used > 0) {
        const uint64_t fe = model.expert_ff != 0 ? model.expert_ff : layer.n_ff;
        // Shared experts run after the routed ones are freed: the wider of the two counts.
        return std::max<uint64_t>(uint64_t{model.n_expert_used} * fe, model.shared_expert_ff);
    }
    return layer.n_ff;
}

// Values per token of the mamba2 in_proj output: z and x (d_inner each), B and C (groups x
// state each) and dt (one per head).
uint64_t mamba_in_proj(const gguf::SsmGeometry& ssm)
{
    return 2 * uint64_t{ssm.inner_size} + 2 * uint64_t{ssm.group_count} * ssm.state_size +
           ssm.time_step_rank;
}

// Peak live F32 activations per token of one layer's phases, in values, for the compute
// buffer. ggml-alloc's high-water mark is not a sum of tensors: the attention and MoE/dense
// FFN widths were fitted on llama-server 0.7.0's CPU compute buffers of 19 models (llama,
// qwen2/3, qwen3moe, qwen35/qwen35moe, gemma3, gpt-oss, deepseek2, nemotron_h shapes;
// bench/plan-accuracy): FFN 2 n_embd + 4 ffn, attention 2 n_embd + 4 q + 2 kv (MLA 2 q). The
// rest are the tensors live at the phase's peak, read from ggml-alloc's placement of
// llama-server's reserved graphs (each graph and its offsets dumped after
// ggml_gallocr_reserve_n by a preloaded hook, the allocator replayed to the byte):
// - dense FFN of the gated delta-net hybrids (qwen35): 5 n_embd + 3 ffn: three live rows (the
//   embeddings input, the block's residual, the copy of the token rows) over two freed rows
//   that gate, up and their SwiGLU product are too wide to reuse; exact on the 128-, 256- and
//   1024-wide models (2 n_embd + 4 ffn was -8% on the 128-wide one);
// - gated delta-net: 5 n_embd (the embeddings input, the token rows, their copy, the block's
//   norm, and the freed slot of the second embeddings input, which the gathered states take
//   as far as they fit) + the convolution output + Q, K and y (2 conv channels in all); the
//   states come on top (recurrent_state_bytes);
// - mamba2: 3 n_embd (the embeddings input, the layer input, the copy of the token rows) + the
//   in_proj output + the convolution's input and output (2 conv channels); compute_bytes adds
//   what ggml-alloc leaves unused below them (mamba_slack_bytes).
// Without flash attention the attention block peaks at its KQ product instead, which
// compute_bytes counts on its own (kq_phase_bytes).
//
// With the Hadamard rotation of a quantized cache (AttnRotation) the attention block also
// holds the rotated copies of Q and of the attention output (F32, Q-sized, made by separate
// mul_mats): measured at 2 n_embd + 7.5 q per token, K/V width no longer showing, on
// tla-llama, tla-qwen2 and tla-qwen3 (CPU, q8_0/q4_0, flash attention; 2432 values per token
// for both kv 256 and kv 64). Those models have n_embd = q, so the split between the two
// terms is not identified; gemma3 (same sizes) peaks lower, so this errs high there.
struct LayerWidths
{
    uint64_t mix = 0; ///< the attention or recurrent block
    uint64_t ffn = 0;
    uint64_t rot = 0; ///< the attention block with the Hadamard rotation
};

LayerWidths layer_widths(const ModelArchitecture& model, const LayerGeometry& layer, bool rotated,
                         bool gpu)
{
    const uint64_t e = model.n_embd;
    const uint64_t f = ffn_width(model, layer);
    LayerWidths w;
    // Not seen (so not added) for MLA (deepseek2: Q is the latent-width MLA query) nor for
    // attention-only blocks (nemotron_h), whose peak is elsewhere.
    if (rotated && layer.attention && f != 0 && !model.is_mla()) {
        w.rot = 2 * e + uint64_t{layer.n_head} * layer.head_dim_k * 15 / 2;
    }
    if (layer.attention) {
        const uint64_t q = uint64_t{layer.n_head} * layer.head_dim_k;
        const uint64_t kv = uint64_t{layer.n_head_kv} * layer.head_dim_k;
        w.mix = model.is_mla() ? 2 * e + 2 * q + 2 * kv : 2 * e + 4 * q + 2 * kv;
    } else if (layer.recurrent) {
        const uint64_t conv = uint64_t{model.ssm.inner_size} +
                              2 * uint64_t{model.ssm.group_count} * model.ssm.state_size;
        if (!model.delta_net) {
            w.mix = 3 * e + mamba_in_proj(model.ssm) + 2 * conv;
        } else if (gpu) {
            // The Vulkan calibration (41 cells on an H200) was made with the earlier CPU fit,
            // 64 values per state head on top, and the states of gpu_delta_net_state_bytes;
            // the CPU's placement could not be checked there, so it stays.
            w.mix = 5 * e + 2 * conv + 64 * uint64_t{model.ssm.time_step_rank};
        } else {
            w.mix = 5 * e + 2 * conv;
        }
    }
    const bool dense = layer.expert_bytes == 0 || model.n_expert_used == 0;
    if (f != 0) {
        w.ffn = model.delta_net && dense ? 5 * e + 3 * f : 2 * e + 4 * f + model.n_expert;
    }
    return w;
}

struct ContextShape
{
    uint32_t n_seq = 1;
    bool unified = true;
    uint32_t n_ctx = 0;
    uint32_t n_ctx_seq = 0;
    uint32_t n_ubatch = 512;
    uint32_t tokens = 512; ///< worst-case ubatch the graph is reserved for
    uint32_t n_outputs_max = 1;
    bool fa = true;
    uint32_t full_cells = 0; ///< all streams
    uint32_t swa_cells = 0;  ///< all streams
    uint32_t full_per_stream = 0;
    uint32_t swa_per_stream = 0;
    AttnRotation rot; ///< Hadamard rotation of a quantized KV cache
    /// Recurrent states written per sequence: 1, or 1 + draft tokens with speculative decoding
    /// (llama.cpp's n_rs_seq rollback snapshots).
    uint32_t rs_snapshots = 1;
};

// The rotation matrices are F32 graph inputs, one K and one V matrix per KV cache (an iSWA
// model has two caches): they sit in the compute buffer of the backend holding the inputs.
uint64_t rotation_input_bytes(const AttnRotation& rot, bool full, bool swa)
{
    const uint64_t per_cache = (uint64_t{rot.k} * rot.k + uint64_t{rot.v} * rot.v) * k_f32;
    return per_cache * ((full ? 1U : 0U) + (swa ? 1U : 0U));
}

uint64_t cells_for(const ContextShape& shape, const LayerGeometry& layer)
{
    return layer.swa ? shape.swa_cells : shape.full_cells;
}

uint64_t per_stream_for(const ContextShape& shape, const LayerGeometry& layer)
{
    return layer.swa ? shape.swa_per_stream : shape.full_per_stream;
}

ContextShape shape_context(const ModelArchitecture& model, uint32_t n_ctx_requested, uint32_t n_seq,
                           bool unified, uint32_t n_batch, uint32_t n_ubatch, bool fa, bool swa_full,
                           uint32_t n_outputs_max)
{
    ContextShape s;
    s.n_seq = std::max(1U, n_seq);
    s.unified = unified;
    s.fa = fa;
    s.n_ctx = pad_to(n_ctx_requested == 0 ? model.context_length : n_ctx_requested, k_ctx_pad);
    if (unified) {
        s.n_ctx_seq = s.n_ctx;
    } else {
        s.n_ctx_seq = pad_to(s.n_ctx / s.n_seq, k_ctx_pad);
        s.n_ctx = s.n_ctx_seq * s.n_seq;
    }
    const uint32_t batch = std::min(s.n_ctx, n_batch);
    s.n_ubatch = std::min(batch, n_ubatch == 0 ? batch : n_ubatch);
    s.tokens = std::min(s.n_ctx, s.n_ubatch);
    s.n_outputs_max = n_outputs_max;
    s.full_per_stream = s.n_ctx_seq;
    s.full_cells = s.n_ctx;
    if (model.sliding_window > 0 && !swa_full) {
        // llama_kv_cache_iswa: min(size, n_swa * (unified ? n_seq : 1) + n_ubatch), padded to 256
        const uint64_t want =
            uint64_t{model.sliding_window} * (unified ? s.n_seq : 1U) + s.n_ubatch;
        s.swa_per_stream = pad_to(std::min<uint64_t>(s.n_ctx_seq, want), k_ctx_pad);
    } else {
        s.swa_per_stream = s.n_ctx_seq;
    }
    s.swa_cells = unified ? s.swa_per_stream : s.swa_per_stream * s.n_seq;
    return s;
}

// The graph inputs: per KV cache (full and sliding-window) the KQ mask (F16 with flash
// attention, F32 without) and the K/V row indices (without flash attention V is stored
// transposed, so V needs one I64 index per value: n_ubatch x n_embd_v_gqa), plus `embd_rows`
// n_embd rows per token (the token embedding rows gathered from token_embd and the embeddings
// input beside them). ggml's scheduler always places them on the host backend when a GPU runs
// the layers (the device gets copies of masks and indices in its own compute buffer).
// Measured on 41 Vulkan cells (H200): masks + 4 n_embd F32 rows per token + indices in the
// host buffer, exact to 0.1 MiB.
uint64_t input_bytes(const ModelArchitecture& model, const ContextShape& shape, uint32_t embd_rows)
{
    const uint64_t t = shape.tokens;
    const uint64_t mask_elem = shape.fa ? 2 : 4;
    constexpr uint64_t k_i64 = 8;
    bool full = false;
    bool swa = false;
    uint64_t v_full = 0; // n_embd_v_gqa of the widest layer per cache
    uint64_t v_swa = 0;
    for (uint32_t il = 0; il < model.n_layer; ++il) {
        const auto& layer = model.layers[il];
        if (!layer.attention) {
            continue;
        }
        const uint64_t v = uint64_t{layer.head_dim_v} * layer.n_head_kv;
        if (layer.swa) {
            swa = true;
            v_swa = std::max(v_swa, v);
        } else {
            full = true;
            v_full = std::max(v_full, v);
        }
    }
    // Tokens, positions (up to 4 per token for M-RoPE) and output ids: 24 bytes per token.
    uint64_t bytes = t * (4 + 4 * 4 + 4) + t * embd_rows * model.n_embd * k_f32;
    auto cache = [&](uint32_t per_stream, uint64_t v_width) {
        const uint64_t v_idx = shape.fa ? t : t * std::max<uint64_t>(1, v_width);
        bytes += uint64_t{per_stream} * t * mask_elem + t * k_i64 + v_idx * k_i64;
    };
    if (full) {
        cache(shape.full_per_stream, v_full);
    }
    if (swa) {
        cache(shape.swa_per_stream, v_swa);
    }
    return bytes + rotation_input_bytes(shape.rot, full, swa);
}

// Bytes a recurrent layer's graph holds beside its per-token width: the recurrent states of
// the sequences of the reserved ubatch, one per slot (llama_context reserves the worst case
// with n_seq_max sequences). A gated delta-net gathers its input states (get_rows) and writes
// the new ones, one per snapshot, into its output; on the CPU the gathered states take the
// slot the embeddings input (one n_embd row per token) frees before the first layer, as far as
// they fit (tla-qwen35, 4 slots: exactly that row; the 1024-wide qwen35 with 4 slots x 4
// snapshots: 2 MiB gathered + 8 MiB written, its delta-net peak 28.07 MiB to the byte). The
// mamba2 scan takes the states by index and writes them after y, which replaces the
// convolution output's B and C columns at the scan's peak: only what exceeds those adds.
uint64_t recurrent_state_bytes(const ModelArchitecture& model, const LayerGeometry& layer,
                               const ContextShape& shape, bool gpu)
{
    if (!layer.recurrent) {
        return 0;
    }
    const uint64_t t = shape.tokens;
    const uint64_t seqs = std::min<uint64_t>(shape.n_seq, t);
    const uint64_t state = model.ssm.ssm_state_values() * k_f32;
    const uint64_t written = seqs * shape.rs_snapshots * state;
    if (model.delta_net && gpu) {
        return 0; // see gpu_delta_net_state_bytes
    }
    if (model.delta_net) {
        const uint64_t gathered = seqs * state;
        const uint64_t embd_slot = t * model.n_embd * k_f32;
        return (gathered > embd_slot ? gathered - embd_slot : 0) + written;
    }
    const uint64_t bc = t * 2 * uint64_t{model.ssm.group_count} * model.ssm.state_size * k_f32;
    return written > bc ? written - bc : 0;
}

// On Vulkan the gated delta-net graph carries the states of the ubatch's sequences in and
// out (convolution included), one snapshot per draft token with speculative decoding, on top
// of the device's peak whichever block it is in (H200: +0.47 MiB for 4 slots of tla-qwen35,
// +5.7 MiB for 4 slots x 4 snapshots of the 1024-wide qwen35).
uint64_t gpu_delta_net_state_bytes(const ModelArchitecture& model, const ContextShape& shape,
                                   std::span<const uint32_t> layers)
{
    const bool here = std::any_of(layers.begin(), layers.end(),
                                  [&](uint32_t il) { return model.layers[il].recurrent; });
    if (!model.delta_net || !here) {
        return 0;
    }
    const uint64_t seqs = std::min<uint64_t>(shape.n_seq, shape.tokens);
    return seqs * shape.rs_snapshots *
           (model.ssm.conv_state_values() + model.ssm.ssm_state_values()) * k_f32;
}

// Without flash attention an attention block peaks at its KQ product (F32, n_kv x n_ubatch x
// heads), which ggml-alloc places above everything allocated before it: the graph inputs,
// which it allocates first (on the CPU the embeddings input, the token rows, positions, per
// KV cache the mask and the K/V indices; on a GPU the device's copies of masks and indices),
// then 3 n_embd rows per token (the gathered token rows, a freed copy, the layer input) and Q
// (the delta-net hybrids project Q with its gate, 2 q). Measured to 0.01 MiB on the CPU for
// llama, qwen2, qwen3, qwen35, qwen35moe, deepseek2 (with its latent copy) and the 128- and
// 1024-wide models; gemma3, gpt-oss and nemotron_h reuse one freed row (+0.5 MiB, +1%). On
// Vulkan (H200), where the device holds copies of masks and indices only, to 0.01 MiB for
// llama, gemma3, gpt-oss, nemotron_h and the 1024-wide llama. It was 3 n_embd + 2 ffn beside
// the masks before (-1.9% to -2.9% on the tiny dense models, whose peak has no FFN in it).
uint64_t kq_phase_bytes(const ModelArchitecture& model, const ContextShape& shape,
                        std::span<const uint32_t> layers, bool gpu)
{
    const uint64_t t = shape.tokens;
    uint64_t kq = 0;
    uint64_t q = 0;
    for (uint32_t il : layers) {
        const auto& layer = model.layers[il];
        if (!layer.attention) {
            continue;
        }
        const uint64_t n_kv = per_stream_for(shape, layer);
        uint64_t layer_kq = n_kv * t * layer.n_head * k_f32;
        if (model.is_mla()) {
            // The latent cache is made contiguous (F16) for the KQV product.
            layer_kq += n_kv * layer.head_dim_k * 2;
        }
        kq = std::max(kq, layer_kq);
        q = std::max<uint64_t>(q, uint64_t{layer.n_head} * layer.head_dim_k *
                                      (model.delta_net ? 2U : 1U));
    }
    if (kq == 0) {
        return 0;
    }
    constexpr uint32_t k_cpu_input_rows = 2; // the embeddings input and the token rows input
    return input_bytes(model, shape, gpu ? 0 : k_cpu_input_rows) +
           t * (3 * uint64_t{model.n_embd} + q) * k_f32 + kq;
}

// What ggml-alloc leaves unused below a mamba2 block's tensors. They are placed best-fit
// into the hole that the freed graph inputs leave below the layer input (the masks and, on the
// CPU, the token rows and their copy: 2 n_embd per token); the part of the hole they cannot
// fill stays allocated below them, at most one in_proj output, the block's largest tensor.
// Measured on tla-nemotron_h (CPU; in_proj output 3.0 MiB): 1.5 MiB unused at ctx 512 (the
// whole 1.5 MiB hole), 2.0 at 4096, 3.0 at 4 x 8192, 2.1 at 4 x 16384. While the masks are
// still live (a mamba layer before the last attention layer) the hole is that of earlier
// temporaries, not known here: one in_proj output. Checked on tla-nemotron_h with its first
// two blocks swapped (mamba, then attention): 11.03 / 14.53 / 42.53 / 12.57 MiB at ctx 512 /
// 4096 / 32768 / 4 x 8192, predicted 12.01 / 15.51 / 43.51 / 13.51 (the masks beside the
// block; comparing instead of adding them said 10.00 / 10.00 / 36.00 / 10.00, down to -31%).
uint64_t mamba_slack_bytes(const ModelArchitecture& model, const ContextShape& shape,
                           uint64_t masks, bool masks_freed, bool gpu)
{
    const uint64_t t = shape.tokens;
    const uint64_t in_proj = t * mamba_in_proj(model.ssm) * k_f32;
    if (!masks_freed) {
        return in_proj;
    }
    const uint64_t hole = masks + (gpu ? 0 : 2 * t * model.n_embd * k_f32);
    return std::min(in_proj, hole);
}

// The compute buffer of the device running `layers` (indices) of `model` in a context of
// `shape`: the KQ masks, the widest layer's activations (recurrent layers with their states),
// without flash attention the KQ phase, and the logits when the device holds the output.
uint64_t compute_bytes(const ModelArchitecture& model, const ContextShape& shape,
                       std::span<const uint32_t> layers, bool has_output, bool gpu)
{
    if (layers.empty() && !has_output) {
        return 0;
    }
    const uint64_t t = shape.tokens;
    const uint64_t mask_elem = shape.fa ? 2 : 4;
    // On a GPU the token rows are gathered from token_embd in host memory (the host compute
    // buffer holds them, see input_bytes): the device's peak is one n_embd row per token
    // below the CPU-calibrated width (41 Vulkan cells on an H200: device = CPU - 1.0 n_embd).
    const uint64_t gathered = gpu ? model.n_embd : 0;
    // The masks are graph inputs, live until the last attention layer has run: a mamba layer
    // after it reuses their space, one before it runs beside them (as every other layer).
    std::optional<uint32_t> last_attention;
    bool full = false;
    bool swa = false;
    for (uint32_t il : layers) {
        const auto& layer = model.layers[il];
        if (layer.attention) {
            last_attention = il;
            (layer.swa ? swa : full) = true;
        }
    }
    const uint64_t masks = (full ? shape.full_per_stream * t * mask_elem : 0) +
                           (swa ? shape.swa_per_stream * t * mask_elem : 0);
    uint64_t beside_masks = 0;
    uint64_t after_masks = 0;
    for (uint32_t il : layers) {
        const auto& layer = model.layers[il];
        const LayerWidths w = layer_widths(model, layer, shape.rot.k != 0, gpu);
        auto phase = [&](uint64_t width) {
            return t * (width > gathered ? width - gathered : 0) * k_f32;
        };
        const bool mamba = layer.recurrent && !model.delta_net;
        const bool masks_freed = mamba && (!last_attention || il > *last_attention);
        uint64_t mix = phase(w.mix) + recurrent_state_bytes(model, layer, shape, gpu);
        if (mamba) {
            mix += mamba_slack_bytes(model, shape, masks, masks_freed, gpu);
        }
        // The recurrent states are live in the recurrent block only, not in the FFN.
        const uint64_t bytes = std::max({mix, phase(w.ffn), phase(w.rot)});
        auto& slot = masks_freed ? after_masks : beside_masks;
        slot = std::max(slot, bytes);
    }
    uint64_t bytes = beside_masks + masks;
    if (!gpu) {
        // On a GPU the inputs live in the host buffer (input_bytes).
        bytes += rotation_input_bytes(shape.rot, full, swa);
    }
    if (!shape.fa) {
        bytes = std::max(bytes, kq_phase_bytes(model, shape, layers, gpu));
    }
    bytes = std::max(bytes, after_masks);
    if (gpu) {
        bytes += gpu_delta_net_state_bytes(model, shape, layers);
    }
    if (has_output) {
        bytes += uint64_t{model.n_vocab} * std::min<uint64_t>(t, shape.n_outputs_max) * k_f32;
    }
    return bytes;
}

// Why llama.cpp's CUDA flash attention cannot run this model's attention with these cache
// types, or nothing (ggml-cuda's kernel selection): head sizes 40-256 with V as wide as K,
// 192/128 (GQA a multiple of 8), 320/256 (of 32), 512/512 and MLA's 576/512 (GQA of 2 and
// more); K/V type pairs f16, bf16, q8_0 and q4_0, each with itself (other pairs need a
// build with GGML_CUDA_FA_ALL_QUANTS).
std::optional<std::string> cuda_fa_unsupported(const ModelArchitecture& model, TensorType type_k,
                                               TensorType type_v)
{
    const bool pair_built = type_k == type_v &&
                            (type_k == TensorType::f16 || type_k == TensorType::bf16 ||
                             type_k == TensorType::q8_0 || type_k == TensorType::q4_0);
    if (!pair_built) {
        return fmt::format("llama.cpp's CUDA flash attention has no {}/{} K/V kernels unless "
                           "built with GGML_CUDA_FA_ALL_QUANTS (use equal cache types: f16, "
                           "q8_0 or q4_0)",
                           gguf::tensor_type_info(type_k).name,
                           gguf::tensor_type_info(type_v).name);
    }
    for (uint32_t il = 0; il < model.n_layer; ++il) {
        const auto& layer = model.layers[il];
        if (!layer.attention || layer.n_head_kv == 0) {
            continue;
        }
        const uint32_t dk = layer.head_dim_k;
        const uint32_t dv = model.is_mla() ? model.kv_lora_rank : layer.head_dim_v;
        const uint32_t gqa = layer.n_head / layer.n_head_kv;
        bool ok = false;
        switch (dk) {
        case 40: case 64: case 72: case 80: case 96: case 112: case 128: case 256:
            ok = dv == dk;
            break;
        case 192:
            ok = dv == 128 && gqa >= 2 && gqa % 8 == 0;
            break;
        case 320:
            ok = dv == 256 && gqa >= 2 && gqa % 32 == 0;
            break;
        case 512:
            ok = dv == 512 && gqa >= 2;
            break;
        case 576:
            ok = dv == 512 && gqa >= 2;
            break;
        default:
            break;
        }
        if (!ok) {
            return fmt::format("llama.cpp's CUDA flash attention has no kernel for layer {}'s "
                               "heads (K {}, V {}, {} query heads per KV head)",
                               il, dk, dv, gqa);
        }
    }
    return std::nullopt;
}

// CUDA flash attention with a quantized cache: for batches (the reserved worst case) the
// tensor-core kernel reads K and V as F16, and ggml-cuda sizes the FLASH_ATTN_EXT output so
// that F16 copies of the whole K/V views (every stream) sit behind it in the compute buffer
// (its buffer type's get_alloc_size). V is a view of K for MLA: one copy. Live beside them:
// the masks and four rows per token (layer input, Q, the attention output and one more
// n_embd row). Measured on an H200 (CUDA 13): exact to 0.1 MiB for the 1024- and 2048-wide
// llama models at 32768 and 4 x 32768 q8_0/q4_0 cells and for the tiny test models.
uint64_t cuda_fa_f16_copy_peak(const ModelArchitecture& model, const ContextShape& shape,
                               std::span<const uint32_t> layers, TensorType type_k,
                               TensorType type_v)
{
    const bool k_quant = is_quantized(type_k);
    const bool v_quant = is_quantized(type_v);
    if (!k_quant && !v_quant) {
        return 0;
    }
    const uint64_t t = shape.tokens;
    bool full = false;
    bool swa = false;
    uint64_t copies = 0;
    uint64_t rows = 0;
    for (uint32_t il : layers) {
        const auto& layer = model.layers[il];
        if (!layer.attention) {
            continue;
        }
        (layer.swa ? swa : full) = true;
        const uint64_t values = cells_for(shape, layer) * layer.n_head_kv;
        uint64_t layer_copies = k_quant ? values * layer.head_dim_k * 2 : 0;
        if (v_quant && !model.is_mla()) {
            layer_copies += values * layer.head_dim_v * 2;
        }
        copies = std::max(copies, layer_copies);
        rows = std::max<uint64_t>(rows, 2 * uint64_t{model.n_embd} +
                                            uint64_t{layer.n_head} *
                                                (layer.head_dim_k + layer.head_dim_v));
    }
    if (copies == 0) {
        return 0;
    }
    const uint64_t masks = (full ? uint64_t{shape.full_per_stream} * t * 2 : 0) +
                           (swa ? uint64_t{shape.swa_per_stream} * t * 2 : 0);
    // The delta-net hybrids keep their sequences' recurrent states live on the GPU throughout
    // (as in compute_bytes): the 1024-wide qwen35 with 4 slots x 4 snapshots measured 54.09
    // MiB, 6.1 MiB above the attention alone.
    return masks + t * rows * k_f32 + copies + gpu_delta_net_state_bytes(model, shape, layers);
}

} // namespace

std::string_view backend_name(Backend backend)
{
    switch (backend) {
    case Backend::cuda:
        return "cuda";
    case Backend::vulkan:
        return "vulkan";
    case Backend::cpu:
        break;
    }
    return "cpu";
}

uint64_t Components::total() const
{
    return weights + kv_cache + recurrent_state + draft_weights + draft_kv_cache + mtp_context +
           compute_buffer + output_buffer + runtime_overhead;
}

uint64_t MemoryPlan::checked_total() const
{
    uint64_t sum = 0;
    const bool any_gpu = std::any_of(devices.begin(), devices.end(),
                                     [](const DevicePlan& d) { return d.device.gpu; });
    for (const auto& d : devices) {
        if (d.device.gpu == any_gpu) {
            sum += d.components.total();
        }
    }
    return sum;
}

uint64_t row_bytes(TensorType type, uint64_t n)
{
    const auto& info = gguf::tensor_type_info(type);
    return (n + info.block_size - 1) / info.block_size * info.block_bytes;
}

Result<MemoryPlan> plan_memory(const ModelArchitecture& model, const PlanRequest& request,
                               std::span<const DeviceSpec> gpus, const ModelArchitecture* draft,
                               std::optional<uint64_t> host_free)
{
    MemoryPlan plan;
    auto& cfg = plan.config;
    auto& notes = plan.notes;

    // Flash attention: auto resolves to on for the CPU backend and for CUDA/Vulkan on the
    // head sizes these architectures use; llama.cpp turns it off when the GPU backend cannot
    // run it (the op would land on the CPU), which the CUDA rules below predict.
    cfg.flash_attn = request.flash_attn != FlashAttn::off;
    // The GPUs share one backend (--backend): CUDA's rules apply to all of them or none.
    const bool cuda_gpus = !gpus.empty() && gpus.front().backend == Backend::cuda;
    const bool cuda_layers = cuda_gpus && request.n_gpu_layers != 0;
    const std::optional<std::string> cuda_fa_gap =
        cuda_layers && cfg.flash_attn
            ? cuda_fa_unsupported(model, request.cache_type_k, request.cache_type_v)
            : std::nullopt;
    if (request.flash_attn == FlashAttn::automatic) {
        if (cuda_fa_gap) {
            cfg.flash_attn = false;
            notes.push_back(fmt::format("--flash-attn auto predicted as off: {}", *cuda_fa_gap));
        } else {
            notes.push_back("--flash-attn auto predicted as on (the backend supports it for "
                            "these head sizes)");
        }
    } else if (cuda_fa_gap) {
        notes.push_back(fmt::format("--flash-attn on with CUDA: {}; llama.cpp runs that "
                                    "attention on the CPU (slow), and the split of the compute "
                                    "buffers between GPU and host differs from this plan",
                                    *cuda_fa_gap));
    }
    if (!cfg.flash_attn && is_quantized(request.cache_type_v) && cuda_fa_gap) {
        return fail(fmt::format("a quantized V cache ({}) needs flash attention, and {}: "
                                "llama-server would fail to load; use --cache-type-v f16",
                                gguf::tensor_type_info(request.cache_type_v).name,
                                *cuda_fa_gap));
    }
    if (!cfg.flash_attn && is_quantized(request.cache_type_v)) {
        return fail(fmt::format("a quantized V cache ({}) needs flash attention: llama-server "
                                "refuses to load with --flash-attn off (\"quantized V cache was "
                                "requested, but this requires Flash Attention\"); use "
                                "--flash-attn on or --cache-type-v f16",
                                gguf::tensor_type_info(request.cache_type_v).name));
    }
    if (request.spec_type == SpecType::draft_mtp && model.n_nextn == 0) {
        return fail(fmt::format("--spec-type draft-mtp needs a model with an MTP (nextn) head; "
                                "this {} model has none: drop --spec-type or use draft-simple "
                                "with --model-draft",
                                model.name));
    }
    if (request.spec_type == SpecType::draft_simple && draft == nullptr) {
        return fail("--spec-type draft-simple needs --model-draft FILE");
    }
    if (request.n_cpu_moe > 0 && !model.is_moe()) {
        notes.push_back("--n-cpu-moe has no effect: the model has no experts");
    }

    cfg.n_seq = effective_slots(request.parallel);
    cfg.kv_unified = request.kv_unified.value_or(request.parallel <= 0);
    cfg.cache_type_k = request.cache_type_k;
    cfg.cache_type_v = request.cache_type_v;
    cfg.spec_type = request.spec_type;
    cfg.spec_draft_n_max = request.spec_draft_n_max;
    cfg.n_cpu_moe = request.n_cpu_moe;
    cfg.swa_full = request.swa_full;
    cfg.op_offload = request.op_offload;
    cfg.draft_cache_type_k = request.draft_cache_type_k;
    cfg.draft_cache_type_v = request.draft_cache_type_v;
    const uint32_t draft_tokens = request.spec_type == SpecType::none ? 0 : request.spec_draft_n_max;
    cfg.n_outputs_max = cfg.n_seq * (1 + draft_tokens);

    ContextShape shape =
        shape_context(model, request.n_ctx, cfg.n_seq, cfg.kv_unified, request.n_batch,
                      request.n_ubatch, cfg.flash_attn, request.swa_full, cfg.n_outputs_max);
    shape.rot = attn_rotation(model, cfg.cache_type_k, cfg.cache_type_v);
    if (shape.n_ctx_seq == 0) {
        return fail("the context per slot rounds to 0: raise --ctx-size or lower --parallel");
    }
    cfg.n_ctx = shape.n_ctx;
    cfg.n_ctx_per_slot = shape.n_ctx_seq;
    cfg.n_batch = std::min(shape.n_ctx, request.n_batch);
    cfg.n_ubatch = shape.n_ubatch;
    cfg.kv_cells = shape.full_cells;
    cfg.swa_kv_cells = model.has_swa() ? shape.swa_cells : 0;

    const uint32_t slots = model.n_layer + 1;
    cfg.n_gpu_layers = gpus.empty() ? 0
                       : request.n_gpu_layers < 0
                           ? slots
                           : std::min(static_cast<uint32_t>(request.n_gpu_layers), slots);

    // Devices: GPUs first, the host last.
    for (const auto& gpu : gpus) {
        plan.devices.push_back(DevicePlan{gpu, {}, 0});
    }
    DeviceSpec host;
    host.name = "CPU";
    host.gpu = false;
    host.backend = Backend::cpu;
    host.free_bytes = host_free;
    host.label = "host memory";
    plan.devices.push_back(DevicePlan{host, {}, 0});
    const Placement placement = place_layers(model, cfg.n_gpu_layers, gpus);
    auto& host_plan = plan.devices[placement.host].components;

    const bool mtp = request.spec_type == SpecType::draft_mtp;
    const uint32_t n_rs_seq = (request.spec_type != SpecType::none && model.has_recurrent())
                                  ? request.spec_draft_n_max
                                  : 0;
    shape.rs_snapshots = 1 + n_rs_seq;

    // Weights: token embeddings stay on the host; blocks follow their layer (experts of the
    // first n_cpu_moe layers to the host); the output and nextn blocks sit on the output
    // device; tied embeddings are duplicated onto a GPU output device.
    host_plan.weights += model.token_embd_bytes;
    std::vector<std::vector<uint32_t>> device_layers(plan.devices.size());
    for (uint32_t il = 0; il < model.n_layer_all; ++il) {
        const auto& layer = model.layers[il];
        if (layer.nextn && !mtp) {
            continue; // llama.cpp skips an unused MTP head ("model has unused tensor")
        }
        const std::size_t dev = placement.layer_device[il];
        auto& comp = plan.devices[dev].components;
        uint64_t bytes = layer.weight_bytes;
        if (il < request.n_cpu_moe && dev != placement.host) {
            bytes -= layer.expert_bytes;
            host_plan.weights += layer.expert_bytes;
        }
        comp.weights += bytes;
        if (layer.nextn) {
            continue;
        }
        plan.devices[dev].layers += 1;
        device_layers[dev].push_back(il);
        comp.kv_cache += layer_kv_bytes(layer, cells_for(shape, layer), cfg.cache_type_k,
                                        cfg.cache_type_v);
        if (layer.recurrent) {
            comp.recurrent_state += (model.ssm.conv_state_values() + model.ssm.ssm_state_values()) *
                                    k_f32 * cfg.n_seq * (1 + uint64_t{n_rs_seq});
        }
    }
    auto& out_plan = plan.devices[placement.output_device].components;
    out_plan.weights += model.output_bytes;
    if (model.tied_embeddings && placement.output_device != placement.host) {
        out_plan.weights += model.token_embd_bytes;
    }

    // Output buffer: llama_context reserves logits for one row per slot in host memory at
    // start (it grows to n_outputs_max rows on the first speculative batch).
    host_plan.output_buffer += uint64_t{model.n_vocab} * cfg.n_seq * k_f32;

    // Compute buffers.
    // CUDA with weights in host memory (partial offload, --n-cpu-moe, even -ngl 0): ggml's
    // scheduler offloads batched products of host weights to the GPU (op offload, on by
    // default), so the GPU holding the output runs the whole graph: its compute buffer is
    // that of a full offload plus a copy of the largest host weight uploaded per product, and
    // the host buffer holds only the inputs (H200: -ngl 0 / 1 / 13 of a 24-block 2 GB model
    // measured 86.0 / 85.1 / 86.0 MiB on the GPU, the full-offload 61 MiB plus its 22 MiB FFN
    // matrix, and 24.0 MiB on the host, as with -ngl 99).
    uint64_t host_matrix = 0;
    for (uint32_t il = 0; il < model.n_layer; ++il) {
        const auto& layer = model.layers[il];
        if (placement.layer_device[il] == placement.host) {
            host_matrix = std::max(host_matrix, layer.largest_matrix_bytes);
        } else if (il < request.n_cpu_moe) {
            host_matrix = std::max(host_matrix, layer.largest_expert_bytes);
        }
    }
    const bool cuda_op_offload = cfg.op_offload && cuda_gpus && host_matrix > 0;
    const std::size_t offload_device =
        placement.output_device != placement.host ? placement.output_device : 0;
    std::vector<uint32_t> main_layers(model.n_layer);
    std::iota(main_layers.begin(), main_layers.end(), 0U);
    const uint32_t host_embd_rows = cuda_gpus ? k_host_embd_rows_cuda : k_host_embd_rows_vulkan;
    for (std::size_t d = 0; d < plan.devices.size(); ++d) {
        auto& dp = plan.devices[d];
        if (cuda_op_offload && d == placement.host) {
            dp.components.compute_buffer += input_bytes(model, shape, host_embd_rows);
            continue;
        }
        const bool runs_all = cuda_op_offload && d == offload_device;
        const auto& layers = runs_all ? main_layers : device_layers[d];
        // The output's product has one row per output (fewer than op offload's 32-row
        // minimum): it stays where the output weight is.
        uint64_t bytes =
            compute_bytes(model, shape, layers, d == placement.output_device, dp.device.gpu);
        // Under op offload only the offloading GPU is given the F16 copies (the other GPUs'
        // attention was not measured that way).
        if (dp.device.backend == Backend::cuda && cfg.flash_attn &&
            (!cuda_op_offload || runs_all)) {
            bytes = std::max(bytes, cuda_fa_f16_copy_peak(model, shape, layers, cfg.cache_type_k,
                                                          cfg.cache_type_v));
        }
        if (runs_all) {
            bytes += host_matrix;
        } else if (d == placement.host && !gpus.empty()) {
            // With a GPU the host buffer holds the graph inputs; host layers (partial
            // offload) reuse it for their activations.
            bytes = std::max(bytes, input_bytes(model, shape, host_embd_rows));
        }
        dp.components.compute_buffer += bytes;
    }
    if (cuda_op_offload) {
        notes.push_back(fmt::format(
            "CUDA op offload: batches multiply host weights on GPU {} (a copy of the largest, "
            "{:.1f} MiB, in its compute buffer; llama-server --no-op-offload keeps them on the "
            "CPU)",
            offload_device, static_cast<double>(host_matrix) / static_cast<double>(k_mib)));
    }

    // The draft-mtp context: its own KV for the nextn layers (draft cache types), a compute
    // buffer (mask, KQ without flash attention, the MTP graph's activations) and logits for
    // one output per slot.
    if (mtp) {
        auto& dev = plan.devices[placement.output_device].components;
        for (uint32_t il = model.n_layer; il < model.n_layer_all; ++il) {
            plan.mtp.kv_cache += layer_kv_bytes(model.layers[il], shape.full_cells,
                                                request.draft_cache_type_k,
                                                request.draft_cache_type_v);
        }
        const uint64_t t = shape.tokens;
        // The MTP graph (embedding + hidden state -> one block -> head) peaks at about 3.2 ffn
        // per token (fitted on the tiny and 260 MiB qwen35 MTP models).
        uint64_t mtp_ffn = 0;
        uint64_t mtp_heads = 0;
        for (uint32_t il = model.n_layer; il < model.n_layer_all; ++il) {
            mtp_ffn = std::max(mtp_ffn, ffn_width(model, model.layers[il]));
            mtp_heads = std::max<uint64_t>(mtp_heads, model.layers[il].n_head);
        }
        const uint64_t mtp_width = mtp_ffn == 0 ? 6 * uint64_t{model.n_embd} : mtp_ffn * 16 / 5;
        const uint64_t n_kv = shape.full_per_stream;
        // The draft context's cache has the draft cache types, and so its own rotation.
        ContextShape mtp_shape = shape;
        mtp_shape.rot =
            attn_rotation(model, request.draft_cache_type_k, request.draft_cache_type_v);
        const bool on_gpu = placement.output_device != placement.host;
        // As in the main context, a GPU runs the graph without the gathered token rows; they
        // and the other inputs sit in a host buffer (H200: mask + 2 n_embd rows per token).
        const uint64_t gathered = on_gpu ? model.n_embd : 0;
        const uint64_t device_compute =
            n_kv * t * (shape.fa ? 2U : 4U) + (shape.fa ? 0 : n_kv * t * mtp_heads * k_f32) +
            t * (mtp_width > gathered ? mtp_width - gathered : 0) * k_f32 +
            uint64_t{model.n_vocab} * std::min<uint64_t>(t, cfg.n_seq) * k_f32;
        const uint64_t host_compute =
            on_gpu ? input_bytes(model, mtp_shape, k_mtp_host_embd_rows) : 0;
        plan.mtp.compute_buffer = device_compute + host_compute;
        plan.mtp.output_buffer = uint64_t{model.n_vocab} * cfg.n_seq * k_f32;
        dev.mtp_context += plan.mtp.kv_cache + device_compute;
        host_plan.mtp_context += plan.mtp.output_buffer + host_compute;
        notes.push_back("draft-mtp: the MTP head's weights count in weights; its context (KV "
                        "with the draft cache types, compute, output) in mtp_context");
    }

    // draft-simple: a second model with its own context of the same size and slots.
    if (request.spec_type == SpecType::draft_simple && draft != nullptr) {
        PlanRequest dreq = request;
        dreq.spec_type = SpecType::none;
        dreq.cache_type_k = request.draft_cache_type_k;
        dreq.cache_type_v = request.draft_cache_type_v;
        dreq.n_ctx = cfg.n_ctx;
        dreq.n_cpu_moe = 0;
        dreq.n_gpu_layers = -1;
        auto dplan = plan_memory(*draft, dreq, gpus, nullptr, host_free);
        if (!dplan) {
            return tl::unexpected(dplan.error().with_context("draft model"));
        }
        for (std::size_t d = 0; d < plan.devices.size() && d < dplan->devices.size(); ++d) {
            const auto& dc = dplan->devices[d].components;
            auto& c = plan.devices[d].components;
            c.draft_weights += dc.weights;
            c.draft_kv_cache += dc.kv_cache + dc.recurrent_state;
            c.compute_buffer += dc.compute_buffer;
            c.output_buffer += dc.output_buffer;
        }
        notes.push_back("draft-simple: the draft model's compute and output buffers count in "
                        "compute_buffer and output_buffer");
    }

    // Runtime beyond the buffers: a per-backend constant on every GPU, plus what the kernels
    // load or allocate outside ggml's buffers (see docs/plan.md):
    // - CUDA: the context and start-up (measured: 596-600 MiB beyond the buffers, nvidia-smi's
    //   device delta, 35 cells on an H200), MMQ kernels after the first long prompt (+10 MiB),
    //   and cuBLAS, whose kernels load on first use (+108 MiB after a long prompt when F16
    //   weights are multiplied, +108 more without flash attention: bench/plan-accuracy/gpu/
    //   results-cuda-load.md). Flash attention's F16 copies of a quantized cache are part of
    //   the compute buffer (cuda_fa_f16_copy_peak).
    // - Vulkan: none for the usual head sizes (nvidia-smi on an H200 shows the same 57-66 MiB
    //   with q8_0/q4_0 caches as with F16), but MLA layers under flash attention use contiguous
    //   copies of the latent K (kv_lora_rank + rope) and V (kv_lora_rank) views of every
    //   stream: F16 for an F16 cache (measured 8 MiB beyond the constant at 4096 cells, this
    //   gives 8.5), F32 when the cache is quantized (measured 110 MiB at 4 x 8192 q8_0 cells,
    //   this gives 136: an upper bound, the exact kernel path is not known).
    const bool quantized_kv = is_quantized(cfg.cache_type_k) || is_quantized(cfg.cache_type_v);
    for (std::size_t d = 0; d < plan.devices.size(); ++d) {
        auto& dp = plan.devices[d];
        if (!dp.device.gpu) {
            dp.components.runtime_overhead = k_host_runtime_overhead;
            continue;
        }
        if (dp.device.backend == Backend::cuda) {
            bool float_matmul = d == placement.output_device && model.output_float_matmul;
            for (uint32_t il : device_layers[d]) {
                float_matmul = float_matmul || model.layers[il].float_matmul;
            }
            dp.components.runtime_overhead =
                k_cuda_runtime_overhead + (float_matmul ? k_cuda_cublas_kernels : 0) +
                (cfg.flash_attn ? 0 : k_cuda_cublas_kernels);
            continue;
        }
        dp.components.runtime_overhead = k_vulkan_runtime_overhead;
        if (!cfg.flash_attn || !model.is_mla()) {
            continue;
        }
        uint64_t scratch = 0;
        for (uint32_t il : device_layers[d]) {
            const auto& layer = model.layers[il];
            if (!layer.attention) {
                continue;
            }
            const uint64_t row = uint64_t{layer.head_dim_k} + model.kv_lora_rank;
            scratch = std::max(scratch, cells_for(shape, layer) * row * layer.n_head_kv *
                                            (quantized_kv ? k_f32 : 2));
        }
        dp.components.runtime_overhead += scratch;
    }
    if (gpus.empty()) {
        // Nothing but the host: report only it.
        notes.push_back("no GPU: planned for llama-server's CPU backend in host memory");
    }
    return plan;
}

} // namespace gpumod::plan
