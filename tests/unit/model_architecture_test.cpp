#include "core/gguf/model_architecture.hpp"

#include <gtest/gtest.h>

#include "plan_fixtures.hpp"

namespace gpumod::gguf {
namespace {

using testing::HeaderBuilder;

TEST(ModelArchitecture, LlamaGeometryAndTensorBytes)
{
    auto arch = derive_architecture(testing::llama8b().header());
    ASSERT_TRUE(arch) << arch.error().message;
    EXPECT_EQ(arch->name, "llama");
    EXPECT_TRUE(arch->known);
    EXPECT_EQ(arch->n_layer, 32U);
    EXPECT_EQ(arch->n_layer_all, 32U);
    EXPECT_EQ(arch->n_embd, 4096U);
    EXPECT_EQ(arch->n_vocab, 128256U);
    EXPECT_EQ(arch->context_length, 131072U);
    ASSERT_EQ(arch->layers.size(), 32U);
    EXPECT_EQ(arch->layers[7].n_head, 32U);
    EXPECT_EQ(arch->layers[7].n_head_kv, 8U);
    EXPECT_EQ(arch->layers[7].head_dim_k, 128U); // n_embd / n_head
    EXPECT_EQ(arch->layers[7].head_dim_v, 128U);
    EXPECT_EQ(arch->layers[7].weight_bytes, uint64_t{218} << 20U);
    EXPECT_TRUE(arch->layers[0].attention);
    EXPECT_FALSE(arch->layers[0].recurrent);
    EXPECT_FALSE(arch->has_swa());
    EXPECT_FALSE(arch->tied_embeddings);
    EXPECT_EQ(arch->token_embd_bytes, uint64_t{525} << 20U);
    EXPECT_EQ(arch->output_bytes, (uint64_t{525} << 20U) + 16384);
    EXPECT_TRUE(arch->assumptions.empty());
}

TEST(ModelArchitecture, TiedEmbeddingsWhenNoOutputTensor)
{
    HeaderBuilder b("qwen3");
    b.u32("block_count", 2).u32("embedding_length", 64).u32("attention.head_count", 4)
        .u32("attention.head_count_kv", 2).u32("attention.key_length", 32)
        .u32("context_length", 4096).blocks(2, 1000).tensor("token_embd.weight", 500);
    auto arch = derive_architecture(b.header());
    ASSERT_TRUE(arch);
    EXPECT_TRUE(arch->tied_embeddings);
    EXPECT_EQ(arch->layers[0].head_dim_k, 32U); // key_length wins over n_embd / n_head
}

TEST(ModelArchitecture, Qwen35HybridWithMtp)
{
    HeaderBuilder b("qwen35");
    b.u32("block_count", 5).u32("embedding_length", 128).u32("attention.head_count", 4)
        .u32("attention.head_count_kv", 2).u32("attention.key_length", 32)
        .u32("context_length", 32768).u32("full_attention_interval", 2)
        .u32("ssm.conv_kernel", 4).u32("ssm.inner_size", 128).u32("ssm.state_size", 32)
        .u32("ssm.group_count", 2).u32("ssm.time_step_rank", 4).u32("nextn_predict_layers", 1)
        .blocks(5, 4096);
    auto arch = derive_architecture(b.header());
    ASSERT_TRUE(arch) << arch.error().message;
    EXPECT_EQ(arch->n_layer, 4U);
    EXPECT_EQ(arch->n_nextn, 1U);
    // (il + 1) % 2 != 0 -> recurrent: layers 0 and 2; attention: 1 and 3; 4 is the MTP block.
    EXPECT_TRUE(arch->layers[0].recurrent);
    EXPECT_FALSE(arch->layers[0].attention);
    EXPECT_TRUE(arch->layers[1].attention);
    EXPECT_TRUE(arch->layers[2].recurrent);
    EXPECT_TRUE(arch->layers[3].attention);
    EXPECT_TRUE(arch->layers[4].nextn);
    EXPECT_TRUE(arch->layers[4].attention);
    // conv: (4 - 1) * (128 + 2 * 2 * 32) = 768 values; ssm: 32 * 128 = 4096 values.
    EXPECT_EQ(arch->ssm.conv_state_values(), 768U);
    EXPECT_EQ(arch->ssm.ssm_state_values(), 4096U);
}

TEST(ModelArchitecture, Gemma3SlidingWindowFiveOfSix)
{
    HeaderBuilder b("gemma3");
    b.u32("block_count", 12).u32("embedding_length", 640).u32("attention.head_count", 4)
        .u32("attention.head_count_kv", 1).u32("attention.key_length", 256)
        .u32("attention.sliding_window", 512).u32("context_length", 32768).blocks(12, 100);
    auto arch = derive_architecture(b.header());
    ASSERT_TRUE(arch);
    EXPECT_EQ(arch->sliding_window, 512U);
    for (uint32_t il = 0; il < 12; ++il) {
        EXPECT_EQ(arch->layers[il].swa, il % 6 != 5) << "layer " << il;
    }
}

TEST(ModelArchitecture, GptOssAlternatesAndExpertBytes)
{
    HeaderBuilder b("gpt-oss");
    b.u32("block_count", 4).u32("embedding_length", 256).u32("attention.head_count", 8)
        .u32("attention.head_count_kv", 2).u32("attention.key_length", 64)
        .u32("attention.sliding_window", 128).u32("context_length", 131072)
        .u32("expert_count", 32).u32("expert_used_count", 4)
        .u32("expert_feed_forward_length", 256).blocks(4, 1000);
    for (int il = 0; il < 4; ++il) {
        b.tensor("blk." + std::to_string(il) + ".ffn_up_exps.weight", 5000)
            .tensor("blk." + std::to_string(il) + ".ffn_down_exps.bias", 100);
    }
    auto arch = derive_architecture(b.header());
    ASSERT_TRUE(arch);
    EXPECT_TRUE(arch->layers[0].swa);
    EXPECT_FALSE(arch->layers[1].swa);
    EXPECT_TRUE(arch->layers[2].swa);
    EXPECT_EQ(arch->layers[1].expert_bytes, 5100U);
    EXPECT_EQ(arch->layers[1].weight_bytes, 6100U);
    EXPECT_TRUE(arch->is_moe());
}

TEST(ModelArchitecture, Deepseek2MlaCachesLatentRows)
{
    HeaderBuilder b("deepseek2");
    b.u32("block_count", 3).u32("embedding_length", 2048).u32("attention.head_count", 16)
        .u32("attention.head_count_kv", 16).u32("attention.key_length", 192)
        .u32("attention.value_length", 128).u32("attention.kv_lora_rank", 512)
        .u32("rope.dimension_count", 64).u32("context_length", 163840).blocks(3, 100);
    auto arch = derive_architecture(b.header());
    ASSERT_TRUE(arch);
    EXPECT_TRUE(arch->is_mla());
    EXPECT_EQ(arch->layers[0].n_head_kv, 1U);
    EXPECT_EQ(arch->layers[0].head_dim_k, 576U);
    EXPECT_EQ(arch->layers[0].head_dim_v, 0U); // llama-server: "V (f16): 0.00 MiB"
    EXPECT_FALSE(arch->assumptions.empty()); // the MLA cache layout is stated
}

TEST(ModelArchitecture, NemotronHLayerKindsFromPerLayerArrays)
{
    HeaderBuilder b("nemotron_h");
    b.u32("block_count", 4).u32("embedding_length", 256).u32("attention.head_count", 8)
        .u32_array("attention.head_count_kv", {0, 2, 0, 0})
        .u32_array("feed_forward_length", {0, 0, 512, 0}).u32("context_length", 8192)
        .u32("ssm.conv_kernel", 4).u32("ssm.inner_size", 512).u32("ssm.state_size", 64)
        .u32("ssm.group_count", 8).blocks(4, 100);
    auto arch = derive_architecture(b.header());
    ASSERT_TRUE(arch) << arch.error().message;
    EXPECT_TRUE(arch->layers[0].recurrent);  // mamba2
    EXPECT_TRUE(arch->layers[1].attention);  // attention
    EXPECT_FALSE(arch->layers[2].attention); // MLP only
    EXPECT_FALSE(arch->layers[2].recurrent);
    EXPECT_TRUE(arch->layers[3].recurrent);
    EXPECT_EQ(arch->layers[1].n_head_kv, 2U);
}

TEST(ModelArchitecture, GenericPathRecordsAssumptions)
{
    HeaderBuilder b("somethingnew");
    b.u32("block_count", 2).u32("embedding_length", 64).u32("attention.head_count", 4)
        .u32("attention.sliding_window", 256).blocks(2, 100);
    auto arch = derive_architecture(b.header());
    ASSERT_TRUE(arch);
    EXPECT_FALSE(arch->known);
    EXPECT_GE(arch->assumptions.size(), 3U); // generic, context_length, head_count_kv, SWA
    EXPECT_FALSE(arch->has_swa());
    EXPECT_EQ(arch->context_length, 4096U);
    EXPECT_EQ(arch->layers[0].n_head_kv, 4U);
}

TEST(ModelArchitecture, ErrorsNameTheProblem)
{
    HeaderBuilder no_blocks("llama");
    no_blocks.u32("embedding_length", 64);
    auto a = derive_architecture(no_blocks.header());
    ASSERT_FALSE(a);
    EXPECT_NE(a.error().message.find("block_count"), std::string::npos);

    HeaderBuilder bad_array("llama");
    bad_array.u32("block_count", 3).u32("embedding_length", 64)
        .u32_array("attention.head_count_kv", {1, 2});
    auto b = derive_architecture(bad_array.header());
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().message.find("2 entries"), std::string::npos);

    gguf::GgufHeader empty;
    EXPECT_FALSE(derive_architecture(empty));
}

} // namespace
} // namespace gpumod::gguf
