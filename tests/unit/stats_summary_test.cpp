#include "core/stats/summary.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace gpumod::stats {
namespace {

// The seed report rounds to one decimal.
constexpr double k_one_place = 0.05;

std::vector<double> scores(int nineties, int sixty_fives)
{
    std::vector<double> v(static_cast<std::size_t>(nineties), 90.0);
    v.insert(v.end(), static_cast<std::size_t>(sixty_fives), 65.0);
    return v;
}

TEST(Summary, SeedBaselineScores)
{
    // Seed report, summary table: 14 x 90 + 1 x 65 -> 88.3, SD 6.5, 95% CI [84.8, 91.9].
    const auto s = summarize(scores(14, 1));
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->n, 15U);
    EXPECT_NEAR(s->mean, 88.3, k_one_place);
    EXPECT_NEAR(s->sd, 6.5, k_one_place);
    EXPECT_NEAR(s->ci.low, 84.8, k_one_place);
    EXPECT_NEAR(s->ci.high, 91.9, k_one_place);
    EXPECT_NEAR(s->t_quantile, 2.1448, 0.5e-4); // t(0.975, 14)
    EXPECT_DOUBLE_EQ(s->min, 65.0);
    EXPECT_DOUBLE_EQ(s->max, 90.0);
}

TEST(Summary, SeedCandidateScores)
{
    // Seed report: 11 x 90 + 4 x 65 -> 83.3, SD 11.4, 95% CI [77.0, 89.7].
    const auto s = summarize(scores(11, 4));
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_NEAR(s->mean, 83.3, k_one_place);
    EXPECT_NEAR(s->sd, 11.4, k_one_place);
    EXPECT_NEAR(s->ci.low, 77.0, k_one_place);
    EXPECT_NEAR(s->ci.high, 89.7, k_one_place);
}

TEST(Summary, StudentSleepDataGroupOne)
{
    // R: with(sleep, t.test(extra[group == 1])): mean 0.75, 95% CI [-0.5297804, 2.0297804]
    // (Student 1908 / Cushny & Peebles data set shipped with R).
    const std::vector<double> extra{0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0};
    const auto s = summarize(extra);
    ASSERT_TRUE(s);
    EXPECT_NEAR(s->mean, 0.75, 1e-12);
    EXPECT_NEAR(s->ci.low, -0.5297804, 1e-7);
    EXPECT_NEAR(s->ci.high, 2.0297804, 1e-7);
}

TEST(Summary, NinetyNinePercentIsWiderThanNinetyFive)
{
    const auto s95 = summarize(scores(11, 4), 0.95);
    const auto s99 = summarize(scores(11, 4), 0.99);
    ASSERT_TRUE(s95 && s99);
    EXPECT_LT(s99->ci.low, s95->ci.low);
    EXPECT_GT(s99->ci.high, s95->ci.high);
}

TEST(Summary, ConstantSampleHasZeroWidthInterval)
{
    const auto s = summarize(std::vector<double>(5, 90.0));
    ASSERT_TRUE(s);
    EXPECT_DOUBLE_EQ(s->sd, 0.0);
    EXPECT_DOUBLE_EQ(s->ci.low, 90.0);
    EXPECT_DOUBLE_EQ(s->ci.high, 90.0);
}

TEST(Summary, RejectsUnusableInputWithTheArgumentName)
{
    const std::vector<double> one{1.0};
    auto r = summarize(one);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("values"), std::string::npos);
    EXPECT_NE(r.error().message.find("got 1"), std::string::npos);

    EXPECT_FALSE(mean(std::vector<double>{}));
    const std::vector<double> with_nan{1.0, std::numeric_limits<double>::quiet_NaN()};
    auto nan = summarize(with_nan);
    ASSERT_FALSE(nan);
    EXPECT_NE(nan.error().message.find("element 1"), std::string::npos);

    auto bad_conf = summarize(std::vector<double>{1.0, 2.0}, 1.0);
    ASSERT_FALSE(bad_conf);
    EXPECT_NE(bad_conf.error().message.find("confidence"), std::string::npos);
}

} // namespace
} // namespace gpumod::stats
