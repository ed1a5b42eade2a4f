#include "core/stats/distributions.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "core/stats/random.hpp"

namespace gpumod::stats {
namespace {

// Published values are given to 4 decimals; half a unit of the last digit is the tolerance.
constexpr double k_four_places = 0.5e-4 + 1e-12;

TEST(StudentT, QuantilesMatchPublishedTables)
{
    // Two-sided 95% critical values from any t table (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2).
    EXPECT_NEAR(*student_t_quantile(0.975, 9), 2.2622, k_four_places);
    EXPECT_NEAR(*student_t_quantile(0.975, 14), 2.1448, k_four_places);
    EXPECT_NEAR(*student_t_quantile(0.975, 1), 12.7062, k_four_places);
    EXPECT_NEAR(*student_t_quantile(0.995, 10), 3.1693, k_four_places);
    EXPECT_NEAR(*student_t_quantile(0.025, 9), -2.2622, k_four_places);
}

TEST(StudentT, CdfInvertsQuantileForFractionalDf)
{
    auto q = student_t_quantile(0.9, 17.776);
    ASSERT_TRUE(q);
    EXPECT_NEAR(*student_t_cdf(*q, 17.776), 0.9, 1e-12);
    EXPECT_DOUBLE_EQ(*student_t_cdf(0.0, 3.5), 0.5);
}

TEST(StudentT, RejectsBadArgumentsNamingThem)
{
    auto no_df = student_t_quantile(0.975, 0.0);
    ASSERT_FALSE(no_df);
    EXPECT_NE(no_df.error().message.find("df"), std::string::npos);
    auto bad_p = student_t_quantile(1.0, 5.0);
    ASSERT_FALSE(bad_p);
    EXPECT_NE(bad_p.error().message.find("p:"), std::string::npos);
}

TEST(Normal, QuantileAndCdfMatchPublishedValues)
{
    // z(0.975) = 1.959964 and z(0.8) = 0.841621 (standard normal tables).
    EXPECT_NEAR(*normal_quantile(0.975), 1.959964, 5e-7);
    EXPECT_NEAR(*normal_quantile(0.8), 0.841621, 5e-7);
    EXPECT_NEAR(*normal_cdf(1.959964), 0.975, 1e-7);
    EXPECT_FALSE(normal_quantile(0.0));
}

TEST(ChiSquared, UpperTailAtCriticalValues)
{
    // chi^2(1) 5% critical value 3.841459; chi^2(2) upper tail is exp(-x/2) exactly.
    EXPECT_NEAR(*chi_squared_upper_tail(3.841459, 1), 0.05, 1e-7);
    EXPECT_NEAR(*chi_squared_upper_tail(4.0, 2), 0.1353352832366127, 1e-14);
    EXPECT_DOUBLE_EQ(*chi_squared_upper_tail(0.0, 1), 1.0);
}

TEST(Binomial, CdfIsExactForFairCoin)
{
    // P(X <= 1), X ~ Bin(10, 1/2) = (1 + 10) / 1024.
    EXPECT_NEAR(*binomial_cdf(1, 10, 0.5), 11.0 / 1024.0, 1e-15);
    EXPECT_DOUBLE_EQ(*binomial_cdf(10, 10, 0.3), 1.0);
    EXPECT_FALSE(binomial_cdf(11, 10, 0.5));
    EXPECT_FALSE(binomial_cdf(1, 10, 1.5));
}

TEST(SplitMix64, MatchesPublishedSequence)
{
    // Rosetta Code "Pseudo-random numbers/Splitmix64": seed 1234567.
    SplitMix64 rng(1234567);
    const std::vector<std::uint64_t> expected{6457827717110365317ULL, 3203168211198807973ULL,
                                              9817491932198370423ULL, 4593380528125082431ULL,
                                              16408922859458223821ULL};
    for (const std::uint64_t e : expected) {
        EXPECT_EQ(rng.next(), e);
    }
}

TEST(SplitMix64, UniformBelowStaysInRangeAndCoversIt)
{
    SplitMix64 rng(7);
    std::vector<int> seen(5, 0);
    for (int i = 0; i < 1000; ++i) {
        const std::uint64_t v = rng.uniform_below(5);
        ASSERT_LT(v, 5U);
        ++seen[v];
    }
    for (const int count : seen) {
        EXPECT_GT(count, 150); // expected 200 each
    }
    const double u = rng.uniform_unit();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
}

} // namespace
} // namespace gpumod::stats
