// The built gpumod binary, driven like a user drives it.

#include <fstream>

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
    auto r = run_gpumod({"status", "--json"}, {{"GPUMOD_NVML_LIBRARY", GPUMOD_FAKE_NVML_PATH}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("state"), "ok");
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

} // namespace
} // namespace gpumod::testing
