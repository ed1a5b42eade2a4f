#include "core/services/service_record.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace gpumod {
namespace {

// A real /proc/PID/stat line (llama-server through its loader wrapper), start time 4242.
constexpr const char* k_stat =
    "1860 (ld-linux-x86-64) S 1 1860 1860 0 -1 4194560 3185 0 0 0 7 2 0 0 20 0 3 0 4242 "
    "1022435328 9123 18446744073709551615 1 1 0 0 0 0 0 4096 1073 0 0 0 17 1 0 0 0 0 0\n";

TEST(ProcStat, StartTimeIsField22)
{
    EXPECT_EQ(parse_proc_start_time(k_stat), 4242U);
    EXPECT_EQ(parse_proc_state(k_stat), 'S');
}

TEST(ProcStat, CommandNamesWithSpacesAndParenthesesDoNotShiftFields)
{
    const std::string stat = "77 (evil ) 1 2 (x)) Z 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 "
                             "999 0 0\n";
    EXPECT_EQ(parse_proc_start_time(stat), 999U);
    EXPECT_EQ(parse_proc_state(stat), 'Z');
}

TEST(ProcStat, MalformedTextGivesNothing)
{
    EXPECT_FALSE(parse_proc_start_time(""));
    EXPECT_FALSE(parse_proc_start_time("12 (x) S 1 2 3"));
    EXPECT_FALSE(parse_proc_start_time("12 x S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"));
    EXPECT_EQ(parse_proc_state("garbage"), '?');
}

TEST(DeriveState, HealthDecidesWhileTheProcessLives)
{
    ServiceFacts facts;
    EXPECT_EQ(derive_state(facts), ServiceState::stopped);
    facts.process_alive = true;
    facts.health_status = 200;
    EXPECT_EQ(derive_state(facts), ServiceState::ready);
    facts.health_status = 503;
    EXPECT_EQ(derive_state(facts), ServiceState::loading);
    facts.health_status = 500;
    EXPECT_EQ(derive_state(facts), ServiceState::unhealthy);
    facts.health_status.reset();
    facts.health_refused = true;
    EXPECT_EQ(derive_state(facts), ServiceState::loading);
    facts.health_refused = false; // timed out after connecting: wedged
    EXPECT_EQ(derive_state(facts), ServiceState::unhealthy);
    facts.has_health_check = false;
    EXPECT_EQ(derive_state(facts), ServiceState::ready);
    EXPECT_EQ(state_word(ServiceState::loading), "loading");
}

TEST(StringList, EncodesAsAJsonArray)
{
    EXPECT_EQ(encode_string_list({}), "[]");
    EXPECT_EQ(encode_string_list({"a", "b c", "q\"\\", "\n"}),
              R"(["a","b c","q\"\\","\u000a"])");
}

TEST(StringList, DecodesStandardEscapesAndRejectsGarbage)
{
    auto decoded = decode_string_list(R"( [ "x\/y" , "\u00e9\ud83d\ude00", "\t" ] )");
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, (std::vector<std::string>{"x/y", "\xc3\xa9\xf0\x9f\x98\x80", "\t"}));
    for (const char* bad : {"", "[", "[\"a\"", "[\"a\",]", "[1]", "[\"\\x\"]", "[\"\\ud800\"]",
                            "[] x", "{\"a\":1}"}) {
        EXPECT_FALSE(decode_string_list(bad)) << bad;
    }
}

RC_GTEST_PROP(StringList, RoundTripsAnyStrings, (const std::vector<std::string>& items))
{
    const auto decoded = decode_string_list(encode_string_list(items));
    RC_ASSERT(decoded.has_value());
    RC_ASSERT(*decoded == items);
}

} // namespace
} // namespace gpumod
