#include "core/gguf/model_architecture.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <string_view>

namespace gpumod::gguf {

namespace {

constexpr std::array<std::string_view, 14> k_known_architectures{
    "llama",    "qwen2",     "qwen3",     "qwen3moe", "qwen35",  "qwen35moe", "qwen3next",
    "gemma3",   "gpt-oss",   "deepseek2", "nemotron_h", "mamba", "mamba2",   "gemma2"};

bool is_one_of(std::string_view name, std::initializer_list<std::string_view> names)
{
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::optional<uint32_t> to_u32(const Value& value)
{
    auto v = value.as_uint();
    if (!v || *v > UINT32_MAX) {
        return std::nullopt;
    }
    return static_cast<uint32_t>(*v);
}

std::optional<uint32_t> get_u32(const GgufHeader& header, const std::string& key)
{
    const Value* value = header.find(key);
    return value == nullptr ? std::nullopt : to_u32(*value);
}

// A per-layer hparam: a scalar applies to every layer, an array gives one value per layer
// (llama.cpp's get_key_or_arr). Absent: nullopt.
Result<std::optional<std::vector<uint32_t>>> get_per_layer(const GgufHeader& header,
                                                          const std::string& key, uint32_t n)
{
    const Value* value = header.find(key);
    if (value == nullptr) {
        return std::optional<std::vector<uint32_t>>{};
    }
    if (const Array* array = value->as_array()) {
        if (array->items.size() != n) {
            return fail(fmt::format("{} has {} entries but the model has {} layers", key,
                                    array->items.size(), n));
        }
        std::vector<uint32_t> out;
        out.reserve(n);
        for (const auto& item : array->items) {
            auto v = to_u32(item);
            if (!v) {
                return fail(fmt::format("{} holds a value that is not an unsigned integer", key));
            }
            out.push_back(*v);
        }
        return std::optional<std::vector<uint32_t>>{std::move(out)};
    }
    auto v = to_u32(*value);
    if (!v) {
        return fail(fmt::format("{} is not an unsigned integer", key));
    }
    return std::optional<std::vector<uint32_t>>{std::vector<uint32_t>(n, *v)};
}

// "blk.12.attn_k.weight" -> 12; nullopt for tensors outside the blocks.
std::optional<uint32_t> block_index(std::string_view name)
{
    constexpr std::string_view prefix = "blk.";
    if (name.substr(0, prefix.size()) != prefix) {
        return std::nullopt;
    }
    name.remove_prefix(prefix.size());
    uint32_t index = 0;
    auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), index);
    if (ec != std::errc{} || ptr == name.data() + name.size() || *ptr != '.') {
        return std::nullopt;
    }
    return index;
}

std::string_view tensor_suffix(std::string_view name)
{
    // After "blk.N."
    auto first = name.find('.');
    auto second = first == std::string_view::npos ? first : name.find('.', first + 1);
    return second == std::string_view::npos ? std::string_view{} : name.substr(second + 1);
}

bool starts_with(std::string_view text, std::string_view prefix)
{
    return text.substr(0, prefix.size()) == prefix;
}

// A weight matrix ggml multiplies in F32, F16 or BF16 (not a quantized type): both dimensions
// above 1, so norms, biases and per-head scalars do not count.
bool is_float_matrix(const TensorInfo& t)
{
    const bool float_type =
        t.type == TensorType::f32 || t.type == TensorType::f16 || t.type == TensorType::bf16;
    return float_type && t.shape.size() >= 2 && t.shape[0] > 1 && t.shape[1] > 1;
}

} // namespace

uint64_t SsmGeometry::conv_state_values() const
{
    if (conv_kernel == 0) {
        return 0;
    }
    // llama.cpp: (d_conv - 1) * (d_inner + 2 * n_group * d_state)
    return uint64_t{conv_kernel - 1} *
           (uint64_t{inner_size} + 2 * uint64_t{group_count} * uint64_t{state_size});
}

uint64_t SsmGeometry::ssm_state_values() const
{
    return uint64_t{state_size} * uint64_t{inner_size};
}

bool ModelArchitecture::has_swa() const
{
    return std::any_of(layers.begin(), layers.end(), [](const LayerGeometry& l) { return l.swa; });
}

bool ModelArchitecture::has_recurrent() const
{
    return std::any_of(layers.begin(), layers.end(),
                       [](const LayerGeometry& l) { return l.recurrent; });
}

