// `gpumod plan --oracle`: the built gpumod asks the real llama-fit-params (Debian sid's
// llama.cpp-tools-extra, found the way gpumod finds it) about generated tiny models, and its
// Host estimate must agree with our CPU prediction, so a broken parser or a flag that is not
// mirrored fails here. Stand-in scripts cover the oracle's absence and its garbage.

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/llama/llama_fit_params.hpp"
#include "support/llama_fixture.hpp"
#include "support/run_gpumod.hpp"
#include "support/temp_dir.hpp"

namespace gpumod::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr double k_mib = 1024.0 * 1024.0;

std::optional<std::filesystem::path> oracle_for_tests()
{
    auto found = llama::find_llama_fit_params(llama::fit_params_search_from_environment());
    if (!found) {
        return std::nullopt;
    }
    return found->path;
}

// The value after `flag` in a JSON argv, or "" when absent.
std::string value_of(const json& argv, const std::string& flag)
{
    for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
        if (argv.at(i) == flag) {
            return argv.at(i + 1).get<std::string>();
        }
    }
    return "";
}

bool has(const json& argv, const std::string& flag)
{
    return std::any_of(argv.begin(), argv.end(), [&](const json& a) { return a == flag; });
}

class PlanOracle : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        m_oracle = oracle_for_tests();
        if (!m_oracle) {
            GTEST_SKIP() << "no llama-fit-params: scripts/setup-llama-server --with-tools-extra "
                            "provides it (Debian sid's llama.cpp-tools-extra), or set "
                            "GPUMOD_LLAMA_FIT_PARAMS";
        }
    }

    // Plans `model` with `flags` on the CPU backend with --oracle; checks that the oracle's
    // Host line agrees with our prediction and returns the oracle object.
    json compare(const std::filesystem::path& model, const std::vector<std::string>& flags)
    {
        std::vector<std::string> args{"plan", model.string(), "--gpu",
                                      "none", "--oracle",     "--json"};
        args.insert(args.end(), flags.begin(), flags.end());
        auto r = run_gpumod(args);
        std::string what;
        for (const auto& f : flags) {
            what += f + " ";
        }
        EXPECT_EQ(r.exit_code, 0) << what << r.err;
        const json j = json::parse(r.out);
        const json& o = j.at("oracle");
        EXPECT_TRUE(o.at("available").get<bool>()) << what << o.dump();
        EXPECT_EQ(o.at("path"), m_oracle->string());
        EXPECT_TRUE(o.at("estimate").at("error").is_null()) << what << o.dump();
        const json& devices = o.at("estimate").at("devices");
        EXPECT_EQ(devices.size(), 1U) << what << o.dump();
        if (devices.size() != 1U) {
            return o;
        }
        const json& host = devices.at(0);
        EXPECT_EQ(host.at("device"), "Host");
        EXPECT_EQ(host.at("ours").at("device"), "CPU");

        // Our components are exact bytes and the oracle's are rounded down to whole MiB.
        const double weights = host.at("ours").at("weights").get<double>() / k_mib;
        const double context = host.at("ours").at("context").get<double>() / k_mib;
        const double compute = host.at("ours").at("compute").get<double>() / k_mib;
        const auto oracle_model = host.at("model_mib").get<double>();
        const auto oracle_context = host.at("context_mib").get<double>();
        const auto oracle_compute = host.at("compute_mib").get<double>();
        EXPECT_EQ(oracle_model, std::floor(weights)) << "model " << what;
        EXPECT_GE(context, oracle_context - 0.05) << "context " << what;
        EXPECT_LT(context, oracle_context + 1.05) << "context " << what;
        // Compute buffers: ours is within 10% of llama-server's (docs/plan.md), plus rounding.
        EXPECT_NEAR(compute, oracle_compute + 0.5, 0.10 * oracle_compute + 0.6)
            << "compute " << what;
        // Both sides are about the same configuration: our resolved one, passed explicitly.
        const json& argv = o.at("estimate").at("argv");
        const json& config = j.at("config");
        EXPECT_EQ(value_of(argv, "-c"), std::to_string(config.at("n_ctx").get<int>())) << what;
        EXPECT_EQ(value_of(argv, "-ctk"), config.at("cache_type_k").get<std::string>());
        EXPECT_EQ(value_of(argv, "-ub"), std::to_string(config.at("n_ubatch").get<int>()));
        EXPECT_EQ(value_of(argv, "-dev"), "none");
        return o;
    }

    std::optional<std::filesystem::path> m_oracle;
    TempDir m_dir;
};

