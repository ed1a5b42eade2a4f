#include "core/plan/memory_model.hpp"

#include <algorithm>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "plan_fixtures.hpp"

namespace gpumod::plan {
namespace {

using gguf::TensorType;
using testing::HeaderBuilder;

constexpr uint64_t k_gib = uint64_t{1} << 30U;

gguf::ModelArchitecture arch_of(const HeaderBuilder& b)
{
    auto arch = gguf::derive_architecture(b.header());
    EXPECT_TRUE(arch) << (arch ? "" : arch.error().message);
    return *arch;
}

DeviceSpec gpu(uint64_t free)
{
    DeviceSpec d;
    d.name = "GPU0";
    d.gpu = true;
    d.backend = Backend::cuda;
    d.free_bytes = free;
    return d;
}

uint64_t total_kv(const MemoryPlan& p)
{
    uint64_t sum = 0;
    for (const auto& d : p.devices) {
        sum += d.components.kv_cache;
    }
    return sum;
}

// The tiny llama `gpumod dev make-model` writes: 2 layers, 128 wide, 4 heads / 2 KV heads of
// 32, FFN 256, 450 tokens.
HeaderBuilder tiny_llama()
{
    HeaderBuilder b("llama");
    b.u32("block_count", 2).u32("embedding_length", 128).u32("attention.head_count", 4)
        .u32("attention.head_count_kv", 2).u32("feed_forward_length", 256)
        .u32("context_length", 32768).u32("vocab_size", 450).blocks(2, 400000)
        .tensor("token_embd.weight", 230400).tensor("output.weight", 230400);
    return b;
}

// Worked example of anchors.md §3.5: Llama-3.1-8B geometry, ctx 32768, one slot.
TEST(MemoryModel, Llama8bKvCacheByType)
{
    const auto arch = arch_of(testing::llama8b());
    PlanRequest r;
    r.n_ctx = 32768;
    r.parallel = 1;
    r.flash_attn = FlashAttn::on;
    auto f16 = plan_memory(arch, r, {});
    ASSERT_TRUE(f16) << f16.error().message;
    EXPECT_EQ(total_kv(*f16), 4 * k_gib);

    r.cache_type_k = r.cache_type_v = TensorType::q8_0;
    auto q8 = plan_memory(arch, r, {});
    ASSERT_TRUE(q8);
    EXPECT_EQ(total_kv(*q8), k_gib * 17 / 8); // 2.125 GiB

    r.cache_type_k = r.cache_type_v = TensorType::q4_0;
    auto q4 = plan_memory(arch, r, {});
    ASSERT_TRUE(q4);
    EXPECT_EQ(total_kv(*q4), k_gib * 9 / 8); // 1.125 GiB
}

TEST(MemoryModel, ContextIsPaddedAndSplitPerSlot)
{
    const auto arch = arch_of(tiny_llama());
    PlanRequest r;
    r.n_ctx = 4000;
    r.parallel = 1;
    auto p = plan_memory(arch, r, {});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->config.n_ctx, 4096U);
    EXPECT_FALSE(p->config.kv_unified); // an explicit --parallel turns unified KV off

    r.n_ctx = 4096;
    r.parallel = 3; // 4096 / 3 = 1365 -> 1536 per slot -> 4608 cells
    p = plan_memory(arch, r, {});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->config.n_ctx_per_slot, 1536U);
    EXPECT_EQ(p->config.n_ctx, 4608U);

    r.parallel = -1; // auto: 4 slots sharing one unified buffer
    p = plan_memory(arch, r, {});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->config.n_seq, 4U);
    EXPECT_TRUE(p->config.kv_unified);
    EXPECT_EQ(p->config.n_ctx_per_slot, 4096U);
    // 2 layers x 4096 cells x (64 + 64) values x 2 B = 2 MiB, as llama-server reports.
    EXPECT_EQ(total_kv(*p), 2 * k_mib);
}

// Calibration regression: llama-server 0.7.0's CPU buffer lines for the tiny llama model.
TEST(MemoryModel, TinyLlamaMatchesLlamaServerBuffers)
{
    const auto arch = arch_of(tiny_llama());
    struct Case
    {
        uint32_t ctx;
        int32_t parallel;
        FlashAttn fa;
        uint32_t ubatch;
        double compute_mib; ///< "CPU compute buffer size" printed by llama-server
    };
    const Case cases[] = {{4096, 1, FlashAttn::automatic, 512, 6.27},
                          {4096, 4, FlashAttn::automatic, 512, 3.27},
                          {32768, -1, FlashAttn::automatic, 512, 34.27},
                          {4096, 1, FlashAttn::off, 512, 41.76},
                          {4096, 1, FlashAttn::automatic, 256, 3.13}};
    for (const auto& c : cases) {
        PlanRequest r;
        r.n_ctx = c.ctx;
        r.parallel = c.parallel;
        r.flash_attn = c.fa;
        r.n_ubatch = c.ubatch;
        auto p = plan_memory(arch, r, {});
        ASSERT_TRUE(p);
        const double compute = static_cast<double>(p->devices.back().components.compute_buffer) /
                               static_cast<double>(k_mib);
        EXPECT_NEAR(compute, c.compute_mib, c.compute_mib * 0.10) // the stated target
            << "ctx " << c.ctx << " np " << c.parallel;
    }
}

TEST(MemoryModel, SlidingWindowLayersKeepWindowPlusBatch)
{
    HeaderBuilder b("gemma3");
    b.u32("block_count", 6).u32("embedding_length", 640).u32("attention.head_count", 4)
        .u32("attention.head_count_kv", 1).u32("attention.key_length", 256)
        .u32("attention.sliding_window", 1024).u32("context_length", 32768).blocks(6, 100);
    const auto arch = arch_of(b);
    PlanRequest r;
    r.n_ctx = 32768;
    r.parallel = 1;
    auto p = plan_memory(arch, r, {});
    ASSERT_TRUE(p);
    // SWA: pad256(min(32768, 1024 * 1 + 512)) = 1536 cells; one global layer keeps 32768.
    EXPECT_EQ(p->config.swa_kv_cells, 1536U);
    const uint64_t row = 256 * 2; // one KV head of 256, f16
    EXPECT_EQ(total_kv(*p), 5 * 1536 * row * 2 + 32768 * row * 2);

    r.swa_full = true;
    auto full = plan_memory(arch, r, {});
    ASSERT_TRUE(full);
    EXPECT_EQ(total_kv(*full), 6 * 32768 * row * 2);
}

