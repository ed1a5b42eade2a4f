#include "core/stats/proportions.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace gpumod::stats {
namespace {

constexpr double k_four_places = 0.5e-4 + 1e-12;
constexpr double k_tenth_percent = 0.5e-3 + 1e-12;

struct WilsonCase
{
    Counts counts;
    double low;
    double high;
};

TEST(Wilson, NewcombeSingleProportionExamples)
{
    // Newcombe RG (1998), "Two-sided confidence intervals for the single proportion:
    // comparison of seven methods", Stat Med 17:857-872, Table II, method 3 (score, no CC).
    const std::vector<WilsonCase> cases{
        {{81, 263}, 0.2553, 0.3662},
        {{15, 148}, 0.0624, 0.1605},
        {{0, 20}, 0.0, 0.1611},
        {{1, 29}, 0.0061, 0.1718},
    };
    for (const auto& c : cases) {
        const auto w = wilson_interval(c.counts);
        ASSERT_TRUE(w) << w.error().message;
        EXPECT_NEAR(w->ci.low, c.low, k_four_places)
            << c.counts.successes << "/" << c.counts.trials;
        EXPECT_NEAR(w->ci.high, c.high, k_four_places)
            << c.counts.successes << "/" << c.counts.trials;
    }
}

TEST(Wilson, SeedSmokeIntervals)
{
    // Seed report, L1 smoke table: 19/20 -> [76.4%, 99.1%], 18/20 -> [69.9%, 97.2%].
    const auto base = wilson_interval({19, 20});
    const auto cand = wilson_interval({18, 20});
    ASSERT_TRUE(base && cand);
    EXPECT_DOUBLE_EQ(base->estimate, 0.95);
    EXPECT_NEAR(base->ci.low, 0.764, k_tenth_percent);
    EXPECT_NEAR(base->ci.high, 0.991, k_tenth_percent);
    EXPECT_NEAR(cand->ci.low, 0.699, k_tenth_percent);
    EXPECT_NEAR(cand->ci.high, 0.972, k_tenth_percent);
}

TEST(Wilson, AllPassAndAllFailTouchTheBoundary)
{
    const auto all = wilson_interval({15, 15});
    ASSERT_TRUE(all);
    EXPECT_DOUBLE_EQ(all->ci.high, 1.0);
    EXPECT_LT(all->ci.low, 1.0);
    const auto none = wilson_interval({0, 15});
    ASSERT_TRUE(none);
    EXPECT_DOUBLE_EQ(none->ci.low, 0.0);
}

TEST(Wilson, RejectsImpossibleCounts)
{
    auto zero = wilson_interval({0, 0});
    ASSERT_FALSE(zero);
    EXPECT_NE(zero.error().message.find("counts: trials"), std::string::npos);
    auto over = wilson_interval({21, 20});
    ASSERT_FALSE(over);
    EXPECT_NE(over.error().message.find("exceed"), std::string::npos);
    EXPECT_FALSE(wilson_interval({1, 2}, 0.0));
}

struct DifferenceCase
{
    Counts first;
    Counts second;
    double low;
    double high;
};

TEST(Newcombe, DifferenceExamplesFromTheMethodPaper)
{
    // Newcombe RG (1998), "Interval estimation for the difference between independent
    // proportions: comparison of eleven methods", Stat Med 17:873-890, Table II, method 10.
    const std::vector<DifferenceCase> cases{
        {{56, 70}, {48, 80}, 0.0524, 0.3339}, {{9, 10}, {3, 10}, 0.1705, 0.8090},
        {{5, 56}, {0, 29}, -0.0381, 0.1926},  {{0, 10}, {0, 20}, -0.1611, 0.2775},
        {{0, 10}, {0, 10}, -0.2775, 0.2775},  {{10, 10}, {0, 20}, 0.6791, 1.0},
        {{10, 10}, {0, 10}, 0.6075, 1.0},
    };
    for (const auto& c : cases) {
        const auto d = newcombe_difference(c.first, c.second);
        ASSERT_TRUE(d) << d.error().message;
        EXPECT_NEAR(d->ci.low, c.low, k_four_places)
            << c.first.successes << "/" << c.first.trials << " vs " << c.second.successes << "/"
            << c.second.trials;
        EXPECT_NEAR(d->ci.high, c.high, k_four_places)
            << c.first.successes << "/" << c.first.trials << " vs " << c.second.successes << "/"
            << c.second.trials;
    }
}

TEST(Newcombe, SeedSmokeDifferenceIncludesZero)
{
    // 19/20 vs 18/20: the seed says "indistinguishable"; the interval must straddle 0.
    const auto d = newcombe_difference({19, 20}, {18, 20});
    ASSERT_TRUE(d);
    EXPECT_NEAR(d->difference, 0.05, 1e-12);
    EXPECT_LT(d->ci.low, 0.0);
    EXPECT_GT(d->ci.high, 0.0);
}

TEST(Newcombe, NamesTheBadArgument)
{
    auto r = newcombe_difference({1, 2}, {3, 2});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("second"), std::string::npos);
}

