#include "core/plan/fit_params_oracle.hpp"

#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gpumod::plan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint64_t k_mib = uint64_t{1} << 20U;

// --- the estimate (`--fit-print on`) ---------------------------------------------------------

TEST(FitParamsEstimate, ReadsTheHostLineOfACpuOnlyBuildWithItsTrailingSpace)
{
    // What llama-fit-params 0.7.0 prints on a CPU-only machine (printf("%zu ") per value).
    auto e = parse_fit_params_estimate("Host 1 16 34 \n");
    ASSERT_TRUE(e) << e.error().message;
    ASSERT_EQ(e->size(), 1U);
    EXPECT_EQ(e->at(0).device, "Host");
    EXPECT_TRUE(e->at(0).host());
    EXPECT_EQ(e->at(0).model_mib, 1U);
    EXPECT_EQ(e->at(0).context_mib, 16U);
    EXPECT_EQ(e->at(0).compute_mib, 34U);
}

TEST(FitParamsEstimate, ReadsOneLinePerDeviceWithTheHostLast)
{
    auto e = parse_fit_params_estimate("\nCUDA0 17904 384 898 \nCUDA1 4096 128 300 \n"
                                       "Host 1203 0 12 \n\n");
    ASSERT_TRUE(e) << e.error().message;
    ASSERT_EQ(e->size(), 3U);
    EXPECT_EQ(e->at(0).device, "CUDA0");
    EXPECT_EQ(e->at(0).model_mib, 17904U);
    EXPECT_EQ(e->at(0).context_mib, 384U);
    EXPECT_EQ(e->at(0).compute_mib, 898U);
    EXPECT_FALSE(e->at(0).host());
    EXPECT_EQ(e->at(1).device, "CUDA1");
    EXPECT_EQ(e->at(1).compute_mib, 300U);
    EXPECT_EQ(e->at(2).device, "Host");
    EXPECT_EQ(e->at(2).model_mib, 1203U);
}

TEST(FitParamsEstimate, ADeviceNameMayHoldSpaces)
{
    auto e = parse_fit_params_estimate("Some GPU 0 10 20 30\nHost 1 2 3\n");
    ASSERT_TRUE(e) << e.error().message;
    EXPECT_EQ(e->at(0).device, "Some GPU 0");
    EXPECT_EQ(e->at(0).model_mib, 10U);
}

TEST(FitParamsEstimate, GarbageIsAnErrorNamingTheLine)
{
    auto bad_number = parse_fit_params_estimate("CUDA0 1 2 3\nHost 1 x 34\n");
    ASSERT_FALSE(bad_number);
    EXPECT_THAT(bad_number.error().message, HasSubstr("line 2"));
    EXPECT_THAT(bad_number.error().message, HasSubstr("'Host 1 x 34'"));
    EXPECT_THAT(bad_number.error().message, HasSubstr("'x'"));

    auto short_line = parse_fit_params_estimate("CUDA0 1 2 3\nwhat is this\nHost 1 2 3\n");
    ASSERT_FALSE(short_line);
    EXPECT_THAT(short_line.error().message, HasSubstr("line 2"));
    EXPECT_THAT(short_line.error().message, HasSubstr("'what is this'"));

    auto negative = parse_fit_params_estimate("Host 1 -2 3\n");
    ASSERT_FALSE(negative);
    EXPECT_THAT(negative.error().message, HasSubstr("line 1"));

    auto no_host = parse_fit_params_estimate("CUDA0 1 2 3\n");
    ASSERT_FALSE(no_host);
    EXPECT_THAT(no_host.error().message, HasSubstr("no Host line"));

    auto after_host = parse_fit_params_estimate("Host 1 2 3\nCUDA0 1 2 3\n");
    ASSERT_FALSE(after_host);
    EXPECT_THAT(after_host.error().message, HasSubstr("line 2"));

    auto empty = parse_fit_params_estimate("  \n");
    ASSERT_FALSE(empty);
    EXPECT_THAT(empty.error().message, HasSubstr("no estimate"));
}

// --- the fitted answer ------------------------------------------------------------------------

