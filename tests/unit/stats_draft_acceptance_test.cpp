#include "core/stats/draft_acceptance.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace gpumod::stats {
namespace {

TEST(DraftAcceptance, SeedPooledRatios)
{
    // Issue #6 errata: pooled acceptance is 277,488 / 366,406 = 75.7% (baseline) and
    // 266,045 / 350,181 = 76.0% (candidate), so the pooled change is +0.2 pp, not -2.7 pp.
    const std::vector<DraftCounts> base{{366406, 277488}};
    const std::vector<DraftCounts> cand{{350181, 266045}};
    const auto b = draft_acceptance(base);
    const auto c = draft_acceptance(cand);
    ASSERT_TRUE(b && c);
    EXPECT_NEAR(b->pooled_ratio, 0.757, 0.5e-3);
    EXPECT_NEAR(c->pooled_ratio, 0.760, 0.5e-3);
    EXPECT_NEAR((c->pooled_ratio - b->pooled_ratio) * 100.0, 0.2, 0.05);
}

TEST(DraftAcceptance, PooledAndMeanDifferWhenRequestsDiffer)
{
    // 90/100 and 1/10: pooled 91/110, mean of ratios (0.9 + 0.1) / 2; a request that drafted
    // nothing is left out of the mean but counted in `requests`.
    const std::vector<DraftCounts> requests{{100, 90}, {10, 1}, {0, 0}};
    const auto a = draft_acceptance(requests);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->total_drafted, 110U);
    EXPECT_EQ(a->total_accepted, 91U);
    EXPECT_DOUBLE_EQ(a->pooled_ratio, 91.0 / 110.0);
    EXPECT_DOUBLE_EQ(a->mean_per_request_ratio, 0.5);
    EXPECT_EQ(a->requests, 3U);
    EXPECT_EQ(a->requests_with_drafts, 2U);
}

TEST(DraftAcceptance, RejectsImpossibleCountsByIndex)
{
    const std::vector<DraftCounts> bad{{10, 5}, {3, 4}};
    auto r = draft_acceptance(bad);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("requests[1]"), std::string::npos);
    EXPECT_FALSE(draft_acceptance({}));
    const std::vector<DraftCounts> none{{0, 0}};
    auto n = draft_acceptance(none);
    ASSERT_FALSE(n);
    EXPECT_NE(n.error().message.find("undefined"), std::string::npos);
}

TEST(DraftAcceptance, LabelsNameTheMethod)
{
    EXPECT_NE(k_pooled_acceptance_label.find("sum accepted / sum drafted"), std::string::npos);
    EXPECT_NE(k_mean_acceptance_label.find("per-request"), std::string::npos);
}

} // namespace
} // namespace gpumod::stats
