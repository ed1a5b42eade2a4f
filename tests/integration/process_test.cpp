#include "adapters/posix/process.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

namespace gpumod::posix {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

struct ProcStat
{
    char state = '?';
    long ppid = 0;
    long pgrp = 0;
};

std::optional<ProcStat> proc_stat(const std::string& pid)
{
    std::ifstream in("/proc/" + pid + "/stat");
    std::string text;
    if (!std::getline(in, text)) {
        return std::nullopt;
    }
    const auto close = text.rfind(')');
    if (close == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream rest(text.substr(close + 1));
    ProcStat stat;
    rest >> stat.state >> stat.ppid >> stat.pgrp;
    return stat;
}

std::optional<ProcStat> proc_stat(int pid)
{
    return proc_stat(std::to_string(pid));
}

/// Every /proc entry whose stat matches, with its state; independent of process_group_alive.
std::vector<std::pair<int, char>> processes_where(const std::function<bool(const ProcStat&)>& pred)
{
    std::vector<std::pair<int, char>> found;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        if (auto stat = proc_stat(name); stat && pred(*stat)) {
            found.emplace_back(std::stoi(name), stat->state);
        }
    }
    return found;
}

/// Members of the group that are not zombies.
std::vector<int> live_members(int pgid)
{
    std::vector<int> pids;
    for (const auto& [pid, state] :
         processes_where([pgid](const ProcStat& s) { return s.pgrp == pgid; })) {
        if (state != 'Z' && state != 'X') {
            pids.push_back(pid);
        }
    }
    return pids;
}

/// Zombie children of this test process.
std::size_t own_zombies()
{
    const long self = ::getpid();
    return processes_where([self](const ProcStat& s) { return s.ppid == self && s.state == 'Z'; })
        .size();
}

bool process_running(int pid)
{
    const auto stat = proc_stat(pid);
    return stat && stat->state != 'Z' && stat->state != 'X';
}

/// Polls `condition` until it holds or `limit` passes; the condition, not the time, decides.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 10s)
{
    const auto deadline = Clock::now() + limit;
    while (!condition()) {
        if (Clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

/// Reads a piped stdout until the first newline (bounded); returns the line without it.
std::string read_line(ChildProcess& child, std::chrono::milliseconds limit = 10s)
{
    const auto deadline = Clock::now() + limit;
    std::string text;
    while (text.find('\n') == std::string::npos && Clock::now() < deadline && !child.stdout_eof()) {
        text += child.read_stdout(100ms);
    }
    return text.substr(0, text.find('\n'));
}

class TempDir
{
  public:
    TempDir()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "gpumod-proc-XXXXXX");
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        m_path = pattern;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir()
    {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

  private:
    std::filesystem::path m_path;
};

std::string slurp(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

SpawnOptions command(std::vector<std::string> argv)
{
    SpawnOptions options;
    options.argv = std::move(argv);
    return options;
}

ChildProcess must_spawn(const SpawnOptions& options)
{
    auto child = spawn(options);
    if (!child) {
        throw std::runtime_error(child.error().message);
    }
    return std::move(*child);
}

TEST(Process, ReportsExitCode)
{
    auto child = must_spawn(command({"sh", "-c", "exit 3"}));
    const ExitStatus status = child.wait();
    EXPECT_TRUE(status.exited);
    EXPECT_EQ(status.code, 3);
    EXPECT_FALSE(status.success());
    EXPECT_EQ(status.describe(), "exited with code 3");
}

TEST(Process, ReportsSuccess)
{
    auto child = must_spawn(command({"true"}));
    EXPECT_TRUE(child.wait().success());
    // Once reaped, the status stays available.
    const auto again = child.poll();
    ASSERT_TRUE(again.has_value());
    EXPECT_TRUE(again->success());
}

TEST(Process, ReportsKillingSignal)
{
    auto child = must_spawn(command({"sh", "-c", "kill -KILL $$"}));
    const ExitStatus status = child.wait();
    EXPECT_FALSE(status.exited);
    EXPECT_EQ(status.code, SIGKILL);
    EXPECT_EQ(status.describe(), "killed by signal 9 (SIGKILL)");
}

TEST(Process, DescribesSignals)
{
    EXPECT_EQ((ExitStatus{false, SIGTERM}).describe(), "killed by signal 15 (SIGTERM)");
    EXPECT_EQ((ExitStatus{true, 0}).describe(), "exited with code 0");
}

TEST(Process, ChildLeadsItsOwnProcessGroup)
{
    auto child = must_spawn(command({"sleep", "30"}));
    const auto stat = proc_stat(child.pid());
    ASSERT_TRUE(stat.has_value());
    EXPECT_EQ(stat->pgrp, child.pid());
    EXPECT_NE(stat->pgrp, ::getpgrp());
    EXPECT_TRUE(process_group_alive(child.pid()));
    child.stop(1s);
    EXPECT_FALSE(process_group_alive(child.pid()));
}

TEST(Process, ExactEnvironmentReplacesTheParents)
{
    auto options = command({"env"}); // found on the default PATH: the env has no PATH
    options.env = std::map<std::string, std::string>{{"FOO", "bar"}, {"EMPTY", ""}};
    options.stdout_target = OutputTarget::pipe();
    auto child = must_spawn(options);
    EXPECT_EQ(child.read_all_stdout(10s), "EMPTY=\nFOO=bar\n");
    EXPECT_TRUE(child.stdout_eof());
    EXPECT_TRUE(child.wait().success());
}

TEST(Process, OverridesAddToTheParentsEnvironment)
{
    const char* parent_path = std::getenv("PATH");
    ASSERT_NE(parent_path, nullptr);
    auto options = command({"env"});
    options.env_overrides = {{"GPUMOD_PROCESS_TEST", "42"}, {"HOME", "/override-home"}};
    options.stdout_target = OutputTarget::pipe();
    auto child = must_spawn(options);
    const std::string out = child.read_all_stdout(10s);
    EXPECT_TRUE(child.wait().success());

    std::vector<std::string> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    using ::testing::Contains;
    using ::testing::StartsWith;
    EXPECT_THAT(lines, Contains("GPUMOD_PROCESS_TEST=42"));
    EXPECT_THAT(lines, Contains(std::string("PATH=") + parent_path));
    EXPECT_THAT(lines, Contains("HOME=/override-home"));
    EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                            [](const std::string& l) { return l.starts_with("HOME="); }),
              1);
}

TEST(Process, AppliesResourceLimitsBeforeExec)
{
    auto options = command({"/bin/sh", "-c", "ulimit -n; ulimit -Hn; ulimit -f"});
    options.rlimits = {{RLIMIT_NOFILE, 100, 200}, {RLIMIT_FSIZE, 1024 * 512, 1024 * 512}};
    options.stdout_target = OutputTarget::pipe();
    auto child = must_spawn(options);
    // dash reports RLIMIT_FSIZE in 512-byte blocks.
    EXPECT_EQ(child.read_all_stdout(10s), "100\n200\n1024\n");
    EXPECT_TRUE(child.wait().success());
}

TEST(Process, ImpossibleResourceLimitIsASpawnError)
{
    auto options = command({"true"});
    options.rlimits = {{RLIMIT_NOFILE, 200, 100}}; // soft above hard: EINVAL
    auto child = spawn(options);
    ASSERT_FALSE(child);
    EXPECT_THAT(child.error().message, HasSubstr("cannot set a resource limit"));
}

TEST(Process, DropsToTheGivenCredentials)
{
    if (::geteuid() != 0) {
        GTEST_SKIP() << "switching users needs root";
    }
    auto options = command({"/bin/sh", "-c", "id -u; id -g; id -G"});
    options.credentials = ChildCredentials{65534, 65534};
    options.stdout_target = OutputTarget::pipe();
    auto child = must_spawn(options);
    EXPECT_EQ(child.read_all_stdout(10s), "65534\n65534\n65534\n");
    EXPECT_TRUE(child.wait().success());
}

TEST(Process, RunsInTheGivenDirectory)
{
    TempDir dir;
    auto options = command({"pwd", "-P"});
    options.cwd = dir.path();
    options.stdout_target = OutputTarget::pipe();
    auto child = must_spawn(options);
    EXPECT_EQ(child.read_all_stdout(10s), std::filesystem::canonical(dir.path()).string() + "\n");
    EXPECT_TRUE(child.wait().success());
}

TEST(Process, MissingDirectoryIsAnErrorAndLeavesNoZombie)
{
    auto options = command({"true"});
    options.cwd = "/nonexistent/gpumod-dir";
    auto child = spawn(options);
    ASSERT_FALSE(child.has_value());
    EXPECT_EQ(child.error().message,
              "cannot run 'true': cannot change directory to '/nonexistent/gpumod-dir': No such "
              "file or directory");
    EXPECT_EQ(own_zombies(), 0U);
}

TEST(Process, ExecFailureIsAnErrorAndLeavesNoZombie)
{
    auto child = spawn(command({"nonexistent-prog-gpumod"}));
    ASSERT_FALSE(child.has_value());
    EXPECT_EQ(child.error().message,
              "cannot run 'nonexistent-prog-gpumod': No such file or directory");
    EXPECT_EQ(own_zombies(), 0U);

    auto absolute = spawn(command({"/nonexistent/gpumod-prog"}));
    ASSERT_FALSE(absolute.has_value());
    EXPECT_EQ(absolute.error().message,
              "cannot run '/nonexistent/gpumod-prog': No such file or directory");
    EXPECT_EQ(own_zombies(), 0U);
}

TEST(Process, NonExecutableFileIsPermissionDenied)
{
    TempDir dir;
    const auto script = dir.path() / "not-executable";
    std::ofstream(script) << "#!/bin/sh\nexit 0\n";
    ::chmod(script.c_str(), 0644);
    auto child = spawn(command({script.string()}));
    ASSERT_FALSE(child.has_value());
    EXPECT_THAT(child.error().message, HasSubstr("Permission denied"));
    EXPECT_THAT(child.error().message, HasSubstr(script.string()));
    EXPECT_EQ(own_zombies(), 0U);
}

TEST(Process, EmptyCommandLineIsAnError)
{
    EXPECT_FALSE(spawn(command({})).has_value());
}

TEST(Process, WritesStdoutAndStderrToFiles)
{
    TempDir dir;
    const auto out = dir.path() / "out.log";
    const auto err = dir.path() / "err.log";
    auto options = command({"sh", "-c", "echo out; echo err >&2"});
    options.stdout_target = OutputTarget::file(out);
    options.stderr_target = OutputTarget::file(err);
    EXPECT_TRUE(must_spawn(options).wait().success());
    EXPECT_EQ(slurp(out), "out\n");
    EXPECT_EQ(slurp(err), "err\n");

    // Truncate by default...
    EXPECT_TRUE(must_spawn(options).wait().success());
    EXPECT_EQ(slurp(out), "out\n");
    // ...append on request.
    options.stdout_target = OutputTarget::file(out, true);
    EXPECT_TRUE(must_spawn(options).wait().success());
    EXPECT_EQ(slurp(out), "out\nout\n");
}

TEST(Process, UnwritableLogFileIsAnError)
{
    auto options = command({"true"});
    options.stdout_target = OutputTarget::file("/nonexistent/dir/out.log");
    auto child = spawn(options);
    ASSERT_FALSE(child.has_value());
    EXPECT_EQ(child.error().message,
              "cannot run 'true': cannot open '/nonexistent/dir/out.log' for stdout: No such file "
              "or directory");
}

TEST(Process, NullTargetsAndStdinPointAtDevNull)
{
    auto options = command({"sleep", "30"});
    options.stdout_target = OutputTarget::null();
    options.stderr_target = OutputTarget::null();
    auto child = must_spawn(options);
    const std::string fds = "/proc/" + std::to_string(child.pid()) + "/fd/";
    for (const char* fd : {"0", "1", "2"}) {
        EXPECT_EQ(std::filesystem::read_symlink(fds + fd), "/dev/null") << "fd " << fd;
    }
    child.stop(1s);
}

TEST(Process, PipesSeparateStdoutAndStderr)
{
    auto options = command({"sh", "-c", "echo out; echo err >&2"});
    options.stdout_target = OutputTarget::pipe();
    options.stderr_target = OutputTarget::pipe();
    auto child = must_spawn(options);
    const CapturedOutput captured = child.read_all_output(10s);
    EXPECT_TRUE(captured.eof);
    EXPECT_EQ(captured.out, "out\n");
    EXPECT_EQ(captured.err, "err\n");
    EXPECT_TRUE(child.wait().success());
}

TEST(Process, ReadStdoutReturnsWhatIsAvailableAndTimesOut)
{
    auto options = command({"sh", "-c", "echo hello; exec sleep 30"});
    options.stdout_target = OutputTarget::pipe();
    auto child = must_spawn(options);
    EXPECT_EQ(read_line(child), "hello");
    const auto start = Clock::now();
    EXPECT_EQ(child.read_stdout(100ms), "");
    EXPECT_GE(Clock::now() - start, 100ms);
    EXPECT_FALSE(child.stdout_eof());
    child.stop(1s);
    // The writer is dead, so the pipe reaches EOF.
    EXPECT_EQ(child.read_all_stdout(10s), "");
    EXPECT_TRUE(child.stdout_eof());
}

TEST(Process, DoesNotLeakInheritableDescriptors)
{
    // Deliberately without O_CLOEXEC, at a low and a high number; a distinctive file so the
    // dynamic loader's own short-lived fds in the starting child cannot be mistaken for it.
    TempDir dir;
    const auto marker = dir.path() / "leak-marker";
    std::ofstream(marker) << "x";
    const int low = ::open(marker.c_str(), O_RDONLY);
    ASSERT_GE(low, 3);
    const int high = ::fcntl(low, F_DUPFD, 200);
    ASSERT_GE(high, 200);
    auto child = must_spawn(command({"sleep", "30"}));
    ::close(low);
    ::close(high);
    for (const auto& entry :
         std::filesystem::directory_iterator("/proc/" + std::to_string(child.pid()) + "/fd")) {
        std::error_code ec; // the loader may close its fd while we look
        EXPECT_NE(std::filesystem::read_symlink(entry.path(), ec), marker)
            << "fd " << entry.path().filename() << " leaked into the child";
    }
    child.stop(1s);
}

std::string status_field(int pid, const std::string& field)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with(field + ":")) {
            return line.substr(line.find_first_not_of(" \t", field.size() + 1));
        }
    }
    return "";
}

