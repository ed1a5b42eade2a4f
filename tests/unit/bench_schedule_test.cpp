#include <gtest/gtest.h>

#include <set>

#include "core/bench/schedule.hpp"

namespace gpumod::bench {
namespace {

RunConfig five_levels(int iterations, ConversationPolicy policy)
{
    RunConfig config;
    config.iterations = iterations;
    config.level_ids = {"L1", "L2", "L3", "L4", "L5"};
    config.conversation = policy;
    config.seed = 1234;
    return config;
}

TEST(BenchSchedule, FreshRunHasOneSingleTurnChatPerAttemptInOrder)
{
    const auto conversations = plan_conversations(five_levels(3, ConversationPolicy::fresh));
    ASSERT_EQ(conversations.size(), 15U);
    EXPECT_EQ(conversations[0].turns.at(0).iteration, 1);
    EXPECT_EQ(conversations[0].turns.at(0).level, "L1");
    EXPECT_EQ(conversations[6].turns.at(0).iteration, 2);
    EXPECT_EQ(conversations[6].turns.at(0).level, "L2");
    EXPECT_EQ(conversations[6].turns.at(0).level_index, 1U);
    for (const auto& conversation : conversations) {
        EXPECT_EQ(conversation.turns.size(), 1U);
    }
}

TEST(BenchSchedule, CarryRunHasOneChatPerIterationWithEveryLevel)
{
    const auto conversations = plan_conversations(five_levels(2, ConversationPolicy::carry));
    ASSERT_EQ(conversations.size(), 2U);
    ASSERT_EQ(conversations[1].turns.size(), 5U);
    EXPECT_EQ(conversations[1].turns[4].iteration, 2);
    EXPECT_EQ(conversations[1].turns[4].level, "L5");
}

TEST(BenchSchedule, SeedsAreDeterministicDistinctAndPositive31Bit)
{
    std::set<std::int64_t> seen;
    for (int iteration = 1; iteration <= 50; ++iteration) {
        for (std::size_t level = 0; level < 5; ++level) {
            const auto seed = attempt_seed(99, iteration, level);
            EXPECT_EQ(seed, attempt_seed(99, iteration, level));
            EXPECT_GE(seed, 0);
            EXPECT_LT(seed, std::int64_t{1} << 31);
            seen.insert(seed);
        }
    }
    EXPECT_EQ(seen.size(), 250U);
    EXPECT_NE(attempt_seed(1, 1, 0), attempt_seed(2, 1, 0));
    // The schedule uses exactly these seeds.
    const auto conversations = plan_conversations(five_levels(2, ConversationPolicy::fresh));
    EXPECT_EQ(conversations[7].turns[0].seed, attempt_seed(1234, 2, 2));
}

TEST(BenchSchedule, RemainingDropsRecordedChatsAndKeepsPartialCarryChatsWhole)
{
    AttemptKeys recorded{{1, "L1"}, {1, "L2"}, {1, "L3"}, {1, "L4"}, {1, "L5"}, {2, "L1"}};
    const auto fresh = remaining_conversations(five_levels(2, ConversationPolicy::fresh), recorded);
    ASSERT_EQ(fresh.size(), 4U);
    EXPECT_EQ(fresh[0].turns[0].iteration, 2);
    EXPECT_EQ(fresh[0].turns[0].level, "L2");

    const auto carry = remaining_conversations(five_levels(2, ConversationPolicy::carry), recorded);
    ASSERT_EQ(carry.size(), 1U);
    EXPECT_EQ(carry[0].turns.size(), 5U) << "the recorded L1 turn is replayed as history";
    EXPECT_EQ(carry[0].turns[0].iteration, 2);
}

TEST(BenchSchedule, PlannedCountAndRecordedKeys)
{
    EXPECT_EQ(planned_attempt_count(five_levels(15, ConversationPolicy::fresh)), 75U);
    AttemptRecord a;
    a.iteration = 3;
    a.level = "L4";
    const auto keys = recorded_keys({a});
    EXPECT_TRUE(keys.contains({3, "L4"}));
    EXPECT_EQ(keys.size(), 1U);
}

} // namespace
} // namespace gpumod::bench
