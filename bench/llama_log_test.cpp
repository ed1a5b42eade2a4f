// The log excerpts are real llama-server 0.7.0 (Debian, build 11669) output at -lv 4.

#include "llama_log.hpp"

#include <gtest/gtest.h>

namespace gpumod::bench {
namespace {

// qwen35 MTP model, -c 8192 -np 4 -ctk q8_0 -ctv q8_0 -fa on --spec-type draft-mtp (trimmed).
constexpr std::string_view k_mtp_log =
    R"(0.00.055.284 I print_info: general.name         = gpumod-tiny-mtp
0.00.022.368 I print_info: file size   = 2.47 MiB (32.00 BPW) 
0.00.022.628 I print_info: model params          = 0.65 M
0.00.055.966 I load_tensors:  CPU_Mapped model buffer size =     0.63 MiB
0.00.055.980 I load_tensors:  CPU_Mapped model buffer size =     0.00 MiB
0.00.056.001 I load_tensors:  CPU_Mapped model buffer size =     1.82 MiB
0.00.056.296 I llama_context: constructing llama_context
0.00.056.320 I llama_context: n_seq_max            = 4
0.00.056.336 I llama_context: n_ctx                = 8192
0.00.056.352 I llama_context: n_ctx_seq            = 2048
0.00.023.430 I llama_context: n_batch               = 2048
0.00.023.430 I llama_context: n_ubatch              = 512
0.00.056.418 I llama_context: flash_attn           = enabled
0.00.056.431 I llama_context: kv_unified           = false
0.00.056.511 I llama_context: n_ctx_seq (2048) < n_ctx_train (32768) -- the full capacity of the model will not be utilized
0.00.056.540 I llama_context:       CPU  output buffer size =     0.01 MiB
0.00.056.857 I llama_kv_cache:       CPU KV buffer size =     1.06 MiB
0.00.057.417 I llama_kv_cache: size =    1.06 MiB (  2048 cells,   1 layers,  4/4 seqs), K (q8_0):    0.53 MiB, V (q8_0):    0.53 MiB
0.00.057.680 I llama_memory_recurrent:       CPU RS buffer size =     0.30 MiB
0.00.057.700 I llama_memory_recurrent: size =    0.30 MiB (     4 cells,   2 layers,  4 seqs  3 rs_seq), R (f32):    0.05 MiB, S (f32):    0.25 MiB, P (f32):    0.00 MiB
0.00.072.777 I sched_reserve:       CPU compute buffer size =     4.77 MiB
0.00.082.845 I common_speculative_init_result: creating MTP draft context against the target model 'mtp.gguf'
0.00.087.477 I llama_context: constructing llama_context
0.00.087.482 I llama_context: n_seq_max            = 4
0.00.087.482 I llama_context: n_ctx                = 8192
0.00.087.567 I llama_context:       CPU  output buffer size =     0.01 MiB
0.00.087.939 I llama_kv_cache:       CPU KV buffer size =     2.00 MiB
0.00.089.153 I llama_kv_cache: size =    2.00 MiB (  2048 cells,   1 layers,  4/4 seqs), K (f16):    1.00 MiB, V (f16):    1.00 MiB
0.00.104.609 I sched_reserve:        CPU compute buffer size =     3.20 MiB
0.00.124.353 I sched_reserve:        CPU compute buffer size =     3.52 MiB
0.00.041.735 I srv  llama_server: listening on http://127.0.0.1:18555
0.00.295.892 I common_memory_breakdown_print: | memory breakdown [MiB] | total  free    self   model   context   compute    unaccounted |
0.00.295.919 I common_memory_breakdown_print: |  - Host               |                    8 =     2 +       1 +       4                |
)";

TEST(LlamaLog, ReadsBufferLinesWithTheirContext)
{
    const auto log = parse_llama_log(k_mtp_log);
    ASSERT_EQ(log.buffers.size(), 11U);
    EXPECT_EQ(log.buffers[0].device, "CPU_Mapped");
    EXPECT_EQ(log.buffers[0].kind, "model");
    EXPECT_EQ(log.buffers[0].context, k_model_context);
    EXPECT_DOUBLE_EQ(log.buffers[2].mib, 1.82);
    EXPECT_EQ(log.buffers[3].kind, "output");
    EXPECT_EQ(log.buffers[3].device, "CPU");
    EXPECT_EQ(log.buffers[3].context, 0);
    EXPECT_EQ(log.buffers[5].kind, "RS");
    EXPECT_EQ(log.buffers[7].context, 1);
    EXPECT_TRUE(log.mtp_context);
    EXPECT_TRUE(log.listening);
    ASSERT_TRUE(log.file_size_mib.has_value());
    EXPECT_DOUBLE_EQ(*log.file_size_mib, 2.47);
    EXPECT_EQ(log.model_params, "0.65 M");
}

TEST(LlamaLog, ReadsCacheDetailsAndContextSettings)
{
    const auto log = parse_llama_log(k_mtp_log);
    ASSERT_EQ(log.kv_caches.size(), 2U);
    const auto& kv = log.kv_caches[0];
    EXPECT_EQ(kv.cells, 2048U);
    EXPECT_EQ(kv.layers, 1U);
    EXPECT_EQ(kv.seqs, 4U);
    EXPECT_EQ(kv.seqs_max, 4U);
    EXPECT_EQ(kv.k_type, "q8_0");
    EXPECT_DOUBLE_EQ(kv.v_mib, 0.53);
    EXPECT_EQ(log.kv_caches[1].context, 1);
    EXPECT_EQ(log.kv_caches[1].k_type, "f16");
    ASSERT_EQ(log.recurrent.size(), 1U);
    EXPECT_EQ(log.recurrent[0].cells, 4U);
    EXPECT_EQ(log.recurrent[0].layers, 2U);
    EXPECT_DOUBLE_EQ(log.recurrent[0].s_mib, 0.25);
    ASSERT_EQ(log.contexts.size(), 2U);
    EXPECT_EQ(log.contexts[0].n_ctx, 8192U);
    EXPECT_EQ(log.contexts[0].n_ctx_seq, 2048U); // not the warning line's "(2048) <"
    EXPECT_EQ(log.contexts[0].n_seq_max, 4U);
    EXPECT_EQ(log.contexts[0].n_ubatch, 512U);
    EXPECT_EQ(log.contexts[0].flash_attn, true);
    EXPECT_EQ(log.contexts[0].kv_unified, false);
}

TEST(LlamaLog, SumsComponentsPerDeviceGroup)
{
    const auto log = parse_llama_log(k_mtp_log);
    const auto components = reported_components(log);
    ASSERT_EQ(components.size(), 1U);
    const auto& host = components.at("host");
    EXPECT_NEAR(host.weights, 2.45, 1e-9);
    EXPECT_NEAR(host.kv_cache, 1.06, 1e-9);
    EXPECT_NEAR(host.recurrent_state, 0.30, 1e-9);
    EXPECT_NEAR(host.compute_buffer, 4.77, 1e-9);
    EXPECT_NEAR(host.output_buffer, 0.01, 1e-9);
    EXPECT_NEAR(host.mtp_kv_cache, 2.00, 1e-9);
    // The draft context's scheduler was reserved twice: the larger size is what it holds.
    EXPECT_NEAR(host.mtp_compute, 3.52 + 0.01, 1e-9);
}

TEST(LlamaLog, ReadsBreakdownRowsOfHostAndDevice)
{
    const auto log = parse_llama_log(k_mtp_log);
    ASSERT_EQ(log.breakdown.size(), 1U);
    EXPECT_EQ(log.breakdown[0].device, "Host");
    EXPECT_EQ(log.breakdown[0].self, 8);
    EXPECT_EQ(log.breakdown[0].model, 2);
    EXPECT_EQ(log.breakdown[0].compute, 4);
    EXPECT_FALSE(log.breakdown[0].total.has_value());

    // From the Vulkan run on an H200 (reference/llama-server.md §9).
    const auto gpu = parse_llama_log(
        "0.01.000.000 I common_memory_breakdown_print: |   - Vulkan0 (H200)       | 143771 = "
        "143106 + (36 = 1 + 17 + 18) + 628 |\n"
        "0.01.000.001 I load_tensors:      Vulkan0 model buffer size =     1.35 MiB\n");
    ASSERT_EQ(gpu.breakdown.size(), 1U);
    const auto& row = gpu.breakdown[0];
    EXPECT_EQ(row.device, "Vulkan0 (H200)");
    EXPECT_EQ(row.total, 143771);
    EXPECT_EQ(row.free, 143106);
    EXPECT_EQ(row.self, 36);
    EXPECT_EQ(row.context, 17);
    EXPECT_EQ(row.unaccounted, 628);
    const auto components = reported_components(gpu);
    ASSERT_TRUE(components.contains("Vulkan0"));
    EXPECT_DOUBLE_EQ(components.at("Vulkan0").weights, 1.35);
}

TEST(LlamaLog, MarksSwaCachesAndCollectsErrors)
{
    const auto log = parse_llama_log(
        "0.00.01.000.000 junk without a prefix\n"
        "0.00.001.000 I llama_kv_cache_iswa: creating non-SWA KV cache, size = 2048 cells\n"
        "0.00.001.001 I llama_kv_cache: size =    4.25 MiB (  2048 cells,   1 layers,  4/4 seqs), "
        "K (q8_0):    2.12 MiB, V (q8_0):    2.12 MiB\n"
        "0.00.001.002 I llama_kv_cache_iswa: creating     SWA KV cache, size = 768 cells\n"
        "0.00.001.003 I llama_kv_cache: size =    1.59 MiB (   768 cells,   1 layers,  4/4 seqs), "
        "K (q8_0):    0.80 MiB, V (q8_0):    0.80 MiB\n"
        "0.00.002.000 E llama_init_from_model: failed to initialize the context\n"
        "0.00.002.001 E srv    load_model: failed to load model\n");
    ASSERT_EQ(log.kv_caches.size(), 2U);
    EXPECT_FALSE(log.kv_caches[0].swa);
    EXPECT_TRUE(log.kv_caches[1].swa);
    EXPECT_EQ(log.kv_caches[1].cells, 768U);
    ASSERT_EQ(log.errors.size(), 2U);
    EXPECT_EQ(log.errors[1], "srv    load_model: failed to load model");
    EXPECT_FALSE(log.listening);
}

TEST(LlamaLog, GroupsHostBuffers)
{
    EXPECT_EQ(device_group("CPU_Mapped"), "host");
    EXPECT_EQ(device_group("CPU_REPACK"), "host");
    EXPECT_EQ(device_group("Vulkan_Host"), "host");
    EXPECT_EQ(device_group("CUDA0"), "CUDA0");
}

} // namespace
} // namespace gpumod::bench