TEST(Process, ResetsSignalMaskAndIgnoredSignals)
{
    // Ignored dispositions and the mask survive exec, so a careless spawn passes them on.
    struct sigaction ignore = {};
    ignore.sa_handler = SIG_IGN;
    struct sigaction previous_action = {};
    ASSERT_EQ(::sigaction(SIGUSR1, &ignore, &previous_action), 0);
    sigset_t block;
    sigset_t previous_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &previous_mask), 0);

    auto child = spawn(command({"sleep", "30"}));

    ::pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
    ::sigaction(SIGUSR1, &previous_action, nullptr);
    ASSERT_TRUE(child.has_value()) << child.error().message;
    EXPECT_EQ(status_field(child->pid(), "SigBlk"), "0000000000000000");
    EXPECT_EQ(status_field(child->pid(), "SigIgn"), "0000000000000000");
    child->stop(1s);
}

TEST(Process, WaitForTimesOutOnARunningChild)
{
    auto child = must_spawn(command({"sleep", "30"}));
    const auto start = Clock::now();
    EXPECT_FALSE(child.wait_for(200ms).has_value());
    const auto waited = Clock::now() - start;
    EXPECT_GE(waited, 200ms);
    EXPECT_LT(waited, 10s);
    EXPECT_FALSE(child.poll().has_value());
    child.stop(1s);
}

