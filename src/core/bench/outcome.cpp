#include "core/bench/outcome.hpp"

#include <fmt/format.h>

#include <array>
#include <csignal>
#include <utility>

namespace gpumod::bench {
namespace {

// pytest's documented exit codes (pytest.ExitCode).
constexpr int k_exit_ok = 0;
constexpr int k_exit_tests_failed = 1;
constexpr int k_exit_interrupted = 2; // also: errors during collection
constexpr int k_exit_internal_error = 3;
constexpr int k_exit_usage_error = 4;
constexpr int k_exit_no_tests = 5;

constexpr std::array<std::pair<Outcome, std::string_view>, 9> k_names = {{
    {Outcome::pass, "pass"},
    {Outcome::test_failures, "test_failures"},
    {Outcome::syntax_error, "syntax_error"},
    {Outcome::import_error, "import_error"},
    {Outcome::no_code, "no_code"},
    {Outcome::budget_exhausted, "budget_exhausted"},
    {Outcome::timeout, "timeout"},
    {Outcome::server_error, "server_error"},
    {Outcome::infra_error, "infra_error"},
}};

bool contains(std::string_view text, std::string_view needle)
{
    return text.find(needle) != std::string_view::npos;
}

std::string describe_counts(const std::optional<TestCounts>& counts)
{
    if (!counts) {
        return "counts unknown";
    }
    return fmt::format("{} passed, {} failed, {} errors, {} skipped of {}", counts->passed(),
                       counts->failures, counts->errors, counts->skipped, counts->tests);
}

Classification make(Outcome outcome, std::string detail)
{
    return Classification{outcome, std::move(detail)};
}

/// Collection failed: the module under test did not compile, or did not import.
Classification classify_collection(const PytestReport& report)
{
    const std::string_view text =
        report.collection_errors.empty() ? report.output_tail : report.collection_errors;
    if (contains(text, "SyntaxError") || contains(text, "IndentationError") ||
        contains(text, "TabError")) {
        return make(Outcome::syntax_error, "the code does not compile (collection failed)");
    }
    return make(Outcome::import_error, "the tests could not import the code (collection failed)");
}

bool has_collection_errors(const PytestReport& report)
{
    return !report.collection_errors.empty() ||
           contains(report.output_tail, "ERROR collecting") ||
           contains(report.output_tail, "error during collection") ||
           contains(report.output_tail, "errors during collection");
}

Classification classify_pytest(const PytestReport& report)
{
    if (report.sandbox_failure) {
        return make(Outcome::infra_error, "the sandbox failed: " + *report.sandbox_failure);
    }
    if (report.timed_out) {
        return make(Outcome::timeout, "pytest ran past the wall-clock limit and was killed");
    }
    if (!report.exited) {
        if (report.signal == SIGXCPU) {
            return make(Outcome::timeout, "pytest ran past the CPU-time limit (SIGXCPU)");
        }
        // The interpreter does not die by a signal on its own; the code under test did it
        // (ctypes, os.kill, a blown C stack). RLIMIT_AS turns memory hogs into MemoryError.
        return make(Outcome::test_failures,
                    fmt::format("pytest was killed by signal {}", report.signal));
    }
    const auto& counts = report.counts;
    switch (report.exit_code) {
    case k_exit_ok:
        if (!counts) {
            // pytest writes the report before a normal exit; only code that ends the
            // interpreter early (os._exit(0) at import) gets here.
            return make(Outcome::test_failures,
                        "pytest exited 0 without a test report (" + report.junit_problem + ")");
        }
        if (counts->tests == 0) {
            return make(Outcome::infra_error, "pytest exited 0 but reported no tests");
        }
        if (counts->failures == 0 && counts->errors == 0 && counts->skipped == 0) {
            return make(Outcome::pass, describe_counts(counts));
        }
        return make(Outcome::test_failures, describe_counts(counts));
    case k_exit_tests_failed:
        // `python3 -m pytest` without pytest installed exits 1 too.
        if (contains(report.output_tail, "No module named pytest")) {
            return make(Outcome::infra_error, "pytest is not installed for this python");
        }
        if (!counts && has_collection_errors(report)) {
            return classify_collection(report);
        }
        return make(Outcome::test_failures, describe_counts(counts));
    case k_exit_interrupted:
        if (has_collection_errors(report)) {
            return classify_collection(report);
        }
        return make(Outcome::test_failures, "pytest was interrupted (exit code 2) by the code "
                                            "under test");
    case k_exit_internal_error:
        return make(Outcome::infra_error, "pytest reported an internal error (exit code 3)");
    case k_exit_usage_error:
        return make(Outcome::infra_error, "pytest rejected its command line (exit code 4)");
    case k_exit_no_tests:
        return make(Outcome::infra_error, "pytest collected no tests (exit code 5)");
    default:
        return make(Outcome::test_failures,
                    fmt::format("pytest exited with code {}: the code under test ended the "
                                "interpreter",
                                report.exit_code));
    }
}

} // namespace

Classification classify_attempt(const Extraction& extraction, const AttemptFacts& facts)
{
    if (facts.server_error) {
        return make(Outcome::server_error, *facts.server_error);
    }
    const bool out_of_budget = facts.finish_reason == "length";
    if (!extraction.has_code()) {
        if (out_of_budget) {
            return make(Outcome::budget_exhausted,
                        extraction.unfinished_thinking
                            ? "max_tokens reached while still thinking; no code"
                            : "max_tokens reached before any code");
        }
        return make(Outcome::no_code, extraction.unfinished_thinking
                                          ? "the reply never closed <think> and has no code"
                                          : "the reply has no code");
    }
    // Code cut off mid-block, or only drafts in the reasoning of an unfinished reply, is not a
    // final answer: grading it would score the budget, not the model.
    if (out_of_budget && extraction.source == CodeSource::reasoning) {
        return make(Outcome::budget_exhausted,
                    "max_tokens reached; the only code is a draft in the reasoning");
    }
    if (out_of_budget && extraction.uses_unterminated_block()) {
        return make(Outcome::budget_exhausted, "max_tokens reached in the middle of a code block");
    }
    if (!facts.pytest) {
        return make(Outcome::infra_error, "the code was not validated");
    }
    return classify_pytest(*facts.pytest);
}

bool is_infrastructure(Outcome outcome)
{
    return outcome == Outcome::server_error || outcome == Outcome::infra_error;
}

std::string_view to_string(Outcome outcome)
{
    for (const auto& [value, name] : k_names) {
        if (value == outcome) {
            return name;
        }
    }
    return "unknown";
}

std::optional<Outcome> parse_outcome(std::string_view name)
{
    for (const auto& [value, text] : k_names) {
        if (text == name) {
            return value;
        }
    }
    return std::nullopt;
}

} // namespace gpumod::bench
