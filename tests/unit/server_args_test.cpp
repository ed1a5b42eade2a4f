// The spec -> plan-request mapping: a preset's typed llama-server options, rendered to the argv
// the service runs, read back into the planner's request (and vLLM's memory flags).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <span>

#include "core/config/render_argv.hpp"
#include "core/services/server_args.hpp"

namespace gpumod {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

config::Preset minimal()
{
    config::Preset p;
    p.id = "tiny";
    p.port = 7201;
    p.model_path = "/m/tiny.gguf";
    return p;
}

LlamaServerArgs args_of(const config::Preset& preset)
{
    const auto spec = config::to_service_spec(preset);
    return parse_llama_server_args(std::span<const std::string>(spec.argv).subspan(1));
}

LlamaServerArgs args_of_argv(const std::vector<std::string>& args)
{
    return parse_llama_server_args(args);
}

TEST(ServerArgs, UnsetOptionsAreLlamaServersDefaults)
{
    const auto a = args_of(minimal());
    EXPECT_EQ(a.model, std::optional<std::string>("/m/tiny.gguf"));
    EXPECT_EQ(a.request.n_ctx, 0U);
    EXPECT_EQ(a.request.parallel, -1);
    EXPECT_EQ(a.request.cache_type_k, gguf::TensorType::f16);
    EXPECT_EQ(a.request.cache_type_v, gguf::TensorType::f16);
    EXPECT_EQ(a.request.flash_attn, plan::FlashAttn::automatic);
    EXPECT_EQ(a.request.n_gpu_layers, -1);
    EXPECT_EQ(a.request.n_cpu_moe, 0U);
    EXPECT_EQ(a.request.spec_type, plan::SpecType::none);
    EXPECT_FALSE(a.ctx_pinned);
    EXPECT_FALSE(a.ngl_pinned);
    EXPECT_TRUE(a.fit);
    EXPECT_FALSE(a.draft_model);
    EXPECT_FALSE(a.mmproj);
    EXPECT_TRUE(a.notes.empty());
}

TEST(ServerArgs, EveryTypedMemoryOptionReachesThePlanRequest)
{
    auto p = minimal();
    auto& o = p.llamacpp;
    o.ctx = 65536;
    o.parallel = 2;
    o.cache_type_k = "q8_0";
    o.cache_type_v = "q4_0";
    o.flash_attn = config::FlashAttn::on;
    o.n_gpu_layers = config::GpuLayers{config::GpuLayers::Kind::count, 20};
    o.n_cpu_moe = 6;
    o.speculative.type = "draft-mtp";
    o.speculative.n_max = 2;
    o.mmproj = "/m/mmproj.gguf";
    o.threads = 8;
    const auto a = args_of(p);
    EXPECT_EQ(a.request.n_ctx, 65536U);
    EXPECT_TRUE(a.ctx_pinned);
    EXPECT_EQ(a.request.parallel, 2);
    EXPECT_EQ(a.request.cache_type_k, gguf::TensorType::q8_0);
    EXPECT_EQ(a.request.cache_type_v, gguf::TensorType::q4_0);
    EXPECT_EQ(a.request.flash_attn, plan::FlashAttn::on);
    EXPECT_EQ(a.request.n_gpu_layers, 20);
    EXPECT_TRUE(a.ngl_pinned);
    EXPECT_EQ(a.request.n_cpu_moe, 6U);
    EXPECT_EQ(a.request.spec_type, plan::SpecType::draft_mtp);
    EXPECT_EQ(a.request.spec_draft_n_max, 2U);
    EXPECT_EQ(a.mmproj, std::optional<std::string>("/m/mmproj.gguf"));
    EXPECT_TRUE(a.notes.empty()) << a.notes.front();
}

TEST(ServerArgs, GpuLayersAllPinsAndAutoLeavesItToFit)
{
    auto p = minimal();
    p.llamacpp.n_gpu_layers = config::GpuLayers{config::GpuLayers::Kind::all, 0};
    EXPECT_EQ(args_of(p).request.n_gpu_layers, -1);
    EXPECT_TRUE(args_of(p).ngl_pinned);
    p.llamacpp.n_gpu_layers = config::GpuLayers{config::GpuLayers::Kind::automatic, 0};
    EXPECT_FALSE(args_of(p).ngl_pinned);
}

TEST(ServerArgs, ADraftModelWithoutSpecTypeIsDraftSimple)
{
    auto p = minimal();
    p.llamacpp.speculative.draft_model = "/m/draft.gguf";
    const auto a = args_of(p);
    EXPECT_EQ(a.request.spec_type, plan::SpecType::draft_simple);
    EXPECT_EQ(a.draft_model, std::optional<std::string>("/m/draft.gguf"));
    ASSERT_EQ(a.notes.size(), 1U);
    EXPECT_THAT(a.notes[0], HasSubstr("draft-simple"));
    p.llamacpp.speculative.type = "ngram-simple,draft-simple";
    EXPECT_EQ(args_of(p).request.spec_type, plan::SpecType::draft_simple);
    EXPECT_TRUE(args_of(p).notes.empty());
}

TEST(ServerArgs, MemoryFlagsInExtraArgsCountToo)
{
    auto p = minimal();
    p.llamacpp.extra_args = {
        "--ctx-size=4096", "-ub",   "256", "-b",     "1024", "--swa-full", "-ctkd", "q8_0",
        "--no-kv-unified", "--fit", "off", "--temp", "0.6", "--no-op-offload"};
    const auto a = args_of(p);
    EXPECT_EQ(a.request.n_ctx, 4096U);
    EXPECT_TRUE(a.ctx_pinned);
    EXPECT_EQ(a.request.n_ubatch, 256U);
    EXPECT_EQ(a.request.n_batch, 1024U);
    EXPECT_TRUE(a.request.swa_full);
    EXPECT_FALSE(a.request.op_offload);
    EXPECT_EQ(a.request.draft_cache_type_k, gguf::TensorType::q8_0);
    EXPECT_EQ(a.request.kv_unified, std::optional<bool>(false));
    EXPECT_FALSE(a.fit);
    EXPECT_TRUE(a.notes.empty());
}

TEST(ServerArgs, UnreadableValuesAreNotedAndIgnored)
{
    const auto a = args_of_argv({"-c", "lots", "-ctk", "q3_x", "-ngl", "many", "-np"});
    EXPECT_EQ(a.request.n_ctx, 0U);
    EXPECT_FALSE(a.ctx_pinned);
    EXPECT_EQ(a.request.cache_type_k, gguf::TensorType::f16);
    EXPECT_FALSE(a.ngl_pinned);
    ASSERT_EQ(a.notes.size(), 4U);
    EXPECT_THAT(a.notes[0], HasSubstr("-c lots"));
    EXPECT_THAT(a.notes[1], HasSubstr("unknown cache type"));
    EXPECT_THAT(a.notes[2], HasSubstr("-ngl many"));
    EXPECT_THAT(a.notes[3], HasSubstr("-np has no value"));
}

TEST(ServerArgs, VllmReadsUtilizationAndTensorParallelism)
{
    config::Preset p;
    p.id = "v";
    p.port = 8000;
    p.driver = ServiceDriver::vllm;
    p.vllm.model = "Qwen/Qwen3-8B";
    auto spec = config::to_service_spec(p);
    auto a = parse_vllm_args(std::span<const std::string>(spec.argv).subspan(1));
    EXPECT_DOUBLE_EQ(a.gpu_memory_utilization, 0.9);
    EXPECT_EQ(a.tensor_parallel_size, 1U);

    p.vllm.gpu_memory_utilization = 0.5;
    p.vllm.tensor_parallel_size = 2;
    spec = config::to_service_spec(p);
    EXPECT_THAT(spec.argv, ElementsAre("vllm", "serve", "Qwen/Qwen3-8B", "--host", "127.0.0.1",
                                       "--port", "8000", "--gpu-memory-utilization", "0.5",
                                       "--tensor-parallel-size", "2"));
    a = parse_vllm_args(std::span<const std::string>(spec.argv).subspan(1));
    EXPECT_DOUBLE_EQ(a.gpu_memory_utilization, 0.5);
    EXPECT_EQ(a.tensor_parallel_size, 2U);
    EXPECT_EQ(parse_vllm_args(std::vector<std::string>{"-tp", "4"}).tensor_parallel_size, 4U);
    EXPECT_EQ(
        parse_vllm_args(std::vector<std::string>{"--gpu-memory-utilization", "2"}).notes.size(),
        1U);
}

} // namespace
} // namespace gpumod
