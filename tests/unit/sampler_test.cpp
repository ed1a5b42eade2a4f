// Built-in sampler presets: the vendors' recommended values, exactly, and nothing else set.

#include "core/bench/sampler.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gpumod::bench {
namespace {

using ::testing::ElementsAre;

TEST(BuiltinSampler, ThinkingCodingIsQwen3ThinkingMode)
{
    const auto s = builtin_sampler("thinking-coding");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->name, "thinking-coding");
    EXPECT_EQ(s->temperature, 0.6);
    EXPECT_EQ(s->top_p, 0.95);
    EXPECT_EQ(s->top_k, 20);
    EXPECT_EQ(s->min_p, 0.0);
    EXPECT_FALSE(s->presence_penalty.has_value());
    EXPECT_FALSE(s->repeat_penalty.has_value());
    EXPECT_FALSE(s->enable_thinking.has_value());
}

TEST(BuiltinSampler, NonThinkingSwitchesThinkingOff)
{
    const auto s = builtin_sampler("non-thinking");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->temperature, 0.7);
    EXPECT_EQ(s->top_p, 0.8);
    EXPECT_EQ(s->top_k, 20);
    EXPECT_EQ(s->min_p, 0.0);
    EXPECT_FALSE(s->presence_penalty.has_value());
    EXPECT_EQ(s->enable_thinking, false);
}

TEST(BuiltinSampler, GemmaCoding)
{
    const auto s = builtin_sampler("gemma-coding");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->temperature, 1.0);
    EXPECT_EQ(s->top_p, 0.95);
    EXPECT_EQ(s->top_k, 64);
    EXPECT_EQ(s->min_p, 0.0);
    EXPECT_FALSE(s->enable_thinking.has_value());
}

TEST(BuiltinSampler, GreedySetsOnlyTemperatureAndTopK)
{
    const auto s = builtin_sampler("greedy");
    ASSERT_TRUE(s.has_value());
    Sampler expected;
    expected.name = "greedy";
    expected.temperature = 0.0;
    expected.top_k = 1;
    EXPECT_EQ(*s, expected);
}

TEST(BuiltinSampler, UnknownNamesAreNotFound)
{
    EXPECT_FALSE(builtin_sampler("").has_value());
    EXPECT_FALSE(builtin_sampler("Greedy").has_value());
    EXPECT_FALSE(builtin_sampler("thinking").has_value());
}

TEST(BuiltinSampler, NamesListEveryPresetAndEachResolvesToItself)
{
    const auto names = builtin_sampler_names();
    EXPECT_THAT(names, ElementsAre("thinking-coding", "non-thinking", "gemma-coding", "greedy"));
    for (const auto& name : names) {
        const auto s = builtin_sampler(name);
        ASSERT_TRUE(s.has_value()) << name;
        EXPECT_EQ(s->name, name);
    }
}

} // namespace
} // namespace gpumod::bench