TEST(Process, WaitForReturnsPromptlyWhenTheChildExits)
{
    auto child = must_spawn(command({"sleep", "30"}));
    const int pid = child.pid();
    const auto start = Clock::now();
    // Whether the signal lands before or during wait_for, it must return well before 30 s.
    std::jthread killer([pid] { ::kill(pid, SIGTERM); });
    const auto status = child.wait_for(30s);
    ASSERT_TRUE(status.has_value());
    EXPECT_LT(Clock::now() - start, 10s);
    EXPECT_FALSE(status->exited);
    EXPECT_EQ(status->code, SIGTERM);
}

TEST(Process, StopKillsATreeThatIgnoresTerm)
{
    auto options = command({"sh", "-c", "trap '' TERM; sleep 100 & echo $!; wait"});
    options.stdout_target = OutputTarget::pipe();
    auto child = must_spawn(options);
    const int pgid = child.pid();
    const int grandchild = std::stoi(read_line(child));
    ASSERT_TRUE(process_running(grandchild));
    EXPECT_EQ(proc_stat(grandchild)->pgrp, pgid);
    const auto ignored = std::stoull(status_field(grandchild, "SigIgn"), nullptr, 16);
    ASSERT_NE(ignored & (1ULL << (SIGTERM - 1)), 0U) << "the grandchild should ignore SIGTERM";

    const ExitStatus status = child.stop(200ms);
    EXPECT_FALSE(status.exited);
    EXPECT_EQ(status.code, SIGKILL) << "the shell ignores TERM, so only KILL ends it";
    EXPECT_FALSE(process_group_alive(pgid));
    EXPECT_TRUE(live_members(pgid).empty());
    EXPECT_FALSE(process_running(grandchild));
}

