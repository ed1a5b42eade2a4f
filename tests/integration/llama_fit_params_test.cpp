#include "adapters/llama/llama_fit_params.hpp"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace gpumod::llama {
namespace {

using ::testing::HasSubstr;

class TempDir
{
  public:
    TempDir()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "gpumod-fitp-XXXXXX");
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        m_path = pattern;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir()
    {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

  private:
    std::filesystem::path m_path;
};

std::filesystem::path write_script(const std::filesystem::path& path, const std::string& body)
{
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0755);
    return path;
}

// A search that sees only `dir`: no overrides, the XDG cache and PATH inside it.
FitParamsSearch search_in(const std::filesystem::path& dir)
{
    FitParamsSearch s;
    s.server.path_variable = (dir / "bin").string();
    s.server.paths.home = dir.string();
    s.server.paths.xdg_cache_home = (dir / "cache").string();
    return s;
}

TEST(FindLlamaFitParams, TheOverrideWinsAndMustBeExecutable)
{
    TempDir dir;
    auto s = search_in(dir.path());
    write_script(dir.path() / "bin/llama-fit-params", "exit 0\n");
    const auto mine = write_script(dir.path() / "mine/fitp", "exit 0\n");
    s.override_path = mine.string();
    auto found = find_llama_fit_params(s);
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->path, mine);
    EXPECT_EQ(found->source, FitParamsSource::environment);

    s.override_path = (dir.path() / "missing").string();
    auto bad = find_llama_fit_params(s);
    ASSERT_FALSE(bad);
    EXPECT_THAT(bad.error().message, HasSubstr("GPUMOD_LLAMA_FIT_PARAMS"));
}

TEST(FindLlamaFitParams, BesideTheLlamaServerGpumodRunsBeforePath)
{
    TempDir dir;
    auto s = search_in(dir.path());
    write_script(dir.path() / "bin/llama-fit-params", "exit 0\n");
    const auto server = write_script(dir.path() / "build/llama-server", "exit 0\n");
    const auto beside = write_script(dir.path() / "build/llama-fit-params", "exit 0\n");
    s.server.override_path = server.string();
    auto found = find_llama_fit_params(s);
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->path, beside);
    EXPECT_EQ(found->source, FitParamsSource::beside_llama_server);
    EXPECT_THAT(found->found_by, HasSubstr("GPUMOD_LLAMA_SERVER"));
}

TEST(FindLlamaFitParams, ThenBesideTheSetupScriptsWrapperThenPath)
{
    TempDir dir;
    auto s = search_in(dir.path());
    // llama-server is elsewhere on PATH without a llama-fit-params beside it.
    write_script(dir.path() / "bin/llama-server", "exit 0\n");
    const auto cached =
        write_script(dir.path() / "cache/gpumod/llama-server/llama-fit-params", "exit 0\n");
    auto found = find_llama_fit_params(s);
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->path, cached);
    EXPECT_EQ(found->source, FitParamsSource::cache);

    // A later PATH directory (the first one has llama-server, whose directory counts as
    // "beside llama-server").
    std::filesystem::remove(cached);
    s.server.path_variable = (dir.path() / "bin").string() + ":" + (dir.path() / "bin2").string();
    const auto on_path = write_script(dir.path() / "bin2/llama-fit-params", "exit 0\n");
    found = find_llama_fit_params(s);
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->path, on_path);
    EXPECT_EQ(found->source, FitParamsSource::path);
}

TEST(FindLlamaFitParams, NotFoundSaysWhereItLookedAndHowToGetIt)
{
    TempDir dir;
    auto missing = find_llama_fit_params(search_in(dir.path()));
    ASSERT_FALSE(missing);
    EXPECT_THAT(missing.error().message, HasSubstr("not found"));
    EXPECT_THAT(missing.error().message,
                HasSubstr((dir.path() / "cache/gpumod/llama-server").string()));
    EXPECT_THAT(missing.error().message, HasSubstr("--with-tools-extra"));
}

TEST(RunLlamaFitParams, CapturesBothStreamsAndTurnsGgmlBacktracesOff)
{
    TempDir dir;
    const auto tool = write_script(dir.path() / "llama-fit-params",
                                   "echo \"Host 1 2 3 $1\"\necho \"bt=$GGML_NO_BACKTRACE\" >&2\n"
                                   "exit 3\n");
    auto run = run_llama_fit_params(tool, {"--fit-print"}, std::chrono::seconds(10));
    ASSERT_TRUE(run) << run.error().message;
    EXPECT_EQ(run->out, "Host 1 2 3 --fit-print\n");
    EXPECT_EQ(run->err, "bt=1\n");
    EXPECT_TRUE(run->status.exited);
    EXPECT_EQ(run->status.code, 3);
    EXPECT_FALSE(run->timed_out);
}

} // namespace
} // namespace gpumod::llama