TEST(FitParamsAnswer, ReadsContextAndLayers)
{
    auto a = parse_fit_params_answer("-c 32768 -ngl -1\n");
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->n_ctx, 32768U);
    EXPECT_EQ(a->n_gpu_layers, -1);
    EXPECT_TRUE(a->tensor_split.empty());
    EXPECT_TRUE(a->overrides.empty());
    EXPECT_EQ(a->line, "-c 32768 -ngl -1");
}

TEST(FitParamsAnswer, ReadsTensorSplitAndQuotedOverrides)
{
    auto a = parse_fit_params_answer(
        R"(-c 4096 -ngl 48 -ts 30,18 -ot "blk\.14\.ffn_(up|down|gate)_(ch|)exps=CPU,)"
        R"(blk\.15\.ffn_down.*=CUDA1")"
        "\n");
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->n_ctx, 4096U);
    EXPECT_EQ(a->n_gpu_layers, 48);
    EXPECT_THAT(a->tensor_split, ElementsAre(30U, 18U));
    ASSERT_EQ(a->overrides.size(), 2U);
    EXPECT_EQ(a->overrides[0].pattern, R"(blk\.14\.ffn_(up|down|gate)_(ch|)exps)");
    EXPECT_EQ(a->overrides[0].buffer_type, "CPU");
    EXPECT_EQ(a->overrides[1].pattern, R"(blk\.15\.ffn_down.*)");
    EXPECT_EQ(a->overrides[1].buffer_type, "CUDA1");
}

TEST(FitParamsAnswer, ReadsUnquotedOverridesAndCommasInsideAPattern)
{
    // Older builds print -ot without quotes; a regex may hold a comma of its own.
    auto a = parse_fit_params_answer(R"(-c 8192 -ngl 20 -ot blk\.(1[0-9]{1,2})\.ffn_.*=CPU)");
    ASSERT_TRUE(a) << a.error().message;
    ASSERT_EQ(a->overrides.size(), 1U);
    EXPECT_EQ(a->overrides[0].pattern, R"(blk\.(1[0-9]{1,2})\.ffn_.*)");
    EXPECT_EQ(a->overrides[0].buffer_type, "CPU");
}

TEST(FitParamsAnswer, GarbageIsAnErrorQuotingTheLine)
{
    auto bad_ctx = parse_fit_params_answer("-c abc -ngl 3\n");
    ASSERT_FALSE(bad_ctx);
    EXPECT_THAT(bad_ctx.error().message, HasSubstr("-c 'abc'"));
    EXPECT_THAT(bad_ctx.error().message, HasSubstr("'-c abc -ngl 3'"));

    auto unknown = parse_fit_params_answer("-c 4096 -ngl 3 --mystery 1\n");
    ASSERT_FALSE(unknown);
    EXPECT_THAT(unknown.error().message, HasSubstr("'--mystery'"));

    auto no_ngl = parse_fit_params_answer("-c 4096\n");
    ASSERT_FALSE(no_ngl);
    EXPECT_THAT(no_ngl.error().message, HasSubstr("lacks -ngl"));

    auto dangling = parse_fit_params_answer("-c 4096 -ngl\n");
    ASSERT_FALSE(dangling);
    EXPECT_THAT(dangling.error().message, HasSubstr("after '-ngl'"));

    auto two_lines = parse_fit_params_answer("-c 4096 -ngl 3\nHost 1 2 3\n");
    ASSERT_FALSE(two_lines);
    EXPECT_THAT(two_lines.error().message, HasSubstr("'Host 1 2 3'"));

    auto unclosed = parse_fit_params_answer(R"(-c 4096 -ngl 3 -ot "blk=CPU)");
    ASSERT_FALSE(unclosed);
    EXPECT_THAT(unclosed.error().message, HasSubstr("unclosed quote"));

    auto bad_override = parse_fit_params_answer(R"(-c 4096 -ngl 3 -ot "blk\.1\.ffn")");
    ASSERT_FALSE(bad_override);
    EXPECT_THAT(bad_override.error().message, HasSubstr(R"('blk\.1\.ffn')"));

    auto bad_split = parse_fit_params_answer("-c 4096 -ngl 3 -ts 1,,2\n");
    ASSERT_FALSE(bad_split);
    EXPECT_THAT(bad_split.error().message, HasSubstr("-ts '1,,2'"));

    EXPECT_FALSE(parse_fit_params_answer(""));
}

