// The comparison model: numbers from the seed's raw counts, confounds detected from recorded
// settings, the paired/independent choice, and verdicts whose wording follows the numbers.

#include "core/report/comparison.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/seed_runs.hpp"
#include "core/report/render_markdown.hpp"
#include "core/report/report_format.hpp"
#include "core/report/text_table.hpp"

namespace gpumod::report {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
namespace seed = gpumod::testing::seed;

const FactRow& row_of(const std::vector<FactRow>& rows, const std::string& key)
{
    const auto it =
        std::find_if(rows.begin(), rows.end(), [&](const FactRow& r) { return r.key == key; });
    if (it == rows.end()) {
        throw std::runtime_error("no row " + key);
    }
    return *it;
}

const Verdict* verdict_of(const Comparison& c, const std::string& topic)
{
    const auto it = std::find_if(c.verdicts.begin(), c.verdicts.end(),
                                 [&](const Verdict& v) { return v.topic == topic; });
    return it == c.verdicts.end() ? nullptr : &*it;
}

/// A run of `levels` x `iterations` where attempt (iteration, level) passes when
/// `passes(iteration, level)`; every level is worth 20 points.
template <typename Passes>
bench::RunRecord grid_run(std::string id, std::uint64_t seed_base, int iterations, Passes passes)
{
    auto run = seed::common_run(std::move(id), bench::RunKind::run, "m.gguf", seed_base);
    run.config.level_ids = {"L1", "L2"};
    run.config.iterations = iterations;
    for (int it = 1; it <= iterations; ++it) {
        for (int l = 0; l < 2; ++l) {
            bench::AttemptRecord a;
            a.iteration = it;
            a.level = run.config.level_ids[static_cast<std::size_t>(l)];
            a.seed = it * 10 + l; // the same in every run: the items can be paired
            a.outcome = passes(it, l) ? bench::Outcome::pass : bench::Outcome::test_failures;
            a.points_possible = 20;
            a.points = a.outcome == bench::Outcome::pass ? 20 : 0;
            a.metrics.request_ms = 1000;
            run.attempts.push_back(a);
        }
    }
    run.updated_at_ms = run.created_at_ms + 60'000;
    return run;
}

Comparison seed_comparison()
{
    const auto base = seed::baseline();
    const auto cand = seed::candidate();
    const auto base_smoke = seed::baseline_smoke();
    const auto cand_smoke = seed::candidate_smoke();
    CompareOptions options;
    options.label_base = "Baseline";
    options.label_cand = "Heretic";
    return compare_runs(base, cand, &base_smoke, &cand_smoke, options);
}

TEST(Comparison, SeedSummaryMatchesTheSeedsTables)
{
    const auto c = seed_comparison();
    ASSERT_TRUE(c.summary_base.mean && c.summary_base.sd && c.summary_base.ci);
    EXPECT_EQ(format_fixed(*c.summary_base.mean), "88.3");
    EXPECT_EQ(format_fixed(*c.summary_base.sd), "6.5");
    EXPECT_EQ(format_interval(*c.summary_base.ci), "[84.8, 91.9]");
    ASSERT_TRUE(c.summary_cand.mean && c.summary_cand.sd && c.summary_cand.ci);
    EXPECT_EQ(format_fixed(*c.summary_cand.mean), "83.3");
    EXPECT_EQ(format_fixed(*c.summary_cand.sd), "11.4");
    EXPECT_EQ(format_interval(*c.summary_cand.ci), "[77.0, 89.7]");
    EXPECT_DOUBLE_EQ(*c.summary_base.mean_tps, 216.5);
    EXPECT_DOUBLE_EQ(*c.summary_cand.mean_tps, 212.5);
    // The seed's "-1.84%" came from a different rounding; its own means give -1.85%.
    EXPECT_EQ(format_signed(*c.delta.tps_percent, 2), "-1.85");
    EXPECT_EQ(c.delta.ci_overlap, true);
    EXPECT_EQ(format_signed(*c.delta.mean), "-5.0");
    // The seed's "+4.9" subtracted the rounded SDs (11.4 - 6.5); unrounded it is +4.99.
    EXPECT_EQ(format_signed(*c.delta.sd), "+5.0");
}

TEST(Comparison, DraftAcceptanceIsPooledAndPerRequestEachLabelled)
{
    const auto c = seed_comparison();
    EXPECT_EQ(c.drafts_base.drafted, 366'406);
    EXPECT_EQ(c.drafts_base.accepted, 277'488);
    EXPECT_EQ(c.drafts_cand.drafted, 350'181);
    EXPECT_EQ(c.drafts_cand.accepted, 266'045);
    EXPECT_EQ(format_percent(*c.drafts_base.pooled), "75.7%");
    EXPECT_EQ(format_percent(*c.drafts_cand.pooled), "76.0%");
    EXPECT_EQ(format_percent(*c.drafts_base.mean_per_request), "78.7%");
    // The seed's "-2.7 pp" is the mean of ratios; pooled, the candidate is 0.2 pp higher.
    EXPECT_EQ(format_pp(*c.delta.acceptance_pooled_pp), "+0.2 pp");
    EXPECT_EQ(format_pp(*c.delta.acceptance_mean_per_request_pp), "-2.7 pp");
    EXPECT_EQ(c.drafts_base.spec_type, "draft-mtp");
    EXPECT_EQ(c.drafts_base.n_max, 2);
    const auto* v = verdict_of(c, "drafts");
    ASSERT_NE(v, nullptr);
    EXPECT_THAT(v->sentence, AllOf(HasSubstr("75.7%"), HasSubstr("76.0%"), HasSubstr("+0.2 pp"),
                                   HasSubstr("78.7%"), HasSubstr("-2.7 pp")));
}

TEST(Comparison, SeedLevelsSmokeAndPlanning)
{
    const auto c = seed_comparison();
    ASSERT_EQ(c.levels.size(), 5U);
    EXPECT_EQ(c.levels[0].base.passed, 14);
    EXPECT_EQ(c.levels[0].cand.passed, 11);
    EXPECT_EQ(format_p(*c.levels[0].fisher_p), "0.33"); // R: fisher.test 0.3295
    EXPECT_EQ(c.levels[4].base.passed, 0);
    ASSERT_TRUE(c.smoke_base && c.smoke_cand);
    EXPECT_EQ(format_percent_interval(*c.smoke_cand->pass.wilson), "[69.9%, 97.2%]");
    EXPECT_EQ(format_percent_interval(*c.smoke_base->pass.wilson), "[76.4%, 99.1%]");
    EXPECT_NEAR(*c.smoke_base->mean_duration_s, 30.8, 1e-9);
    EXPECT_NEAR(*c.smoke_cand->mean_tokens_passes, 5800.0, 1e-9);
    ASSERT_EQ(c.smoke_cand->failures.size(), 2U);
    EXPECT_EQ(c.smoke_cand->failures[0].outcome, "budget_exhausted");
    EXPECT_EQ(c.smoke_cand->failures[0].attempts, (std::vector<int>{1}));
    EXPECT_EQ(c.smoke_cand->failures[1].outcome, "syntax_error");
    EXPECT_DOUBLE_EQ(*c.smoke_tests.fisher_p, 1.0);
    ASSERT_FALSE(c.planning.empty());
    EXPECT_EQ(c.planning[0].key, "target");
    EXPECT_EQ(c.planning[0].per_side->per_side, 435U);
    const auto* smoke = verdict_of(c, "smoke");
    ASSERT_NE(smoke, nullptr);
    EXPECT_THAT(smoke->sentence, HasSubstr("indistinguishable at n=20 attempts per run (Fisher "
                                           "p=1.00)"));
    EXPECT_FALSE(smoke->difference);
    const auto* l1 = verdict_of(c, "level L1");
    ASSERT_NE(l1, nullptr);
    EXPECT_THAT(l1->sentence, HasSubstr("indistinguishable at n=15 attempts per run (Fisher "
                                        "p=0.33)"));
    const auto* only = verdict_of(c, "levels where");
    ASSERT_NE(only, nullptr);
    EXPECT_THAT(only->sentence, HasSubstr("Only L1 differs"));
    const auto* planning = verdict_of(c, "planning");
    ASSERT_NE(planning, nullptr);
    EXPECT_THAT(planning->sentence, HasSubstr("435 attempts per side"));
}

TEST(Comparison, SeedConfoundsAreDetectedFromRecordedMetadata)
{
    const auto c = seed_comparison();
    EXPECT_TRUE(row_of(c.caveats, "model_family").differs);
    EXPECT_EQ(row_of(c.caveats, "model_family").base, "Qwen3.6 35B-A3B");
    EXPECT_TRUE(row_of(c.caveats, "finetune").differs);
    const auto& quant = row_of(c.caveats, "quantization");
    EXPECT_TRUE(quant.differs);
    // 18.2 GB x 8 / 34.66 B = 4.20 bpw; 17.4 GB -> 4.02 bpw.
    EXPECT_THAT(quant.base, HasSubstr("IQ4_XS (file name: UD-IQ4_XS), 4.20 bpw"));
    EXPECT_THAT(quant.cand, HasSubstr("Q3_K_L, 4.02 bpw"));
    EXPECT_THAT(quant.effect, HasSubstr("Heretic has 0.18 bpw less precision"));
    for (const char* same : {"server_build", "sampler", "context", "kv_cache", "draft",
                             "conversation", "max_tokens", "suite", "gpu", "driver"}) {
        EXPECT_FALSE(row_of(c.caveats, same).differs) << same;
    }
    EXPECT_EQ(row_of(c.caveats, "kv_cache").base, "K q8_0, V q8_0");
    EXPECT_EQ(row_of(c.caveats, "draft").base, "draft-mtp, n_max 2");
    EXPECT_EQ(row_of(c.caveats, "context").base, "131,072");
    const auto* v = verdict_of(c, "confounds");
    ASSERT_NE(v, nullptr);
    EXPECT_THAT(v->sentence, HasSubstr("differs in 3 recorded aspects (Model family, Fine-tune, "
                                       "Quantization)"));
}

TEST(Comparison, AKvCacheChangeIsTheOnlyConfoundWhenNothingElseDiffers)
{
    auto base = seed::baseline();
    auto cand = seed::baseline();
    cand.id = "20260527-000000-ffff";
    cand.server.argv[6] = "f16"; // -ctk f16 instead of q8_0
    const auto c = compare_runs(base, cand, nullptr, nullptr, {});
    const auto& kv = row_of(c.caveats, "kv_cache");
    EXPECT_TRUE(kv.differs);
    EXPECT_EQ(kv.cand, "K f16, V q8_0");
    EXPECT_EQ(kv.effect, "different KV cache precision");
    const auto differing = std::count_if(c.caveats.begin(), c.caveats.end(),
                                         [](const FactRow& r) { return r.differs; });
    EXPECT_EQ(differing, 1);
    EXPECT_THAT(verdict_of(c, "confounds")->sentence, HasSubstr("only KV cache differs"));
    // The same model file twice: the labels carry the run ids.
    EXPECT_THAT(c.label_cand, HasSubstr("20260527-000000-ffff"));
}

TEST(Comparison, RunsWithDifferentSeedsAreComparedAsIndependentSamples)
{
    const auto c = seed_comparison();
    EXPECT_FALSE(c.pairing.paired);
    ASSERT_FALSE(c.pairing.reasons.empty());
    EXPECT_THAT(c.pairing.reasons.front(), HasSubstr("per-attempt seeds differ"));
    EXPECT_FALSE(c.level_tests.mcnemar_p.has_value());
    EXPECT_FALSE(c.score_tests.paired_t.has_value());
    EXPECT_TRUE(c.score_tests.welch.has_value());
    EXPECT_TRUE(c.score_tests.permutation.has_value());
    EXPECT_FALSE(c.score_tests.permutation->exact); // C(30, 15) relabellings: sampled
    EXPECT_EQ(c.score_tests.permutation->seed, stats::k_default_seed);
    EXPECT_TRUE(c.score_tests.bootstrap.has_value());
    EXPECT_TRUE(c.level_tests.cmh.has_value());
    EXPECT_EQ(c.level_tests.cmh->informative_strata, 1U); // only L1 has any failure to compare
}

TEST(Comparison, SameItemsAndSeedsArePairedWithMcNemar)
{
    // Both runs: 10 iterations, same per-attempt seeds. The candidate fails L1 where the base
    // passed in iterations 1-7 and passes where the base failed in 9 and 10.
    const auto base = grid_run("base", 5, 10, [](int it, int l) { return l == 1 || it < 9; });
    const auto cand = grid_run("cand", 5, 10, [](int it, int l) { return l == 1 || it >= 8; });
    const auto c = compare_runs(base, cand, nullptr, nullptr, {});
    ASSERT_TRUE(c.pairing.paired) << (c.pairing.reasons.empty() ? "" : c.pairing.reasons[0]);
    EXPECT_EQ(c.pairing.shared_items, 20U);
    ASSERT_TRUE(c.level_tests.pairs.has_value());
    EXPECT_EQ(c.level_tests.pairs->second_only, 7U); // base only: iterations 1-7
    EXPECT_EQ(c.level_tests.pairs->first_only, 2U);  // candidate only: 9, 10
    EXPECT_EQ(c.level_tests.pairs->both, 11U);       // L2 x 10 and L1 in iteration 8
    ASSERT_TRUE(c.level_tests.mcnemar_p.has_value());
    // Exact binomial: 2 * P(X <= 2), X ~ Bin(9, 1/2) = 2 * 46/512.
    EXPECT_NEAR(*c.level_tests.mcnemar_p, 92.0 / 512.0, 1e-12);
    EXPECT_TRUE(c.score_tests.paired_t.has_value());
    EXPECT_TRUE(c.score_tests.paired_bootstrap.has_value());
    const auto* paired = verdict_of(c, "paired");
    ASSERT_NE(paired, nullptr);
    EXPECT_THAT(paired->sentence, HasSubstr("7 items passed only by"));
    EXPECT_THAT(paired->sentence, HasSubstr("exact McNemar p=0.18"));
    EXPECT_THAT(verdict_of(c, "scores")->sentence, HasSubstr("paired t-test"));
}

TEST(Comparison, DifferentIterationCountsAreNotPaired)
{
    const auto base = grid_run("base", 5, 10, [](int, int) { return true; });
    const auto cand = grid_run("cand", 5, 8, [](int, int) { return true; });
    const auto c = compare_runs(base, cand, nullptr, nullptr, {});
    EXPECT_FALSE(c.pairing.paired);
    EXPECT_THAT(c.pairing.reasons.front(), HasSubstr("different iteration counts (10 vs 8)"));
}

TEST(Comparison, ClearlyWorseLevelIsCalledWorseWithItsPValue)
{
    // L1: base 15/15, candidate 8/15. Fisher's exact p = 0.006 (R: fisher.test 0.006322).
    const auto base = grid_run("base", 1, 15, [](int, int) { return true; });
    const auto cand = grid_run("cand", 2, 15, [](int it, int l) { return l == 1 || it > 7; });
    CompareOptions options;
    options.label_base = "A";
    options.label_cand = "B";
    const auto c = compare_runs(base, cand, nullptr, nullptr, options);
    const auto* v = verdict_of(c, "level L1");
    ASSERT_NE(v, nullptr);
    EXPECT_TRUE(v->difference);
    EXPECT_THAT(v->sentence, HasSubstr("B worse on L1"));
    EXPECT_THAT(v->sentence, HasSubstr("B 8/15 (53%) vs A 15/15 (100%), Fisher p=0.006"));
    // The same numbers drive the score verdict: 7 iterations lost 20 points.
    const auto* scores = verdict_of(c, "scores");
    ASSERT_NE(scores, nullptr);
    EXPECT_TRUE(scores->difference);
    EXPECT_THAT(scores->sentence, HasSubstr("B scores 9.3 points lower than A"));
    EXPECT_THAT(scores->sentence, HasSubstr("unlikely to be chance"));
    const auto* cmh = verdict_of(c, "levels combined");
    ASSERT_NE(cmh, nullptr);
    EXPECT_THAT(cmh->sentence, HasSubstr("B passes less often than A"));
}

TEST(Comparison, SmallLevelGapIsIndistinguishableAndSaysSo)
{
    const auto base = grid_run("base", 1, 15, [](int, int) { return true; });
    const auto cand = grid_run("cand", 2, 15, [](int it, int l) { return l == 1 || it > 2; });
    CompareOptions options;
    options.label_base = "A";
    options.label_cand = "B";
    const auto c = compare_runs(base, cand, nullptr, nullptr, options);
    const auto* v = verdict_of(c, "level L1");
    ASSERT_NE(v, nullptr);
    EXPECT_FALSE(v->difference);
    EXPECT_THAT(v->sentence, AllOf(HasSubstr("indistinguishable at n=15 attempts per run"),
                                   HasSubstr("Fisher p=0.48"), Not(HasSubstr("worse"))));
}

TEST(Comparison, SmokeRunsMustBeGivenAsAPairOfSmokeRuns)
{
    const auto base = seed::baseline();
    const auto cand = seed::candidate();
    const auto smoke = seed::baseline_smoke();
    EXPECT_TRUE(check_comparable(base, cand, nullptr, nullptr).has_value());
    auto swapped = check_comparable(smoke, cand, nullptr, nullptr);
    ASSERT_FALSE(swapped.has_value());
    EXPECT_THAT(swapped.error().message,
                HasSubstr("BASE is run 20260526-090000-e5f6, a smoke run"));
    auto one = check_comparable(base, cand, &smoke, nullptr);
    ASSERT_FALSE(one.has_value());
    EXPECT_THAT(one.error().message, HasSubstr("two smoke runs"));
    auto wrong = check_comparable(base, cand, &smoke, &cand);
    ASSERT_FALSE(wrong.has_value());
    EXPECT_THAT(wrong.error().message, HasSubstr("CAND_SMOKE"));
}

TEST(Comparison, IncompleteIterationsAreListedButNotScored)
{
    auto cand = seed::candidate();
    cand.attempts.pop_back(); // iteration 15 lost its L5
    cand.status = bench::RunStatus::interrupted;
    const auto c = compare_runs(seed::baseline(), cand, nullptr, nullptr, {});
    EXPECT_EQ(c.summary_cand.iterations, 14U);
    ASSERT_EQ(c.scores_cand.points.size(), 15U);
    EXPECT_FALSE(c.scores_cand.points.back().has_value());
    ASSERT_FALSE(c.warnings.empty());
    EXPECT_THAT(c.warnings.front(), HasSubstr("interrupted, not complete"));
}

TEST(Comparison, ArgvFlagsReadBothSpellings)
{
    const std::vector<std::string> argv{"llama-server", "--ctx-size=4096", "-ctk", "q8_0",
                                        "--spec-type"};
    EXPECT_EQ(argv_flag(argv, {"-c", "--ctx-size"}), "4096");
    EXPECT_EQ(argv_flag(argv, {"-ctk", "--cache-type-k"}), "q8_0");
    EXPECT_FALSE(argv_flag(argv, {"--spec-type"}).has_value()); // no value follows
    EXPECT_FALSE(argv_flag(argv, {"-c"}).has_value());
}

TEST(ReportFormat, NumbersReadTheSameEverywhere)
{
    EXPECT_EQ(format_count(0), "0");
    EXPECT_EQ(format_count(54), "54");
    EXPECT_EQ(format_count(435), "435");
    EXPECT_EQ(format_count(4400), "4,400");
    EXPECT_EQ(format_count(32768), "32,768");
    EXPECT_EQ(format_count(366406), "366,406");
    EXPECT_EQ(format_count(-1234567), "-1,234,567");
    EXPECT_EQ(format_count(std::numeric_limits<std::int64_t>::min()),
              "-9,223,372,036,854,775,808");
    EXPECT_EQ(format_p(1.0), "1.00");
    EXPECT_EQ(format_p(0.3295), "0.33");
    EXPECT_EQ(format_p(0.00632), "0.006");
    EXPECT_EQ(format_p(0.0004), "<0.001");
    EXPECT_EQ(format_percent(0.9), "90.0%");
    EXPECT_EQ(format_pp(0.0024), "+0.2 pp");
    EXPECT_EQ(format_pp(-0.0273), "-2.7 pp");
    EXPECT_EQ(format_signed(-0.04), "0.0"); // no "-0.0"
    EXPECT_EQ(format_elapsed(30.8), "30.8 s");
    EXPECT_EQ(format_elapsed(2100), "35.0 min");
    EXPECT_EQ(format_elapsed(9000), "2.50 h");
    EXPECT_EQ(format_size(18'200'000'000), "18.2 GB");
    EXPECT_EQ(format_parameters(34'660'000'000), "34.7 B");
}

TEST(MarkdownTable, ColumnsArePaddedEscapedAndFreeOfTrailingSpace)
{
    MarkdownTable table;
    table.add_column("Name");
    table.add_column("Value", MarkdownTable::Align::right);
    table.add_row({"a|b", "1"});
    table.add_row({"Δ long name", "12345 "});
    const std::string text = table.render();
    EXPECT_EQ(text, "| Name        | Value |\n"
                    "| ----------- | ----: |\n"
                    "| a\\|b        |     1 |\n"
                    "| Δ long name | 12345 |\n");
}

TEST(MarkdownReport, EveryTableLineUpAndNoLineEndsInWhitespace)
{
    const std::string md = render_markdown(seed_comparison());
    std::size_t start = 0;
    std::size_t table_width = 0;
    int lines = 0;
    while (start < md.size()) {
        const std::size_t end = md.find('\n', start);
        ASSERT_NE(end, std::string::npos) << "the report ends in a newline";
        const std::string line = md.substr(start, end - start);
        ++lines;
        EXPECT_TRUE(line.empty() || (line.back() != ' ' && line.back() != '\t')) << line;
        if (!line.empty() && line.front() == '|') {
            const std::size_t width = display_width(line);
            if (table_width == 0) {
                table_width = width;
            }
            EXPECT_EQ(width, table_width) << line;
        } else {
            table_width = 0;
        }
        start = end + 1;
    }
    EXPECT_GT(lines, 100);
    EXPECT_THAT(md, HasSubstr("## Methodology"));
    EXPECT_THAT(md, HasSubstr("**Welch's t-test**"));
}

} // namespace
} // namespace gpumod::report