TEST_F(PlanOracle, HostEstimateAgreesWithOursAcrossContextSlotsAndCacheTypes)
{
    auto model = make_model(m_dir.path(), "llama.gguf", {});
    ASSERT_TRUE(model) << model.error().message;
    // Without flash attention the KQ matrix makes the compute buffer ~320 MiB: a flag that is
    // not passed on shows at once.
    compare(*model, {"-c", "32768", "-np", "1", "-fa", "off"});
    compare(*model, {"-c", "32768", "-np", "4", "-ctk", "q8_0", "-ctv", "q8_0", "-fa", "on"});
    compare(*model, {"-c", "8192", "-np", "1", "-ub", "2048", "-b", "2048"});
    // Auto slots: 4 sharing one cache, which llama-fit-params is asked as one slot.
    const json unified = compare(*model, {"-c", "16384"});
    EXPECT_EQ(value_of(unified.at("estimate").at("argv"), "-np"), "1");
    ASSERT_EQ(unified.at("not_passed").size(), 1U);
    EXPECT_THAT(unified.at("not_passed").at(0).get<std::string>(), HasSubstr("--kv-unified"));
}

TEST_F(PlanOracle, HybridRecurrentModelAgreesToo)
{
    auto model = make_model(m_dir.path(), "mtp.gguf", {"--kind", "mtp"});
    ASSERT_TRUE(model) << model.error().message;
    compare(*model, {"-c", "4096", "-np", "1"});
    compare(*model, {"-c", "8192", "-np", "2", "-ctk", "q8_0", "-ctv", "q8_0"});
}

TEST_F(PlanOracle, TextShowsItsEstimateBesideOurs)
{
    auto model = make_model(m_dir.path(), "llama.gguf", {});
    ASSERT_TRUE(model) << model.error().message;
    auto r = run_gpumod({"plan", model->string(), "--gpu", "none", "-c", "4096", "--oracle"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("oracle (llama-fit-params"));
    EXPECT_THAT(r.out, HasSubstr(m_oracle->string()));
    EXPECT_THAT(r.out, HasSubstr("Host / CPU"));
    EXPECT_THAT(r.out, HasSubstr("model / weights"));
    EXPECT_THAT(r.out, HasSubstr("--fit-print on"));
}

// A plan that does not fit keeps its exit code; the oracle is also asked for its --fit answer,
// from the configuration as given (the context was not pinned, so no -c).
TEST_F(PlanOracle, DoesNotFitKeepsItsExitCodeAndAsksForTheFit)
{
    auto model = make_model(m_dir.path(), "llama.gguf", {});
    ASSERT_TRUE(model) << model.error().message;
    auto r = run_gpumod({"plan", model->string(), "--gpu", "480MiB", "-np", "1", "--oracle",
                         "--json", "--margin", "256"});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j.at("verdict"), "does_not_fit");
    const json& o = j.at("oracle");
    ASSERT_TRUE(o.at("available").get<bool>()) << o.dump();
    const json& fit = o.at("fit");
    ASSERT_TRUE(fit.is_object()) << o.dump();
    EXPECT_FALSE(has(fit.at("argv"), "-c"));
    EXPECT_FALSE(has(fit.at("argv"), "--fit-print"));
    EXPECT_EQ(value_of(fit.at("argv"), "--fit-target"), "256");
    EXPECT_EQ(value_of(fit.at("argv"), "-np"), "1");
    EXPECT_TRUE(fit.at("ours").is_object());
    EXPECT_EQ(fit.at("ours").at("n_ctx"), j.at("fit").at("config").at("n_ctx"));
    if (fit.at("fitted").get<bool>()) {
        // Its --fit keeps at least --fit-ctx (4096) and at most the model's 32768.
        EXPECT_GE(fit.at("n_ctx").get<int>(), 4096) << fit.dump();
        EXPECT_LE(fit.at("n_ctx").get<int>(), 32768) << fit.dump();
        EXPECT_EQ(fit.at("args").get<std::string>().rfind("-c ", 0), 0U) << fit.dump();
    } else {
        EXPECT_FALSE(fit.at("error").is_null()) << fit.dump();
    }
    // The estimate is of our main prediction: the configuration as given, on the GPU.
    EXPECT_EQ(value_of(o.at("estimate").at("argv"), "-c"), "32768");
    EXPECT_FALSE(has(o.at("estimate").at("argv"), "-dev"));
}

