#include "adapters/llama/llama_server_locator.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace gpumod::llama {
namespace {

using ::testing::HasSubstr;

class TempDir
{
public:
    TempDir()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "gpumod-llama-XXXXXX");
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

// A stand-in llama-server: a shell script that prints what the real one prints for --version.
std::filesystem::path write_script(const std::filesystem::path& path, const std::string& body,
                                   bool executable = true)
{
    std::filesystem::create_directories(path.parent_path());
    {
        std::ofstream out(path);
        out << "#!/bin/sh\n" << body;
    }
    ::chmod(path.c_str(), executable ? 0755 : 0644);
    return path;
}

const std::string k_debian_version_script =
    "echo 'version: 0.7.0 (build 11669, commit Debian)' >&2\n"
    "echo 'built with GNU 16.2.0 for Linux x86_64' >&2\n";

LlamaServerSearch search_in(const TempDir& dir)
{
    LlamaServerSearch search;
    search.path_variable = (dir.path() / "empty-bin").string();
    search.paths.xdg_cache_home = (dir.path() / "cache").string();
    std::filesystem::create_directories(dir.path() / "empty-bin");
    return search;
}

// --- parsing (pure) ------------------------------------------------------------------------

TEST(ParseLlamaServerVersion, DebianFormat)
{
    auto v = parse_llama_server_version("version: 0.7.0 (build 11669, commit Debian)\n"
                                        "built with GNU 16.2.0 for Linux x86_64\n");
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->version, "0.7.0");
    EXPECT_EQ(v->build, 11669);
    EXPECT_EQ(v->commit, "Debian");
    EXPECT_EQ(v->built_with, "GNU 16.2.0 for Linux x86_64");
    EXPECT_EQ(v->version_line, "version: 0.7.0 (build 11669, commit Debian)");
}

TEST(ParseLlamaServerVersion, UpstreamFormatAmongLogLines)
{
    auto v = parse_llama_server_version(
        "load_backend: loaded CPU backend from /x/libggml-cpu-zen4.so\r\n"
        "version: 4567 (a1b2c3d4)\r\n"
        "built with cc (Debian 12.2.0-14) 12.2.0 for x86_64-linux-gnu\r\n");
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->version, "4567");
    EXPECT_EQ(v->build, 4567);
    EXPECT_EQ(v->commit, "a1b2c3d4");
    EXPECT_EQ(v->built_with, "cc (Debian 12.2.0-14) 12.2.0 for x86_64-linux-gnu");
}

TEST(ParseLlamaServerVersion, DevVersionWithoutBuiltWith)
{
    auto v = parse_llama_server_version("version: 0.4.0-dev (build 1, commit 80fb11a)");
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->version, "0.4.0-dev");
    EXPECT_EQ(v->build, 1);
    EXPECT_EQ(v->commit, "80fb11a");
    EXPECT_EQ(v->built_with, "");
}

TEST(ParseLlamaServerVersion, VersionWithoutDetailsHasNoBuild)
{
    auto v = parse_llama_server_version("version: 1.2.3\n");
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->version, "1.2.3");
    EXPECT_FALSE(v->build.has_value());
    EXPECT_EQ(v->commit, "");
}

TEST(ParseLlamaServerVersion, RejectsTextWithoutVersionLine)
{
    auto v = parse_llama_server_version("error: unknown argument: --version\nusage: ...\n");
    ASSERT_FALSE(v);
    EXPECT_THAT(v.error().message, HasSubstr("no 'version:' line"));
    EXPECT_FALSE(parse_llama_server_version(""));
    EXPECT_FALSE(parse_llama_server_version("version:   \n"));
}

// --- search --------------------------------------------------------------------------------

TEST(FindLlamaServer, OverrideWinsOverPathAndCache)
{
    TempDir dir;
    auto search = search_in(dir);
    auto on_path = write_script(dir.path() / "bin" / "llama-server", k_debian_version_script);
    search.path_variable = on_path.parent_path().string();
    auto cached = cached_llama_server_path(search.paths);
    ASSERT_TRUE(cached);
    write_script(*cached, k_debian_version_script);
    auto chosen = write_script(dir.path() / "mine" / "my-llama", k_debian_version_script);
    search.override_path = chosen.string();

    auto found = find_llama_server(search);
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->first, chosen);
    EXPECT_EQ(found->second, LlamaServerSource::environment);
}

TEST(FindLlamaServer, NonExecutableOverrideIsAnErrorNamingTheVariable)
{
    TempDir dir;
    auto search = search_in(dir);
    auto cached = cached_llama_server_path(search.paths);
    ASSERT_TRUE(cached);
    write_script(*cached, k_debian_version_script); // would work, but the override wins
    auto plain = write_script(dir.path() / "plain-file", k_debian_version_script, false);
    search.override_path = plain.string();

    auto found = find_llama_server(search);
    ASSERT_FALSE(found);
    EXPECT_THAT(found.error().message, HasSubstr("GPUMOD_LLAMA_SERVER='" + plain.string() + "'"));
    EXPECT_THAT(found.error().message, HasSubstr("not an executable file"));

    search.override_path = dir.path().string(); // a directory is not a program either
    found = find_llama_server(search);
    ASSERT_FALSE(found);
    EXPECT_THAT(found.error().message, HasSubstr("not an executable file"));
}

TEST(FindLlamaServer, MissingOverrideIsAnError)
{
    TempDir dir;
    auto search = search_in(dir);
    search.override_path = (dir.path() / "nope").string();
    auto found = find_llama_server(search);
    ASSERT_FALSE(found);
    EXPECT_THAT(found.error().message, HasSubstr("GPUMOD_LLAMA_SERVER"));
    EXPECT_THAT(found.error().message, HasSubstr("does not exist"));
}