TEST(Fisher, LadyTastingTea)
{
    // Agresti (2002), Categorical Data Analysis, sect. 3.5.2; R's fisher.test(TeaTasting):
    // 3 of 4 vs 1 of 4, two-sided p = 34/70 = 0.4857.
    const auto p = fisher_exact_two_sided({3, 4}, {1, 4});
    ASSERT_TRUE(p);
    EXPECT_NEAR(*p, 34.0 / 70.0, 1e-12);
}

TEST(Fisher, ConvictionsOfTwins)
{
    // R documentation, fisher.test, example "Convictions" (Fisher 1962): convicted 2 of 17
    // dizygotic vs 10 of 13 monozygotic twins; fisher.test(Convictions) two-sided
    // p-value = 0.0005367.
    const auto p = fisher_exact_two_sided({2, 17}, {10, 13});
    ASSERT_TRUE(p);
    EXPECT_NEAR(*p, 0.0005367, 0.5e-7);
}

TEST(Fisher, SeedLevelOneCounts)
{
    // 14/15 vs 11/15 (seed L1). Failures in the first row are hypergeometric with 5 failures in
    // 30: tables with 0, 1, 4, 5 are as or less likely than the observed 1, so
    // p = [C(25,15) + 5 C(25,14) + 5 C(25,11) + C(25,10)] / C(30,15) = 51111520 / 155117520.
    const auto p = fisher_exact_two_sided({14, 15}, {11, 15});
    ASSERT_TRUE(p);
    EXPECT_NEAR(*p, 51111520.0 / 155117520.0, 1e-12);
}

TEST(Fisher, SeedSmokeCountsGiveOne)
{
    // 19/20 vs 18/20: every table with 3 failures in 40 is as or less likely than the
    // observed one (the distribution is symmetric, the observed table is a mode), so p = 1.
    const auto p = fisher_exact_two_sided({19, 20}, {18, 20});
    ASSERT_TRUE(p);
    EXPECT_NEAR(*p, 1.0, 1e-12);
}

TEST(Fisher, IdenticalAllPassIsOne)
{
    const auto p = fisher_exact_two_sided({15, 15}, {15, 15});
    ASSERT_TRUE(p);
    EXPECT_DOUBLE_EQ(*p, 1.0);
}

