#include "big_model.hpp"

#include <fmt/format.h>

#include "core/gguf/tiny_model.hpp"

namespace gpumod::bench {
namespace {

using gguf::MetadataEntry;
using gguf::TensorData;
using gguf::TensorType;
using gguf::Value;

class Tensors
{
  public:
    Tensors(TensorType weight_type, std::vector<TensorData>& out)
        : m_weight_type(weight_type), m_out(out)
    {
    }

    /// A 2-D weight matrix in the model's weight type (F32 when a row does not fill whole
    /// quantization blocks).
    Status matrix(const std::string& name, uint64_t ne0, uint64_t ne1)
    {
        const auto& info = gguf::tensor_type_info(m_weight_type);
        const TensorType type = ne0 % info.block_size == 0 ? m_weight_type : TensorType::f32;
        return add(name, {ne0, ne1}, type);
    }

    /// Norms, biases and other small tensors stay F32, as converters write them.
    Status f32(const std::string& name, std::vector<uint64_t> shape)
    {
        return add(name, std::move(shape), TensorType::f32);
    }

  private:
    Status add(const std::string& name, std::vector<uint64_t> shape, TensorType type)
    {
        auto bytes = gguf::tensor_byte_size(type, shape);
        if (!bytes) {
            return tl::unexpected(bytes.error().with_context(name));
        }
        TensorData t;
        t.name = name;
        t.shape = std::move(shape);
        t.type = type;
        t.data.assign(static_cast<size_t>(*bytes), uint8_t{0});
        m_out.push_back(std::move(t));
        return {};
    }