TEST(Process, StopEndsATreeWithinTheGraceWhenItHonoursTerm)
{
    auto options = command({"sh", "-c", "sleep 100 & echo $!; wait"});
    options.stdout_target = OutputTarget::pipe();
    auto child = must_spawn(options);
    const int pgid = child.pid();
    const int grandchild = std::stoi(read_line(child));
    ASSERT_TRUE(process_running(grandchild));

    const ExitStatus status = child.stop(10s);
    EXPECT_FALSE(status.exited);
    EXPECT_EQ(status.code, SIGTERM);
    EXPECT_TRUE(live_members(pgid).empty());
    EXPECT_FALSE(process_running(grandchild));
}

TEST(Process, StopCleansUpMembersLeftBehindByAReapedLeader)
{
    auto options = command({"sh", "-c", "trap '' TERM; sleep 100 & echo $!"});
    options.stdout_target = OutputTarget::pipe();
    auto child = must_spawn(options);
    const int pgid = child.pid();
    const int grandchild = std::stoi(read_line(child));
    EXPECT_TRUE(child.wait().success());
    ASSERT_TRUE(process_running(grandchild));
    EXPECT_TRUE(process_group_alive(pgid));

    child.stop(100ms);
    EXPECT_FALSE(process_group_alive(pgid));
    EXPECT_FALSE(process_running(grandchild));
}