// --- without the real tool --------------------------------------------------------------------

std::filesystem::path write_script(const std::filesystem::path& path, const std::string& body)
{
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0755);
    return path;
}

TEST(PlanOracleAbsent, SaysHowToGetItAndKeepsTheExitCode)
{
    TempDir dir;
    auto model = make_model(dir.path(), "llama.gguf", {});
    ASSERT_TRUE(model) << model.error().message;
    // Nothing to find: no override, no llama-server, an empty cache, a PATH without it.
    const std::map<std::string, std::string> env{{"GPUMOD_LLAMA_FIT_PARAMS", ""},
                                                 {"GPUMOD_LLAMA_SERVER", ""},
                                                 {"HOME", dir.path().string()},
                                                 {"XDG_CACHE_HOME", (dir.path() / "c").string()},
                                                 {"PATH", (dir.path() / "bin").string()}};
    auto text = run_gpumod({"plan", model->string(), "--gpu", "none", "--oracle"}, env);
    EXPECT_EQ(text.exit_code, 0) << text.err;
    EXPECT_THAT(text.out, HasSubstr("oracle (llama-fit-params): not available"));
    EXPECT_THAT(text.out, HasSubstr("scripts/setup-llama-server --with-tools-extra"));
    EXPECT_EQ(text.err, "");

    auto j = run_gpumod(
        {"plan", model->string(), "--gpu", "480MiB", "-np", "1", "--oracle", "--json"}, env);
    EXPECT_EQ(j.exit_code, 1) << j.err; // does not fit, oracle or not
    const json o = json::parse(j.out).at("oracle");
    EXPECT_FALSE(o.at("available").get<bool>());
    EXPECT_THAT(o.at("error").get<std::string>(), HasSubstr("not found"));
    EXPECT_TRUE(o.at("estimate").is_null());

    // A set override that is no executable is named.
    auto bad = run_gpumod({"plan", model->string(), "--gpu", "none", "--oracle", "--json"},
                          {{"GPUMOD_LLAMA_FIT_PARAMS", (dir.path() / "nope").string()}});
    EXPECT_EQ(bad.exit_code, 0) << bad.err;
    EXPECT_THAT(json::parse(bad.out).at("oracle").at("error").get<std::string>(),
                HasSubstr("GPUMOD_LLAMA_FIT_PARAMS"));
}

TEST(PlanOracleAbsent, GarbageFromTheToolIsReportedWithTheLineAndChangesNothingElse)
{
    TempDir dir;
    auto model = make_model(dir.path(), "llama.gguf", {});
    ASSERT_TRUE(model) << model.error().message;
    const auto fake = write_script(dir.path() / "llama-fit-params",
                                   "case \"$1\" in --version) echo 'version: 9.9.9 (build 1, "
                                   "commit test)' >&2; exit 0;; esac\n"
                                   "echo 'Host 1 x 34'\n");
    auto r =
        run_gpumod({"plan", model->string(), "--gpu", "none", "-c", "4096", "--oracle", "--json"},
                   {{"GPUMOD_LLAMA_FIT_PARAMS", fake.string()}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json j = json::parse(r.out);
    EXPECT_EQ(j.at("verdict"), "fits");
    const json& o = j.at("oracle");
    EXPECT_TRUE(o.at("available").get<bool>());
    EXPECT_EQ(o.at("found_by"), "GPUMOD_LLAMA_FIT_PARAMS");
    EXPECT_EQ(o.at("version"), "9.9.9 (build 1, commit test)");
    EXPECT_TRUE(o.at("estimate").at("devices").is_null());
    const std::string error = o.at("estimate").at("error").get<std::string>();
    EXPECT_THAT(error, HasSubstr("line 1"));
    EXPECT_THAT(error, HasSubstr("'Host 1 x 34'"));

    // A tool that fails: its stderr's error line is quoted.
    write_script(fake, "echo '0.00.047.809 E gguf_init_from_file: failed to open GGUF file' >&2\n"
                       "exit 134\n");
    auto failed = run_gpumod({"plan", model->string(), "--gpu", "none", "--oracle"},
                             {{"GPUMOD_LLAMA_FIT_PARAMS", fake.string()}});
    EXPECT_EQ(failed.exit_code, 0) << failed.err;
    EXPECT_THAT(failed.out, HasSubstr("its estimate failed"));
    EXPECT_THAT(failed.out, HasSubstr("gguf_init_from_file: failed to open GGUF file"));
}

} // namespace
} // namespace gpumod::testing
