#include "adapters/pytest/sandbox.hpp"

#include "adapters/posix/process.hpp"
#include "core/bench/outcome.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace gpumod::pytest {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr const char* k_python = "/usr/bin/python3";

const std::string k_solution = R"(class JobQueue:
    def __init__(self):
        self._jobs = {}

    def add_job(self, job_id, data):
        self._jobs[job_id] = data
        return job_id

    def get_result(self, job_id):
        return self._jobs.get(job_id)
)";

const std::string k_tests = R"(from solution import JobQueue

def test_returns_id():
    assert JobQueue().add_job("a", {}) == "a"

def test_several():
    q = JobQueue()
    q.add_job("a", 1)
    q.add_job("b", 2)
    assert q.get_result("b") == 2

def test_unknown():
    assert JobQueue().get_result("zzz") is None
)";

bool pytest_available()
{
    if (::access(k_python, X_OK) != 0) {
        return false;
    }
    auto probe = posix::run_command({k_python, "-c", "import pytest"}, 20s);
    return probe && probe->status.success();
}

/// One file of tests that runs `body` (a Python test function body, indented 4 spaces).
std::vector<SourceFile> test_file(const std::string& body)
{
    return {{"test_solution.py", "import os, socket, sys, time\nimport pytest\n\ndef test_it():\n" +
                                     body}};
}

std::string read_cmdline(const fs::path& proc_entry)
{
    std::ifstream in(proc_entry / "cmdline", std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// Processes whose command line mentions `needle` (the work directory is on pytest's command
/// line, so this finds sandboxed processes in any process group or pid namespace).
int processes_mentioning(const std::string& needle)
{
    int count = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const auto name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos ||
            name == std::to_string(::getpid())) {
            continue;
        }
        if (read_cmdline(entry.path()).find(needle) != std::string::npos) {
            ++count;
        }
    }
    return count;
}

class PytestSandboxTest : public ::testing::TestWithParam<bool>
{
  protected:
    void SetUp() override
    {
        if (!pytest_available()) {
            GTEST_SKIP() << k_python << " with pytest is not installed";
        }
    }

    /// A sandbox in the mode under test; skips when bwrap is asked for but does not work here.
    PytestSandbox make(SandboxLimits limits = {})
    {
        SandboxOptions options;
        options.use_bwrap = GetParam();
        options.limits = limits;
        return PytestSandbox::create(options);
    }

    bool want_bwrap() const { return GetParam(); }

    static bench::Outcome classify(const SandboxRun& run)
    {
        const auto extraction = bench::extract_code(
            bench::ExtractionInput{"```python\nx = 1\n```", {}, {"solution.py"}});
        return bench::classify_attempt(extraction,
                                       bench::AttemptFacts{std::nullopt, "stop", run.report})
            .outcome;
    }
};

#define SKIP_UNLESS_MODE(sandbox)                                                              \
    do {                                                                                       \
        if (want_bwrap() && (sandbox).mode() != SandboxMode::bwrap) {                          \
            GTEST_SKIP() << "bwrap does not work here: " << (sandbox).bwrap_unavailable_reason(); \
        }                                                                                      \
    } while (false)

TEST_P(PytestSandboxTest, UsesTheRequestedMode)
{
    const auto sandbox = make();
    SKIP_UNLESS_MODE(sandbox);
    EXPECT_EQ(sandbox.mode(), want_bwrap() ? SandboxMode::bwrap : SandboxMode::rlimits);
    const auto run = sandbox.run({{"solution.py", k_solution}}, {{"test_solution.py", k_tests}});
    EXPECT_EQ(run.mode, sandbox.mode());
    EXPECT_EQ(run.dropped_privileges, ::geteuid() == 0);
    EXPECT_EQ(run.command.front(), want_bwrap() ? "/usr/bin/bwrap" : k_python);
}

TEST_P(PytestSandboxTest, PassingSolutionPasses)
{
    const auto sandbox = make();
    SKIP_UNLESS_MODE(sandbox);
    const auto run = sandbox.run({{"solution.py", k_solution}}, {{"test_solution.py", k_tests}});
    ASSERT_FALSE(run.report.sandbox_failure) << *run.report.sandbox_failure;
    EXPECT_TRUE(run.report.exited);
    EXPECT_EQ(run.report.exit_code, 0) << run.report.output_tail;
    ASSERT_TRUE(run.report.counts) << run.report.junit_problem;
    EXPECT_EQ(*run.report.counts, (bench::TestCounts{3, 0, 0, 0}));
    EXPECT_EQ(classify(run), bench::Outcome::pass);
    EXPECT_FALSE(fs::exists(run.work_dir)) << "the work directory must be removed";
    EXPECT_GT(run.duration.count(), 0);
}

