// Benchmark suites on disk -> bench::Suite: the bundled suite loads as documented, its hash
// tracks exactly the graded content, and each broken rule is reported at file:line:column.

#include "adapters/bench/suite_loader.hpp"

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/temp_dir.hpp"

namespace gpumod::bench {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const fs::path k_bundled = fs::path(GPUMOD_SOURCE_DIR) / "suites" / "coding";

std::string slurp(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void spit(const fs::path& path, const std::string& text)
{
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

// A writable copy of the bundled suite, named "coding" like the original.
class SuiteCopy : public ::testing::Test
{
protected:
    SuiteCopy() { fs::copy(k_bundled, m_suite, fs::copy_options::recursive); }

    std::string error_of()
    {
        const auto r = load_suite(m_suite);
        EXPECT_FALSE(r.has_value());
        return r ? "" : r.error().message;
    }

    std::string at(const std::string& relative, int line, int column) const
    {
        return (m_suite / relative).string() + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    }

    testing::TempDir m_dir;
    fs::path m_suite = m_dir.path() / "coding";
};

constexpr const char* k_suite_yaml = R"(name: coding
version: 1
description: Five tasks.
levels:
  - {id: L1, dir: L1-fifo-queue, points: 25}
  - {id: L2, dir: L2-retry-backoff, points: 25}
  - {id: L3, dir: L3-priority-scheduling, points: 25}
  - {id: L4, dir: L4-concurrency-fix, points: 15}
  - {id: L5, dir: L5-multi-file-refactor, points: 10}
)";

TEST(SuiteLoader, LoadsTheBundledCodingSuite)
{
    const auto suite = load_suite(k_bundled);
    ASSERT_TRUE(suite.has_value()) << suite.error().message;
    EXPECT_EQ(suite->name, "coding");
    EXPECT_EQ(suite->version, 1);
    EXPECT_THAT(suite->description, HasSubstr("job queue"));
    ASSERT_EQ(suite->levels.size(), 5U);
    std::vector<std::string> ids;
    std::vector<int> points;
    for (const auto& level : suite->levels) {
        ids.push_back(level.id);
        points.push_back(level.points);
        EXPECT_EQ(level.timeout, std::chrono::seconds(30)) << level.id;
        EXPECT_FALSE(level.title.empty()) << level.id;
        EXPECT_EQ(level.prompt, slurp(k_bundled / level.dir / "prompt.md")) << level.id;
        ASSERT_FALSE(level.tests.empty()) << level.id;
        for (const auto& test : level.tests) {
            EXPECT_EQ(test.text, slurp(k_bundled / level.dir / "tests" / test.path)) << test.path;
            EXPECT_THAT(test.path, Not(HasSubstr("__pycache__")));
        }
    }
    EXPECT_THAT(ids, ElementsAre("L1", "L2", "L3", "L4", "L5"));
    EXPECT_THAT(points, ElementsAre(25, 25, 25, 15, 10));
    EXPECT_EQ(suite->total_points(), 100);

    const Level* l1 = suite->find_level("L1");
    ASSERT_NE(l1, nullptr);
    EXPECT_EQ(l1->dir, "L1-fifo-queue");
    EXPECT_THAT(l1->files, ElementsAre("job_queue.py"));
    EXPECT_THAT(l1->modules, ElementsAre("job_queue"));

    const Level* l5 = suite->find_level("L5");
    ASSERT_NE(l5, nullptr);
    EXPECT_EQ(l5->files.size(), 6U);
    EXPECT_EQ(l5->files.front(), "scheduler/__init__.py");
    EXPECT_EQ(l5->modules.size(), 6U);
    ASSERT_EQ(l5->tests.size(), 2U);
    EXPECT_EQ(l5->tests[0].path, "test_scheduler_behaviour.py");
    EXPECT_EQ(l5->tests[1].path, "test_scheduler_package.py");

    EXPECT_EQ(suite->content_hash.size(), 64U);
    EXPECT_EQ(suite->content_hash.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(suite->content_hash, suite_content_hash(*suite));
}

TEST_F(SuiteCopy, HashIsStableAndTracksGradedContentOnly)
{
    const auto original = load_suite(k_bundled);
    const auto again = load_suite(k_bundled);
    const auto copy = load_suite(m_suite);
    ASSERT_TRUE(original && again && copy);
    EXPECT_EQ(original->content_hash, again->content_hash);
    EXPECT_EQ(original->content_hash, copy->content_hash) << "the hash must not depend on where the suite is";

    // One byte of one prompt.
    const auto prompt = m_suite / "L3-priority-scheduling" / "prompt.md";
    std::string text = slurp(prompt);
    text[text.size() / 2] = text[text.size() / 2] == 'x' ? 'y' : 'x';
    spit(prompt, text);
    const auto edited = load_suite(m_suite);
    ASSERT_TRUE(edited.has_value()) << edited.error().message;
    EXPECT_NE(edited->content_hash, original->content_hash);

    // Back to the original bytes: back to the original hash.
    spit(prompt, slurp(k_bundled / "L3-priority-scheduling" / "prompt.md"));
    ASSERT_EQ(load_suite(m_suite)->content_hash, original->content_hash);

    // A test file's byte changes the grading, so the hash.
    const auto test = m_suite / "L1-fifo-queue" / "tests" / "test_job_queue.py";
    spit(test, slurp(test) + "\n");
    EXPECT_NE(load_suite(m_suite)->content_hash, original->content_hash);
    spit(test, slurp(k_bundled / "L1-fifo-queue" / "tests" / "test_job_queue.py"));

    // The reference answers and the description are not asked or graded.
    spit(m_suite / "L1-fifo-queue" / "reference" / "answer.md", "changed\n");
    auto suite_yaml = slurp(m_suite / "suite.yaml");
    suite_yaml.replace(suite_yaml.find("Five"), 4, "Six");
    spit(m_suite / "suite.yaml", suite_yaml);
    EXPECT_EQ(load_suite(m_suite)->content_hash, original->content_hash);
}

TEST_F(SuiteCopy, TestsAreReadRecursivelyWithoutPythonCaches)
{
    const auto tests = m_suite / "L1-fifo-queue" / "tests";
    spit(tests / "data" / "cases.json", "[1, 2]\n");
    spit(tests / "__pycache__" / "test_job_queue.cpython-311.pyc", "junk");
    spit(tests / "stale.pyc", "junk");
    const auto suite = load_suite(m_suite);
    ASSERT_TRUE(suite.has_value()) << suite.error().message;
    std::vector<std::string> paths;
    for (const auto& f : suite->find_level("L1")->tests) {
        paths.push_back(f.path);
    }
    EXPECT_THAT(paths, ElementsAre("data/cases.json", "test_job_queue.py"));
    EXPECT_EQ(suite->find_level("L1")->tests[0].text, "[1, 2]\n");
}

TEST_F(SuiteCopy, UnknownKeyInLevelYamlIsLocated)
{
    const auto level = m_suite / "L2-retry-backoff" / "level.yaml";
    spit(level, slurp(level) + "timeout: 5\n");
    EXPECT_THAT(error_of(), HasSubstr(at("L2-retry-backoff/level.yaml", 7, 1) +
                                      "unknown key 'timeout' (did you mean 'timeout_s'?)"));
}

TEST_F(SuiteCopy, UnknownKeyInSuiteYamlLevelEntryIsLocated)
{
    std::string text = k_suite_yaml;
    text.replace(text.find("points: 15}"), 11, "points: 15, weight: 2}");
    spit(m_suite / "suite.yaml", text);
    // "  - {id: L4, dir: L4-concurrency-fix, points: 15, weight: 2}": 'weight' at column 51.
    EXPECT_THAT(error_of(), HasSubstr(at("suite.yaml", 8, 51) + "unknown key 'levels[3].weight'"));
}

TEST_F(SuiteCopy, PointsMustSumTo100)
{
    std::string text = k_suite_yaml;
    text.replace(text.find("points: 10}"), 11, "points: 5}");
    spit(m_suite / "suite.yaml", text);
    EXPECT_THAT(error_of(), HasSubstr(at("suite.yaml", 4, 1) + "the levels' points sum to 95, not 100"));
}

TEST_F(SuiteCopy, LevelPointsMustMatchSuiteYaml)
{
    const auto level = m_suite / "L5-multi-file-refactor" / "level.yaml";
    std::string text = slurp(level);
    text.replace(text.find("points: 10"), 10, "points: 20");
    spit(level, text);
    const auto error = error_of();
    EXPECT_THAT(error, HasSubstr(at("L5-multi-file-refactor/level.yaml", 3, 9) +
                                 "points 20 differ from the 10 that suite.yaml gives this level"));
}

TEST_F(SuiteCopy, LevelIdMustMatchSuiteYaml)
{
    const auto level = m_suite / "L4-concurrency-fix" / "level.yaml";
    std::string text = slurp(level);
    text.replace(text.find("id: L4"), 6, "id: L9");
    spit(level, text);
    EXPECT_THAT(error_of(), HasSubstr(at("L4-concurrency-fix/level.yaml", 1, 5) + "id 'L9' differs from the id 'L4'"));
}

TEST_F(SuiteCopy, MissingPromptIsAnError)
{
    fs::remove(m_suite / "L3-priority-scheduling" / "prompt.md");
    EXPECT_THAT(error_of(), HasSubstr((m_suite / "L3-priority-scheduling" / "prompt.md").string() + ": missing"));
}

TEST_F(SuiteCopy, UnlistedLevelDirectoryIsAnError)
{
    fs::copy(m_suite / "L1-fifo-queue", m_suite / "L6-extra", fs::copy_options::recursive);
    EXPECT_THAT(error_of(), HasSubstr("directory 'L6-extra' holds a level.yaml but is not listed in 'levels'"));
}

TEST_F(SuiteCopy, LevelFileRules)
{
    const auto level = m_suite / "L1-fifo-queue" / "level.yaml";
    const auto with = [&](const std::string& files, const std::string& modules, const std::string& timeout = "30") {
        spit(level, "id: L1\ntitle: Queue\npoints: 25\ntimeout_s: " + timeout + "\nfiles: " + files +
                        "\nmodules: " + modules + "\n");
        return error_of();
    };
    EXPECT_THAT(with("[conftest.py]", "[conftest]"),
                HasSubstr(at("L1-fifo-queue/level.yaml", 5, 9) + "file 'conftest.py' would be collected"));
    EXPECT_THAT(with("[../job_queue.py]", "[job_queue]"), HasSubstr("must be a normalised relative path"));
    EXPECT_THAT(with("[job_queue.txt]", "[job_queue]"), HasSubstr("must be a normalised relative path to a .py"));
    EXPECT_THAT(with("[job_queue.py]", "[jobqueue]"), HasSubstr("module 'jobqueue' has no file in 'files'"));
    EXPECT_THAT(with("[job_queue.py]", "[job_queue]", "0"),
                HasSubstr(at("L1-fifo-queue/level.yaml", 4, 12) + "'timeout_s' must be between 1 and 600, got 0"));
    EXPECT_THAT(with("[job_queue.py]", "[job_queue]", "'30'"), HasSubstr("'timeout_s' must be a whole number"));

    spit(m_suite / "L1-fifo-queue" / "tests" / "helpers.py", "X = 1\n");
    EXPECT_THAT(with("[job_queue.py, helpers.py]", "[job_queue]"),
                HasSubstr("answer file 'helpers.py' collides with tests/helpers.py"));
}

TEST_F(SuiteCopy, SuiteNameMustMatchDirectory)
{
    std::string text = k_suite_yaml;
    text.replace(0, 12, "name: codinG");
    spit(m_suite / "suite.yaml", text);
    EXPECT_THAT(error_of(), HasSubstr(at("suite.yaml", 1, 7) + "name 'codinG' must be lower-case"));
    text.replace(0, 12, "name: python");
    spit(m_suite / "suite.yaml", text);
    EXPECT_THAT(error_of(), HasSubstr("differs from the directory name 'coding'"));
}

TEST_F(SuiteCopy, NotASuiteDirectory)
{
    fs::remove(m_suite / "suite.yaml");
    EXPECT_THAT(error_of(), HasSubstr("no suite.yaml there"));
}

TEST(FindSuite, ByPathOrByNameInSearchOrder)
{
    testing::TempDir dir;
    const auto first = dir.path() / "first";
    const auto second = dir.path() / "second";
    spit(second / "coding" / "suite.yaml", "name: coding\n");
    spit(second / "other" / "suite.yaml", "name: other\n");
    spit(first / "other" / "suite.yaml", "name: other\n");

    EXPECT_EQ(find_suite("coding", {first, second}).value_or(""), second / "coding");
    EXPECT_EQ(find_suite("other", {first, second}).value_or(""), first / "other");
    EXPECT_EQ(find_suite(k_bundled.string(), {}).value_or(""), k_bundled);

    const auto missing = find_suite("nope", {dir.path() / "absent", first, second});
    ASSERT_FALSE(missing.has_value());
    const auto& message = missing.error().message;
    EXPECT_THAT(message, HasSubstr("no suite named 'nope'"));
    EXPECT_THAT(message, HasSubstr((dir.path() / "absent").string() + " (missing), " + first.string() + ", " +
                                   second.string()));
    EXPECT_THAT(message, HasSubstr("suites available: coding, other"));

    EXPECT_THAT(find_suite((first / "nothing").string(), {}).error().message, HasSubstr("does not exist"));
    EXPECT_THAT(find_suite(first.string(), {}).error().message, HasSubstr("holds no suite.yaml"));
}

TEST(DefaultSuiteDirs, EnvironmentThenConfigThenBundled)
{
    testing::TempDir dir;
    const auto dirs = default_suite_dirs({{"GPUMOD_SUITES_DIR", "/a::/b"}, {"XDG_CONFIG_HOME", "/cfg"},
                                          {"HOME", "/home/ana"}},
                                         dir.path() / "bin" / "gpumod");
    // No installed share/ next to this binary: a development build falls back to the source tree.
    EXPECT_THAT(dirs, ElementsAre(fs::path("/a"), fs::path("/b"), fs::path("/cfg/gpumod/suites"),
                                  fs::path(GPUMOD_SOURCE_DIR) / "suites"));

    fs::create_directories(dir.path() / "share" / "gpumod" / "suites");
    const auto installed = default_suite_dirs({{"HOME", "/home/ana"}}, dir.path() / "bin" / "gpumod");
    EXPECT_THAT(installed, ElementsAre(fs::path("/home/ana/.config/gpumod/suites"),
                                       dir.path() / "share" / "gpumod" / "suites"));
}

} // namespace
} // namespace gpumod::bench