TEST(MemoryModel, RecurrentStatePerSlotAndDraftRows)
{
    HeaderBuilder b("qwen35");
    b.u32("block_count", 3).u32("embedding_length", 128).u32("attention.head_count", 4)
        .u32("attention.head_count_kv", 2).u32("attention.key_length", 32)
        .u32("context_length", 32768).u32("full_attention_interval", 2)
        .u32("ssm.conv_kernel", 4).u32("ssm.inner_size", 128).u32("ssm.state_size", 32)
        .u32("ssm.group_count", 2).u32("ssm.time_step_rank", 4).u32("nextn_predict_layers", 1)
        .u32("vocab_size", 450).blocks(3, 10000);
    const auto arch = arch_of(b);
    const uint64_t per_seq = (768 + 4096) * 4; // 19456 B, llama-server: "RS buffer 0.02 MiB"
    PlanRequest r;
    r.n_ctx = 4096;
    r.parallel = 1;
    auto p = plan_memory(arch, r, {});
    ASSERT_TRUE(p);
    const auto& host = p->devices.back().components;
    EXPECT_EQ(host.recurrent_state, per_seq);
    EXPECT_EQ(host.kv_cache, 4096U * 128 * 2); // one attention layer
    EXPECT_EQ(host.weights, 20000U);           // the MTP block is not loaded
    EXPECT_EQ(host.mtp_context, 0U);

    r.parallel = 4;
    r.spec_type = SpecType::draft_mtp; // 3 draft rows per slot kept for rollback
    p = plan_memory(arch, r, {});
    ASSERT_TRUE(p);
    const auto& mtp = p->devices.back().components;
    EXPECT_EQ(mtp.recurrent_state, per_seq * 4 * 4);
    EXPECT_EQ(mtp.weights, 30000U);
    EXPECT_EQ(p->mtp.kv_cache, 4096U * 128 * 2); // the nextn layer's own cache
    EXPECT_GT(mtp.mtp_context, p->mtp.kv_cache);
}

TEST(MemoryModel, MlaCacheRows)
{
    HeaderBuilder b("deepseek2");
    b.u32("block_count", 27).u32("embedding_length", 2048).u32("attention.head_count", 16)
        .u32("attention.kv_lora_rank", 512).u32("rope.dimension_count", 64)
        .u32("context_length", 163840).blocks(27, 100);
    const auto arch = arch_of(b);
    PlanRequest r;
    r.n_ctx = 4096;
    r.parallel = 1;
    auto p = plan_memory(arch, r, {});
    ASSERT_TRUE(p);
    // One latent row of 512 + 64 per token and layer; no V rows (measured on a deepseek2 model
    // from test-llama-archs: "K (f16): 1.12 MiB, V (f16): 0.00 MiB" for 2 layers x 512 cells).
    EXPECT_EQ(total_kv(*p), uint64_t{27} * 4096 * 576 * 2);
}

TEST(MemoryModel, RefusesWhatLlamaServerRefuses)
{
    const auto arch = arch_of(tiny_llama());
    PlanRequest r;
    r.cache_type_v = TensorType::q4_0;
    r.flash_attn = FlashAttn::off;
    auto p = plan_memory(arch, r, {});
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message.find("flash attention"), std::string::npos);

    r.flash_attn = FlashAttn::on;
    r.spec_type = SpecType::draft_mtp;
    p = plan_memory(arch, r, {});
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message.find("MTP"), std::string::npos);

    r.spec_type = SpecType::draft_simple;
    EXPECT_FALSE(plan_memory(arch, r, {}));
}

TEST(MemoryModel, PlacementOfLayersExpertsAndEmbeddings)
{
    HeaderBuilder b("qwen3moe");
    b.u32("block_count", 4).u32("embedding_length", 256).u32("attention.head_count", 4)
        .u32("attention.head_count_kv", 2).u32("context_length", 4096).u32("expert_count", 8)
        .u32("expert_used_count", 2).u32("expert_feed_forward_length", 128).u32("vocab_size", 1000)
        .blocks(4, 1000).tensor("token_embd.weight", 7000).tensor("output.weight", 9000);
    for (int il = 0; il < 4; ++il) {
        b.tensor("blk." + std::to_string(il) + ".ffn_gate_exps.weight", 50000);
    }
    const auto arch = arch_of(b);
    const DeviceSpec gpus[] = {gpu(8 * k_gib)};
    PlanRequest r;
    r.n_ctx = 4096;
    r.parallel = 1;
    auto all = plan_memory(arch, r, gpus);
    ASSERT_TRUE(all);
    ASSERT_EQ(all->devices.size(), 2U);
    const auto& g = all->devices[0].components;
    const auto& h = all->devices[1].components;
    EXPECT_EQ(g.weights, 4 * 51000U + 9000U);
    EXPECT_EQ(h.weights, 7000U); // token_embd stays on the host
    EXPECT_EQ(g.runtime_overhead, k_cuda_runtime_overhead);
    EXPECT_EQ(all->devices[0].layers, 4U);

    r.n_cpu_moe = 3;
    auto moe = plan_memory(arch, r, gpus);
    ASSERT_TRUE(moe);
    EXPECT_EQ(moe->devices[0].components.weights, 4 * 1000U + 50000U + 9000U);
    EXPECT_EQ(moe->devices[1].components.weights, 7000U + 3 * 50000U);
    EXPECT_EQ(moe->devices[0].components.kv_cache, g.kv_cache); // the cache does not move

    r.n_cpu_moe = 0;
    r.n_gpu_layers = 2; // slots are 4 blocks + the output: the output and block 3
    auto part = plan_memory(arch, r, gpus);
    ASSERT_TRUE(part);
    EXPECT_EQ(part->devices[0].components.weights, 51000U + 9000U);
    EXPECT_EQ(part->devices[1].components.weights, 7000U + 3 * 51000U);
    EXPECT_EQ(part->devices[1].components.kv_cache, 3 * part->devices[0].components.kv_cache);
    EXPECT_EQ(part->devices[0].layers, 1U);
}

