#pragma once

// Reads pytest's JUnit XML report (--junitxml) into counts and problem texts. pugixml stays
// inside junit.cpp.

#include "core/base/error.hpp"
#include "core/bench/outcome.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace gpumod::pytest {

/// One failed, errored or skipped test case from the report.
struct JunitProblem
{
    enum class Kind
    {
        failure,
        error,
        skipped,
    };
    Kind kind = Kind::failure;
    std::string test;    ///< "classname::name", or the file for a collection error
    std::string message; ///< the element's `message` attribute
    std::string text;    ///< the element's text (a traceback), truncated
    bool collection = false; ///< an error while collecting (importing) a test file
};

/// Counts and problems of one report.
struct JunitReport
{
    bench::TestCounts counts;
    std::vector<JunitProblem> problems;

    /// Messages and tracebacks of collection errors, joined (empty when there were none).
    [[nodiscard]] std::string collection_errors() const;
};

/// Parses report text. Counts come from the test cases, one per distinct test with its worst
/// state (pytest adds a second <testcase> for a teardown error, and its suite attributes then
/// count that test twice); fails on malformed XML or a document without a testsuite.
Result<JunitReport> parse_junit(std::string_view xml);

/// Reads and parses a report file; fails when it is missing, unreadable or malformed.
Result<JunitReport> read_junit(const std::filesystem::path& path);

} // namespace gpumod::pytest