// --- mirroring the plan onto its flags ------------------------------------------------------

ResolvedConfig config(uint32_t n_ctx, uint32_t n_seq, bool unified)
{
    ResolvedConfig c;
    c.n_ctx = n_ctx;
    c.n_seq = n_seq;
    c.n_ctx_per_slot = unified ? n_ctx : n_ctx / n_seq;
    c.kv_unified = unified;
    return c;
}

// The value after `flag` in `args`, or "" when the flag is absent.
std::string value_of(const std::vector<std::string>& args, const std::string& flag)
{
    auto it = std::find(args.begin(), args.end(), flag);
    if (it == args.end() || it + 1 == args.end()) {
        return "";
    }
    return *(it + 1);
}

bool has(const std::vector<std::string>& args, const std::string& flag)
{
    return std::find(args.begin(), args.end(), flag) != args.end();
}

TEST(FitParamsInvocation, TheEstimateGetsTheResolvedConfigurationExplicitly)
{
    OracleQuery q;
    q.model_path = "/models/m.gguf";
    q.config = config(8192, 2, false);
    q.config.cache_type_k = gguf::TensorType::q8_0;
    q.config.cache_type_v = gguf::TensorType::q4_0;
    q.config.flash_attn = true;
    q.config.n_gpu_layers = 29;
    q.config.n_cpu_moe = 5;
    q.config.n_batch = 1024;
    q.config.n_ubatch = 256;
    q.config.swa_full = true;
    q.config.op_offload = false;
    const auto inv = fit_params_invocation(q);
    const auto& a = inv.estimate_args;
    EXPECT_EQ(value_of(a, "-m"), "/models/m.gguf");
    EXPECT_EQ(value_of(a, "--fit-print"), "on");
    EXPECT_EQ(value_of(a, "-c"), "8192");
    EXPECT_EQ(value_of(a, "-np"), "2");
    EXPECT_EQ(value_of(a, "-ctk"), "q8_0");
    EXPECT_EQ(value_of(a, "-ctv"), "q4_0");
    EXPECT_EQ(value_of(a, "-fa"), "on");
    EXPECT_EQ(value_of(a, "-ngl"), "29");
    EXPECT_EQ(value_of(a, "-ncmoe"), "5");
    EXPECT_EQ(value_of(a, "-b"), "1024");
    EXPECT_EQ(value_of(a, "-ub"), "256");
    EXPECT_TRUE(has(a, "--swa-full"));
    EXPECT_TRUE(has(a, "--no-op-offload"));
    EXPECT_FALSE(has(a, "-dev"));
    EXPECT_TRUE(inv.fit_args.empty());
    EXPECT_TRUE(inv.not_passed.empty());
}

TEST(FitParamsInvocation, AUnifiedCacheOfSeveralSlotsIsAskedAsOneSlotAndSaidSo)
{
    OracleQuery q;
    q.model_path = "m.gguf";
    q.config = config(16384, 4, true);
    q.config.flash_attn = false;
    const auto inv = fit_params_invocation(q);
    EXPECT_EQ(value_of(inv.estimate_args, "-np"), "1");
    EXPECT_EQ(value_of(inv.estimate_args, "-c"), "16384");
    EXPECT_EQ(value_of(inv.estimate_args, "-fa"), "off");
    EXPECT_FALSE(has(inv.estimate_args, "-ncmoe")); // none asked
    EXPECT_FALSE(has(inv.estimate_args, "--swa-full"));
    EXPECT_FALSE(has(inv.estimate_args, "--no-op-offload"));
    ASSERT_EQ(inv.not_passed.size(), 1U);
    EXPECT_THAT(inv.not_passed[0], HasSubstr("--kv-unified"));
    EXPECT_THAT(inv.not_passed[0], HasSubstr("4 slots"));

    // One slot: unified or not is the same cache, nothing to say.
    q.config = config(4096, 1, true);
    EXPECT_TRUE(fit_params_invocation(q).not_passed.empty());
}

