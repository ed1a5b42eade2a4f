#include "core/stats/bootstrap.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace gpumod::stats {
namespace {

const std::vector<double> k_sleep_one{0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0};
const std::vector<double> k_sleep_two{1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4};

std::vector<double> scores(int nineties, int sixty_fives)
{
    std::vector<double> v(static_cast<std::size_t>(nineties), 90.0);
    v.insert(v.end(), static_cast<std::size_t>(sixty_fives), 65.0);
    return v;
}

TEST(Bootstrap, IndependentMatchesItsLargeSampleTheory)
{
    // The bootstrap SE of a mean difference converges to the plug-in SE
    // sqrt(s1^2 (n1-1)/n1^2 + s2^2 (n2-1)/n2^2) (Efron & Tibshirani 1993, sect. 5.2). For the sleep
    // data s1 = 1.789010, s2 = 2.002249 (R: sd()), n = 10 each.
    const double plug_in = std::sqrt((1.789010 * 1.789010 + 2.002249 * 2.002249) * 9.0 / 100.0);
    const auto r = bootstrap_mean_difference(k_sleep_one, k_sleep_two);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_NEAR(r->observed_difference, -1.58, 1e-12);
    EXPECT_NEAR(r->standard_error, plug_in, 0.02); // 10000 resamples: MC error ~0.6%
    // The percentile interval is close to -1.58 -/+ 1.96 SE.
    EXPECT_NEAR(r->percentile_ci.low, -1.58 - 1.959964 * plug_in, 0.06);
    EXPECT_NEAR(r->percentile_ci.high, -1.58 + 1.959964 * plug_in, 0.06);
    ASSERT_TRUE(r->bca_ci.has_value());
    EXPECT_TRUE(r->bca_ci->contains(r->observed_difference));
    EXPECT_EQ(r->resamples, 10000U);
    EXPECT_EQ(r->seed, k_default_seed);
}

TEST(Bootstrap, PairedUsesTheCorrelationBetweenRuns)
{
    // Paired differences in the sleep data have SD 1.229995 (R: sd(extra[1:10] - extra[11:20])),
    // so the paired plug-in SE is 1.229995 * sqrt(9) / 10 = 0.368999, far below the independent
    // one: the same patients took both drugs.
    const auto paired = bootstrap_paired_mean_difference(k_sleep_one, k_sleep_two);
    const auto independent = bootstrap_mean_difference(k_sleep_one, k_sleep_two);
    ASSERT_TRUE(paired && independent);
    EXPECT_NEAR(paired->standard_error, 0.368999, 0.01);
    EXPECT_LT(paired->percentile_ci.width(), independent->percentile_ci.width());
    EXPECT_LT(paired->percentile_ci.high, 0.0);
}

TEST(Bootstrap, SeedScoresIntervalStraddlesZero)
{
    const auto r = bootstrap_mean_difference(scores(14, 1), scores(11, 4));
    ASSERT_TRUE(r);
    EXPECT_NEAR(r->observed_difference, 5.0, 1e-9);
    EXPECT_TRUE(r->percentile_ci.contains(0.0));
    EXPECT_TRUE(r->percentile_ci.contains(5.0));
}

TEST(Bootstrap, FixedSeedIsReproducibleAndSeedMatters)
{
    BootstrapOptions options;
    options.resamples = 500;
    const auto a = bootstrap_mean_difference(k_sleep_one, k_sleep_two, options);
    const auto b = bootstrap_mean_difference(k_sleep_one, k_sleep_two, options);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->percentile_ci.low, b->percentile_ci.low);
    EXPECT_EQ(a->percentile_ci.high, b->percentile_ci.high);
    options.seed = 1;
    const auto c = bootstrap_mean_difference(k_sleep_one, k_sleep_two, options);
    ASSERT_TRUE(c);
    EXPECT_NE(a->percentile_ci.low, c->percentile_ci.low);
}

TEST(Bootstrap, ConstantSamplesGiveAPointInterval)
{
    const auto r =
        bootstrap_mean_difference(std::vector<double>(5, 90.0), std::vector<double>(4, 65.0));
    ASSERT_TRUE(r);
    EXPECT_DOUBLE_EQ(r->percentile_ci.low, 25.0);
    EXPECT_DOUBLE_EQ(r->percentile_ci.high, 25.0);
    EXPECT_DOUBLE_EQ(r->standard_error, 0.0);
}

TEST(Bootstrap, RejectsBadInputNamingIt)
{
    BootstrapOptions few;
    few.resamples = 10;
    auto r = bootstrap_mean_difference(k_sleep_one, k_sleep_two, few);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("options.resamples"), std::string::npos);
    auto p = bootstrap_paired_mean_difference(k_sleep_one, std::vector<double>{1.0, 2.0});
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message.find("equal lengths"), std::string::npos);
    auto s = bootstrap_mean_difference(std::vector<double>{1.0}, k_sleep_two);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("first"), std::string::npos);
}

} // namespace
} // namespace gpumod::stats