TEST_P(PytestSandboxTest, FailingTestsAreCounted)
{
    const auto sandbox = make();
    SKIP_UNLESS_MODE(sandbox);
    const std::string wrong = "class JobQueue:\n    def add_job(self, job_id, data):\n"
                              "        return None\n    def get_result(self, job_id):\n"
                              "        return None\n";
    const auto run = sandbox.run({{"solution.py", wrong}}, {{"test_solution.py", k_tests}});
    EXPECT_EQ(run.report.exit_code, 1) << run.report.output_tail;
    ASSERT_TRUE(run.report.counts);
    EXPECT_EQ(*run.report.counts, (bench::TestCounts{3, 2, 0, 0}));
    EXPECT_EQ(classify(run), bench::Outcome::test_failures);
    ASSERT_TRUE(run.junit);
    EXPECT_EQ(run.junit->problems.size(), 2U);
}

TEST_P(PytestSandboxTest, SyntaxErrorIsClassified)
{
    const auto sandbox = make();
    SKIP_UNLESS_MODE(sandbox);
    const auto run =
        sandbox.run({{"solution.py", "class JobQueue(:\n    pass\n"}}, {{"test_solution.py", k_tests}});
    EXPECT_EQ(run.report.exit_code, 2) << run.report.output_tail;
    EXPECT_THAT(run.report.collection_errors, HasSubstr("SyntaxError"));
    EXPECT_EQ(classify(run), bench::Outcome::syntax_error);
}

TEST_P(PytestSandboxTest, MissingModuleIsAnImportError)
{
    const auto sandbox = make();
    SKIP_UNLESS_MODE(sandbox);
    const auto run = sandbox.run({{"other.py", "x = 1\n"}}, {{"test_solution.py", k_tests}});
    EXPECT_EQ(classify(run), bench::Outcome::import_error) << run.report.output_tail;
}

TEST_P(PytestSandboxTest, PackagesInSubdirectoriesImport)
{
    const auto sandbox = make();
    SKIP_UNLESS_MODE(sandbox);
    const auto run = sandbox.run(
        {{"scheduler/__init__.py", "from .queue import Q\n"},
         {"scheduler/queue.py", "class Q:\n    pass\n"}},
        {{"test_pkg.py", "from scheduler import Q\n\ndef test_q():\n    assert Q()\n"}});
    EXPECT_EQ(classify(run), bench::Outcome::pass) << run.report.output_tail;
}

TEST_P(PytestSandboxTest, InfiniteLoopIsKilledAtTheWallTimeoutWithNothingLeft)
{
    SandboxLimits limits;
    limits.wall_timeout = 2s;
    SandboxOptions options;
    options.use_bwrap = want_bwrap();
    options.limits = limits;
    options.keep_work_dir = true; // its path identifies the run's processes below
    const auto sandbox = PytestSandbox::create(options);
    SKIP_UNLESS_MODE(sandbox);
    const auto run = sandbox.run(
        {{"solution.py", "x = 1\n"}},
        test_file("    if os.fork() == 0:\n        while True: pass\n    while True:\n        pass\n"));
    EXPECT_TRUE(run.report.timed_out);
    EXPECT_EQ(classify(run), bench::Outcome::timeout);
    EXPECT_LT(run.duration, 8s);
    EXPECT_FALSE(posix::process_group_alive(run.process_group));
    // Under bwrap the sandboxed processes live in another session and pid namespace, which
    // dies with bwrap; give the kernel a moment to tear it down.
    int left = processes_mentioning(run.work_dir.string());
    for (int i = 0; i < 40 && left > 0; ++i) {
        std::this_thread::sleep_for(50ms);
        left = processes_mentioning(run.work_dir.string());
    }
    EXPECT_EQ(left, 0);
    std::error_code ec;
    fs::remove_all(run.work_dir, ec);
}