TEST(Cmh, RabbitsPenicillinExampleFromR)
{
    // R documentation, mantelhaen.test, example "Rabbits" (Bishop, Fienberg & Holland 1975):
    // Mantel-Haenszel X-squared = 3.9286, df = 1, p-value = 0.04747 (continuity corrected).
    // Strata are penicillin levels; first = injected immediately, second = delayed 1.5 h;
    // success = cured.
    const std::vector<Stratum> rabbits{
        {{0, 6}, {0, 5}}, {{3, 6}, {0, 6}}, {{6, 6}, {2, 6}}, {{5, 6}, {6, 6}}, {{2, 2}, {5, 5}},
    };
    const auto r = cochran_mantel_haenszel(rabbits);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_NEAR(r->statistic, 3.9286, k_four_places);
    EXPECT_NEAR(r->p_value, 0.04747, 0.5e-5);
    EXPECT_EQ(r->informative_strata, 3U);
    // Mantel-Haenszel estimator by hand: sum(a d / n) / sum(b c / n) = 3.5 / 0.5.
    ASSERT_TRUE(r->common_odds_ratio.has_value());
    EXPECT_NEAR(*r->common_odds_ratio, 7.0, 1e-12);
    // Without correction: 3^2 / (27/44 + 8/11 + 1/4) = 9 / (35/22).
    const auto plain = cochran_mantel_haenszel(rabbits, ContinuityCorrection::none);
    ASSERT_TRUE(plain);
    EXPECT_NEAR(plain->statistic, 9.0 * 22.0 / 35.0, 1e-12);
}

TEST(Cmh, SeedLevelsCarryOnlyLevelOne)
{
    // Seed level table: only L1 differs (14/15 vs 11/15); L2-L4 are 15/15 in both, L5 0/15.
    const std::vector<Stratum> levels{
        {{14, 15}, {11, 15}}, {{15, 15}, {15, 15}}, {{15, 15}, {15, 15}},
        {{15, 15}, {15, 15}}, {{0, 15}, {0, 15}},
    };
    const auto r = cochran_mantel_haenszel(levels);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->informative_strata, 1U);
    EXPECT_DOUBLE_EQ(r->observed, 14.0 + 15.0 * 3.0);
    EXPECT_GT(r->p_value, 0.05);
    EXPECT_LT(r->p_value, 1.0);
}

TEST(Cmh, AllConcordantStrataGiveNoEvidence)
{
    const std::vector<Stratum> levels{{{15, 15}, {15, 15}}, {{0, 15}, {0, 15}}};
    const auto r = cochran_mantel_haenszel(levels);
    ASSERT_TRUE(r);
    EXPECT_DOUBLE_EQ(r->statistic, 0.0);
    EXPECT_DOUBLE_EQ(r->p_value, 1.0);
    EXPECT_EQ(r->informative_strata, 0U);
}

TEST(Cmh, NamesTheBadStratum)
{
    const std::vector<Stratum> levels{{{1, 2}, {1, 2}}, {{3, 2}, {1, 2}}};
    auto r = cochran_mantel_haenszel(levels);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("strata[1].first"), std::string::npos);
    EXPECT_FALSE(cochran_mantel_haenszel({}));
}

TEST(McNemar, ExactBinomialOnDiscordantPairs)
{
    // R: binom.test(1, 10)$p.value = 22/1024 = 0.02148438 (two-sided, p = 0.5).
    const auto p = mcnemar_exact({5, 1, 9, 5});
    ASSERT_TRUE(p);
    EXPECT_NEAR(*p, 22.0 / 1024.0, 1e-15);
    // Order of the runs does not matter.
    EXPECT_NEAR(*mcnemar_exact({5, 9, 1, 5}), 22.0 / 1024.0, 1e-15);
    // binom.test(0, 5): 2 / 32.
    EXPECT_NEAR(*mcnemar_exact({0, 0, 5, 0}), 2.0 / 32.0, 1e-15);
}

TEST(McNemar, BalancedOrNoDiscordanceIsOne)
{
    EXPECT_DOUBLE_EQ(*mcnemar_exact({10, 3, 3, 4}), 1.0);
    EXPECT_DOUBLE_EQ(*mcnemar_exact({10, 0, 0, 4}), 1.0);
}

} // namespace
} // namespace gpumod::stats
