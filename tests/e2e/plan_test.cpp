// `gpumod plan --json` against the real llama-server: the same tiny models and flags, the
// server's own buffer lines ("<dev> model buffer size = X MiB", "KV buffer", "RS buffer",
// "compute buffer", "output buffer") parsed from its log, compared per component.

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/llama_fixture.hpp"
#include "support/run_gpumod.hpp"
#include "support/temp_dir.hpp"

namespace gpumod::testing {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

constexpr double k_mib = 1024.0 * 1024.0;

// Buffer sizes of one llama_context (the main one is context 0; draft-mtp adds context 1).
struct ContextBuffers
{
    double kv = 0;
    double rs = 0;
    double compute = 0;
    double output = 0;
};

struct ServerBuffers
{
    double model = 0; // every "model buffer" line
    std::vector<ContextBuffers> contexts;
};

ServerBuffers parse_buffers(const std::string& log)
{
    ServerBuffers b;
    static const std::regex line(R"((model|KV|RS|compute|output) buffer size = +([0-9.]+) MiB)");
    std::istringstream in(log);
    std::string text;
    while (std::getline(in, text)) {
        if (text.find("constructing llama_context") != std::string::npos) {
            b.contexts.emplace_back();
            continue;
        }
        std::smatch m;
        if (!std::regex_search(text, m, line)) {
            continue;
        }
        const double mib = std::stod(m[2].str());
        const std::string kind = m[1].str();
        if (kind == "model") {
            b.model += mib;
            continue;
        }
        if (b.contexts.empty()) {
            continue;
        }
        auto& c = b.contexts.back();
        if (kind == "KV") {
            c.kv += mib;
        } else if (kind == "RS") {
            c.rs += mib;
        } else if (kind == "compute") {
            c.compute = std::max(c.compute, mib); // reserved twice for an MTP context
        } else {
            c.output += mib;
        }
    }
    return b;
}

std::string read_file(const std::filesystem::path& path)
{
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

double mib_of(const json& j, const char* key)
{
    return j.at(key).get<double>() / k_mib;
}

// llama-server prints two decimals: allow its rounding plus the stated tolerance.
void expect_close(double predicted, double reported, double relative, const std::string& what)
{
    const double tolerance = std::max(relative * reported, 0.011);
    EXPECT_NEAR(predicted, reported, tolerance) << what;
}

class PlanVsLlamaServer : public ::testing::Test
{
protected:
    void SetUp() override
    {
        if (!llama_server_for_tests()) {
            GTEST_SKIP() << "no llama-server: run scripts/setup-llama-server or set "
                            "GPUMOD_LLAMA_SERVER";
        }
    }

    // Plans `model` with `flags`, starts llama-server with the same flags, compares.
    void compare(const std::filesystem::path& model, const std::vector<std::string>& flags)
    {
        std::vector<std::string> plan_args{"plan", model.string(), "--json", "--gpu", "none"};
        plan_args.insert(plan_args.end(), flags.begin(), flags.end());
        auto planned = run_gpumod(plan_args);
        ASSERT_EQ(planned.exit_code, 0) << planned.err;
        const json j = json::parse(planned.out);
        ASSERT_EQ(j.at("devices").size(), 1U);
        const json& c = j.at("devices").at(0).at("components");

        std::vector<std::string> server_args{"-lv", "4", "--fit", "off", "--no-warmup"};
        server_args.insert(server_args.end(), flags.begin(), flags.end());
        auto server = start_server(m_dir.path(), model, server_args);
        ASSERT_TRUE(server) << server.error().message;
        const auto log_path = server->log_path();
        server->stop();
        const ServerBuffers b = parse_buffers(read_file(log_path));
        ASSERT_FALSE(b.contexts.empty()) << read_file(log_path);

        std::string what;
        for (const auto& f : flags) {
            what += f + " ";
        }
        const auto& main = b.contexts.front();
        // The log was parsed: every model has weights, a KV cache and a compute buffer.
        ASSERT_GT(b.model, 0.0);
        ASSERT_GT(main.kv, 0.0);
        ASSERT_GT(main.compute, 0.0);
        expect_close(mib_of(c, "weights"), b.model, 0.01, "weights " + what);
        expect_close(mib_of(c, "kv_cache"), main.kv, 0.01, "KV " + what);
        expect_close(mib_of(c, "recurrent_state"), main.rs, 0.01, "RS " + what);
        expect_close(mib_of(c, "compute_buffer"), main.compute, 0.10, "compute " + what);
        expect_close(mib_of(c, "output_buffer"), main.output, 0.01, "output " + what);
        const json& mtp = j.at("mtp_detail");
        if (b.contexts.size() > 1) {
            const auto& m = b.contexts.at(1);
            expect_close(mib_of(mtp, "kv_cache"), m.kv, 0.01, "MTP KV " + what);
            expect_close(mib_of(mtp, "compute_buffer"), m.compute, 0.10, "MTP compute " + what);
        } else {
            EXPECT_EQ(mtp.at("kv_cache").get<uint64_t>(), 0U) << what;
        }
        // The total is never under-predicted by more than 1%.
        double reported = b.model;
        for (const auto& ctx : b.contexts) {
            reported += ctx.kv + ctx.rs + ctx.compute + ctx.output;
        }
        const double predicted = j.at("devices").at(0).at("total").get<double>() / k_mib;
        EXPECT_GE(predicted, reported * 0.99 - 0.02) << "total " << what;
    }

    TempDir m_dir;
};

TEST_F(PlanVsLlamaServer, ScriptedLlamaAcrossContextSlotsAndCacheTypes)
{
    auto model = make_model(m_dir.path(), "llama.gguf", {});
    ASSERT_TRUE(model) << model.error().message;
    compare(*model, {"-c", "4096", "-np", "1"});
    compare(*model, {"-c", "8192", "-np", "4", "-ctk", "q8_0", "-ctv", "q4_0", "-fa", "on"});
    compare(*model, {"-c", "4000", "-np", "2", "-fa", "off"});
    compare(*model, {"-c", "16384"}); // auto slots: 4 sharing a unified cache
}

TEST_F(PlanVsLlamaServer, Qwen35HybridWithAndWithoutMtp)
{
    auto model = make_model(m_dir.path(), "mtp.gguf", {"--kind", "mtp"});
    ASSERT_TRUE(model) << model.error().message;
    compare(*model, {"-c", "4096", "-np", "1"});
    compare(*model, {"-c", "8192", "-np", "2", "--spec-type", "draft-mtp"});
    compare(*model, {"-c", "4096", "-np", "1", "--spec-type", "draft-mtp", "--spec-draft-n-max",
                     "5", "-ctk", "q8_0", "-ctv", "q8_0"});
}

TEST(Plan, RefusesQuantizedVWithoutFlashAttentionLikeLlamaServer)
{
    TempDir dir;
    auto model = make_model(dir.path(), "llama.gguf", {});
    ASSERT_TRUE(model) << model.error().message;
    auto r = run_gpumod({"plan", model->string(), "--gpu", "none", "-ctv", "q4_0", "-fa", "off"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("flash attention"));
    EXPECT_THAT(r.err, HasSubstr("--flash-attn on"));
}

TEST(Plan, MissingFileNotGgufAndPresetIdsSayWhatToDo)
{
    TempDir dir;
    auto missing = run_gpumod({"plan", (dir.path() / "nope.gguf").string()});
    EXPECT_EQ(missing.exit_code, 3);
    EXPECT_THAT(missing.err, HasSubstr("not found"));

    const auto text = dir.path() / "notes.gguf";
    std::ofstream(text) << "hello";
    auto bad = run_gpumod({"plan", text.string()});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_THAT(bad.err, HasSubstr("not a readable GGUF"));

    auto preset = run_gpumod({"plan", "qwen36-mtp"});
    EXPECT_EQ(preset.exit_code, 2);
    EXPECT_THAT(preset.err, HasSubstr("pass the path"));
}

// `gpumod plan PRESET_ID`: the preset's typed options and its extra_args, as its service
// would run them; flags on the command line win.
TEST(Plan, PresetIdPlansItsServiceFlagsAndCommandLineOverrides)
{
    TempDir dir;
    auto model = make_model(dir.path(), "chat.gguf", {});
    ASSERT_TRUE(model) << model.error().message;
    std::filesystem::create_directories(dir.path() / "config/gpumod/presets");
    std::filesystem::create_directories(dir.path() / "data/presets");
    std::ofstream(dir.path() / "config/gpumod/presets/chat.yaml")
        << "id: chat\nport: 7301\nmodel_path: " << model->string()
        << "\nllamacpp:\n  ctx: 8192\n  parallel: 2\n  cache_type_k: q8_0\n"
           "  cache_type_v: q8_0\n  flash_attn: on\n  extra_args: [-ub, '256', --swa-full]\n";
    const std::map<std::string, std::string> env{
        {"HOME", dir.path().string()},
        {"XDG_CONFIG_HOME", (dir.path() / "config").string()},
        {"GPUMOD_DATA_DIR", (dir.path() / "data").string()}};

    auto r = run_gpumod({"plan", "chat", "--gpu", "none", "--json"}, env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j.at("model").at("preset"), "chat");
    EXPECT_EQ(j.at("model").at("path"), model->string());
    const json& c = j.at("config");
    EXPECT_EQ(c.at("n_ctx"), 8192);
    EXPECT_EQ(c.at("n_ctx_per_slot"), 4096);
    EXPECT_EQ(c.at("kv_unified"), false);
    EXPECT_EQ(c.at("cache_type_k"), "q8_0");
    EXPECT_EQ(c.at("n_ubatch"), 256); // from extra_args
    EXPECT_EQ(c.at("swa_full"), true);

    // llama-server's spellings on the command line override the preset's values.
    r = run_gpumod({"plan", "chat", "--gpu", "none", "--json", "-c", "4096", "-ctk", "f16", "-ub",
                    "512", "-b", "1024", "-kvu", "-ctkd", "q8_0", "-ctvd", "q4_0"},
                   env);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    j = json::parse(r.out);
    EXPECT_EQ(j.at("config").at("n_ctx"), 4096);
    EXPECT_EQ(j.at("config").at("n_ctx_per_slot"), 4096); // unified: every slot sees it all
    EXPECT_EQ(j.at("config").at("kv_unified"), true);
    EXPECT_EQ(j.at("config").at("cache_type_k"), "f16");
    EXPECT_EQ(j.at("config").at("cache_type_v"), "q8_0"); // still the preset's
    EXPECT_EQ(j.at("config").at("n_ubatch"), 512);
    EXPECT_EQ(j.at("config").at("n_batch"), 1024);
    EXPECT_EQ(j.at("config").at("cache_type_k_draft"), "q8_0");
    EXPECT_EQ(j.at("config").at("cache_type_v_draft"), "q4_0");

    auto typo = run_gpumod({"plan", "chta", "--gpu", "none"}, env);
    EXPECT_EQ(typo.exit_code, 2);
    EXPECT_THAT(typo.err, HasSubstr("did you mean preset 'chat'"));
}

TEST(Plan, DoesNotFitOnASmallGpuAndRanksFallbacks)
{
    TempDir dir;
    auto model = make_model(dir.path(), "llama.gguf", {});
    ASSERT_TRUE(model) << model.error().message;
    // 718 MiB of CUDA runtime (start-up + cuBLAS for the F32 weights) + ~52 MiB at the model's
    // 32768 context > 745 MiB; a shorter context fits. Flash attention pinned on: the tiny
    // model's 32-wide heads have no CUDA kernel, so auto would turn it off.
    auto r = run_gpumod({"plan", model->string(), "--gpu", "745MiB", "-np", "1", "--flash-attn",
                         "on", "--json"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j.at("verdict"), "does_not_fit");
    EXPECT_EQ(j.at("devices").at(0).at("kind"), "gpu");
    EXPECT_LT(j.at("devices").at(0).at("headroom").get<int64_t>(), 0);
    const json& fallbacks = j.at("fallbacks");
    ASSERT_FALSE(fallbacks.empty());
    EXPECT_EQ(fallbacks.at(0).at("rank"), 1);
    EXPECT_EQ(fallbacks.at(0).at("kind"), "reduce_ctx");
    EXPECT_TRUE(fallbacks.at(0).at("fits").get<bool>());
    // llama-server would fit it itself (the context was not pinned): both are reported.
    EXPECT_TRUE(j.contains("fit"));

    auto human = run_gpumod(
        {"plan", model->string(), "--gpu", "745MiB", "-np", "1", "--flash-attn", "on"});
    EXPECT_THAT(human.out, HasSubstr("does not fit"));
    EXPECT_THAT(human.out, HasSubstr("--ctx-size"));
}

TEST(Plan, UsesNvmlGpusWhenPresent)
{
    TempDir dir;
    auto model = make_model(dir.path(), "llama.gguf", {});
    ASSERT_TRUE(model) << model.error().message;
    auto r = run_gpumod({"plan", model->string(), "-c", "4096", "--json"},
                        {{"GPUMOD_NVML_LIBRARY", GPUMOD_FAKE_NVML_PATH}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json j = json::parse(r.out);
    ASSERT_GE(j.at("devices").size(), 2U);
    EXPECT_EQ(j.at("devices").at(0).at("name"), "GPU0");
    EXPECT_EQ(j.at("devices").at(0).at("backend"), "cuda");
    EXPECT_GT(j.at("devices").at(0).at("free").get<uint64_t>(), 0U);
    EXPECT_EQ(j.at("devices").back().at("kind"), "host");
}

} // namespace
} // namespace gpumod::testing