TEST(Process, DestructorKillsTheGroup)
{
    int pgid = 0;
    int grandchild = 0;
    {
        auto options = command({"sh", "-c", "sleep 100 & echo $!; wait"});
        options.stdout_target = OutputTarget::pipe();
        auto child = must_spawn(options);
        pgid = child.pid();
        grandchild = std::stoi(read_line(child));
        ASSERT_TRUE(process_running(grandchild));
    }
    EXPECT_FALSE(process_group_alive(pgid));
    EXPECT_TRUE(live_members(pgid).empty());
    EXPECT_FALSE(process_running(grandchild));
    EXPECT_EQ(own_zombies(), 0U);
}

TEST(Process, MovingTransfersOwnership)
{
    auto first = must_spawn(command({"sleep", "30"}));
    const int first_pid = first.pid();
    ChildProcess moved(std::move(first));
    EXPECT_EQ(moved.pid(), first_pid);
    EXPECT_EQ(first.pid(), -1); // NOLINT(bugprone-use-after-move): checks the moved-from state
    EXPECT_FALSE(moved.poll().has_value()) << "the moved-from handle must not have stopped it";

    auto other = must_spawn(command({"sleep", "30"}));
    const int other_pid = other.pid();
    other = std::move(moved); // stops what `other` held
    EXPECT_FALSE(process_group_alive(other_pid));
    EXPECT_EQ(other.pid(), first_pid);
    EXPECT_TRUE(process_running(first_pid));
    other.stop(1s);
    EXPECT_FALSE(process_group_alive(first_pid));
}

TEST(Process, SignalGroupFailsOnceTheGroupIsGone)
{
    auto child = must_spawn(command({"sleep", "30"}));
    ASSERT_TRUE(child.signal_group(SIGTERM).has_value());
    const ExitStatus status = child.wait();
    EXPECT_EQ(status.code, SIGTERM);
    const auto again = child.signal_group(SIGTERM);
    ASSERT_FALSE(again.has_value());
    EXPECT_THAT(again.error().message, HasSubstr("'sleep'"));
    EXPECT_THAT(again.error().message, HasSubstr("No such process"));
}

TEST(Process, ProcessGroupAliveRejectsSpecialIds)
{
    // kill(0) and kill(-1) would mean "our own group" and "every process".
    EXPECT_FALSE(process_group_alive(0));
    EXPECT_FALSE(process_group_alive(-1));
}

