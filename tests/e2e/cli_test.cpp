// The built gpumod binary, driven like a user drives it.

#include <cstdlib>
#include <fstream>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/run_gpumod.hpp"
#include "support/temp_dir.hpp"

namespace gpumod::testing {
namespace {

using ::testing::HasSubstr;

TEST(Cli, HelpTeachesTheSubcommandsAndEnvironment)
{
    auto r = run_gpumod({"--help"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (const char* word : {"status", "doctor", "version", "dev", "GPUMOD_DB", "GPUMOD_LLAMA_SERVER",
                             "Examples"}) {
        EXPECT_THAT(r.out, HasSubstr(word));
    }
}

TEST(Cli, VersionReportsVersionCommitAndBuildType)
{
    auto r = run_gpumod({"version", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_FALSE(j.at("version").get<std::string>().empty());
    EXPECT_FALSE(j.at("git_commit").get<std::string>().empty());
    EXPECT_FALSE(j.at("build_type").get<std::string>().empty());
    auto text = run_gpumod({"version"});
    EXPECT_THAT(text.out, HasSubstr(j.at("version").get<std::string>()));
    EXPECT_THAT(text.out, HasSubstr(j.at("git_commit").get<std::string>()));
}

TEST(Cli, UnknownFlagIsAUsageErrorWithANextStep)
{
    auto r = run_gpumod({"status", "--no-such-flag"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("--no-such-flag"));
    EXPECT_THAT(r.err, HasSubstr("--help"));
    EXPECT_TRUE(r.out.empty());
}

TEST(Cli, UnknownSubcommandIsAUsageError)
{
    auto r = run_gpumod({"frobnicate"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr("frobnicate"));
}

TEST(Cli, StatusJsonReportsTheFakeNvmlGpusExactly)
{
    TempDir dir;
    auto r = run_gpumod({"status", "--json", "--db", (dir.path() / "g.db").string()},
                        {{"GPUMOD_NVML_LIBRARY", GPUMOD_FAKE_NVML_PATH},
                         {"XDG_STATE_HOME", (dir.path() / "state").string()}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("state"), "ok");
    EXPECT_TRUE(j.at("services").empty()) << "a fresh database has no services";
    EXPECT_TRUE(j.at("mode").is_null());
    EXPECT_EQ(j.at("driver_version"), "550.54.15");
    EXPECT_EQ(j.at("nvml_version"), "12.550.54.15");
    const auto& gpus = j.at("gpus");
    ASSERT_EQ(gpus.size(), 2U);
    EXPECT_EQ(gpus[0].at("index"), 0);
    EXPECT_EQ(gpus[0].at("name"), "NVIDIA GeForce RTX 4090");
    EXPECT_EQ(gpus[0].at("memory").at("total_bytes"), 25757220864ULL);
    EXPECT_EQ(gpus[0].at("memory").at("used_bytes"), 3221225472ULL);
    EXPECT_EQ(gpus[0].at("memory").at("free_bytes"), 22535995392ULL);
    EXPECT_EQ(gpus[0].at("utilization_percent"), 37);
    EXPECT_EQ(gpus[0].at("temperature_c"), 61);
    EXPECT_DOUBLE_EQ(gpus[0].at("power_w").get<double>(), 285.5);
    ASSERT_EQ(gpus[0].at("processes").size(), 1U);
    EXPECT_EQ(gpus[0].at("processes")[0].at("pid"), 4242);
    EXPECT_EQ(gpus[1].at("name"), "NVIDIA H100 80GB HBM3");
    EXPECT_EQ(gpus[1].at("memory").at("total_bytes"), 85520809984ULL);
    EXPECT_EQ(gpus[1].at("memory").at("used_bytes"), 552599552ULL);
    EXPECT_EQ(gpus[1].at("memory").at("free_bytes"), 84968210432ULL);
    EXPECT_DOUBLE_EQ(gpus[1].at("power_w").get<double>(), 70.25);
    EXPECT_TRUE(gpus[1].at("processes").empty());
}

TEST(Cli, StatusTableShowsBothGpusAligned)
{
    auto r = run_gpumod({"status"}, {{"GPUMOD_NVML_LIBRARY", GPUMOD_FAKE_NVML_PATH}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("NVIDIA GeForce RTX 4090"));
    EXPECT_THAT(r.out, HasSubstr("NVIDIA H100 80GB HBM3"));
    EXPECT_THAT(r.out, HasSubstr("550.54.15"));
}

TEST(Cli, StatusWithoutNvmlIsANormalState)
{
    auto r = run_gpumod({"status", "--json"},
                        {{"GPUMOD_NVML_LIBRARY", ""}, {"LD_LIBRARY_PATH", "/nonexistent"}});
    // On a machine with a real driver this reports real GPUs; either way it is not an error.
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_TRUE(j.at("state") == "ok" || j.at("state") == "no_gpu") << r.out;
}

TEST(Cli, StatusWithAnUnloadableExplicitLibraryNamesTheVariable)
{
    auto r = run_gpumod({"status"}, {{"GPUMOD_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1"}});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_THAT(r.out + r.err, HasSubstr("GPUMOD_NVML_LIBRARY"));
}

TEST(Cli, DoctorPassesWithEverythingInPlaceAndReportsEachCheck)
{
    TempDir dir;
    const auto db = dir.path() / "state" / "gpumod.db";
    auto r = run_gpumod({"doctor", "--json", "--db", db.string()});
    auto j = nlohmann::json::parse(r.out);
    std::map<std::string, nlohmann::json> checks;
    for (const auto& c : j.at("checks")) {
        checks[c.at("name").get<std::string>()] = c;
    }
    for (const char* name : {"llama-server", "python3 + pytest", "bubblewrap", "nvml", "database"}) {
        ASSERT_TRUE(checks.count(name)) << "missing check " << name << "\n" << r.out;
    }
    EXPECT_EQ(checks["database"].at("level"), "ok") << r.out;
    EXPECT_THAT(checks["database"].at("detail").get<std::string>(), HasSubstr(db.string()));
    EXPECT_TRUE(std::filesystem::exists(db));
    if (std::getenv("GPUMOD_LLAMA_SERVER") != nullptr) {
        EXPECT_EQ(checks["llama-server"].at("level"), "ok") << r.out;
        EXPECT_THAT(checks["llama-server"].at("detail").get<std::string>(), HasSubstr("version"));
    }
    const bool all_ok = j.at("ok").get<bool>();
    EXPECT_EQ(r.exit_code, all_ok ? 0 : 1);
}

TEST(Cli, DoctorFailsAndSaysHowToFixAMissingLlamaServer)
{
    TempDir dir;
    auto r = run_gpumod({"doctor", "--db", (dir.path() / "g.db").string()},
                        {{"GPUMOD_LLAMA_SERVER", "/nonexistent/llama-server"}});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.out, HasSubstr("FAIL"));
    EXPECT_THAT(r.out, HasSubstr("GPUMOD_LLAMA_SERVER"));
}

TEST(Cli, DoctorFailsOnAnUnwritableDatabasePath)
{
    TempDir dir;
    const auto file = dir.path() / "a-file";
    std::ofstream(file) << "x";
    auto r = run_gpumod({"doctor", "--json"}, {{"GPUMOD_DB", (file / "sub" / "g.db").string()}});
    EXPECT_EQ(r.exit_code, 1);
    auto j = nlohmann::json::parse(r.out);
    bool found = false;
    for (const auto& c : j.at("checks")) {
        if (c.at("name") == "database") {
            found = true;
            EXPECT_EQ(c.at("level"), "failure");
            EXPECT_THAT(c.at("fix").get<std::string>(), HasSubstr("GPUMOD_DB"));
        }
    }
    EXPECT_TRUE(found);
}

TEST(Cli, MakeModelRefusesToOverwriteAndLeavesTheFileIntact)
{
    TempDir dir;
    const auto path = dir.path() / "m.gguf";
    auto first = run_gpumod({"dev", "make-model", path.string(), "--json"});
    ASSERT_EQ(first.exit_code, 0) << first.err;
    const auto size = std::filesystem::file_size(path);
    auto j = nlohmann::json::parse(first.out);
    EXPECT_EQ(j.at("bytes").get<std::uintmax_t>(), size) << first.out;
    auto again = run_gpumod({"dev", "make-model", path.string(), "--kind", "random"});
    EXPECT_NE(again.exit_code, 0);
    EXPECT_THAT(again.err, HasSubstr("--force"));
    EXPECT_EQ(std::filesystem::file_size(path), size);
}

TEST(Cli, MakeModelIntoAMissingDirectoryFailsWithoutLeavingFiles)
{
    TempDir dir;
    auto r = run_gpumod({"dev", "make-model", (dir.path() / "no" / "such" / "m.gguf").string()});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_THAT(r.err, HasSubstr("no/such"));
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(Cli, SmokeRunsARealServerAndRecordsTheRun)
{
    if (std::getenv("GPUMOD_LLAMA_SERVER") == nullptr) {
        GTEST_SKIP() << "no llama-server: run scripts/setup-llama-server";
    }
    TempDir dir;
    const auto db = dir.path() / "g.db";
    auto r = run_gpumod({"dev", "smoke", "--json", "--db", db.string(), "--work-dir",
                         (dir.path() / "work").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("reply").at("content"), "Hello world!");
    EXPECT_EQ(j.at("reply").at("reasoning_content"), "Let me think.");
    EXPECT_EQ(j.at("reply").at("finish_reason"), "stop");
    EXPECT_EQ(j.at("timings").at("predicted_n"), 10);
    EXPECT_TRUE(j.at("stopped").at("process_group_gone").get<bool>());
    EXPECT_GT(j.at("client").at("time_to_first_token_ms").get<double>(), 0.0);
    EXPECT_THAT(j.at("database").get<std::string>(), HasSubstr("recorded"));
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "work" / "llama-server.log"));
}

TEST(Cli, SmokeWithoutLlamaServerSaysHowToGetOne)
{
    TempDir dir;
    auto r = run_gpumod({"dev", "smoke", "--db", (dir.path() / "g.db").string()},
                        {{"GPUMOD_LLAMA_SERVER", (dir.path() / "missing").string()}});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_THAT(r.err, HasSubstr("GPUMOD_LLAMA_SERVER"));
}

} // namespace
} // namespace gpumod::testing