TEST_P(PytestSandboxTest, NetworkIsCutOnlyUnderBwrap)
{
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(listener, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), length), 0);
    ASSERT_EQ(::listen(listener, 4), 0);
    ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
    const int port = ntohs(address.sin_port);

    const auto sandbox = make();
    SKIP_UNLESS_MODE(sandbox);
    // The test passes when the connection fails.
    const auto run = sandbox.run(
        {{"solution.py", "x = 1\n"}},
        test_file("    with pytest.raises(OSError):\n"
                  "        socket.create_connection(('127.0.0.1', " +
                  std::to_string(port) + "), timeout=2)\n"));
    ::close(listener);
    if (want_bwrap()) {
        EXPECT_EQ(classify(run), bench::Outcome::pass) << run.report.output_tail;
    } else {
        // Documented: without bwrap nothing cuts the network; this is the contrast that shows
        // the check above can fail.
        EXPECT_EQ(classify(run), bench::Outcome::test_failures) << run.report.output_tail;
    }
}

TEST_P(PytestSandboxTest, CannotWriteToSystemDirectories)
{
    if (::geteuid() != 0 && !want_bwrap()) {
        GTEST_SKIP() << "as a normal user /etc is unwritable anyway; nothing to show";
    }
    const auto sandbox = make();
    SKIP_UNLESS_MODE(sandbox);
    const fs::path target = "/etc/gpumod-sandbox-probe";
    const auto run = sandbox.run(
        {{"solution.py", "x = 1\n"}},
        test_file("    with pytest.raises(OSError):\n        open('" + target.string() +
                  "', 'w').write('x')\n"));
    EXPECT_EQ(classify(run), bench::Outcome::pass) << run.report.output_tail;
    EXPECT_FALSE(fs::exists(target));
}

TEST_P(PytestSandboxTest, CannotWriteToTheCallersHome)
{
    const char* home = std::getenv("HOME");
    if (home == nullptr || ::geteuid() != 0 || !fs::is_directory(home)) {
        GTEST_SKIP() << "only root's home is protected in both modes (by dropping to nobody)";
    }
    const auto sandbox = make();
    SKIP_UNLESS_MODE(sandbox);
    const fs::path target = fs::path(home) / ".gpumod-sandbox-probe";
    const auto run = sandbox.run(
        {{"solution.py", "x = 1\n"}},
        test_file("    with pytest.raises(OSError):\n        open('" + target.string() +
                  "', 'w').write('x')\n"));
    EXPECT_EQ(classify(run), bench::Outcome::pass) << run.report.output_tail;
    EXPECT_FALSE(fs::exists(target));
}

TEST_P(PytestSandboxTest, BwrapKeepsWorldWritableOutsideDirectoriesUntouched)
{
    if (!want_bwrap()) {
        GTEST_SKIP() << "without bwrap a world-writable directory is writable (documented)";
    }
    const auto sandbox = make();
    SKIP_UNLESS_MODE(sandbox);
    // Not under /tmp (bwrap gives the tests a private /tmp): next to the test binary.
    const fs::path outside = fs::current_path() / ("sandbox-outside-" + std::to_string(::getpid()));
    fs::create_directories(outside);
    fs::permissions(outside, fs::perms::all);
    const fs::path target = outside / "probe";
    const auto run = sandbox.run(
        {{"solution.py", "x = 1\n"}},
        test_file("    with pytest.raises(OSError):\n        open('" + target.string() +
                  "', 'w').write('x')\n"));
    EXPECT_EQ(classify(run), bench::Outcome::pass) << run.report.output_tail;
    EXPECT_FALSE(fs::exists(target));
    fs::remove_all(outside);
}

// Bounded on purpose: at most 150 sleeping children even if the limit did not hold. The
// Python test passes when fork fails before 40.
const std::string k_fork_bomb = R"(    kids = []
    try:
        for _ in range(150):
            pid = os.fork()
            if pid == 0:
                time.sleep(10)
                os._exit(0)
            kids.append(pid)
    except BlockingIOError:
        pass
    finally:
        for pid in kids:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    assert len(kids) < 40, len(kids)
)";

TEST_P(PytestSandboxTest, ForkBombIsBoundedByNproc)
{
    SandboxLimits limits;
    limits.extra_processes = 24;
    const auto sandbox = make(limits);
    SKIP_UNLESS_MODE(sandbox);
    const auto run = sandbox.run({{"solution.py", "x = 1\n"}}, test_file(k_fork_bomb));
    EXPECT_EQ(classify(run), bench::Outcome::pass) << run.report.output_tail;
}

