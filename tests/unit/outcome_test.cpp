#include "core/bench/outcome.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>

namespace gpumod::bench {
namespace {

using ::testing::HasSubstr;

Extraction with_code()
{
    return extract_code(ExtractionInput{"```python\nx = 1\n```", {}, {"solution.py"}});
}

PytestReport exited_with(int code, std::optional<TestCounts> counts)
{
    PytestReport report;
    report.exit_code = code;
    report.counts = counts;
    return report;
}

Outcome classify(const PytestReport& report, std::string finish = "stop")
{
    return classify_attempt(with_code(), AttemptFacts{std::nullopt, std::move(finish), report})
        .outcome;
}

TEST(Outcome, PassNeedsExitZeroAndEveryTestPassing)
{
    const auto c = classify_attempt(
        with_code(), AttemptFacts{std::nullopt, "stop", exited_with(0, TestCounts{3, 0, 0, 0})});
    EXPECT_EQ(c.outcome, Outcome::pass);
    EXPECT_THAT(c.detail, HasSubstr("3 passed"));
}

TEST(Outcome, SkippedTestsAreNotAPass)
{
    EXPECT_EQ(classify(exited_with(0, TestCounts{3, 0, 0, 1})), Outcome::test_failures);
}

TEST(Outcome, ExitZeroWithoutAReportIsTheCodesDoing)
{
    PytestReport report = exited_with(0, std::nullopt);
    report.junit_problem = "no JUnit report";
    EXPECT_EQ(classify(report), Outcome::test_failures);
}

TEST(Outcome, ExitZeroWithNoTestsIsInfrastructure)
{
    EXPECT_EQ(classify(exited_with(0, TestCounts{})), Outcome::infra_error);
}

TEST(Outcome, FailedTests)
{
    const auto c = classify_attempt(
        with_code(), AttemptFacts{std::nullopt, "stop", exited_with(1, TestCounts{3, 1, 1, 0})});
    EXPECT_EQ(c.outcome, Outcome::test_failures);
    EXPECT_THAT(c.detail, HasSubstr("1 passed, 1 failed, 1 errors"));
}

TEST(Outcome, MissingPytestIsInfrastructure)
{
    PytestReport report = exited_with(1, std::nullopt);
    report.output_tail = "/usr/bin/python3: No module named pytest";
    EXPECT_EQ(classify(report), Outcome::infra_error);
}

TEST(Outcome, CollectionErrorWithSyntaxErrorIsASyntaxError)
{
    PytestReport report = exited_with(2, TestCounts{1, 0, 1, 0});
    report.collection_errors = "test_solution: E   SyntaxError: invalid syntax";
    EXPECT_EQ(classify(report), Outcome::syntax_error);
    report.collection_errors = "E   IndentationError: unexpected indent";
    EXPECT_EQ(classify(report), Outcome::syntax_error);
}

TEST(Outcome, OtherCollectionErrorsAreImportErrors)
{
    PytestReport report = exited_with(2, TestCounts{1, 0, 1, 0});
    report.collection_errors = "E   ModuleNotFoundError: No module named 'solution'";
    EXPECT_EQ(classify(report), Outcome::import_error);
    report.collection_errors = "E   ImportError: cannot import name 'JobQueue'";
    EXPECT_EQ(classify(report), Outcome::import_error);
}

TEST(Outcome, CollectionErrorFoundInOutputWhenTheReportIsMissing)
{
    PytestReport report = exited_with(2, std::nullopt);
    report.output_tail = "ERROR collecting test_solution.py\nE   SyntaxError: bad";
    EXPECT_EQ(classify(report), Outcome::syntax_error);
}

TEST(Outcome, InterruptedWithoutCollectionErrorsIsAFailure)
{
    EXPECT_EQ(classify(exited_with(2, TestCounts{3, 0, 0, 0})), Outcome::test_failures);
}

TEST(Outcome, PytestsOwnProblemsAreInfrastructure)
{
    for (int code : {3, 4, 5}) {
        EXPECT_EQ(classify(exited_with(code, std::nullopt)), Outcome::infra_error) << code;
    }
}

TEST(Outcome, UnknownExitCodeIsTheCodesDoing)
{
    EXPECT_EQ(classify(exited_with(42, std::nullopt)), Outcome::test_failures);
}

TEST(Outcome, WallTimeout)
{
    PytestReport report;
    report.timed_out = true;
    report.exited = false;
    report.signal = SIGKILL;
    EXPECT_EQ(classify(report), Outcome::timeout);
}

TEST(Outcome, CpuLimitIsATimeout)
{
    PytestReport report;
    report.exited = false;
    report.signal = SIGXCPU;
    EXPECT_EQ(classify(report), Outcome::timeout);
}

TEST(Outcome, OtherSignalsAreTestFailures)
{
    PytestReport report;
    report.exited = false;
    report.signal = SIGSEGV;
    EXPECT_EQ(classify(report), Outcome::test_failures);
}

TEST(Outcome, SandboxFailureIsInfrastructureEvenWhenOtherFactsLookBad)
{
    PytestReport report = exited_with(1, TestCounts{3, 3, 0, 0});
    report.timed_out = true;
    report.sandbox_failure = "bwrap: cannot mount";
    const auto c = classify_attempt(with_code(), AttemptFacts{std::nullopt, "stop", report});
    EXPECT_EQ(c.outcome, Outcome::infra_error);
    EXPECT_THAT(c.detail, HasSubstr("bwrap: cannot mount"));
}

TEST(Outcome, CodeThatWasNeverValidatedIsInfrastructure)
{
    EXPECT_EQ(classify_attempt(with_code(), AttemptFacts{std::nullopt, "stop", std::nullopt}).outcome,
              Outcome::infra_error);
}

TEST(Outcome, ServerErrorComesFirst)
{
    const auto c = classify_attempt(Extraction{}, AttemptFacts{"HTTP 503", "", std::nullopt});
    EXPECT_EQ(c.outcome, Outcome::server_error);
    EXPECT_EQ(c.detail, "HTTP 503");
}

TEST(Outcome, NoCode)
{
    const auto none = extract_code(ExtractionInput{"no idea", {}, {"solution.py"}});
    EXPECT_EQ(classify_attempt(none, AttemptFacts{std::nullopt, "stop", std::nullopt}).outcome,
              Outcome::no_code);
    const auto thinking = extract_code(ExtractionInput{"<think>hmm", {}, {"solution.py"}});
    const auto c = classify_attempt(thinking, AttemptFacts{std::nullopt, "stop", std::nullopt});
    EXPECT_EQ(c.outcome, Outcome::no_code);
    EXPECT_THAT(c.detail, HasSubstr("<think>"));
}

TEST(Outcome, BudgetExhaustedWithoutCode)
{
    const auto thinking = extract_code(ExtractionInput{"<think>hmm", {}, {"solution.py"}});
    EXPECT_EQ(classify_attempt(thinking, AttemptFacts{std::nullopt, "length", std::nullopt}).outcome,
              Outcome::budget_exhausted);
}

TEST(Outcome, BudgetExhaustedWithOnlyADraftInTheReasoning)
{
    const auto draft =
        extract_code(ExtractionInput{"", "```python\nx = 1\n```", {"solution.py"}});
    ASSERT_EQ(draft.source, CodeSource::reasoning);
    EXPECT_EQ(classify_attempt(draft, AttemptFacts{std::nullopt, "length",
                                                   exited_with(0, TestCounts{3, 0, 0, 0})})
                  .outcome,
              Outcome::budget_exhausted);
    // The same draft from a reply that finished is graded.
    EXPECT_EQ(classify_attempt(draft, AttemptFacts{std::nullopt, "stop",
                                                   exited_with(0, TestCounts{3, 0, 0, 0})})
                  .outcome,
              Outcome::pass);
}

TEST(Outcome, BudgetExhaustedInTheMiddleOfACodeBlock)
{
    const auto cut = extract_code(ExtractionInput{"```python\ndef f(", {}, {"solution.py"}});
    EXPECT_EQ(classify_attempt(cut, AttemptFacts{std::nullopt, "length", std::nullopt}).outcome,
              Outcome::budget_exhausted);
}

TEST(Outcome, FinishedCodeInAReplyThatHitTheLimitIsGraded)
{
    EXPECT_EQ(classify(exited_with(0, TestCounts{3, 0, 0, 0}), "length"), Outcome::pass);
}

TEST(Outcome, InfrastructureClasses)
{
    EXPECT_TRUE(is_infrastructure(Outcome::server_error));
    EXPECT_TRUE(is_infrastructure(Outcome::infra_error));
    for (Outcome o : {Outcome::pass, Outcome::test_failures, Outcome::syntax_error,
                      Outcome::import_error, Outcome::no_code, Outcome::budget_exhausted,
                      Outcome::timeout}) {
        EXPECT_FALSE(is_infrastructure(o)) << to_string(o);
    }
}

TEST(Outcome, NamesRoundTrip)
{
    for (Outcome o : {Outcome::pass, Outcome::test_failures, Outcome::syntax_error,
                      Outcome::import_error, Outcome::no_code, Outcome::budget_exhausted,
                      Outcome::timeout, Outcome::server_error, Outcome::infra_error}) {
        EXPECT_EQ(parse_outcome(to_string(o)), o);
    }
    EXPECT_EQ(to_string(Outcome::budget_exhausted), "budget_exhausted");
    EXPECT_EQ(parse_outcome("passed"), std::nullopt);
}

} // namespace
} // namespace gpumod::bench
