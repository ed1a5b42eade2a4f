#include "adapters/pytest/junit.hpp"

#include <pugixml.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

namespace gpumod::pytest {
namespace {

/// A traceback is kept for artifacts and classification, not in full.
constexpr std::size_t k_max_problem_text = 8192;
/// pytest's message for an error while importing a test file.
constexpr std::string_view k_collection_message = "collection failure";

std::string truncated(std::string_view text)
{
    if (text.size() <= k_max_problem_text) {
        return std::string(text);
    }
    return std::string(text.substr(0, k_max_problem_text)) + "\n[... truncated]";
}

/// Worst state of one test; a test that failed and then errored in teardown is one failure.
enum class State
{
    passed = 0,
    skipped = 1,
    error = 2,
    failure = 3,
};

} // namespace

std::string JunitReport::collection_errors() const
{
    std::string out;
    for (const auto& problem : problems) {
        if (problem.collection) {
            if (!out.empty()) {
                out.push_back('\n');
            }
            out += problem.test + ": " + problem.text;
        }
    }
    return out;
}

Result<JunitReport> parse_junit(std::string_view xml)
{
    pugi::xml_document doc;
    const pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size());
    if (!parsed) {
        return fail(fmt::format("malformed JUnit XML at byte {}: {}", parsed.offset,
                                parsed.description()));
    }
    // pytest writes <testsuites><testsuite>...; other tools write a bare <testsuite>.
    std::vector<pugi::xml_node> suites;
    const pugi::xml_node root = doc.document_element();
    if (std::string_view(root.name()) == "testsuite") {
        suites.push_back(root);
    } else if (std::string_view(root.name()) == "testsuites") {
        for (const pugi::xml_node suite : root.children("testsuite")) {
            suites.push_back(suite);
        }
    }
    if (suites.empty()) {
        return fail("the JUnit XML has no <testsuite> element");
    }
    JunitReport report;
    // pytest writes a separate <testcase> for a teardown error of a test that already has a
    // result, so tests are keyed by name and keep their worst state.
    std::map<std::string, State> states;
    std::vector<std::string> order;
    for (const auto& suite : suites) {
        for (const pugi::xml_node testcase : suite.children("testcase")) {
            const std::string classname = testcase.attribute("classname").as_string();
            const std::string name = testcase.attribute("name").as_string();
            const std::string key = classname.empty() ? name : classname + "::" + name;
            State state = State::passed;
            for (const pugi::xml_node child : testcase.children()) {
                const std::string_view tag = child.name();
                JunitProblem problem;
                State child_state = State::passed;
                if (tag == "failure") {
                    problem.kind = JunitProblem::Kind::failure;
                    child_state = State::failure;
                } else if (tag == "error") {
                    problem.kind = JunitProblem::Kind::error;
                    child_state = State::error;
                } else if (tag == "skipped") {
                    problem.kind = JunitProblem::Kind::skipped;
                    child_state = State::skipped;
                } else {
                    continue;
                }
                problem.test = key;
                problem.message = child.attribute("message").as_string();
                problem.text = truncated(child.text().as_string());
                problem.collection =
                    problem.kind == JunitProblem::Kind::error && problem.message == k_collection_message;
                report.problems.push_back(std::move(problem));
                state = std::max(state, child_state);
            }
            auto [it, inserted] = states.emplace(key, state);
            if (inserted) {
                order.push_back(key);
            } else {
                it->second = std::max(it->second, state);
            }
        }
    }
    for (const auto& key : order) {
        ++report.counts.tests;
        switch (states[key]) {
        case State::failure:
            ++report.counts.failures;
            break;
        case State::error:
            ++report.counts.errors;
            break;
        case State::skipped:
            ++report.counts.skipped;
            break;
        case State::passed:
            break;
        }
    }
    return report;
}

Result<JunitReport> read_junit(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return fail(fmt::format("no JUnit report at '{}'", path.string()));
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto report = parse_junit(text.str());
    if (!report) {
        return tl::unexpected(report.error().with_context(
            fmt::format("while reading the JUnit report '{}'", path.string())));
    }
    return report;
}

} // namespace gpumod::pytest