TEST(FitParamsInvocation, TheCpuBackendIsAskedWithoutDevices)
{
    OracleQuery q;
    q.model_path = "m.gguf";
    q.config = config(4096, 1, false);
    q.cpu_only = true;
    const auto inv = fit_params_invocation(q);
    EXPECT_EQ(value_of(inv.estimate_args, "-dev"), "none");
    EXPECT_FALSE(has(inv.estimate_args, "-ngl"));
}

TEST(FitParamsInvocation, TheFitGetsOnlyWhatWasPinnedPlusItsTarget)
{
    OracleQuery q;
    q.model_path = "m.gguf";
    q.config = config(4096, 1, false); // ours, after fitting
    q.config.n_gpu_layers = 10;
    ResolvedConfig as_given = config(131072, 1, false);
    as_given.n_gpu_layers = 49;
    as_given.cache_type_k = gguf::TensorType::q8_0;
    q.fit_from = as_given;
    q.margin_mib = 2048;
    auto inv = fit_params_invocation(q);
    EXPECT_EQ(value_of(inv.estimate_args, "-c"), "4096");
    const auto& f = inv.fit_args;
    EXPECT_EQ(value_of(f, "-m"), "m.gguf");
    EXPECT_FALSE(has(f, "-c"));
    EXPECT_FALSE(has(f, "-ngl"));
    EXPECT_FALSE(has(f, "--fit-print"));
    EXPECT_EQ(value_of(f, "-ctk"), "q8_0");
    EXPECT_EQ(value_of(f, "--fit-target"), "2048");

    q.pinned_ctx = 65536;
    q.pinned_ngl = -1;
    q.margin_mib.reset();
    inv = fit_params_invocation(q);
    EXPECT_EQ(value_of(inv.fit_args, "-c"), "65536");
    EXPECT_EQ(value_of(inv.fit_args, "-ngl"), "-1");
    EXPECT_FALSE(has(inv.fit_args, "--fit-target"));
}

TEST(FitParamsInvocation, SaysWhichPlanOptionsCannotBePassed)
{
    OracleQuery q;
    q.model_path = "m.gguf";
    q.config = config(4096, 1, false);
    q.config.spec_type = SpecType::draft_mtp;
    q.mmproj = true;
    q.assumed_gpu = true;
    q.vulkan = true;
    const auto inv = fit_params_invocation(q);
    ASSERT_EQ(inv.not_passed.size(), 4U);
    EXPECT_THAT(inv.not_passed[0], HasSubstr("--spec-type draft-mtp"));
    EXPECT_THAT(inv.not_passed[1], HasSubstr("--mmproj"));
    EXPECT_THAT(inv.not_passed[2], HasSubstr("--gpu"));
    EXPECT_THAT(inv.not_passed[3], HasSubstr("--backend vulkan"));
    EXPECT_FALSE(has(inv.estimate_args, "--spec-type"));
    EXPECT_FALSE(has(inv.estimate_args, "--mmproj"));

    q.config.spec_type = SpecType::draft_simple;
    q.mmproj = q.assumed_gpu = q.vulkan = false;
    const auto draft = fit_params_invocation(q);
    ASSERT_EQ(draft.not_passed.size(), 1U);
    EXPECT_THAT(draft.not_passed[0], HasSubstr("--model-draft"));
}

// --- lining the devices up ------------------------------------------------------------------

DevicePlan device(const std::string& name, bool gpu, uint64_t weights, uint64_t kv, uint64_t rs,
                  uint64_t compute)
{
    DevicePlan d;
    d.device.name = name;
    d.device.gpu = gpu;
    d.components.weights = weights;
    d.components.kv_cache = kv;
    d.components.recurrent_state = rs;
    d.components.compute_buffer = compute;
    d.components.output_buffer = 7 * k_mib;      // not in the oracle's numbers
    d.components.runtime_overhead = 457 * k_mib; // nor this
    return d;
}

