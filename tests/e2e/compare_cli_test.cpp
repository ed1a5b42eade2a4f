// `gpumod bench compare` end to end, golden: result files built to match the seed report's raw
// counts (tests/support/seed_runs.hpp) go through the built binary, and the report must carry
// the seed's numbers (and the corrections of its errata) in Markdown and JSON.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "adapters/bench/run_store.hpp"
#include "adapters/sqlite/database.hpp"
#include "core/bench/result_codec.hpp"
#include "core/bench/summary.hpp"
#include "support/run_gpumod.hpp"
#include "support/seed_runs.hpp"
#include "support/temp_dir.hpp"

namespace gpumod::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

std::string read_text(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

fs::path write_result(const fs::path& dir, const bench::RunRecord& run)
{
    const fs::path path = dir / ("result_" + run.id + ".json");
    std::ofstream(path, std::ios::binary)
        << bench::encode_result_file(run, bench::encode_summary(bench::summarize_run(run)));
    return path;
}

class CompareE2e : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        m_base = write_result(m_dir.path(), seed::baseline());
        m_cand = write_result(m_dir.path(), seed::candidate());
        m_base_smoke = write_result(m_dir.path(), seed::baseline_smoke());
        m_cand_smoke = write_result(m_dir.path(), seed::candidate_smoke());
    }

    CliResult compare(std::vector<std::string> args)
    {
        args.insert(args.begin(), {"bench", "compare"});
        args.insert(args.end(), {"--db", db().string()});
        return run_gpumod(args);
    }

    fs::path db() const { return m_dir.path() / "state" / "gpumod.db"; }
    fs::path out() const { return m_dir.path() / "report"; }

    TempDir m_dir;
    fs::path m_base, m_cand, m_base_smoke, m_cand_smoke;
};