TEST_P(PytestSandboxTest, ForkBombCheckFailsWhenTheLimitAllowsIt)
{
    // The contrast: with room for 1000 more processes all 150 forks succeed, so the check
    // above measures the limit and not something else.
    SandboxLimits limits;
    limits.extra_processes = 1000;
    const auto sandbox = make(limits);
    SKIP_UNLESS_MODE(sandbox);
    const auto run = sandbox.run({{"solution.py", "x = 1\n"}}, test_file(k_fork_bomb));
    EXPECT_EQ(classify(run), bench::Outcome::test_failures) << run.report.output_tail;
}

TEST_P(PytestSandboxTest, MemoryHogIsBoundedByAddressSpace)
{
    const auto sandbox = make();
    SKIP_UNLESS_MODE(sandbox);
    // bytes(n) is calloc'ed: untouched pages cost nothing even if the limit failed.
    const auto run = sandbox.run({{"solution.py", "x = 1\n"}},
                                 test_file("    small = bytes(256 << 20)\n"
                                           "    with pytest.raises(MemoryError):\n"
                                           "        bytes(3 << 30)\n"));
    EXPECT_EQ(classify(run), bench::Outcome::pass) << run.report.output_tail;
}

TEST_P(PytestSandboxTest, MemoryCheckFailsWhenTheLimitAllowsIt)
{
    SandboxLimits limits;
    limits.address_space_bytes = std::uint64_t{16} << 30;
    const auto sandbox = make(limits);
    SKIP_UNLESS_MODE(sandbox);
    // Untouched calloc'ed pages: 3 GiB of address space, next to no memory.
    const auto run = sandbox.run({{"solution.py", "x = 1\n"}},
                                 test_file("    with pytest.raises(MemoryError):\n"
                                           "        bytes(3 << 30)\n"));
    EXPECT_EQ(classify(run), bench::Outcome::test_failures) << run.report.output_tail;
}

TEST_P(PytestSandboxTest, EnvironmentIsClearedAndReproducible)
{
    const auto sandbox = make();
    SKIP_UNLESS_MODE(sandbox);
    ::setenv("GPUMOD_SANDBOX_LEAK_CHECK", "1", 1);
    const auto run = sandbox.run(
        {{"solution.py", "x = 1\n"}},
        test_file("    assert 'GPUMOD_SANDBOX_LEAK_CHECK' not in os.environ\n"
                  "    assert os.environ['PYTHONHASHSEED'] == '0'\n"
                  "    assert os.environ['HOME'] == os.getcwd()\n"
                  "    assert sys.dont_write_bytecode\n"));
    ::unsetenv("GPUMOD_SANDBOX_LEAK_CHECK");
    EXPECT_EQ(classify(run), bench::Outcome::pass) << run.report.output_tail;
}

TEST_P(PytestSandboxTest, TheLevelsTestFileWinsOverOneFromTheReply)
{
    const auto sandbox = make();
    SKIP_UNLESS_MODE(sandbox);
    const auto run = sandbox.run({{"solution.py", "x = 1\n"},
                                  {"test_solution.py", "def test_fake():\n    pass\n"}},
                                 {{"test_solution.py", "from solution import x\n\n"
                                                       "def test_real():\n    assert x == 2\n"}});
    EXPECT_EQ(classify(run), bench::Outcome::test_failures) << run.report.output_tail;
    ASSERT_EQ(run.notes.size(), 1U);
    EXPECT_THAT(run.notes[0], HasSubstr("replaced"));
}

TEST_P(PytestSandboxTest, OnlyTheLevelsTestsAreCollected)
{
    const auto sandbox = make();
    SKIP_UNLESS_MODE(sandbox);
    const auto run = sandbox.run(
        {{"solution.py", "x = 1\n"}, {"test_extra.py", "def test_a():\n    pass\n"}},
        {{"test_solution.py", "from solution import x\n\ndef test_real():\n    assert x == 1\n"}});
    ASSERT_TRUE(run.report.counts) << run.report.junit_problem;
    EXPECT_EQ(run.report.counts->tests, 1);
}

INSTANTIATE_TEST_SUITE_P(Modes, PytestSandboxTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                             return param_info.param ? std::string("Bwrap") : std::string("RlimitsOnly");
                         });