TEST(FindLlamaServer, EmptyOverrideCountsAsUnset)
{
    TempDir dir;
    auto search = search_in(dir);
    auto cached = cached_llama_server_path(search.paths);
    ASSERT_TRUE(cached);
    write_script(*cached, k_debian_version_script);
    search.override_path = "";
    auto found = find_llama_server(search);
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->second, LlamaServerSource::cache);
}

TEST(FindLlamaServer, PathComesBeforeCacheAndSkipsNonExecutables)
{
    TempDir dir;
    auto search = search_in(dir);
    write_script(dir.path() / "a" / "llama-server", k_debian_version_script, false);
    auto good = write_script(dir.path() / "b" / "llama-server", k_debian_version_script);
    search.path_variable = fmt::format("::relative/dir:{}:{}", (dir.path() / "a").string(),
                                       (dir.path() / "b").string());
    auto cached = cached_llama_server_path(search.paths);
    ASSERT_TRUE(cached);
    write_script(*cached, k_debian_version_script);

    auto found = find_llama_server(search);
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->first, good);
    EXPECT_EQ(found->second, LlamaServerSource::path);
}

TEST(FindLlamaServer, FindsTheCacheWrapperUnderXdgCacheHome)
{
    TempDir dir;
    auto search = search_in(dir);
    auto wrapper = write_script(dir.path() / "cache" / "gpumod" / "llama-server" / "llama-server",
                                k_debian_version_script);
    auto found = find_llama_server(search);
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->first, wrapper);
    EXPECT_EQ(found->second, LlamaServerSource::cache);
}

TEST(FindLlamaServer, FindsTheCacheWrapperUnderHomeWhenXdgCacheHomeIsUnset)
{
    TempDir dir;
    auto search = search_in(dir);
    search.paths.xdg_cache_home.reset();
    search.paths.home = dir.path().string();
    auto wrapper =
        write_script(dir.path() / ".cache" / "gpumod" / "llama-server" / "llama-server",
                     k_debian_version_script);
    auto found = find_llama_server(search);
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->first, wrapper);
    EXPECT_EQ(found->second, LlamaServerSource::cache);
}

TEST(FindLlamaServer, NotFoundSaysHowToFixIt)
{
    TempDir dir;
    auto search = search_in(dir);
    auto found = find_llama_server(search);
    ASSERT_FALSE(found);
    const auto& message = found.error().message;
    EXPECT_THAT(message, HasSubstr("llama-server not found"));
    EXPECT_THAT(message, HasSubstr("scripts/setup-llama-server"));
    EXPECT_THAT(message, HasSubstr("GPUMOD_LLAMA_SERVER"));
    EXPECT_THAT(message, HasSubstr((dir.path() / "cache" / "gpumod" / "llama-server").string()));
}

// --- running --version ---------------------------------------------------------------------

TEST(LocateLlamaServer, RunsVersionOfTheFoundProgram)
{
    TempDir dir;
    auto search = search_in(dir);
    search.override_path =
        write_script(dir.path() / "fake-llama-server", k_debian_version_script).string();
    auto info = locate_llama_server(search);
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->source, LlamaServerSource::environment);
    EXPECT_EQ(info->version.version, "0.7.0");
    EXPECT_EQ(info->version.build, 11669);
    EXPECT_EQ(info->version.built_with, "GNU 16.2.0 for Linux x86_64");
}

TEST(LocateLlamaServer, FailingVersionIsReportedWithItsOutput)
{
    TempDir dir;
    auto search = search_in(dir);
    write_script(dir.path() / "cache" / "gpumod" / "llama-server" / "llama-server",
                 "echo 'error while loading shared libraries: libllama.so.0' >&2\nexit 127\n");
    auto info = locate_llama_server(search);
    ASSERT_FALSE(info);
    EXPECT_THAT(info.error().message, HasSubstr("setup-llama-server cache"));
    EXPECT_THAT(info.error().message, HasSubstr("libllama.so.0"));
    EXPECT_THAT(info.error().message, HasSubstr("--version"));
}

TEST(LocateLlamaServer, OutputWithoutVersionLineIsAnError)
{
    TempDir dir;
    auto search = search_in(dir);
    search.override_path =
        write_script(dir.path() / "not-llama", "echo 'hello from something else'\n").string();
    auto info = locate_llama_server(search);
    ASSERT_FALSE(info);
    EXPECT_THAT(info.error().message, HasSubstr("no 'version:' line"));
    EXPECT_THAT(info.error().message, HasSubstr("hello from something else"));
}

// The llama-server that scripts/setup-llama-server provides; the test command points
// GPUMOD_LLAMA_SERVER at it.
TEST(LocateLlamaServer, ParsesTheRealLlamaServerVersion)
{
    const char* real = std::getenv("GPUMOD_LLAMA_SERVER"); // NOLINT(concurrency-mt-unsafe)
    if (real == nullptr || *real == '\0') {
        GTEST_SKIP() << "GPUMOD_LLAMA_SERVER is not set; run scripts/setup-llama-server --print-path "
                        "and export GPUMOD_LLAMA_SERVER to test against the real llama-server";
    }
    auto info = locate_llama_server(llama_server_search_from_environment());
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->source, LlamaServerSource::environment);
    EXPECT_FALSE(info->version.version.empty());
    ASSERT_TRUE(info->version.build.has_value()) << info->version.version_line;
    EXPECT_GT(*info->version.build, 0);
    EXPECT_FALSE(info->version.commit.empty());
    EXPECT_THAT(info->version.built_with, HasSubstr("for"));
}

} // namespace
} // namespace gpumod::llama