TEST_F(CompareE2e, SeedReportNumbersComeOutOfTheResultFiles)
{
    const auto result = compare({m_base.string(), m_cand.string(), "--smoke", m_base_smoke.string(),
                                 m_cand_smoke.string(), "--out", out().string(), "--label-base",
                                 "Baseline", "--label-cand", "Heretic"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const std::string& md = result.out;
    EXPECT_EQ(read_text(out() / "report.md"), md);
    EXPECT_THAT(result.err, HasSubstr("report written to"));

    // Summary: mean, SD, t interval, TPS, draft acceptance, wall; and the delta row.
    EXPECT_THAT(md, HasSubstr(" 88.3 |"));
    EXPECT_THAT(md, HasSubstr(" 6.5 |"));
    EXPECT_THAT(md, HasSubstr("[84.8, 91.9]"));
    EXPECT_THAT(md, HasSubstr(" 83.3 |"));
    EXPECT_THAT(md, HasSubstr(" 11.4 |"));
    EXPECT_THAT(md, HasSubstr("[77.0, 89.7]"));
    EXPECT_THAT(md, HasSubstr("216.5"));
    EXPECT_THAT(md, HasSubstr("212.5"));
    EXPECT_THAT(md, HasSubstr("-1.85%"));
    EXPECT_THAT(md, HasSubstr("35.0 min"));
    EXPECT_THAT(md, HasSubstr("32.0 min"));
    EXPECT_THAT(md, HasSubstr("2.3 min"));
    EXPECT_THAT(md, HasSubstr("2.1 min"));
    // Scores per iteration and level pass rates.
    EXPECT_THAT(md, HasSubstr("90, 90, 90, 65, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90"));
    EXPECT_THAT(md, HasSubstr("65, 90, 65, 65, 90, 90, 90, 90, 90, 90, 90, 90, 90, 90, 65"));
    EXPECT_THAT(md, HasSubstr("14× 90, 1× 65"));
    EXPECT_THAT(md, HasSubstr("11× 90, 4× 65"));
    EXPECT_THAT(md, HasSubstr("14/15 (93%)"));
    EXPECT_THAT(md, HasSubstr("11/15 (73%)"));
    EXPECT_THAT(md, HasSubstr("0/15 (0%)"));
    // MTP: totals, pooled (75.7% / 76.0%) and mean per request (78.7% / 76.0%), labelled.
    EXPECT_THAT(md, HasSubstr("366,406"));
    EXPECT_THAT(md, HasSubstr("277,488"));
    EXPECT_THAT(md, HasSubstr("350,181"));
    EXPECT_THAT(md, HasSubstr("266,045"));
    EXPECT_THAT(md, HasSubstr("75.7%"));
    EXPECT_THAT(md, HasSubstr("78.7%"));
    EXPECT_THAT(md, HasSubstr("+0.2 pp"));
    EXPECT_THAT(md, HasSubstr("-2.7 pp"));
    EXPECT_THAT(md, HasSubstr("Pooled acceptance"));
    EXPECT_THAT(md, HasSubstr("Mean per-request acceptance"));
    // Smoke: k/n, rate, Wilson, duration, tokens, failure modes.
    EXPECT_THAT(md, HasSubstr(" 19/20 |"));
    EXPECT_THAT(md, HasSubstr(" 18/20 |"));
    EXPECT_THAT(md, HasSubstr("[76.4%, 99.1%]"));
    EXPECT_THAT(md, HasSubstr("[69.9%, 97.2%]"));
    EXPECT_THAT(md, HasSubstr("30.8 s"));
    EXPECT_THAT(md, HasSubstr("36.0 s"));
    EXPECT_THAT(md, HasSubstr("4,400"));
    EXPECT_THAT(md, HasSubstr("5,800"));
    EXPECT_THAT(md, HasSubstr("budget_exhausted ×1 (#1); syntax_error ×1 (#3)"));
    // Caveats: quantization with bits per weight, the confound sentence; statistics; verdicts.
    EXPECT_THAT(md, HasSubstr("IQ4_XS (file name: UD-IQ4_XS), 4.20 bpw"));
    EXPECT_THAT(md, HasSubstr("differs in 3 recorded aspects"));
    EXPECT_THAT(md, HasSubstr("indistinguishable at n=20 attempts per run (Fisher p=1.00)"));
    EXPECT_THAT(md, HasSubstr("L1: Heretic 11/15 (73%) vs Baseline 14/15 (93%), "
                              "indistinguishable at n=15 attempts per run (Fisher p=0.33)"));
    EXPECT_THAT(md, HasSubstr("Only L1 differs"));
    EXPECT_THAT(md, HasSubstr("takes 435 attempts per side"));
    EXPECT_THAT(md, HasSubstr("Welch's t-test"));
    EXPECT_THAT(md, HasSubstr("Cochran-Mantel-Haenszel"));
    EXPECT_THAT(md, HasSubstr("Newcombe"));
    EXPECT_THAT(md, HasSubstr("per-attempt seeds differ"));
    EXPECT_THAT(md, HasSubstr("## Methodology"));
    EXPECT_THAT(md, HasSubstr("## Files"));
    EXPECT_THAT(md, Not(HasSubstr(" \n")));

    const auto report = json::parse(read_text(out() / "report.json"));
    EXPECT_EQ(report.at("schema"), "gpumod.bench.compare/1");
    const auto& summary = report.at("summary");
    EXPECT_NEAR(summary.at("base").at("mean").get<double>(), 88.333, 1e-3);
    EXPECT_NEAR(summary.at("base").at("sd").get<double>(), 6.455, 1e-3);
    EXPECT_NEAR(summary.at("base").at("ci_t").at("low").get<double>(), 84.758, 1e-3);
    EXPECT_NEAR(summary.at("base").at("ci_t").at("high").get<double>(), 91.908, 1e-3);
    EXPECT_NEAR(summary.at("cand").at("mean").get<double>(), 83.333, 1e-3);
    EXPECT_NEAR(summary.at("cand").at("sd").get<double>(), 11.443, 1e-3);
    EXPECT_NEAR(summary.at("cand").at("ci_t").at("low").get<double>(), 76.996, 1e-3);
    EXPECT_NEAR(summary.at("cand").at("ci_t").at("high").get<double>(), 89.670, 1e-3);
    EXPECT_NEAR(summary.at("delta").at("tps_percent").get<double>(), -1.8476, 1e-4);
    EXPECT_NEAR(summary.at("delta").at("acceptance_pooled").get<double>(), 0.002412, 1e-5);
    EXPECT_NEAR(summary.at("base").at("acceptance_pooled").get<double>(), 277488.0 / 366406.0,
                1e-12);
    EXPECT_NEAR(summary.at("cand").at("acceptance_pooled").get<double>(), 266045.0 / 350181.0,
                1e-12);
    const auto& smoke = report.at("smoke");
    EXPECT_NEAR(smoke.at("base").at("pass").at("wilson").at("low").get<double>(), 0.7639, 1e-4);
    EXPECT_NEAR(smoke.at("base").at("pass").at("wilson").at("high").get<double>(), 0.9911, 1e-4);
    EXPECT_NEAR(smoke.at("cand").at("pass").at("wilson").at("low").get<double>(), 0.6990, 1e-4);
    EXPECT_NEAR(smoke.at("cand").at("pass").at("wilson").at("high").get<double>(), 0.9721, 1e-4);
    EXPECT_DOUBLE_EQ(report.at("statistics").at("smoke").at("fisher_p").get<double>(), 1.0);
    EXPECT_NEAR(report.at("levels").at(0).at("fisher_p").get<double>(), 0.32950, 1e-5);
    EXPECT_EQ(report.at("planning").at(0).at("per_side"), 435);
    EXPECT_EQ(report.at("statistics").at("pairing").at("paired"), false);
    EXPECT_EQ(report.at("drafts").at("base").at("drafted"), 366406);
    EXPECT_EQ(report.at("labels").at("cand"), "Heretic");
}

TEST_F(CompareE2e, RunsAreFoundInTheDatabaseByIdPrefix)
{
    {
        auto database = sqlite::Database::open(db());
        ASSERT_TRUE(database.has_value()) << database.error().message;
        bench::RunStore store(*database);
        ASSERT_TRUE(store.create_run(seed::baseline()).has_value());
        ASSERT_TRUE(store.create_run(seed::candidate()).has_value());
    }
    const auto result =
        compare({"20260524-12", "20260526-14", "--out", out().string(), "--format", "json"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const auto report = json::parse(result.out);
    EXPECT_EQ(report.at("files").at(0).at("source"), "database run 20260524-120000-a1b2");
    EXPECT_EQ(report.at("labels").at("base"), "Qwen3.6-35B-A3B-MTP-UD-IQ4_XS");
    EXPECT_EQ(report.at("smoke"), nullptr);
    EXPECT_TRUE(fs::exists(out() / "report.md"));
}

TEST_F(CompareE2e, HtmlFormatPrintsWhereTheReportIs)
{
    const auto result =
        compare({m_base.string(), m_cand.string(), "--out", out().string(), "--format", "html"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out, (out() / "report.html").string() + "\n");
    EXPECT_THAT(read_text(out() / "report.html"), HasSubstr("88.3"));
}

TEST_F(CompareE2e, BadInputsAreRefusedWithANextStep)
{
    auto missing = compare({(m_dir.path() / "nope.json").string(), m_cand.string()});
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_THAT(missing.err, HasSubstr("BASE: no file"));

    auto swapped = compare({m_base_smoke.string(), m_cand.string()});
    EXPECT_EQ(swapped.exit_code, 2);
    EXPECT_THAT(swapped.err, HasSubstr("a smoke run"));
    EXPECT_THAT(swapped.err, HasSubstr("--smoke"));

    const fs::path junk = m_dir.path() / "junk.json";
    std::ofstream(junk) << "{\"schema\": \"something else\"}";
    auto bad = compare({junk.string(), m_cand.string()});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_THAT(bad.err, HasSubstr("is not a gpumod result file"));

    auto no_db = compare({"20260524", m_cand.string()});
    EXPECT_EQ(no_db.exit_code, 2);
    EXPECT_THAT(no_db.err, HasSubstr("no database at"));

    auto format = compare({m_base.string(), m_cand.string(), "--format", "pdf"});
    EXPECT_EQ(format.exit_code, 2);
    EXPECT_THAT(format.err, HasSubstr("--format must be md, json or html"));
}

} // namespace
} // namespace gpumod::testing