TEST(PytestSandbox, FallsBackToRlimitsWhenBwrapIsMissing)
{
    SandboxOptions options;
    options.bwrap = "/nonexistent/bwrap";
    const auto sandbox = PytestSandbox::create(options);
    EXPECT_EQ(sandbox.mode(), SandboxMode::rlimits);
    EXPECT_THAT(sandbox.bwrap_unavailable_reason(), HasSubstr("does not exist"));
}

TEST(PytestSandbox, MissingPythonIsAnInfrastructureError)
{
    SandboxOptions options;
    options.python = "/nonexistent/python3";
    options.use_bwrap = false;
    const auto run = PytestSandbox::create(options).run({{"solution.py", "x = 1\n"}},
                                                        {{"test_solution.py", k_tests}});
    ASSERT_TRUE(run.report.sandbox_failure);
    const auto extraction =
        bench::extract_code(bench::ExtractionInput{"```python\nx = 1\n```", {}, {"solution.py"}});
    EXPECT_EQ(bench::classify_attempt(extraction, bench::AttemptFacts{std::nullopt, "stop", run.report})
                  .outcome,
              bench::Outcome::infra_error);
}

TEST(PytestSandbox, UnusableWorkParentIsAnInfrastructureError)
{
    SandboxOptions options;
    options.work_parent = "/nonexistent/parent";
    options.use_bwrap = false;
    const auto run = PytestSandbox::create(options).run({}, {{"test_solution.py", k_tests}});
    ASSERT_TRUE(run.report.sandbox_failure);
    EXPECT_THAT(*run.report.sandbox_failure, HasSubstr("/nonexistent/parent"));
}

// JUnit parsing, on reports shaped like pytest 7's.

TEST(Junit, CountsEachTestOnceWithItsWorstState)
{
    // pytest adds a second <testcase> for test_c's teardown error; its suite attributes then
    // say failures=2 errors=1 for what is one failed test.
    const std::string xml = R"(<?xml version="1.0" encoding="utf-8"?><testsuites>
<testsuite name="pytest" errors="1" failures="2" skipped="1" tests="4">
<testcase classname="test_solution" name="test_a"><failure message="assert 0">trace a</failure></testcase>
<testcase classname="test_solution" name="test_b" />
<testcase classname="test_solution" name="test_c"><failure message="assert False">trace c</failure></testcase>
<testcase classname="test_solution" name="test_c"><error message="failed on teardown">trace td</error></testcase>
<testcase classname="test_solution" name="test_d"><skipped type="pytest.skip" message="s">why</skipped></testcase>
</testsuite></testsuites>)";
    const auto report = parse_junit(xml);
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(report->counts, (bench::TestCounts{4, 2, 0, 1}));
    EXPECT_EQ(report->counts.passed(), 1);
    EXPECT_EQ(report->problems.size(), 4U);
    EXPECT_EQ(report->collection_errors(), "");
}

TEST(Junit, CollectionErrorsAreMarked)
{
    const std::string xml = R"(<testsuites><testsuite errors="1" tests="1">
<testcase classname="" name="test_solution"><error message="collection failure">E   SyntaxError: invalid syntax</error></testcase>
</testsuite></testsuites>)";
    const auto report = parse_junit(xml);
    ASSERT_TRUE(report);
    EXPECT_EQ(report->counts, (bench::TestCounts{1, 0, 1, 0}));
    ASSERT_EQ(report->problems.size(), 1U);
    EXPECT_TRUE(report->problems[0].collection);
    EXPECT_THAT(report->collection_errors(), HasSubstr("test_solution: E   SyntaxError"));
}

TEST(Junit, BareTestsuiteRootIsAccepted)
{
    const auto report = parse_junit(R"(<testsuite><testcase classname="t" name="a"/></testsuite>)");
    ASSERT_TRUE(report);
    EXPECT_EQ(report->counts.tests, 1);
}

TEST(Junit, MalformedOrForeignXmlIsAnError)
{
    EXPECT_FALSE(parse_junit("<testsuites><testsuite>"));
    EXPECT_FALSE(parse_junit(""));
    EXPECT_FALSE(parse_junit("<html><body/></html>"));
}

TEST(Junit, MissingFileIsAnError)
{
    const auto report = read_junit("/nonexistent/report.xml");
    ASSERT_FALSE(report);
    EXPECT_THAT(report.error().message, HasSubstr("/nonexistent/report.xml"));
}

} // namespace
} // namespace gpumod::pytest
