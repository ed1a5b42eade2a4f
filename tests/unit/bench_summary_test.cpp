#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/bench/summary.hpp"

namespace gpumod::bench {
namespace {

const std::vector<std::pair<std::string, int>> k_levels{
    {"L1", 25}, {"L2", 25}, {"L3", 25}, {"L4", 15}, {"L5", 10}};

AttemptRecord attempt(int iteration, const std::string& level, int points, Outcome outcome)
{
    AttemptRecord record;
    record.iteration = iteration;
    record.level = level;
    record.outcome = outcome;
    record.points_possible = points;
    record.points = outcome == Outcome::pass ? points : 0;
    record.metrics.completion_tokens = 100;
    record.metrics.request_ms = 1000;
    return record;
}

/// The seed report's baseline: 14 iterations of 90 (L5 failed) and one of 65 (L2 and L5).
RunRecord seed_baseline()
{
    RunRecord run;
    run.config.iterations = 15;
    for (const auto& [id, points] : k_levels) {
        run.config.level_ids.push_back(id);
    }
    for (int iteration = 1; iteration <= 15; ++iteration) {
        for (const auto& [id, points] : k_levels) {
            const bool fails = id == "L5" || (iteration == 15 && id == "L2");
            run.attempts.push_back(
                attempt(iteration, id, points, fails ? Outcome::test_failures : Outcome::pass));
        }
    }
    return run;
}

TEST(BenchSummary, ReproducesTheSeedsBaselineScoreStatistics)
{
    const auto summary = summarize_run(seed_baseline());
    EXPECT_EQ(summary.complete_iterations, 15U);
    ASSERT_TRUE(summary.score_mean && summary.score_sd && summary.score_ci95);
    EXPECT_NEAR(*summary.score_mean, 88.3, 0.05);
    EXPECT_NEAR(*summary.score_sd, 6.5, 0.05);
    EXPECT_NEAR(summary.score_ci95->low, 84.8, 0.05);
    EXPECT_NEAR(summary.score_ci95->high, 91.9, 0.05);
    EXPECT_EQ(summary.levels[1].passed, 14);
    EXPECT_EQ(summary.levels[1].attempts, 15);
    EXPECT_EQ(summary.levels[4].passed, 0);
    EXPECT_EQ(summary.outcomes.at("test_failures"), 16);
}

TEST(BenchSummary, SmokeRunGetsAWilsonInterval)
{
    RunRecord run;
    run.config.kind = RunKind::smoke;
    run.config.iterations = 20;
    run.config.level_ids = {"L1"};
    for (int i = 1; i <= 20; ++i) {
        run.attempts.push_back(attempt(i, "L1", 25, i <= 18 ? Outcome::pass : Outcome::no_code));
    }
    const auto summary = summarize_run(run);
    EXPECT_EQ(summary.passed, 18);
    EXPECT_EQ(summary.scored, 20);
    ASSERT_TRUE(summary.pass_wilson95);
    EXPECT_NEAR(summary.pass_wilson95->low, 0.699, 0.0005);
    EXPECT_NEAR(summary.pass_wilson95->high, 0.972, 0.0005);
    EXPECT_EQ(summary.levels[0].outcomes.at("no_code"), 2);
}

TEST(BenchSummary, InfrastructureOutcomesAreNeverScored)
{
    auto run = seed_baseline();
    run.attempts.push_back(attempt(16, "L1", 25, Outcome::server_error));
    run.config.iterations = 16;
    const auto summary = summarize_run(run);
    EXPECT_EQ(summary.infrastructure_failures, 1U);
    EXPECT_EQ(summary.scored, 75);
    EXPECT_EQ(summary.complete_iterations, 15U) << "iteration 16 has no scored level";
    EXPECT_EQ(summary.levels[0].attempts, 15);
}

TEST(BenchSummary, IncompleteIterationsAreShownButNotInTheScoreStatistics)
{
    auto run = seed_baseline();
    run.config.iterations = 16;
    run.attempts.push_back(attempt(16, "L1", 25, Outcome::pass));
    const auto summary = summarize_run(run);
    ASSERT_EQ(summary.iterations.size(), 16U);
    EXPECT_FALSE(summary.iterations.back().complete);
    EXPECT_EQ(summary.iterations.back().points, 25);
    EXPECT_NEAR(*summary.score_mean, 88.3, 0.05);
}

TEST(BenchSummary, DraftAcceptanceIsPooledAndMeanPerRequestLabelledApart)
{
    RunRecord run;
    run.config.iterations = 2;
    run.config.level_ids = {"L1"};
    auto a = attempt(1, "L1", 25, Outcome::pass);
    a.metrics.draft_n = 10;
    a.metrics.draft_n_accepted = 9;
    auto b = attempt(2, "L1", 25, Outcome::pass);
    b.metrics.draft_n = 100;
    b.metrics.draft_n_accepted = 50;
    run.attempts = {a, b};
    const auto summary = summarize_run(run);
    ASSERT_TRUE(summary.draft_acceptance_pooled && summary.draft_acceptance_mean_per_request);
    EXPECT_NEAR(*summary.draft_acceptance_pooled, 59.0 / 110.0, 1e-12);
    EXPECT_NEAR(*summary.draft_acceptance_mean_per_request, 0.7, 1e-12);
    EXPECT_EQ(*summary.draft_tokens, 110);
    const auto json = nlohmann::json::parse(encode_summary(summary));
    EXPECT_NEAR(json.at("draft_acceptance_pooled").get<double>(), 59.0 / 110.0, 1e-12);
    EXPECT_TRUE(json.at("score_sd").is_number());
}

TEST(BenchSummary, MetricMedianOfEvenAndOddCounts)
{
    EXPECT_FALSE(summarize_metric({}).has_value());
    EXPECT_DOUBLE_EQ(summarize_metric({3, 1, 2})->median, 2.0);
    EXPECT_DOUBLE_EQ(summarize_metric({4, 1, 2, 3})->median, 2.5);
    EXPECT_DOUBLE_EQ(summarize_metric({4, 1, 2, 3})->max, 4.0);
}

TEST(BenchSummary, EmptyRunHasNoScores)
{
    RunRecord run;
    run.config.level_ids = {"L1"};
    run.config.iterations = 3;
    const auto summary = summarize_run(run);
    EXPECT_EQ(summary.attempts_planned, 3U);
    EXPECT_FALSE(summary.score_mean);
    EXPECT_FALSE(summary.pass_wilson95);
    const auto json = nlohmann::json::parse(encode_summary(summary));
    EXPECT_TRUE(json.at("score_mean").is_null());
    EXPECT_EQ(json.at("attempts_planned").get<int>(), 3);
}

} // namespace
} // namespace gpumod::bench