TEST(MemoryModel, TiedEmbeddingsDuplicatedOntoGpuOutput)
{
    HeaderBuilder b("qwen3");
    b.u32("block_count", 2).u32("embedding_length", 64).u32("attention.head_count", 4)
        .u32("attention.head_count_kv", 2).u32("context_length", 4096).blocks(2, 1000)
        .tensor("token_embd.weight", 5000).tensor("output_norm.weight", 256);
    const auto arch = arch_of(b);
    const DeviceSpec gpus[] = {gpu(k_gib)};
    auto p = plan_memory(arch, PlanRequest{}, gpus);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->devices[0].components.weights, 2000U + 256U + 5000U);
    EXPECT_EQ(p->devices[1].components.weights, 5000U);
}

DeviceSpec vulkan_h200()
{
    DeviceSpec d = gpu(uint64_t{143771} * k_mib);
    d.backend = Backend::vulkan;
    return d;
}

double mib(uint64_t bytes)
{
    return static_cast<double>(bytes) / static_cast<double>(k_mib);
}

// bench/plan-accuracy's big-llama-f16: 12 layers, 1024 wide, 8 heads / 2 KV heads of 128,
// FFN 2816, 450 tokens.
HeaderBuilder big_llama()
{
    HeaderBuilder b("llama");
    b.u32("block_count", 12).u32("embedding_length", 1024).u32("attention.head_count", 8)
        .u32("attention.head_count_kv", 2).u32("feed_forward_length", 2816)
        .u32("context_length", 32768).u32("vocab_size", 450).blocks(12, 1000)
        .tensor("token_embd.weight", 1843200).tensor("output.weight", 1843200);
    return b;
}

// On a GPU the host compute buffer holds the graph inputs (masks, K/V indices, the gathered
// token rows) and the device's holds the layers without those rows. Measured values: cells
// of bench/plan-accuracy/gpu/observations-gpu.jsonl (NVIDIA H200, Vulkan, -ngl 99).
TEST(MemoryModel, GpuComputeBuffersSplitInputsToTheHost)
{
    const auto arch = arch_of(big_llama());
    const DeviceSpec gpus[] = {vulkan_h200()};
    struct Case
    {
        const char* cell;
        uint32_t ctx;
        int32_t parallel;
        TensorType cache;
        FlashAttn fa;
        double device_mib; ///< "Vulkan0 compute buffer size"
        double host_mib;   ///< "Vulkan_Host compute buffer size"
    };
    const Case cases[] = {
        {"big-llama-f16/c4096-np1-kf16-vf16-faon-ngl99", 4096, 1, TensorType::f16, FlashAttn::on,
         28.51, 12.02},
        {"big-llama-f16/c32768-np4-kq8_0-vq8_0-faon-ngl99", 32768, 4, TensorType::q8_0,
         FlashAttn::on, 32.59, 16.10},
        {"big-llama-f16/c8192-np1-kf16-vf16-faoff-ngl99", 8192, 1, TensorType::f16,
         FlashAttn::off, 153.01, 25.01},
    };
    for (const auto& c : cases) {
        PlanRequest r;
        r.n_ctx = c.ctx;
        r.parallel = c.parallel;
        r.cache_type_k = r.cache_type_v = c.cache;
        r.flash_attn = c.fa;
        auto p = plan_memory(arch, r, gpus);
        ASSERT_TRUE(p) << c.cell;
        ASSERT_EQ(p->devices.size(), 2U);
        EXPECT_NEAR(mib(p->devices[0].components.compute_buffer), c.device_mib,
                    c.device_mib * 0.10)
            << c.cell;
        // The inputs are sized exactly; llama-server prints two decimals.
        EXPECT_NEAR(mib(p->devices[1].components.compute_buffer), c.host_mib, 0.1) << c.cell;
    }

    // The CPU backend alone keeps everything in one buffer, as calibrated before
    // (observations.jsonl: big-llama-f16/c4096-np1-kf16-vf16-faon-ngl0, 30.52 MiB).
    PlanRequest r;
    r.n_ctx = 4096;
    r.parallel = 1;
    r.flash_attn = FlashAttn::on;
    auto cpu = plan_memory(arch, r, {});
    ASSERT_TRUE(cpu);
    EXPECT_NEAR(mib(cpu->devices.back().components.compute_buffer), 30.52, 3.05);
}

