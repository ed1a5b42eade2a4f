// Sampler files on disk and `--sampler NAME|FILE` resolution, with file:line:column errors.

#include "adapters/bench/sampler_loader.hpp"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/temp_dir.hpp"

namespace gpumod::bench {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class SamplerLoader : public ::testing::Test
{
protected:
    fs::path write(const std::string& name, const std::string& text)
    {
        const auto path = m_dir.path() / name;
        std::ofstream(path) << text;
        return path;
    }

    // The error for `text`, which must fail to load.
    std::string error_of(const std::string& text)
    {
        const auto r = load_sampler_file(write("s.yaml", text));
        EXPECT_FALSE(r.has_value());
        return r ? "" : r.error().message;
    }

    std::string at(int line, int column) const
    {
        return (m_dir.path() / "s.yaml").string() + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    }

    testing::TempDir m_dir;
};

TEST_F(SamplerLoader, ShippedExampleLoads)
{
    const auto r = load_sampler_file(fs::path(GPUMOD_SOURCE_DIR) / "docs" / "examples" / "sampler-example.yaml");
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->name, "qwen-coder-cool");
    EXPECT_EQ(r->temperature, 0.3);
    EXPECT_EQ(r->top_p, 0.9);
    EXPECT_EQ(r->top_k, 40);
    EXPECT_EQ(r->min_p, 0.05);
    EXPECT_EQ(r->presence_penalty, 0.0);
    EXPECT_EQ(r->repeat_penalty, 1.05);
    EXPECT_EQ(r->enable_thinking, true);
}

TEST_F(SamplerLoader, NameDefaultsToStemAndAbsentKeysStayUnset)
{
    const auto r = load_sampler_file(write("cool.yaml", "temperature: 0\ntop_k: 0\n"));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    Sampler expected;
    expected.name = "cool";
    expected.temperature = 0.0;
    expected.top_k = 0;
    EXPECT_EQ(*r, expected);
}

TEST_F(SamplerLoader, UnknownKeyIsLocatedWithSuggestion)
{
    const auto error = error_of("temperature: 0.5\n  \ntop-p: 0.9\n");
    EXPECT_THAT(error, HasSubstr(at(3, 1) + "unknown key 'top-p' (did you mean 'top_p'?)"));
}

TEST_F(SamplerLoader, WrongTypesAreErrors)
{
    EXPECT_THAT(error_of("top_k: 2.5\n"), HasSubstr(at(1, 8) + "'top_k' must be a whole number"));
    EXPECT_THAT(error_of("temperature: hot\n"), HasSubstr(at(1, 14) + "'temperature' must be a number"));
    EXPECT_THAT(error_of("temperature: '0.5'\n"), HasSubstr(at(1, 14) + "'temperature' must be a number"));
    EXPECT_THAT(error_of("enable_thinking: maybe\n"), HasSubstr(at(1, 18) + "'enable_thinking' must be true or false"));
    EXPECT_THAT(error_of("top_p: [0.9]\n"), HasSubstr(at(1, 1) + "'top_p' must be a number"));
    EXPECT_THAT(error_of("- 1\n"), HasSubstr("expected a mapping"));
    EXPECT_THAT(error_of(""), HasSubstr("the file is empty"));
}

TEST_F(SamplerLoader, OutOfRangeValuesAreErrors)
{
    EXPECT_THAT(error_of("temperature: 5.5\n"), HasSubstr(at(1, 14) + "'temperature' must be in [0, 5], got 5.5"));
    EXPECT_THAT(error_of("temperature: -0.1\n"), HasSubstr("'temperature' must be in [0, 5]"));
    EXPECT_THAT(error_of("top_p: 0\n"), HasSubstr(at(1, 8) + "'top_p' must be in (0, 1], got 0"));
    EXPECT_THAT(error_of("top_p: 1.01\n"), HasSubstr("'top_p' must be in (0, 1]"));
    EXPECT_THAT(error_of("top_k: -1\n"), HasSubstr(at(1, 8) + "'top_k' must be between 0 and"));
    EXPECT_THAT(error_of("min_p: 1.5\n"), HasSubstr("'min_p' must be in [0, 1]"));
    EXPECT_THAT(error_of("presence_penalty: 3\n"), HasSubstr("'presence_penalty' must be in [-2, 2]"));
    EXPECT_THAT(error_of("repeat_penalty: 0\n"), HasSubstr("'repeat_penalty' must be in (0, 10]"));
    EXPECT_THAT(error_of("name: ''\n"), HasSubstr("'name' is empty"));
}

TEST_F(SamplerLoader, EveryProblemIsReportedOnItsOwnLine)
{
    const auto error = error_of("top_p: 2\ntemp: 1\ntop_k: x\n");
    EXPECT_THAT(error, HasSubstr(at(1, 8)));
    EXPECT_THAT(error, HasSubstr("\n" + at(2, 1) + "unknown key 'temp'"));
    EXPECT_THAT(error, HasSubstr("\n" + at(3, 8)));
}

TEST_F(SamplerLoader, ResolveTakesBuiltinNamesFirstThenFiles)
{
    const auto builtin = resolve_sampler("greedy");
    ASSERT_TRUE(builtin.has_value());
    EXPECT_EQ(builtin->top_k, 1);

    const auto file = write("mine.yaml", "temperature: 0.2\n");
    const auto from_file = resolve_sampler(file.string());
    ASSERT_TRUE(from_file.has_value()) << from_file.error().message;
    EXPECT_EQ(from_file->name, "mine");
    EXPECT_EQ(from_file->temperature, 0.2);

    const auto broken = resolve_sampler(write("bad.yaml", "top_p: 0\n").string());
    ASSERT_FALSE(broken.has_value());
    EXPECT_THAT(broken.error().message, HasSubstr("bad.yaml:1:8"));
}

TEST_F(SamplerLoader, ResolveErrorListsBuiltinNames)
{
    const auto r = resolve_sampler("thinking");
    ASSERT_FALSE(r.has_value());
    EXPECT_THAT(r.error().message, HasSubstr("unknown sampler 'thinking'"));
    EXPECT_THAT(r.error().message, HasSubstr("thinking-coding, non-thinking, gemma-coding, greedy"));
}

} // namespace
} // namespace gpumod::bench