    TensorType m_weight_type;
    std::vector<TensorData>& m_out;
};

uint32_t file_type(TensorType t)
{
    // llama_ftype values: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q4_0 2, MOSTLY_Q8_0 7.
    switch (t) {
    case TensorType::f16:
        return 1;
    case TensorType::q4_0:
        return 2;
    case TensorType::q8_0:
        return 7;
    default:
        return 0;
    }
}

bool is_recurrent(const BigModelShape& s, uint32_t layer)
{
    return s.architecture == "qwen35" && layer < s.n_layer &&
           (layer + 1) % s.full_attention_interval != 0;
}

Status add_block(const BigModelShape& s, uint32_t layer, Tensors& t)
{
    const std::string p = fmt::format("blk.{}.", layer);
    const uint64_t e = s.n_embd;
    const uint64_t q_dim = uint64_t{s.head_dim} * s.n_head;
    const uint64_t kv_dim = uint64_t{s.head_dim} * s.n_head_kv;
    Status st = t.f32(p + "attn_norm.weight", {e});
    if (s.architecture == "llama") {
        if (st)
            st = t.matrix(p + "attn_q.weight", e, q_dim);
        if (st)
            st = t.f32(p + "ffn_norm.weight", {e});
    } else if (is_recurrent(s, layer)) {
        const uint64_t key_dim = uint64_t{s.ssm_state} * s.ssm_k_heads;
        const uint64_t value_dim = uint64_t{s.ssm_state} * s.ssm_v_heads;
        const uint64_t conv_dim = 2 * key_dim + value_dim;
        if (st)
            st = t.f32(p + "post_attention_norm.weight", {e});
        if (st)
            st = t.matrix(p + "attn_qkv.weight", e, conv_dim);
        if (st)
            st = t.matrix(p + "attn_gate.weight", e, value_dim);
        if (st)
            st = t.f32(p + "ssm_conv1d.weight", {s.ssm_conv, conv_dim});
        if (st)
            st = t.f32(p + "ssm_dt.bias", {s.ssm_v_heads});
        if (st)
            st = t.f32(p + "ssm_a", {s.ssm_v_heads});
        if (st)
            st = t.f32(p + "ssm_beta.weight", {e, s.ssm_v_heads});
        if (st)
            st = t.f32(p + "ssm_alpha.weight", {e, s.ssm_v_heads});
        if (st)
            st = t.f32(p + "ssm_norm.weight", {s.ssm_state});
        if (st)
            st = t.matrix(p + "ssm_out.weight", value_dim, e);
    } else {
        // Gated attention: q and its gate side by side, plus per-head q/k norms.
        if (st)
            st = t.f32(p + "post_attention_norm.weight", {e});
        if (st)
            st = t.matrix(p + "attn_q.weight", e, 2 * q_dim);
        if (st)
            st = t.f32(p + "attn_q_norm.weight", {s.head_dim});
        if (st)
            st = t.f32(p + "attn_k_norm.weight", {s.head_dim});
    }
    if (!is_recurrent(s, layer)) {
        if (st)
            st = t.matrix(p + "attn_k.weight", e, kv_dim);
        if (st)
            st = t.matrix(p + "attn_v.weight", e, kv_dim);
        if (st)
            st = t.matrix(p + "attn_output.weight", q_dim, e);
    }
    if (st)
        st = t.matrix(p + "ffn_gate.weight", e, s.n_ff);
    if (st)
        st = t.matrix(p + "ffn_up.weight", e, s.n_ff);
    if (st)
        st = t.matrix(p + "ffn_down.weight", s.n_ff, e);
    if (st && layer >= s.n_layer) {
        st = t.matrix(p + "nextn.eh_proj.weight", 2 * e, e);
        if (st)
            st = t.f32(p + "nextn.enorm.weight", {e});
        if (st)
            st = t.f32(p + "nextn.hnorm.weight", {e});
    }
    return st;
}

} // namespace

std::vector<std::string> big_model_names()
{
    return {"llama-f16", "llama-q8_0", "llama-q4_0", "qwen35-mtp-f16", "llama-2g-f16"};
}

Result<BigModelShape> big_model_shape(std::string_view name)
{
    BigModelShape s;
    if (name == "llama-f16") {
        return s;
    }
    if (name == "llama-q8_0") {
        s.weight_type = TensorType::q8_0;
        return s;
    }
    if (name == "llama-q4_0") {
        s.weight_type = TensorType::q4_0;
        return s;
    }
    if (name == "llama-2g-f16") {
        // About 2.1 GB: large enough that a GPU's own overhead is a small part of the total.
        s.n_embd = 2048;
        s.n_layer = 24;
        s.n_head = 16;
        s.n_head_kv = 4;
        s.n_ff = 5632;
        return s;
    }
    if (name == "qwen35-mtp-f16") {
        s.architecture = "qwen35";
        s.n_layer = 8;
        s.mtp = true;
        return s;
    }
    return fail(fmt::format("unknown big model shape '{}'", name));
}

Result<gguf::GgufModel> make_big_model(const BigModelShape& s)
{
    if (s.architecture != "llama" && s.architecture != "qwen35") {
        return fail(fmt::format("big models are llama or qwen35, not '{}'", s.architecture));
    }
    if (s.mtp && s.architecture != "qwen35") {
        return fail("only qwen35 big models carry an MTP block");
    }
    if (s.full_attention_interval == 0 || s.n_head == 0 || s.n_layer == 0) {
        return fail("a big model needs layers, heads and a full-attention interval");
    }
    // The tiny random model's tokenizer (SentencePiece with byte fallback) makes the model
    // loadable by llama-server's chat endpoints too.
    auto tiny = gguf::make_random_model(gguf::TinyModelOptions{s.context_length, 42});
    if (!tiny) {
        return tl::unexpected(tiny.error());
    }
    const std::string& a = s.architecture;
    const uint32_t n_mtp = s.mtp ? 1 : 0;
    gguf::GgufModel model;
    auto& kv = model.metadata;
    kv = {
        {"general.architecture", Value(a)},
        {"general.name", Value(fmt::format("gpumod-bench-{}", a))},
        {"general.alignment", Value(gguf::k_default_alignment)},
        {"general.file_type", Value(file_type(s.weight_type))},
        {a + ".context_length", Value(s.context_length)},
        {a + ".embedding_length", Value(s.n_embd)},
        {a + ".block_count", Value(s.n_layer + n_mtp)},
        {a + ".feed_forward_length", Value(s.n_ff)},
        {a + ".attention.head_count", Value(s.n_head)},
        {a + ".attention.head_count_kv", Value(s.n_head_kv)},
        {a + ".attention.key_length", Value(s.head_dim)},
        {a + ".attention.value_length", Value(s.head_dim)},
        {a + ".attention.layer_norm_rms_epsilon", Value(1e-6F)},
        {a + ".rope.dimension_count", Value(s.head_dim)},
        {a + ".rope.freq_base", Value(10000.0F)},
        {a + ".vocab_size", Value(tiny->vocab_size)},
    };
    if (a == "qwen35") {
        const auto quarter = static_cast<int32_t>(s.head_dim / 4);
        const std::vector<int32_t> sections = {quarter, quarter, quarter, quarter};
        kv.push_back({a + ".rope.dimension_sections", gguf::int32_array(sections)});
        kv.push_back({a + ".full_attention_interval", Value(s.full_attention_interval)});
        kv.push_back({a + ".ssm.conv_kernel", Value(s.ssm_conv)});
        kv.push_back({a + ".ssm.inner_size", Value(s.ssm_state * s.ssm_v_heads)});
        kv.push_back({a + ".ssm.state_size", Value(s.ssm_state)});
        kv.push_back({a + ".ssm.time_step_rank", Value(s.ssm_v_heads)});
        kv.push_back({a + ".ssm.group_count", Value(s.ssm_k_heads)});
        kv.push_back({a + ".nextn_predict_layers", Value(n_mtp)});
    }
    for (const auto& entry : tiny->model.metadata) {
        if (entry.key.starts_with("tokenizer.")) {
            kv.push_back(entry);
        }
    }

    Tensors t(s.weight_type, model.tensors);
    const uint64_t e = s.n_embd;
    Status st = t.matrix("token_embd.weight", e, tiny->vocab_size);
    if (st)
        st = t.f32("output_norm.weight", {e});
    if (st)
        st = t.matrix("output.weight", e, tiny->vocab_size);
    for (uint32_t layer = 0; st && layer < s.n_layer + n_mtp; ++layer) {
        st = add_block(s, layer, t);
    }
    if (!st) {
        return tl::unexpected(st.error());
    }
    return model;
}

} // namespace gpumod::bench