// The 1024-wide qwen35 with an MTP block (bench/plan-accuracy big-qwen35-mtp-f16): on Vulkan
// the delta-net graph carries the states of the ubatch's sequences (x4 snapshots with
// draft-mtp), and the MTP context splits like the main one.
TEST(MemoryModel, GpuDeltaNetStatesAndMtpContext)
{
    HeaderBuilder b("qwen35");
    b.u32("block_count", 9).u32("embedding_length", 1024).u32("attention.head_count", 8)
        .u32("attention.head_count_kv", 2).u32("attention.key_length", 128)
        .u32("attention.value_length", 128).u32("feed_forward_length", 2816)
        .u32("context_length", 32768).u32("full_attention_interval", 4)
        .u32("ssm.conv_kernel", 4).u32("ssm.inner_size", 1024).u32("ssm.state_size", 128)
        .u32("ssm.group_count", 4).u32("ssm.time_step_rank", 8).u32("nextn_predict_layers", 1)
        .u32("vocab_size", 450).blocks(9, 1000);
    const auto arch = arch_of(b);
    const DeviceSpec gpus[] = {vulkan_h200()};
    PlanRequest r;
    r.n_ctx = 8192;
    r.parallel = 1;
    r.flash_attn = FlashAttn::on;
    auto one = plan_memory(arch, r, gpus);
    ASSERT_TRUE(one);
    // big-qwen35-mtp-f16/c8192-np1-kf16-vf16-faon-ngl99: Vulkan0 32.52, Vulkan_Host 16.02.
    EXPECT_NEAR(mib(one->devices[0].components.compute_buffer), 32.52, 3.25);
    EXPECT_NEAR(mib(one->devices[1].components.compute_buffer), 16.02, 0.1);

    r.n_ctx = 32768;
    r.parallel = 4;
    r.cache_type_k = r.cache_type_v = TensorType::q8_0;
    r.spec_type = SpecType::draft_mtp;
    auto four = plan_memory(arch, r, gpus);
    ASSERT_TRUE(four);
    // ...-c32768-np4-kq8_0-vq8_0-faon-ngl99-draft-mtp: Vulkan0 38.19 (the CPU-calibrated
    // width alone said 34.03, -10.9%), host 16.10; MTP context: Vulkan0 KV 32 + compute
    // 23.02, Vulkan_Host compute 12.02 + output 0.01.
    EXPECT_NEAR(mib(four->devices[0].components.compute_buffer), 38.19, 3.82);
    EXPECT_NEAR(mib(four->devices[1].components.compute_buffer), 16.10, 0.1);
    EXPECT_NEAR(mib(four->devices[0].components.mtp_context), 32 + 23.02, 2.31);
    EXPECT_NEAR(mib(four->devices[1].components.mtp_context), 12.03, 0.1);
}

// CUDA (H200, CUDA 13): flash attention with a quantized cache keeps F16 copies of the K/V
// views in the compute buffer (measured cells of bench/plan-accuracy/gpu/observations-cuda.jsonl),
// the host buffer holds 2 n_embd rows per token, not Vulkan's 4, and the runtime beyond the
// buffers grows by cuBLAS's kernels once F16 weights meet a batch, again without flash attention.
TEST(MemoryModel, CudaFlashAttentionCopiesAndRuntime)
{
    DeviceSpec cuda = vulkan_h200();
    cuda.backend = Backend::cuda;
    const std::span<const DeviceSpec> gpus(&cuda, 1);
    const auto arch = arch_of(big_llama());
    PlanRequest r;
    r.n_ctx = 32768;
    r.parallel = 4;
    r.flash_attn = FlashAttn::on;
    r.cache_type_k = r.cache_type_v = TensorType::q8_0;
    // big-llama-f16/c32768-np4-kq8_0-vq8_0-faon-ngl99: CUDA0 compute 48.09, CUDA_Host 12.09.
    auto q8 = plan_memory(arch, r, gpus);
    ASSERT_TRUE(q8);
    EXPECT_NEAR(mib(q8->devices[0].components.compute_buffer), 48.09, 0.1);
    EXPECT_NEAR(mib(q8->devices[1].components.compute_buffer), 12.09, 0.1);
    // big-llama-q4_0/c32768-np1-kq4_0-vq4_0-faon-ngl99: 72.09 (one stream: a 32 MiB mask).
    r.parallel = 1;
    r.cache_type_k = r.cache_type_v = TensorType::q4_0;
    auto q4 = plan_memory(arch, r, gpus);
    ASSERT_TRUE(q4);
    EXPECT_NEAR(mib(q4->devices[0].components.compute_buffer), 72.09, 0.1);
    // An F16 cache needs no copies: as on Vulkan.
    r.cache_type_k = r.cache_type_v = TensorType::f16;
    auto f16 = plan_memory(arch, r, gpus);
    const DeviceSpec vk[] = {vulkan_h200()};
    auto f16_vk = plan_memory(arch, r, vk);
    ASSERT_TRUE(f16 && f16_vk);
    EXPECT_EQ(f16->devices[0].components.compute_buffer,
              f16_vk->devices[0].components.compute_buffer);
    // The fixture's tensors are 1-D: no cuBLAS product, the start-up constant only.
    EXPECT_EQ(f16->devices[0].components.runtime_overhead, k_cuda_runtime_overhead);
    r.flash_attn = FlashAttn::off;
    auto no_fa = plan_memory(arch, r, gpus);
    ASSERT_TRUE(no_fa);
    EXPECT_EQ(no_fa->devices[0].components.runtime_overhead,
              k_cuda_runtime_overhead + k_cuda_cublas_kernels);
    // An F16 weight matrix in a block on the GPU loads cuBLAS's kernels.
    auto with_f16_matrix = big_llama();
    with_f16_matrix.tensor("blk.0.ffn_down.weight", 2816 * 1024 * 2, {2816, 1024});
    const auto f16_weights = arch_of(with_f16_matrix);
    EXPECT_TRUE(f16_weights.layers[0].float_matmul); // a 2-D F32 matrix: any float type counts
    EXPECT_FALSE(f16_weights.layers[1].float_matmul);
    EXPECT_FALSE(arch.layers[0].float_matmul);
    r.flash_attn = FlashAttn::on;
    auto dense = plan_memory(f16_weights, r, gpus);
    ASSERT_TRUE(dense);
    EXPECT_EQ(dense->devices[0].components.runtime_overhead,
              k_cuda_runtime_overhead + k_cuda_cublas_kernels);
    // Mixed K/V types under CUDA flash attention: a note, as llama.cpp's default build lacks them.
    r.cache_type_k = TensorType::q8_0;
    r.cache_type_v = TensorType::f16;
    auto mixed = plan_memory(arch, r, gpus);
    ASSERT_TRUE(mixed);
    EXPECT_TRUE(std::ranges::any_of(mixed->notes, [](const std::string& n) {
        return n.find("GGML_CUDA_FA_ALL_QUANTS") != std::string::npos;
    }));
}