/// Forks a helper that spawns `sleep 100` and exits at once; returns the sleep's pid.
int spawn_from_dying_parent(bool die_with_parent,
                            std::optional<ChildCredentials> credentials = std::nullopt)
{
    std::array<int, 2> fds{};
    if (::pipe(fds.data()) != 0) {
        return -1;
    }
    const pid_t helper = ::fork();
    if (helper == 0) {
        ::close(fds[0]);
        auto options = command({"sleep", "100"});
        options.die_with_parent = die_with_parent;
        options.credentials = credentials;
        auto child = spawn(options);
        const int pid = child ? child->pid() : -1;
        [[maybe_unused]] const auto n = ::write(fds[1], &pid, sizeof pid);
        ::_exit(0); // skips the destructor: the orphan's fate is up to PDEATHSIG alone
    }
    ::close(fds[1]);
    int pid = -1;
    if (::read(fds[0], &pid, sizeof pid) != static_cast<ssize_t>(sizeof pid)) {
        pid = -1;
    }
    ::close(fds[0]);
    int raw = 0;
    ::waitpid(helper, &raw, 0);
    return pid;
}

TEST(Process, ChildDiesWithItsParent)
{
    const int pid = spawn_from_dying_parent(true);
    ASSERT_GT(pid, 0);
    EXPECT_TRUE(eventually([pid] { return !process_group_alive(pid); }));
}

TEST(Process, ChildDiesWithItsParentAfterDroppingCredentials)
{
    if (::geteuid() != 0) {
        GTEST_SKIP() << "switching users needs root";
    }
    // A change of credentials clears PR_SET_PDEATHSIG, so spawn must set it afterwards.
    const int pid = spawn_from_dying_parent(true, ChildCredentials{65534, 65534});
    ASSERT_GT(pid, 0);
    EXPECT_TRUE(eventually([pid] { return !process_group_alive(pid); }));
}

TEST(Process, WithoutDieWithParentTheChildOutlivesIt)
{
    // The control for the test above: the helper's exit alone does not end the sleep.
    const int pid = spawn_from_dying_parent(false);
    ASSERT_GT(pid, 0);
    EXPECT_TRUE(process_running(pid));
    ::kill(-pid, SIGKILL);
    EXPECT_TRUE(eventually([pid] { return !process_group_alive(pid); }));
}

TEST(RunCommand, CapturesBothStreamsAndTheStatus)
{
    auto result = run_command({"sh", "-c", "echo out; echo err >&2; exit 4"}, 10s);
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(result->out, "out\n");
    EXPECT_EQ(result->err, "err\n");
    EXPECT_FALSE(result->timed_out);
    EXPECT_TRUE(result->status.exited);
    EXPECT_EQ(result->status.code, 4);
}

TEST(RunCommand, LargeOutputOnBothStreamsDoesNotDeadlock)
{
    // stderr first: a reader that waits on stdout alone would block forever here.
    auto result =
        run_command({"sh", "-c", "head -c 1048576 /dev/zero >&2; head -c 1048576 /dev/zero"}, 60s);
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_FALSE(result->timed_out);
    EXPECT_TRUE(result->status.success());
    EXPECT_EQ(result->out.size(), 1048576U);
    EXPECT_EQ(result->err.size(), 1048576U);
}

TEST(RunCommand, PassesEnvironmentOverrides)
{
    auto result = run_command({"sh", "-c", "printf %s \"$GPUMOD_RUN_TEST\""}, 10s,
                              {{"GPUMOD_RUN_TEST", "value"}});
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->out, "value");
}

TEST(RunCommand, KillsTheGroupOnTimeout)
{
    const auto start = Clock::now();
    // The shell prints its pid, which is also the group id, before it blocks.
    auto result = run_command({"sh", "-c", "echo $$; trap '' TERM; sleep 30 & sleep 30"}, 300ms);
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(result->timed_out);
    EXPECT_FALSE(result->status.exited);
    EXPECT_LT(Clock::now() - start, 10s);
    ASSERT_FALSE(result->out.empty());
    const int pgid = std::stoi(result->out);
    EXPECT_FALSE(process_group_alive(pgid));
    EXPECT_TRUE(live_members(pgid).empty());
}

TEST(RunCommand, MissingProgramIsAnError)
{
    auto result = run_command({"nonexistent-prog-gpumod"}, 10s);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().message,
              "cannot run 'nonexistent-prog-gpumod': No such file or directory");
}

} // namespace
} // namespace gpumod::posix