TEST(OracleComparison, GpusLineUpInOrderAndTheHostWithTheHost)
{
    MemoryPlan p;
    p.devices = {device("GPU0", true, 1000 * k_mib, 300 * k_mib, 20 * k_mib, 200 * k_mib),
                 device("CPU", false, 50 * k_mib, 0, 0, 12 * k_mib)};
    const std::vector<OracleDeviceEstimate> e{{"CUDA0", 990, 320, 199}, {"Host", 50, 0, 11}};
    // The projector (100 MiB of our first device's weights) is not loaded by the oracle.
    const auto rows = compare_oracle_estimate(e, p, 100 * k_mib);
    ASSERT_EQ(rows.size(), 2U);
    ASSERT_TRUE(rows[0].oracle && rows[0].ours);
    EXPECT_EQ(rows[0].oracle->device, "CUDA0");
    EXPECT_EQ(rows[0].ours->device, "GPU0");
    EXPECT_EQ(rows[0].ours->weights, 900 * k_mib);
    EXPECT_EQ(rows[0].ours->context, 320 * k_mib); // KV + recurrent state
    EXPECT_EQ(rows[0].ours->compute, 200 * k_mib);
    ASSERT_TRUE(rows[1].oracle && rows[1].ours);
    EXPECT_EQ(rows[1].oracle->device, "Host");
    EXPECT_EQ(rows[1].ours->device, "CPU");
    EXPECT_EQ(rows[1].ours->weights, 50 * k_mib);
}

TEST(OracleComparison, AGpuTheOracleDoesNotSeeKeepsItsRowWithoutAnOracleSide)
{
    MemoryPlan p;
    p.devices = {device("GPU0", true, 1000 * k_mib, 300 * k_mib, 0, 200 * k_mib),
                 device("CPU", false, 50 * k_mib, 0, 0, 12 * k_mib)};
    const auto rows = compare_oracle_estimate({{"Host", 1050, 300, 210}}, p, 0);
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_FALSE(rows[0].oracle);
    ASSERT_TRUE(rows[0].ours);
    EXPECT_EQ(rows[0].ours->device, "GPU0");
    ASSERT_TRUE(rows[1].oracle && rows[1].ours);
    EXPECT_EQ(rows[1].oracle->model_mib, 1050U);

    // The CPU backend alone: one host device on each side.
    MemoryPlan cpu;
    cpu.devices = {device("CPU", false, 2 * k_mib, 16 * k_mib, 0, 34 * k_mib)};
    const auto one = compare_oracle_estimate({{"Host", 1, 16, 34}}, cpu, 0);
    ASSERT_EQ(one.size(), 1U);
    EXPECT_EQ(one[0].ours->context, 16 * k_mib);
}

// --- failures -------------------------------------------------------------------------------

TEST(FitParamsFailure, QuotesItsErrorLinesWithoutTheLogPrefix)
{
    const std::string err =
        "0.00.062.640 I llama_fit_params: printing estimated memory in MiB to stdout ...\n"
        "0.00.047.809 E gguf_init_from_file: failed to open GGUF file '/x.gguf' (No such file)\n"
        "0.00.048.013 E llama_model_load: error loading model: failed to load model from /x.gguf\n"
        "terminate called after throwing an instance of 'std::runtime_error'\n"
        "  what():  failed to load model\n";
    const std::string s = summarize_fit_params_failure(err);
    EXPECT_THAT(s, HasSubstr("gguf_init_from_file: failed to open GGUF file"));
    EXPECT_THAT(s, HasSubstr("what():  failed to load model"));
    EXPECT_EQ(s.find("0.00.0"), std::string::npos) << s;
    EXPECT_EQ(s.find("printing estimated"), std::string::npos) << s;

    EXPECT_EQ(summarize_fit_params_failure("first\nthe last words\n\n"), "the last words");
    EXPECT_EQ(summarize_fit_params_failure(""), "it printed nothing on stderr");
}

} // namespace
} // namespace gpumod::plan
