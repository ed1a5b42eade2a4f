#pragma once

// The outcome class of one benchmark attempt, from the facts gathered along the way: what the
// server said, what extraction found, what pytest reported. Pure. Infrastructure classes
// (server_error, infra_error) are never model failures: the runner retries them or aborts.

#include "core/bench/extract.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace gpumod::bench {

/// What became of one attempt.
enum class Outcome
{
    pass,             ///< every test ran and passed
    test_failures,    ///< tests ran and some failed or errored (or the code crashed pytest)
    syntax_error,     ///< the code does not compile (collection failed with a SyntaxError)
    import_error,     ///< the code could not be imported (missing module/name, error at import)
    no_code,          ///< the reply finished without code
    budget_exhausted, ///< the reply hit max_tokens (finish_reason "length") before final code
    timeout,          ///< pytest ran past the wall limit (or the CPU limit)
    server_error,     ///< the request failed: infrastructure
    infra_error,      ///< the sandbox or pytest itself failed: infrastructure
};

/// Test counts from pytest's JUnit report.
struct TestCounts
{
    int tests = 0;
    int failures = 0;
    int errors = 0;
    int skipped = 0;

    /// Tests that neither failed, errored nor were skipped.
    [[nodiscard]] int passed() const { return tests - failures - errors - skipped; }
    bool operator==(const TestCounts&) const = default;
};

/// What one pytest run produced, as plain facts (the sandbox adapter fills it).
struct PytestReport
{
    /// Set when the sandbox could not run pytest at all (no directory, no python, bwrap broke).
    std::optional<std::string> sandbox_failure;
    bool timed_out = false; ///< killed at the wall limit
    bool exited = true;     ///< ended by exit(); otherwise by `signal`
    int exit_code = 0;
    int signal = 0;
    std::optional<TestCounts> counts; ///< nullopt when the JUnit report is missing or unreadable
    std::string junit_problem;        ///< why `counts` is missing
    std::string collection_errors;    ///< text of collection errors in the report
    std::string output_tail;          ///< the end of pytest's stdout and stderr
};

/// Everything besides the extraction that decides an attempt's class.
struct AttemptFacts
{
    std::optional<std::string> server_error; ///< the request failed (HTTP, connection, stream)
    std::string finish_reason;               ///< "stop", "length", ... ("" when unknown)
    std::optional<PytestReport> pytest;      ///< unset when pytest was not run
};

/// An outcome and the reason for it, in words for artifacts and logs.
struct Classification
{
    Outcome outcome = Outcome::infra_error;
    std::string detail;
};

/// Classifies one attempt. Order: server error, then the reply (no code / out of budget), then
/// the sandbox, then pytest's result. Documented in docs/validation.md.
Classification classify_attempt(const Extraction& extraction, const AttemptFacts& facts);

/// True for server_error and infra_error: never scored, retried or the run aborts.
bool is_infrastructure(Outcome outcome);

/// Stable lower-case name ("pass", "test_failures", ...), as stored in results.
std::string_view to_string(Outcome outcome);

/// The outcome with this name, or nullopt.
std::optional<Outcome> parse_outcome(std::string_view name);

} // namespace gpumod::bench