// CUDA with host weights (partial offload, -ngl 0, --n-cpu-moe): op offload runs the batched
// products on the GPU, which holds the full graph plus a copy of the largest host weight;
// the host keeps the inputs only. Cells of bench/plan-accuracy/gpu/observations-cuda.jsonl
// (the 24-block 2048-wide model at 16384 F16 cells with flash attention: 86.0 MiB on the GPU
// for -ngl 0 and 13, 24.0 MiB on the host).
TEST(MemoryModel, CudaOpOffloadOfHostWeights)
{
    DeviceSpec cuda = vulkan_h200();
    cuda.backend = Backend::cuda;
    const std::span<const DeviceSpec> gpus(&cuda, 1);
    constexpr uint64_t k_ffn = uint64_t{2048} * 5632 * 2; // one F16 FFN matrix, 22 MiB
    HeaderBuilder b("llama");
    b.u32("block_count", 24).u32("embedding_length", 2048).u32("attention.head_count", 16)
        .u32("attention.head_count_kv", 4).u32("feed_forward_length", 5632)
        .u32("context_length", 32768).u32("vocab_size", 450);
    for (int il = 0; il < 24; ++il) {
        b.tensor("blk." + std::to_string(il) + ".ffn_up.weight", k_ffn, {2048, 5632});
    }
    const auto arch = arch_of(b);
    PlanRequest r;
    r.n_ctx = 16384;
    r.parallel = 1;
    r.flash_attn = FlashAttn::on;
    r.n_gpu_layers = -1;
    auto full = plan_memory(arch, r, gpus);
    ASSERT_TRUE(full);
    const uint64_t full_gpu = full->devices[0].components.compute_buffer;
    const uint64_t full_host = full->devices[1].components.compute_buffer;
    EXPECT_NEAR(mib(full_gpu), 61.01, 6.1); // within the 10% target (the model reads 64.0)
    EXPECT_NEAR(mib(full_host), 24.01, 0.1);
    for (int32_t ngl : {0, 13}) {
        r.n_gpu_layers = ngl;
        auto part = plan_memory(arch, r, gpus);
        ASSERT_TRUE(part);
        // With -ngl 0 the output stays on the host, and its logits row with it.
        const uint64_t logits = ngl == 0 ? uint64_t{450} * 4 : 0;
        EXPECT_EQ(part->devices[0].components.compute_buffer, full_gpu + k_ffn - logits) << ngl;
        EXPECT_EQ(part->devices[1].components.compute_buffer, full_host) << ngl;
        EXPECT_TRUE(std::ranges::any_of(part->notes, [](const std::string& n) {
            return n.find("op offload") != std::string::npos;
        }));
    }
    // --no-op-offload: the host runs its layers, the GPU only its own.
    r.op_offload = false;
    auto kept = plan_memory(arch, r, gpus);
    ASSERT_TRUE(kept);
    EXPECT_LE(kept->devices[0].components.compute_buffer, full_gpu); // no weight copy
    EXPECT_GT(kept->devices[1].components.compute_buffer, full_host);
    r.op_offload = true;
    // Vulkan keeps the host layers' activations on the host (not measured otherwise).
    const DeviceSpec vk[] = {vulkan_h200()};
    auto vk_part = plan_memory(arch, r, vk);
    ASSERT_TRUE(vk_part);
    EXPECT_GT(vk_part->devices[1].components.compute_buffer, full_host);
}

// --flash-attn auto on CUDA follows ggml-cuda's kernel selection: llama.cpp turns flash
// attention off when the op would land on the CPU (head sizes, K/V type pairs).
TEST(MemoryModel, CudaFlashAttentionAutoFollowsKernelCoverage)
{
    DeviceSpec cuda = vulkan_h200();
    cuda.backend = Backend::cuda;
    const std::span<const DeviceSpec> on_cuda(&cuda, 1);
    const DeviceSpec vk[] = {vulkan_h200()};
    PlanRequest r;
    r.n_ctx = 4096;
    r.flash_attn = FlashAttn::automatic;
    const auto head128 = arch_of(big_llama()); // 8 heads of 128, 2 KV heads
    auto p = plan_memory(head128, r, on_cuda);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->config.flash_attn);

    // Heads of 32 (tiny models): no CUDA kernel, so auto is off there but on with Vulkan.
    HeaderBuilder b("llama");
    b.u32("block_count", 2).u32("embedding_length", 128).u32("attention.head_count", 4)
        .u32("attention.head_count_kv", 2).u32("feed_forward_length", 256)
        .u32("context_length", 4096).u32("vocab_size", 128).blocks(2, 1000);
    const auto head32 = arch_of(b);
    auto small = plan_memory(head32, r, on_cuda);
    ASSERT_TRUE(small);
    EXPECT_FALSE(small->config.flash_attn);
    EXPECT_TRUE(std::ranges::any_of(small->notes, [](const std::string& n) {
        return n.find("auto predicted as off") != std::string::npos &&
               n.find("K 32, V 32") != std::string::npos;
    }));
    auto small_vk = plan_memory(head32, r, vk);
    ASSERT_TRUE(small_vk);
    EXPECT_TRUE(small_vk->config.flash_attn);
    // No GPU layers: the CPU runs attention, auto stays on.
    r.n_gpu_layers = 0;
    auto cpu_only = plan_memory(head32, r, on_cuda);
    ASSERT_TRUE(cpu_only);
    EXPECT_TRUE(cpu_only->config.flash_attn);
    r.n_gpu_layers = -1;

    // A quantized K with an F16 V has no kernel in a default build: auto goes off (K alone may
    // be quantized without flash attention)...
    r.cache_type_k = TensorType::q8_0;
    auto mixed = plan_memory(head128, r, on_cuda);
    ASSERT_TRUE(mixed);
    EXPECT_FALSE(mixed->config.flash_attn);
    // ...but a quantized V needs it: refused, with the reason.
    r.cache_type_k = TensorType::f16;
    r.cache_type_v = TensorType::q8_0;
    auto refused = plan_memory(head128, r, on_cuda);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("GGML_CUDA_FA_ALL_QUANTS"), std::string::npos);
    // Equal quantized types are built: on.
    r.cache_type_k = TensorType::q8_0;
    auto q8 = plan_memory(head128, r, on_cuda);
    ASSERT_TRUE(q8);
    EXPECT_TRUE(q8->config.flash_attn);
}

