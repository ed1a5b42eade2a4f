// The preflight gate's judgement: planner predictions, vLLM's start-up rule and a preset's
// budget against free GPU memory; which GPUs CUDA_VISIBLE_DEVICES leaves; what is refused.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/gguf/model_architecture.hpp"
#include "core/services/preflight.hpp"
#include "plan_fixtures.hpp"

namespace gpumod {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Outcome = PreflightVerdict::Outcome;

constexpr uint64_t k_gib = uint64_t{1} << 30U;

gguf::ModelArchitecture llama8b()
{
    return *gguf::derive_architecture(testing::llama8b().header());
}

std::vector<PreflightGpu> one_gpu(uint64_t free, uint64_t total = 24 * k_gib)
{
    return {PreflightGpu{0, "NVIDIA GeForce RTX 4090", total, free}};
}

PreflightVerdict judge(const LlamaServerArgs& args, std::span<const PreflightGpu> gpus)
{
    static const auto model = llama8b();
    LlamaPreflightInputs in;
    in.args = &args;
    in.model = &model;
    return judge_llama_server(in, gpus);
}

LlamaServerArgs args(std::vector<std::string> argv)
{
    return parse_llama_server_args(argv);
}

TEST(Preflight, ASmallContextFitsAndSaysHowMuchItNeeds)
{
    const auto v = judge(args({"-c", "8192", "-np", "1", "-ngl", "all"}), one_gpu(23 * k_gib));
    EXPECT_EQ(v.outcome, Outcome::fits);
    EXPECT_EQ(v.basis, "planner");
    ASSERT_EQ(v.needs_by_gpu.count(0), 1U);
    // ~7.8 GiB of weights, 1 GiB of KV cache at 8192 tokens, CUDA overhead and buffers.
    EXPECT_GT(v.needs_by_gpu.at(0), 17 * k_gib / 2);
    EXPECT_LT(v.needs_by_gpu.at(0), 11 * k_gib);
    EXPECT_EQ(v.free_by_gpu.at(0), 23 * k_gib);
    EXPECT_THAT(v.summary, StartsWith("fits: GPU0 needs "));
    EXPECT_THAT(v.summary, HasSubstr("23552.0 MiB free"));
    EXPECT_TRUE(v.detail.empty());
}

TEST(Preflight, TooLongAContextIsRefusedWithTheBreakdownAndRankedFallbacks)
{
    // 131072 tokens of f16 KV cache are 16 GiB on top of 8 GiB of weights.
    const auto v = judge(args({"-c", "131072", "-np", "1", "-ngl", "all"}), one_gpu(23 * k_gib));
    EXPECT_EQ(v.outcome, Outcome::does_not_fit);
    EXPECT_THAT(v.summary, StartsWith("does not fit: GPU0 needs "));
    EXPECT_GT(v.needs_by_gpu.at(0), 23 * k_gib);
    EXPECT_THAT(v.detail, HasSubstr("GPU0 (NVIDIA GeForce RTX 4090): "));
    EXPECT_THAT(v.detail, HasSubstr("> 23552.0 MiB free"));
    EXPECT_THAT(v.detail, HasSubstr("KV cache 16384.0 MiB"));
    EXPECT_THAT(v.detail, HasSubstr("fallbacks, best first:\n    1. --ctx-size "));
    ASSERT_FALSE(v.fallbacks.empty());
    EXPECT_EQ(v.fallbacks.front().kind, plan::FallbackKind::reduce_ctx);
    EXPECT_TRUE(v.fallbacks.front().fits);
    EXPECT_LE(v.fallbacks.front().predicted_total, 23 * k_gib);
}

TEST(Preflight, AnUnpinnedContextFitsTheWayLlamaServersFitWouldLowerIt)
{
    // No -c: the model's 131072 tokens, which --fit (on by default) lowers until it fits.
    const auto fitted = judge(args({"-np", "1", "-ngl", "all"}), one_gpu(23 * k_gib));
    EXPECT_EQ(fitted.outcome, Outcome::fits);
    EXPECT_THAT(fitted.summary, HasSubstr("once llama-server's --fit adjusts it"));
    EXPECT_LE(fitted.needs_by_gpu.at(0), 23 * k_gib);

    const auto off = judge(args({"-np", "1", "-ngl", "all", "--fit", "off"}), one_gpu(23 * k_gib));
    EXPECT_EQ(off.outcome, Outcome::does_not_fit);
}

TEST(Preflight, PlannerRefusalsAreNotChecked)
{
    // llama-server refuses a quantized V cache without flash attention itself.
    const auto v = judge(args({"-ctv", "q8_0", "-fa", "off"}), one_gpu(23 * k_gib));
    EXPECT_EQ(v.outcome, Outcome::not_checked);
    EXPECT_THAT(v.summary, StartsWith("not checked: the planner cannot predict"));
}

TEST(Preflight, VllmNeedsItsUtilizationOfTotalMemoryFree)
{
    VllmArgs a;
    const auto fits = judge_vllm(a, one_gpu(23 * k_gib));
    EXPECT_EQ(fits.outcome, Outcome::fits);
    EXPECT_EQ(fits.basis, "vllm gpu_memory_utilization");
    EXPECT_NEAR(static_cast<double>(fits.needs_by_gpu.at(0)), 0.9 * 24.0 * k_gib, 1.0);

    const auto refused = judge_vllm(a, one_gpu(20 * k_gib));
    EXPECT_EQ(refused.outcome, Outcome::does_not_fit);
    EXPECT_THAT(refused.detail, HasSubstr("vllm.gpu_memory_utilization 0.83 or less"));

    a.tensor_parallel_size = 2;
    const auto too_few = judge_vllm(a, one_gpu(23 * k_gib));
    EXPECT_EQ(too_few.outcome, Outcome::does_not_fit);
    EXPECT_THAT(too_few.summary, HasSubstr("tensor_parallel_size 2 needs 2 GPUs, 1 visible"));
}

TEST(Preflight, ABudgetReplacesThePrediction)
{
    EXPECT_EQ(judge_budget(10 * k_gib, one_gpu(12 * k_gib)).outcome, Outcome::fits);
    const auto refused = judge_budget(10 * k_gib, one_gpu(8 * k_gib));
    EXPECT_EQ(refused.outcome, Outcome::does_not_fit);
    EXPECT_EQ(refused.basis, "vram_budget_mb");
    EXPECT_THAT(refused.summary, HasSubstr("vram_budget_mb 10240.0 MiB against 8192.0 MiB free "
                                           "on GPU0"));
    std::vector<PreflightGpu> two{{0, "a", 24 * k_gib, 6 * k_gib}, {1, "b", 24 * k_gib, 6 * k_gib}};
    const auto split = judge_budget(10 * k_gib, two);
    EXPECT_EQ(split.outcome, Outcome::fits);
    EXPECT_EQ(split.needs_by_gpu.at(0), 6 * k_gib);
    EXPECT_EQ(split.needs_by_gpu.at(1), 4 * k_gib);
    EXPECT_EQ(judge_budget(1, {}).outcome, Outcome::not_checked);
}

std::vector<GpuDevice> devices()
{
    GpuDevice a;
    a.index = 0;
    a.uuid = "GPU-8f6e3c2a-1b4d";
    a.memory = GpuMemory{24 * k_gib, 4 * k_gib, 20 * k_gib};
    GpuDevice b = a;
    b.index = 1;
    b.uuid = "GPU-2d7c9b1e-5f3a";
    b.memory = GpuMemory{80 * k_gib, 1 * k_gib, 79 * k_gib};
    return {a, b};
}

std::vector<uint32_t> indices(const VisibleGpus& visible)
{
    std::vector<uint32_t> out;
    for (const auto& g : visible.gpus) {
        out.push_back(g.index);
    }
    return out;
}

TEST(Preflight, CudaVisibleDevicesPicksTheGpusLikeCudaDoes)
{
    const auto all = devices();
    EXPECT_EQ(indices(visible_gpus(all, std::nullopt, {})), (std::vector<uint32_t>{0, 1}));
    EXPECT_EQ(indices(visible_gpus(all, "1", {})), (std::vector<uint32_t>{1}));
    EXPECT_EQ(indices(visible_gpus(all, "GPU-2d7c", {})), (std::vector<uint32_t>{1}));
    EXPECT_EQ(indices(visible_gpus(all, "1, 0", {})), (std::vector<uint32_t>{1, 0}));
    // An invalid entry hides itself and everything after it.
    EXPECT_EQ(indices(visible_gpus(all, "0,7,1", {})), (std::vector<uint32_t>{0}));
    EXPECT_TRUE(visible_gpus(all, "", {}).gpus.empty());
    EXPECT_TRUE(visible_gpus(all, "-1", {}).gpus.empty());
    EXPECT_EQ(visible_gpus(all, "1", {}).note, "CUDA_VISIBLE_DEVICES=1");
}

TEST(Preflight, FreeMemoryDeltaIsAppliedAndClamped)
{
    const auto all = devices();
    const FreeMemoryDelta delta{{0, static_cast<int64_t>(3 * k_gib)},
                                {1, -static_cast<int64_t>(100 * k_gib)}};
    const auto visible = visible_gpus(all, std::nullopt, delta);
    EXPECT_EQ(visible.gpus[0].free_bytes, 23 * k_gib);
    EXPECT_EQ(visible.gpus[1].free_bytes, 0U);
    const FreeMemoryDelta too_much{{0, static_cast<int64_t>(100 * k_gib)}};
    EXPECT_EQ(visible_gpus(all, std::nullopt, too_much).gpus[0].free_bytes, 24 * k_gib);
}

TEST(Preflight, OnlyAGatedUnforcedStartThatDoesNotFitIsRefused)
{
    PreflightVerdict no;
    no.outcome = Outcome::does_not_fit;
    EXPECT_TRUE(decide_preflight(no, false).refuse);
    EXPECT_EQ(decide_preflight(no, false).words, "refused");
    EXPECT_FALSE(decide_preflight(no, true).refuse);
    EXPECT_EQ(decide_preflight(no, true).words, "started anyway (--force)");
    EXPECT_FALSE(decide_preflight(no, false, false).refuse);
    EXPECT_FALSE(decide_preflight(PreflightVerdict{}, false).refuse);
    PreflightVerdict yes;
    yes.outcome = Outcome::fits;
    EXPECT_FALSE(decide_preflight(yes, false).refuse);
}

TEST(Preflight, MessagesNameTheServiceVerdictAndNextStep)
{
    auto v = judge_budget(10 * k_gib, one_gpu(8 * k_gib));
    EXPECT_EQ(preflight_event_detail("chat", v, "refused"),
              "chat: " + v.summary + " [vram_budget_mb]; refused");
    const auto message = preflight_refusal_message("chat", v, "pass --force to start anyway");
    EXPECT_THAT(message, StartsWith("service 'chat' does not fit: the preset's vram_budget_mb"));
    EXPECT_THAT(message, HasSubstr("\n  fallback: stop what holds the GPU"));
    EXPECT_THAT(message, HasSubstr("\nnext step: pass --force to start anyway"));
    EXPECT_EQ(preflight_not_checked("no NVIDIA GPU").summary, "not checked: no NVIDIA GPU");
    EXPECT_EQ(preflight_outcome_word(Outcome::does_not_fit), "does not fit");
}

} // namespace
} // namespace gpumod
