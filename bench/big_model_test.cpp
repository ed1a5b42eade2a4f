#include "big_model.hpp"

#include <gtest/gtest.h>

#include "core/gguf/gguf_reader.hpp"

namespace gpumod::bench {
namespace {

const gguf::TensorData* find_tensor(const gguf::GgufModel& m, std::string_view name)
{
    for (const auto& t : m.tensors) {
        if (t.name == name) {
            return &t;
        }
    }
    return nullptr;
}

BigModelShape small(std::string arch)
{
    BigModelShape s;
    s.architecture = std::move(arch);
    s.n_embd = 128;
    s.n_layer = 4;
    s.n_head = 4;
    s.n_head_kv = 2;
    s.head_dim = 32;
    s.n_ff = 256;
    s.ssm_state = 32;
    s.ssm_k_heads = 2;
    s.ssm_v_heads = 4;
    return s;
}

TEST(BigModel, LlamaHasNineTensorsPerBlockInTheWeightType)
{
    auto s = small("llama");
    s.weight_type = gguf::TensorType::q8_0;
    auto model = make_big_model(s);
    ASSERT_TRUE(model) << model.error().message;
    EXPECT_EQ(model->tensors.size(), 3U + 4U * 9U);
    const auto* q = find_tensor(*model, "blk.3.attn_q.weight");
    ASSERT_NE(q, nullptr);
    EXPECT_EQ(q->type, gguf::TensorType::q8_0);
    EXPECT_EQ(q->shape, (std::vector<uint64_t>{128, 128}));
    const auto* norm = find_tensor(*model, "blk.0.attn_norm.weight");
    ASSERT_NE(norm, nullptr);
    EXPECT_EQ(norm->type, gguf::TensorType::f32);
    ASSERT_NE(model->find("tokenizer.ggml.tokens"), nullptr);
    EXPECT_EQ(model->find("llama.block_count")->as_uint(), 4U);
}

TEST(BigModel, Qwen35InterleavesRecurrentAndAttentionLayersAndAddsTheMtpBlock)
{
    auto s = small("qwen35");
    s.mtp = true;
    auto model = make_big_model(s);
    ASSERT_TRUE(model) << model.error().message;
    // Interval 4: layer 3 attends, layers 0-2 are gated delta-net; block 4 is the MTP block.
    EXPECT_NE(find_tensor(*model, "blk.0.ssm_out.weight"), nullptr);
    EXPECT_EQ(find_tensor(*model, "blk.0.attn_k.weight"), nullptr);
    EXPECT_NE(find_tensor(*model, "blk.3.attn_k.weight"), nullptr);
    EXPECT_EQ(find_tensor(*model, "blk.3.ssm_out.weight"), nullptr);
    const auto* eh = find_tensor(*model, "blk.4.nextn.eh_proj.weight");
    ASSERT_NE(eh, nullptr);
    EXPECT_EQ(eh->shape, (std::vector<uint64_t>{256, 128}));
    EXPECT_EQ(model->find("qwen35.block_count")->as_uint(), 5U);
    EXPECT_EQ(model->find("qwen35.nextn_predict_layers")->as_uint(), 1U);
    // The whole model serializes and reads back.
    auto bytes = gguf::write_gguf(*model);
    ASSERT_TRUE(bytes) << bytes.error().message;
    auto header = gguf::read_gguf(*bytes);
    ASSERT_TRUE(header) << header.error().message;
    EXPECT_EQ(header->tensors.size(), model->tensors.size());
}

TEST(BigModel, RowsThatDoNotFillABlockStayF32)
{
    auto s = small("llama");
    s.n_embd = 144; // not a multiple of 32
    s.n_head = 4;
    s.head_dim = 36;
    s.weight_type = gguf::TensorType::q4_0;
    auto model = make_big_model(s);
    ASSERT_TRUE(model) << model.error().message;
    EXPECT_EQ(find_tensor(*model, "blk.0.ffn_up.weight")->type, gguf::TensorType::f32);
    // ffn_down rows are n_ff = 256 wide: quantized.
    EXPECT_EQ(find_tensor(*model, "blk.0.ffn_down.weight")->type, gguf::TensorType::q4_0);
}

TEST(BigModel, NamedShapesAndRefusals)
{
    for (const auto& name : big_model_names()) {
        EXPECT_TRUE(big_model_shape(name)) << name;
    }
    EXPECT_FALSE(big_model_shape("gpt-5"));
    auto s = small("llama");
    s.mtp = true;
    EXPECT_FALSE(make_big_model(s));
    s = small("mamba");
    EXPECT_FALSE(make_big_model(s));
}

} // namespace
} // namespace gpumod::bench