// Device memory beyond llama-server's buffers (nvidia-smi delta minus buffers) on Vulkan:
// the constant for every model and cache type, more for MLA under flash attention.
TEST(MemoryModel, VulkanRuntimeOverheadBeyondBuffers)
{
    const DeviceSpec gpus[] = {vulkan_h200()};
    PlanRequest r;
    r.n_ctx = 32768;
    r.parallel = 4;
    r.flash_attn = FlashAttn::on;
    r.cache_type_k = r.cache_type_v = TensorType::q8_0;
    // big-llama-f16/c32768-np4-kq8_0-vq8_0-faon-ngl99: 64 MiB beyond the buffers, as with F16
    // (the CUDA-style conversion pool predicted 74 MiB, +2.0% against nvidia-smi).
    auto llama = plan_memory(arch_of(big_llama()), r, gpus);
    ASSERT_TRUE(llama);
    EXPECT_EQ(llama->devices[0].components.runtime_overhead, k_vulkan_runtime_overhead);

    // test-llama-archs' deepseek2 (MLA, 1 head, kv_lora_rank 512, rope 64).
    HeaderBuilder b("deepseek2");
    b.u32("block_count", 2).u32("embedding_length", 128).u32("attention.head_count", 1)
        .u32("attention.kv_lora_rank", 512).u32("rope.dimension_count", 64)
        .u32("feed_forward_length", 192).u32("context_length", 256).u32("vocab_size", 128)
        .blocks(2, 1000);
    const auto mla = arch_of(b);
    // tla-deepseek2-moe/c32768-np4-kq8_0-vq8_0-faon-ngl99: 175 MiB beyond the buffers.
    auto q8 = plan_memory(mla, r, gpus);
    ASSERT_TRUE(q8);
    const double q8_overhead = mib(q8->devices[0].components.runtime_overhead);
    EXPECT_GE(q8_overhead, 175.0);
    EXPECT_LE(q8_overhead, 175.0 * 1.2);
    // tla-deepseek2-moe/c4096-np1-kf16-vf16-faon-ngl99: 73 MiB.
    r.n_ctx = 4096;
    r.parallel = 1;
    r.cache_type_k = r.cache_type_v = TensorType::f16;
    auto f16 = plan_memory(mla, r, gpus);
    ASSERT_TRUE(f16);
    EXPECT_NEAR(mib(f16->devices[0].components.runtime_overhead), 73.0, 2.0);
    // tla-deepseek2-moe/c8192-np1-kf16-vf16-faoff-ngl99: 65 MiB, the constant.
    r.n_ctx = 8192;
    r.flash_attn = FlashAttn::off;
    auto off = plan_memory(mla, r, gpus);
    ASSERT_TRUE(off);
    EXPECT_EQ(off->devices[0].components.runtime_overhead, k_vulkan_runtime_overhead);
}

RC_GTEST_PROP(MemoryModelProperty, KvGrowsWithContextAndShrinksWithQuantization, ())
{
    static const auto arch = *gguf::derive_architecture(testing::llama8b().header());
    const uint32_t a = *rc::gen::inRange<uint32_t>(256, 131072);
    const uint32_t b = *rc::gen::inRange<uint32_t>(256, 131072);
    PlanRequest r;
    r.flash_attn = FlashAttn::on;
    r.parallel = *rc::gen::element(-1, 1, 2, 4);
    r.n_ctx = std::min(a, b);
    const auto small = plan_memory(arch, r, {});
    r.n_ctx = std::max(a, b);
    const auto large = plan_memory(arch, r, {});
    RC_ASSERT(small && large);
    RC_ASSERT(total_kv(*small) <= total_kv(*large));
    RC_ASSERT(small->checked_total() <= large->checked_total());

    uint64_t previous = UINT64_MAX;
    for (TensorType t : {TensorType::f16, TensorType::q8_0, TensorType::q4_0}) {
        r.cache_type_k = r.cache_type_v = t;
        const auto p = plan_memory(arch, r, {});
        RC_ASSERT(p.has_value());
        RC_ASSERT(total_kv(*p) <= previous);
        previous = total_kv(*p);
    }
}

// test-llama-archs' llama (tla-llama-dense): 2 layers, 256 wide, 2 heads / 2 KV heads of 128,
// FFN 384, 128 tokens.
HeaderBuilder tla_llama_dense()
{
    HeaderBuilder b("llama");
    b.u32("block_count", 2).u32("embedding_length", 256).u32("attention.head_count", 2)
        .u32("attention.head_count_kv", 2).u32("attention.key_length", 128)
        .u32("attention.value_length", 128).u32("feed_forward_length", 384)
        .u32("context_length", 256).u32("vocab_size", 128).blocks(2, 2000000);
    return b;
}

// A quantized KV cache turns on llama.cpp's Hadamard rotation of Q/K/V: two F32 matrices per
// cache among the graph inputs (128x128 for K, 64x64 for V here) and rotated Q-sized copies in
// the attention block. Cell tla-llama-dense/c8192-np1-kq8_0-vq8_0-faon-ngl0 of
// bench/plan-accuracy/observations.jsonl: weights 4.52, KV 8.50, compute 12.85, output 0.00
// MiB, total 25.87; it was under-predicted by 3.3% (compute 12.00) before.
TEST(MemoryModel, QuantizedCacheRotationInComputeBuffer)
{
    const auto arch = arch_of(tla_llama_dense());
    PlanRequest r;
    r.n_ctx = 8192;
    r.parallel = 1;
    r.flash_attn = FlashAttn::on;
    r.cache_type_k = r.cache_type_v = TensorType::q8_0;
    const auto q8 = plan_memory(arch, r, {});
    ASSERT_TRUE(q8) << q8.error().message;
    const auto& c = q8->devices.back().components;
    EXPECT_NEAR(mib(c.kv_cache), 8.50, 0.01);
    EXPECT_NEAR(mib(c.compute_buffer), 12.85, 12.85 * 0.10);
    // The total of the buffers (weights as observed: the fixture's are not the model's) is
    // not under-predicted by more than 1%.
    const double total = 4.52 + mib(c.kv_cache + c.compute_buffer + c.output_buffer);
    EXPECT_GE(total, 25.87 * 0.99);

    // f16 has no rotation: cell .../c4096-np1-kf16-vf16-faon-ngl0 printed 8.02 MiB.
    r.n_ctx = 4096;
    r.cache_type_k = r.cache_type_v = TensorType::f16;
    const auto f16 = plan_memory(arch, r, {});
    ASSERT_TRUE(f16);
    EXPECT_NEAR(mib(f16->devices.back().components.compute_buffer), 8.02, 0.05);
    // The matrices alone: 4096 cells with q8_0 add (128^2 + 64^2) x 4 B over f16 when the
    // attention block is not the peak (here it is; the MoE tla models show the bare +0.08).
    r.cache_type_k = r.cache_type_v = TensorType::q8_0;
    const auto q8_4k = plan_memory(arch, r, {});
    ASSERT_TRUE(q8_4k);
    EXPECT_GT(q8_4k->devices.back().components.compute_buffer,
              f16->devices.back().components.compute_buffer + (128U * 128U + 64U * 64U) * 4U);
}