Result<ModelArchitecture> derive_architecture(const GgufHeader& header)
{
    ModelArchitecture arch;
    const Value* arch_value = header.find("general.architecture");
    if (arch_value == nullptr || arch_value->as_string() == nullptr) {
        return fail("general.architecture is missing: not a model file llama.cpp can load");
    }
    arch.name = *arch_value->as_string();
    arch.known = std::find(k_known_architectures.begin(), k_known_architectures.end(),
                           arch.name) != k_known_architectures.end();
    const std::string p = arch.name + ".";
    auto& notes = arch.assumptions;
    if (!arch.known) {
        notes.push_back(fmt::format("generic architecture path for '{}': layers read from the "
                                    "tensors and the standard keys",
                                    arch.name));
    }

    auto block_count = get_u32(header, p + "block_count");
    auto n_embd = get_u32(header, p + "embedding_length");
    if (!block_count || *block_count == 0) {
        return fail(fmt::format("{}block_count is missing", p));
    }
    if (!n_embd || *n_embd == 0) {
        return fail(fmt::format("{}embedding_length is missing", p));
    }
    // Per-layer tables are sized by block_count: a hostile header must not make us allocate
    // gigabytes. No real model comes near this.
    constexpr uint32_t k_max_blocks = 65536;
    if (*block_count > k_max_blocks) {
        return fail(fmt::format("{}block_count {} is implausible (more than {})", p,
                                *block_count, k_max_blocks));
    }
    arch.n_layer_all = *block_count;
    arch.n_embd = *n_embd;
    arch.n_nextn = std::min(get_u32(header, p + "nextn_predict_layers").value_or(0),
                            arch.n_layer_all - 1);
    arch.n_layer = arch.n_layer_all - arch.n_nextn;
    const uint32_t n = arch.n_layer_all;

    arch.context_length = get_u32(header, p + "context_length").value_or(0);
    if (arch.context_length == 0) {
        arch.context_length = 4096;
        notes.push_back("context_length missing: assumed 4096");
    }

    // Tensor bytes per layer, from the tensor table.
    arch.layers.resize(n);
    std::vector<bool> has_attn_tensor(n, false);
    std::vector<bool> has_ssm_tensor(n, false);
    bool has_output = false;
    uint64_t token_embd_rows = 0;
    bool token_embd_float = false;
    for (const auto& t : header.tensors) {
        arch.tensor_bytes += t.byte_size;
        if (auto il = block_index(t.name)) {
            if (*il >= n) {
                arch.output_bytes += t.byte_size;
                notes.push_back(fmt::format("tensor {} lies beyond block_count; counted with the "
                                            "output",
                                            t.name));
                continue;
            }
            auto& layer = arch.layers[*il];
            layer.weight_bytes += t.byte_size;
            const auto suffix = tensor_suffix(t.name);
            if (suffix.find("_exps") != std::string_view::npos) {
                layer.expert_bytes += t.byte_size;
                layer.largest_expert_bytes = std::max(layer.largest_expert_bytes, t.byte_size);
            }
            if (t.shape.size() >= 2 && t.shape[0] > 1 && t.shape[1] > 1) {
                layer.largest_matrix_bytes = std::max(layer.largest_matrix_bytes, t.byte_size);
            }
            if (starts_with(suffix, "attn_k") || starts_with(suffix, "attn_qkv") ||
                starts_with(suffix, "attn_kv_a_mqa") || starts_with(suffix, "attn_kv_b")) {
                has_attn_tensor[*il] = true;
            }
            if (starts_with(suffix, "ssm_conv1d") || starts_with(suffix, "ssm_a")) {
                has_ssm_tensor[*il] = true;
            }
            if (is_float_matrix(t) && !starts_with(suffix, "ssm_") &&
                suffix.find("norm") == std::string_view::npos) {
                layer.float_matmul = true;
            }
        } else if (starts_with(t.name, "token_embd.") || starts_with(t.name, "position_embd.")) {
            arch.token_embd_bytes += t.byte_size;
            if (t.name == "token_embd.weight" && t.shape.size() >= 2) {
                token_embd_rows = t.shape[1];
                token_embd_float = is_float_matrix(t);
            }
        } else {
            if (t.name == "output.weight") {
                has_output = true;
                arch.output_float_matmul = is_float_matrix(t);
            }
            arch.output_bytes += t.byte_size;
        }
    }
    arch.tied_embeddings = !has_output;
    if (arch.tied_embeddings) {
        arch.output_float_matmul = token_embd_float;
    }

    if (auto v = get_u32(header, p + "vocab_size")) {
        arch.n_vocab = *v;
    } else if (const Value* tokens = header.find("tokenizer.ggml.tokens");
               tokens != nullptr && tokens->as_array() != nullptr) {
        arch.n_vocab = static_cast<uint32_t>(tokens->as_array()->items.size());
    } else {
        arch.n_vocab = static_cast<uint32_t>(std::min<uint64_t>(token_embd_rows, UINT32_MAX));
    }

    // Heads.
    auto heads = get_per_layer(header, p + "attention.head_count", n);
    if (!heads) {
        return tl::unexpected(heads.error());
    }
    auto heads_kv = get_per_layer(header, p + "attention.head_count_kv", n);
    if (!heads_kv) {
        return tl::unexpected(heads_kv.error());
    }
    auto ff = get_per_layer(header, p + "feed_forward_length", n);
    if (!ff) {
        return tl::unexpected(ff.error());
    }
    std::vector<uint32_t> n_head = heads->value_or(std::vector<uint32_t>(n, 0));
    std::vector<uint32_t> n_head_kv = heads_kv->value_or(n_head);
    std::vector<uint32_t> n_ff = ff->value_or(std::vector<uint32_t>(n, 0));
    if (!heads_kv->has_value() && heads->has_value()) {
        notes.push_back("attention.head_count_kv missing: assumed equal to head_count (no GQA)");
    }
    uint32_t first_head = 0;
    for (uint32_t h : n_head) {
        if (h != 0) {
            first_head = h;
            break;
        }
    }
    arch.n_head = first_head;
    const uint32_t default_head_dim = first_head == 0 ? 0 : arch.n_embd / first_head;
    const uint32_t head_dim_k = get_u32(header, p + "attention.key_length").value_or(default_head_dim);
    const uint32_t head_dim_v =
        get_u32(header, p + "attention.value_length").value_or(head_dim_k);

    // MLA (deepseek2 and kin): the cache holds the compressed latent plus the rope part.
    arch.kv_lora_rank = get_u32(header, p + "attention.kv_lora_rank").value_or(0);
    arch.rope_dim = get_u32(header, p + "rope.dimension_count").value_or(head_dim_k);
    if (arch.is_mla()) {
        notes.push_back(fmt::format("MLA: the cache holds one latent row of kv_lora_rank + rope "
                                    "dims ({} + {}) per token and layer; V is a view of it",
                                    arch.kv_lora_rank, arch.rope_dim));
    }

    // Experts.
    arch.n_expert = get_u32(header, p + "expert_count").value_or(0);
    arch.n_expert_used = get_u32(header, p + "expert_used_count").value_or(0);
    arch.expert_ff = get_u32(header, p + "expert_feed_forward_length").value_or(0);
    arch.shared_expert_ff =
        get_u32(header, p + "expert_shared_feed_forward_length").value_or(0) *
        std::max(1U, get_u32(header, p + "expert_shared_count").value_or(0));

    // Recurrent state geometry.
    arch.ssm.conv_kernel = get_u32(header, p + "ssm.conv_kernel").value_or(0);
    arch.ssm.inner_size = get_u32(header, p + "ssm.inner_size").value_or(0);
    arch.ssm.state_size = get_u32(header, p + "ssm.state_size").value_or(0);
    arch.ssm.group_count = get_u32(header, p + "ssm.group_count").value_or(0);
    arch.ssm.time_step_rank = get_u32(header, p + "ssm.time_step_rank").value_or(0);

    // Newer converters write which layers are recurrent per layer; it wins when present.
    std::optional<std::vector<uint32_t>> recurrent_layers;
    if (const Value* rl = header.find(p + "attention.recurrent_layers");
        rl != nullptr && rl->as_array() != nullptr) {
        auto per_layer = get_per_layer(header, p + "attention.recurrent_layers", n);
        if (!per_layer) {
            return tl::unexpected(per_layer.error());
        }
        recurrent_layers = std::move(*per_layer);
    }
    const bool delta_net = is_one_of(arch.name, {"qwen35", "qwen35moe", "qwen3next"});
    arch.delta_net = delta_net;
    const uint32_t full_attention_interval =
        get_u32(header, p + "full_attention_interval").value_or(4);
    if (delta_net && !recurrent_layers && header.find(p + "full_attention_interval") == nullptr) {
        notes.push_back("full_attention_interval missing: assumed 4 (every 4th layer attention)");
    }

    for (uint32_t il = 0; il < n; ++il) {
        auto& layer = arch.layers[il];
        layer.nextn = il >= arch.n_layer;
        layer.n_head = n_head[il];
        layer.n_head_kv = n_head_kv[il];
        layer.head_dim_k = head_dim_k;
        layer.head_dim_v = head_dim_v;
        layer.n_ff = n_ff[il];
        if (arch.is_mla()) {
            // llama.cpp caches one latent row per token (V is a view of it).
            layer.n_head_kv = 1;
            layer.head_dim_k = arch.kv_lora_rank + arch.rope_dim;
            layer.head_dim_v = 0;
        }
        if (recurrent_layers && !layer.nextn) {
            layer.recurrent = (*recurrent_layers)[il] != 0;
            layer.attention = !layer.recurrent && n_head_kv[il] > 0 &&
                              (arch.name != "nemotron_h" || n_ff[il] == 0);
        } else if (delta_net) {
            layer.recurrent = !layer.nextn && full_attention_interval != 0 &&
                              (il + 1) % full_attention_interval != 0;
            layer.attention = !layer.recurrent;
        } else if (arch.name == "nemotron_h") {
            // llama.cpp: mamba2 layers have neither KV heads nor an FFN; MLP-only layers
            // have an FFN and no KV heads.
            layer.recurrent = n_head_kv[il] == 0 && n_ff[il] == 0;
            layer.attention = n_head_kv[il] > 0 && n_ff[il] == 0;
        } else if (is_one_of(arch.name, {"mamba", "mamba2"})) {
            layer.recurrent = true;
            layer.attention = false;
        } else if (!arch.known) {
            layer.recurrent = has_ssm_tensor[il];
            layer.attention = has_attn_tensor[il] || (!layer.recurrent && layer.n_head_kv > 0 &&
                                                      header.tensors.empty());
        } else {
            layer.attention = layer.n_head_kv > 0;
        }
        if (!layer.attention) {
            layer.n_head_kv = 0;
        }
    }
    if (!arch.known && arch.has_recurrent()) {
        notes.push_back("recurrent layers detected from ssm_conv1d/ssm_a tensors; state sizes "
                        "from the ssm.* keys (mamba2 layout)");
    }

    // Sliding-window attention: llama.cpp's set_swa_pattern(p) makes layer il local when
    // il % p < p - 1; a bool array names the local layers directly.
    arch.sliding_window = get_u32(header, p + "attention.sliding_window").value_or(0);
    if (arch.sliding_window > 0) {
        const Value* pattern = header.find(p + "attention.sliding_window_pattern");
        std::vector<bool> swa(n, false);
        bool decided = true;
        if (pattern != nullptr && pattern->as_array() != nullptr) {
            const auto& items = pattern->as_array()->items;
            for (uint32_t il = 0; il < n && il < items.size(); ++il) {
                swa[il] = items[il].as_bool().value_or(items[il].as_uint().value_or(0) != 0);
            }
        } else {
            uint32_t period = 0;
            if (pattern != nullptr) {
                period = to_u32(*pattern).value_or(0);
            } else if (arch.name == "gemma3") {
                period = 6;
            } else if (arch.name == "gpt-oss" || arch.name == "gemma2") {
                period = 2;
            } else if (!arch.known) {
                decided = false;
                notes.push_back(fmt::format("sliding_window {} without a pattern: assumed every "
                                            "layer uses full attention (over-estimates KV)",
                                            arch.sliding_window));
            } else {
                decided = false; // llama.cpp ignores the window for this architecture
            }
            for (uint32_t il = 0; decided && il < n; ++il) {
                swa[il] = period == 0 || il % period < period - 1;
            }
        }
        for (uint32_t il = 0; decided && il < n; ++il) {
            arch.layers[il].swa = swa[il] && arch.layers[il].attention;
        }
        if (!decided) {
            arch.sliding_window = 0;
        }
    }
    return arch;
}

} // namespace gpumod::gguf
