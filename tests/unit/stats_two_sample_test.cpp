#include "core/stats/two_sample.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace gpumod::stats {
namespace {

// R's "sleep" data (Student 1908; Cushny & Peebles 1905): extra hours of sleep, two drugs on the
// same ten patients.
const std::vector<double> k_sleep_one{0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0};
const std::vector<double> k_sleep_two{1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4};

std::vector<double> scores(int nineties, int sixty_fives)
{
    std::vector<double> v(static_cast<std::size_t>(nineties), 90.0);
    v.insert(v.end(), static_cast<std::size_t>(sixty_fives), 65.0);
    return v;
}

TEST(Welch, SleepDataMatchesR)
{
    // R: t.test(extra ~ group, data = sleep) -> t = -1.8608, df = 17.776, p-value = 0.07939,
    // 95 percent CI -3.3654832 0.2054832.
    const auto r = welch_t_test(k_sleep_one, k_sleep_two);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_NEAR(r->mean_difference, -1.58, 1e-12);
    EXPECT_NEAR(r->t, -1.8608, 0.5e-4);
    EXPECT_NEAR(r->df, 17.776, 0.5e-3);
    EXPECT_NEAR(r->p_value, 0.07939, 0.5e-5);
    EXPECT_NEAR(r->ci.low, -3.3654832, 1e-7);
    EXPECT_NEAR(r->ci.high, 0.2054832, 1e-7);
}

TEST(Welch, SeedScores)
{
    // Means 88.33 and 83.33 with SDs 6.455 and 11.443 (n = 15 each): the -5.0 gap is not
    // significant; t = 5 / sqrt((6.455^2 + 11.443^2) / 15) = 1.474 by hand.
    const auto r = welch_t_test(scores(14, 1), scores(11, 4));
    ASSERT_TRUE(r);
    EXPECT_NEAR(r->mean_difference, 5.0, 1e-9);
    EXPECT_NEAR(r->t, 1.474, 0.5e-3);
    EXPECT_GT(r->p_value, 0.05);
    EXPECT_TRUE(r->ci.contains(0.0));
}

TEST(Welch, RejectsTooSmallOrConstantSamples)
{
    const std::vector<double> one{1.0};
    auto small = welch_t_test(one, k_sleep_two);
    ASSERT_FALSE(small);
    EXPECT_NE(small.error().message.find("first"), std::string::npos);
    auto constant = welch_t_test(std::vector<double>{90, 90}, std::vector<double>{90, 90, 90});
    ASSERT_FALSE(constant);
    EXPECT_NE(constant.error().message.find("constant"), std::string::npos);
}

TEST(PairedT, SleepDataMatchesR)
{
    // R: t.test(sleep$extra[1:10], sleep$extra[11:20], paired = TRUE) -> t = -4.0621, df = 9,
    // p-value = 0.002833, 95 percent CI -2.4598858 -0.7001142.
    const auto r = paired_t_test(k_sleep_one, k_sleep_two);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_NEAR(r->t, -4.0621, 0.5e-4);
    EXPECT_DOUBLE_EQ(r->df, 9.0);
    EXPECT_NEAR(r->p_value, 0.002833, 0.5e-6);
    EXPECT_NEAR(r->ci.low, -2.4598858, 1e-7);
    EXPECT_NEAR(r->ci.high, -0.7001142, 1e-7);
}

TEST(PairedT, RejectsUnequalLengths)
{
    auto r = paired_t_test(k_sleep_one, std::vector<double>{1.0, 2.0});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("equal lengths"), std::string::npos);
}

TEST(MannWhitney, ExactForSmallSamplesWithoutTies)
{
    // All of x below all of y: U = 0 and only 2 of the C(6,3) = 20 orderings are as extreme.
    const auto r = mann_whitney_u(std::vector<double>{1, 2, 3}, std::vector<double>{4, 5, 6});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->method, MannWhitneyMethod::exact);
    EXPECT_DOUBLE_EQ(r->u, 0.0);
    EXPECT_NEAR(r->p_value, 0.1, 1e-12);
}

TEST(MannWhitney, RDocumentationExample)
{
    // R documentation, wilcox.test: x (depression scale, Hollander & Wolfe 1973 p. 69),
    // wilcox.test(x, y, alternative = "g") -> W = 35, p-value = 0.1272; two-sided is twice that.
    const std::vector<double> x{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46};
    const std::vector<double> y{1.15, 0.88, 0.90, 0.74, 1.21};
    const auto r = mann_whitney_u(x, y);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->method, MannWhitneyMethod::exact);
    EXPECT_DOUBLE_EQ(r->u, 35.0);
    EXPECT_NEAR(r->p_value, 2 * 0.1272, 2 * 0.5e-4);
}

TEST(MannWhitney, TiesUseNormalApproximationLikeR)
{
    // R: wilcox.test(extra ~ group, data = sleep) -> W = 25.5, p-value = 0.06933 (with
    // continuity correction; ties force the normal approximation).
    const auto r = mann_whitney_u(k_sleep_one, k_sleep_two);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->has_ties);
    EXPECT_EQ(r->method, MannWhitneyMethod::normal_approximation);
    EXPECT_DOUBLE_EQ(r->u, 25.5);
    EXPECT_NEAR(r->p_value, 0.06933, 0.5e-5);
}

TEST(MannWhitney, AllTiedIsOne)
{
    const auto r = mann_whitney_u(std::vector<double>{90, 90}, std::vector<double>{90, 90, 90});
    ASSERT_TRUE(r);
    EXPECT_DOUBLE_EQ(r->p_value, 1.0);
}

TEST(Permutation, ExactEnumerationSmallCase)
{
    // Of the 20 splits of {1..6} into 3 + 3, only {1,2,3} and {4,5,6} have |difference| 3.
    const auto r = permutation_test(std::vector<double>{1, 2, 3}, std::vector<double>{4, 5, 6});
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->exact);
    EXPECT_EQ(r->permutations, 20U);
    EXPECT_DOUBLE_EQ(r->observed_difference, -3.0);
    EXPECT_NEAR(r->p_value, 0.1, 1e-12);
}

TEST(Permutation, SeedScoresMonteCarloAgreesWithExactValue)
{
    // For two-valued scores the permutation distribution is the hypergeometric of the 65s:
    // p equals Fisher's on 14/15 vs 11/15, 51111520 / 155117520 = 0.3295 (see the Fisher test).
    // C(30, 15) relabellings are too many to enumerate, so this samples 100000 of them.
    const auto r = permutation_test(scores(14, 1), scores(11, 4));
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->exact);
    EXPECT_EQ(r->permutations, 100000U);
    EXPECT_EQ(r->seed, k_default_seed);
    EXPECT_NEAR(r->observed_difference, 5.0, 1e-9);
    // Monte Carlo SE is sqrt(0.33 * 0.67 / 1e5) = 0.0015; allow 4 SE.
    EXPECT_NEAR(r->p_value, 51111520.0 / 155117520.0, 0.006);
}

TEST(Permutation, SameSeedSameAnswer)
{
    PermutationOptions options;
    options.max_exact = 0;
    options.resamples = 2000;
    const auto a = permutation_test(k_sleep_one, k_sleep_two, options);
    const auto b = permutation_test(k_sleep_one, k_sleep_two, options);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->p_value, b->p_value);
    options.seed = 99;
    const auto c = permutation_test(k_sleep_one, k_sleep_two, options);
    ASSERT_TRUE(c);
    EXPECT_GT(c->p_value, 0.0);
}

} // namespace
} // namespace gpumod::stats