// Without flash attention an attention block peaks at its KQ product, which ggml-alloc
// places above the graph inputs (allocated first) and the rows made before it.
// tla-llama-dense/c8192-np1-kf16-vf16-faoff-ngl0 printed 52.01 MiB (it was predicted at 51.00
// from 3 n_embd + 2 ffn beside the masks, -1.9%, the buffer total -1.4%).
TEST(MemoryModel, KqPhaseWithoutFlashAttention)
{
    const auto arch = arch_of(tla_llama_dense());
    PlanRequest r;
    r.n_ctx = 8192;
    r.parallel = 1;
    r.flash_attn = FlashAttn::off;
    const auto p = plan_memory(arch, r, {});
    ASSERT_TRUE(p) << p.error().message;
    constexpr uint64_t t = 512;
    constexpr uint64_t e = 256;
    const uint64_t inputs = t * (4 + 16 + 4) // tokens, positions, output ids
                            + 2 * t * e * 4  // the embeddings input and the token rows
                            + 8192 * t * 4   // the F32 mask
                            + t * 8          // K row indices
                            + t * 256 * 8;   // V indices, one per value (V is transposed)
    const uint64_t rows = t * (3 * e + 2 * 128) * 4; // 3 n_embd rows and Q
    const uint64_t kq = 8192 * t * 2 * 4;            // n_kv x n_ubatch x heads, F32
    const uint64_t logits = 128 * 4;
    const uint64_t compute = p->devices.back().components.compute_buffer;
    EXPECT_EQ(compute, inputs + rows + kq + logits);
    EXPECT_NEAR(mib(compute), 52.01, 0.02);

    // The FFN does not take part: the MoE shape with the same attention printed the same.
    HeaderBuilder wide_ffn("llama");
    wide_ffn.u32("block_count", 2).u32("embedding_length", 256).u32("attention.head_count", 2)
        .u32("attention.head_count_kv", 2).u32("attention.key_length", 128)
        .u32("attention.value_length", 128).u32("feed_forward_length", 768)
        .u32("context_length", 256).u32("vocab_size", 128).blocks(2, 2000000);
    const auto wide = plan_memory(arch_of(wide_ffn), r, {});
    ASSERT_TRUE(wide);
    EXPECT_EQ(wide->devices.back().components.compute_buffer, compute);
}

// test-llama-archs' qwen35 (tla-qwen35-dense): a gated delta-net layer then an attention
// layer, 256 wide, state 128 x 128 per head, 2 heads.
HeaderBuilder tla_qwen35(uint32_t ffn = 384, uint32_t nextn = 0)
{
    HeaderBuilder b("qwen35");
    b.u32("block_count", 2 + nextn).u32("embedding_length", 256).u32("attention.head_count", 2)
        .u32("attention.head_count_kv", 2).u32("attention.key_length", 128)
        .u32("attention.value_length", 128).u32("feed_forward_length", ffn)
        .u32("context_length", 256).u32("full_attention_interval", 2)
        .u32("ssm.conv_kernel", 4).u32("ssm.inner_size", 256).u32("ssm.state_size", 128)
        .u32("ssm.group_count", 2).u32("ssm.time_step_rank", 2)
        .u32("nextn_predict_layers", nextn).u32("vocab_size", 128).blocks(2 + nextn, 100000);
    return b;
}

// The delta-net graph gathers the recurrent states of the reserved ubatch's sequences (one
// per slot) and writes the new ones, one per rollback snapshot: the compute buffer grows with
// the slots. tla-qwen35-dense/c8192-np4-kf16-vf16-faon-ngl0 printed 8.03 MiB (predicted 7.75,
// -3.5%, total -1.3%, before), .../c512-np1-... 6.15.
TEST(MemoryModel, DeltaNetStatesOfTheUbatchSequences)
{
    const auto arch = arch_of(tla_qwen35());
    constexpr uint64_t state = 128 * 256 * 4; // one sequence's state, F32
    PlanRequest r;
    r.flash_attn = FlashAttn::on;
    r.n_ctx = 2048;
    r.parallel = 1;
    const auto one = plan_memory(arch, r, {});
    r.n_ctx = 8192; // the same 2048 cells per stream, so the same mask
    r.parallel = 4;
    const auto four = plan_memory(arch, r, {});
    ASSERT_TRUE(one && four);
    const uint64_t c1 = one->devices.back().components.compute_buffer;
    const uint64_t c4 = four->devices.back().components.compute_buffer;
    // 3 more states written; the 4 gathered ones still fit the freed n_embd row (512 x 256 x
    // 4 B); 3 more logits rows of 128.
    EXPECT_EQ(c4 - c1, 3 * state + 3 * 128 * 4);
    EXPECT_NEAR(mib(c4), 8.03, 8.03 * 0.01);
    r.n_ctx = 512;
    r.parallel = 1;
    const auto small = plan_memory(arch, r, {});
    ASSERT_TRUE(small);
    EXPECT_NEAR(mib(small->devices.back().components.compute_buffer), 6.15, 6.15 * 0.01);

    // With draft-mtp the graph writes 1 + 3 snapshots per sequence. A narrow FFN keeps the
    // delta-net block the peak, so the whole difference is the snapshots (and the logits rows
    // of the draft tokens).
    const auto mtp_arch = arch_of(tla_qwen35(64, 1));
    r.n_ctx = 8192;
    r.parallel = 4;
    const auto plain = plan_memory(mtp_arch, r, {});
    r.spec_type = SpecType::draft_mtp;
    const auto draft = plan_memory(mtp_arch, r, {});
    ASSERT_TRUE(plain && draft) << (draft ? "" : draft.error().message);
    EXPECT_EQ(draft->devices.back().components.compute_buffer -
                  plain->devices.back().components.compute_buffer,
              4 * 3 * state + (16 - 4) * 128 * 4);
}

