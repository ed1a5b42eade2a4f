#include "core/plan/fallbacks.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/plan/gpu_catalog.hpp"
#include "plan_fixtures.hpp"

namespace gpumod::plan {
namespace {

using gguf::TensorType;

constexpr uint64_t k_gib = uint64_t{1} << 30U;

DeviceSpec gpu(uint64_t free)
{
    DeviceSpec d;
    d.name = "GPU0";
    d.gpu = true;
    d.backend = Backend::cuda;
    d.free_bytes = free;
    return d;
}

gguf::ModelArchitecture llama8b()
{
    return *gguf::derive_architecture(testing::llama8b().header());
}

const Fallback* find(const std::vector<Fallback>& fallbacks, FallbackKind kind)
{
    auto it = std::find_if(fallbacks.begin(), fallbacks.end(),
                           [&](const Fallback& f) { return f.kind == kind; });
    return it == fallbacks.end() ? nullptr : &*it;
}

TEST(Fallbacks, JudgeComparesTotalsPlusMarginWithFreeMemory)
{
    const auto arch = llama8b();
    PlanRequest r;
    r.n_ctx = 8192;
    r.parallel = 1;
    const DeviceSpec big[] = {gpu(24 * k_gib)};
    auto p = plan_memory(arch, r, big);
    ASSERT_TRUE(p);
    EXPECT_EQ(judge(*p, 0), Verdict::fits);
    EXPECT_EQ(judge(*p, 24 * k_gib), Verdict::does_not_fit);

    DeviceSpec unknown = gpu(0);
    unknown.free_bytes.reset();
    const DeviceSpec none[] = {unknown};
    auto q = plan_memory(arch, r, none);
    ASSERT_TRUE(q);
    EXPECT_EQ(judge(*q, 0), Verdict::unknown_capacity);

    // Without GPUs the host is what is checked.
    auto cpu = plan_memory(arch, r, {}, nullptr, 4 * k_gib);
    ASSERT_TRUE(cpu);
    EXPECT_EQ(judge(*cpu, 0), Verdict::does_not_fit);
    EXPECT_EQ(std::string(verdict_name(Verdict::does_not_fit)), "does_not_fit");
}

TEST(Fallbacks, LargestFittingContextIsTheEdge)
{
    const auto arch = llama8b();
    const DeviceSpec gpus[] = {gpu(12 * k_gib)};
    PlanInputs inputs{&arch, gpus, nullptr, 256 << 20U, std::nullopt};
    PlanRequest r;
    r.parallel = 1;
    auto best = largest_fitting_ctx(inputs, r, 131072);
    ASSERT_TRUE(best);
    EXPECT_EQ(*best % 256, 0U);
    r.n_ctx = *best;
    auto at = plan_memory(arch, r, gpus);
    ASSERT_TRUE(at);
    EXPECT_EQ(judge(*at, inputs.margin_bytes), Verdict::fits);
    r.n_ctx = *best + 256;
    auto above = plan_memory(arch, r, gpus);
    ASSERT_TRUE(above);
    EXPECT_EQ(judge(*above, inputs.margin_bytes), Verdict::does_not_fit);

    const DeviceSpec tiny[] = {gpu(k_gib)};
    PlanInputs none{&arch, tiny, nullptr, 0, std::nullopt};
    EXPECT_FALSE(largest_fitting_ctx(none, r, 131072));
}

TEST(Fallbacks, RanksWhatFitsFirst)
{
    const auto arch = llama8b();
    const DeviceSpec gpus[] = {gpu(12 * k_gib)};
    PlanInputs inputs{&arch, gpus, nullptr, 0, std::nullopt};
    PlanRequest r;
    r.n_ctx = 131072;
    r.parallel = 1;
    auto original = plan_memory(arch, r, gpus);
    ASSERT_TRUE(original);
    ASSERT_EQ(judge(*original, 0), Verdict::does_not_fit);

    const auto fallbacks = rank_fallbacks(inputs, r, {});
    ASSERT_FALSE(fallbacks.empty());
    const Fallback* ctx = find(fallbacks, FallbackKind::reduce_ctx);
    ASSERT_NE(ctx, nullptr);
    EXPECT_TRUE(ctx->fits);
    EXPECT_EQ(ctx->args.at(0), "--ctx-size");
    const Fallback* q8 = find(fallbacks, FallbackKind::kv_q8_0);
    const Fallback* q4 = find(fallbacks, FallbackKind::kv_q4_0);
    ASSERT_NE(q8, nullptr);
    ASSERT_NE(q4, nullptr);
    EXPECT_LT(q8->predicted_total, original->checked_total());
    EXPECT_LT(q4->predicted_total, q8->predicted_total);
    const Fallback* layers = find(fallbacks, FallbackKind::fewer_gpu_layers);
    ASSERT_NE(layers, nullptr);
    EXPECT_TRUE(layers->fits);
    EXPECT_EQ(find(fallbacks, FallbackKind::cpu_moe), nullptr); // dense model
    EXPECT_EQ(find(fallbacks, FallbackKind::no_mtp), nullptr);
    for (std::size_t i = 0; i < fallbacks.size(); ++i) {
        EXPECT_EQ(fallbacks[i].rank, i + 1);
        if (i > 0) {
            EXPECT_FALSE(!fallbacks[i - 1].fits && fallbacks[i].fits) << "fitting ones first";
        }
    }
}

TEST(Fallbacks, ExpertsToHostForMoe)
{
    testing::HeaderBuilder b("qwen3moe");
    b.u32("block_count", 8).u32("embedding_length", 2048).u32("attention.head_count", 16)
        .u32("attention.head_count_kv", 4).u32("context_length", 4096).u32("expert_count", 64)
        .u32("expert_used_count", 8).u32("expert_feed_forward_length", 768)
        .u32("vocab_size", 32000).blocks(8, 64 << 20U);
    for (int il = 0; il < 8; ++il) {
        b.tensor("blk." + std::to_string(il) + ".ffn_up_exps.weight", uint64_t{1} << 30U);
    }
    const auto arch = *gguf::derive_architecture(b.header());
    const DeviceSpec gpus[] = {gpu(6 * k_gib)};
    PlanInputs inputs{&arch, gpus, nullptr, 0, std::nullopt};
    PlanRequest r;
    r.parallel = 1;
    const auto fallbacks = rank_fallbacks(inputs, r, {});
    const Fallback* moe = find(fallbacks, FallbackKind::cpu_moe);
    ASSERT_NE(moe, nullptr);
    EXPECT_TRUE(moe->fits);
    // 8 GiB of experts + the rest on a 6 GiB card: at least 3 layers' experts must move.
    const int n = std::stoi(moe->args.at(1));
    EXPECT_GE(n, 3);
    PlanRequest fewer = r;
    fewer.n_cpu_moe = static_cast<uint32_t>(n - 1);
    auto p = plan_memory(arch, fewer, gpus);
    ASSERT_TRUE(p);
    EXPECT_EQ(judge(*p, 0), Verdict::does_not_fit) << "the smallest N that fits";
}

TEST(Fallbacks, FitLikeLlamaServerLowersUnpinnedContext)
{
    const auto arch = llama8b();
    const DeviceSpec gpus[] = {gpu(16 * k_gib)};
    PlanInputs inputs{&arch, gpus, nullptr, 0, std::nullopt};
    PlanRequest r;
    r.parallel = 1; // ctx unset: the model's 131072
    const auto fitted = fit_like_llama_server(inputs, r, false, false);
    EXPECT_TRUE(fitted.changed);
    EXPECT_GE(fitted.request.n_ctx, 4096U);
    EXPECT_LT(fitted.request.n_ctx, 131072U);
    auto p = plan_memory(arch, fitted.request, gpus);
    ASSERT_TRUE(p);
    EXPECT_EQ(judge(*p, uint64_t{1024} << 20U), Verdict::fits); // 1 GiB left free

    // Pinned context: --fit moves layers instead.
    r.n_ctx = 131072;
    const auto pinned = fit_like_llama_server(inputs, r, true, false);
    EXPECT_TRUE(pinned.changed);
    EXPECT_EQ(pinned.request.n_ctx, 131072U);
    EXPECT_GE(pinned.request.n_gpu_layers, 0);
    EXPECT_LT(pinned.request.n_gpu_layers, 33);

    // No GPU: nothing to fit.
    PlanInputs cpu{&arch, {}, nullptr, 0, std::nullopt};
    EXPECT_FALSE(fit_like_llama_server(cpu, r, false, false).changed);
}

TEST(GpuCatalog, NamesAndSizes)
{
    auto card = resolve_gpu("RTX4090");
    ASSERT_TRUE(card);
    EXPECT_EQ(card->bytes, uint64_t{24564} << 20U);
    EXPECT_EQ(resolve_gpu("h100")->bytes, uint64_t{81559} << 20U);
    EXPECT_EQ(resolve_gpu("24GiB")->bytes, 24 * k_gib);
    EXPECT_EQ(resolve_gpu("24GB")->bytes, 24000000000U);
    EXPECT_EQ(resolve_gpu("24576MiB")->bytes, 24 * k_gib);
    EXPECT_EQ(resolve_gpu("23.5GiB")->bytes, 47 * (k_gib / 2));
    auto bad = resolve_gpu("rtx9999");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("rtx4090"), std::string::npos);
    EXPECT_FALSE(resolve_gpu("GB"));
    EXPECT_FALSE(resolve_gpu("0GiB"));
    EXPECT_EQ(gpu_catalog().size(), 9U);
}

} // namespace
} // namespace gpumod::plan