// test-llama-archs' nemotron_h (tla-nemotron_h-dense): attention, mamba2, FFN; 256 wide, d_inner
// 512, state 128, 2 groups, 2 heads. `order` lists the layer kinds.
HeaderBuilder tla_nemotron_h(const std::vector<char>& order)
{
    std::vector<uint32_t> heads;
    std::vector<uint32_t> ffn;
    for (char kind : order) {
        heads.push_back(kind == 'm' ? 0U : 2U);
        ffn.push_back(kind == 'f' ? 384U : 0U);
    }
    const auto n = static_cast<uint32_t>(order.size());
    HeaderBuilder b("nemotron_h");
    b.u32("block_count", n).u32("embedding_length", 256).u32_array("attention.head_count", heads)
        .u32_array("attention.head_count_kv", heads).u32("attention.key_length", 128)
        .u32("attention.value_length", 128).u32_array("feed_forward_length", ffn)
        .u32("context_length", 256).u32("ssm.conv_kernel", 4).u32("ssm.inner_size", 512)
        .u32("ssm.state_size", 128).u32("ssm.group_count", 2).u32("ssm.time_step_rank", 2)
        .u32("vocab_size", 128).blocks(n, 1000000);
    return b;
}

// A mamba2 block after the last attention layer reuses the freed masks' space, but best-fit
// placement leaves part of that hole unused below its tensors (at most one in_proj output);
// before the last attention layer it runs beside the live masks. Cells of tla-nemotron_h-dense:
// c8192-np4-kf16-vf16-faon 11.57 MiB (predicted 10.00 before: -13.6%, total -6.4%), c512-np1
// 10.03, c4096-np1 10.53 (-5.0% before).
TEST(MemoryModel, MambaBlockAfterAndBeforeTheLastAttentionLayer)
{
    const auto arch = arch_of(tla_nemotron_h({'a', 'm', 'f'}));
    ASSERT_TRUE(arch.layers[1].recurrent);
    constexpr uint64_t t = 512;
    constexpr uint64_t in_proj = 2 * 512 + 2 * 2 * 128 + 2; // z, x, B, C, dt
    constexpr uint64_t conv = 512 + 2 * 2 * 128;
    constexpr uint64_t mamba = t * (3 * 256 + in_proj + 2 * conv) * 4;
    PlanRequest r;
    r.flash_attn = FlashAttn::on;
    r.n_ctx = 512;
    r.parallel = 1;
    const auto c512 = plan_memory(arch, r, {});
    ASSERT_TRUE(c512);
    // The hole: the 0.5 MiB mask and 2 n_embd rows, smaller than the in_proj output.
    const uint64_t hole = 512 * t * 2 + 2 * t * 256 * 4;
    EXPECT_EQ(c512->devices.back().components.compute_buffer, mamba + hole + 128 * 4);
    EXPECT_NEAR(mib(c512->devices.back().components.compute_buffer), 10.03, 0.05);

    r.n_ctx = 8192;
    r.parallel = 4;
    const auto np4 = plan_memory(arch, r, {});
    ASSERT_TRUE(np4);
    const uint64_t c4 = np4->devices.back().components.compute_buffer;
    // The hole: 4 streams' masks of 2048 cells (2 MiB) and the 2 rows, just under the in_proj
    // output (3.0 MiB); llama-server left 2.97 MiB of it unused.
    EXPECT_EQ(c4, mamba + 2048 * t * 2 + 2 * t * 256 * 4 + 4 * 128 * 4);
    EXPECT_GE(mib(c4), 11.57 * 0.99);
    r.n_ctx = 4096;
    r.parallel = 1;
    const auto c4096 = plan_memory(arch, r, {});
    ASSERT_TRUE(c4096);
    EXPECT_NEAR(mib(c4096->devices.back().components.compute_buffer), 10.53, 10.53 * 0.10);

    // Mamba first: the masks (32 MiB at 32768 cells) are live while it runs.
    r.n_ctx = 32768;
    const auto after = plan_memory(arch, r, {});
    const auto before = plan_memory(arch_of(tla_nemotron_h({'m', 'a', 'f'})), r, {});
    ASSERT_TRUE(after && before);
    const uint64_t mask = 32768 * t * 2;
    EXPECT_EQ(before->devices.back().components.compute_buffer,
              mask + mamba + t * in_proj * 4 + 128 * 4);
    EXPECT_LT(after->devices.back().components.compute_buffer,
              before->devices.back().components.compute_buffer);
}

TEST(MemoryModel, RowBytesUseWholeBlocks)
{
    EXPECT_EQ(row_bytes(TensorType::f16, 128), 256U);
    EXPECT_EQ(row_bytes(TensorType::q8_0, 128), 136U); // 4 blocks of 34 B
    EXPECT_EQ(row_bytes(TensorType::q4_0, 128), 72U);  // 4 blocks of 18 B
    EXPECT_EQ(row_bytes(TensorType::q4_0, 33), 36U);   // a partial block still takes a block
}

} // namespace
} // namespace gpumod::plan
