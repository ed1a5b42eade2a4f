#include "adapters/posix/process.hpp"

#include "adapters/posix/clock.hpp"
#include "adapters/posix/unique_fd.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <string_view>
#include <utility>

namespace gpumod::posix {
namespace {

// Deadlines are monotonic and come from clock.hpp, the one place that reads clocks.
using Clock = std::chrono::steady_clock;

/// How long stop() keeps checking that the group is gone after SIGKILL; KILL cannot be
/// ignored, so only a process stuck in uninterruptible sleep outlasts this.
constexpr auto k_group_exit_limit = std::chrono::seconds(5);
/// Interval of the /proc scan while waiting for group members that have no pidfd of ours.
constexpr auto k_group_poll_interval = std::chrono::milliseconds(10);
/// How often stop() repeats SIGKILL while members of the group remain.
constexpr auto k_kill_repeat = std::chrono::milliseconds(100);
/// Grace the destructor gives a still-running group before SIGKILL.
constexpr auto k_destructor_grace = std::chrono::seconds(2);
/// Upper bound of bytes one read call returns, so a chatty child cannot pin the reader.
constexpr std::size_t k_max_read_per_call = std::size_t{1} << 20;
/// PATH used when the child's environment has none (what execvp falls back to).
constexpr std::string_view k_default_path = "/bin:/usr/bin";

std::string errno_text(int error)
{
    // strerrordesc_np returns static text, unlike strerror it is thread-safe.
    const char* text = ::strerrordesc_np(error);
    return text != nullptr ? std::string(text) : fmt::format("error {}", error);
}

int remaining_ms(Clock::time_point deadline)
{
    const auto left = deadline - monotonic_now();
    if (left <= Clock::duration::zero()) {
        return 0;
    }
    // Round up so a poll never returns just before the deadline and spins.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(std::min<long long>(ms, INT_MAX));
}

Clock::time_point deadline_after(std::chrono::milliseconds timeout)
{
    // Saturate: "wait a very long time" must not overflow into the past.
    const auto now = monotonic_now();
    if (timeout >
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now)) {
        return Clock::time_point::max();
    }
    return now + timeout;
}

/// Waits until `fd` is readable or the deadline passes; false on timeout.
bool wait_readable(int fd, Clock::time_point deadline)
{
    for (;;) {
        pollfd entry{fd, POLLIN, 0};
        const int rc = ::poll(&entry, 1, remaining_ms(deadline));
        if (rc > 0) {
            return true;
        }
        if (rc == 0) {
            if (monotonic_now() >= deadline) {
                return false;
            }
            continue;
        }
        if (errno != EINTR) {
            return false;
        }
    }
}

/// Reads what is available from a non-blocking pipe; closes it at EOF or on a read error.
void drain(UniqueFd& fd, std::string& out)
{
    std::array<char, 65536> buffer{};
    std::size_t total = 0;
    while (fd.valid() && total < k_max_read_per_call) {
        const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n > 0) {
            out.append(buffer.data(), static_cast<std::size_t>(n));
            total += static_cast<std::size_t>(n);
        } else if (n == 0) {
            fd.reset();
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else {
            fd.reset();
        }
    }
}

std::string read_some(UniqueFd& fd, std::chrono::milliseconds timeout)
{
    std::string out;
    if (fd.valid() && wait_readable(fd.get(), deadline_after(timeout))) {
        drain(fd, out);
    }
    return out;
}

std::string read_until_eof(UniqueFd& fd, std::chrono::milliseconds timeout)
{
    const auto deadline = deadline_after(timeout);
    std::string out;
    // Checks the deadline after each read too: a child that never stops writing keeps the
    // pipe readable forever.
    while (fd.valid() && wait_readable(fd.get(), deadline)) {
        drain(fd, out);
        if (monotonic_now() >= deadline) {
            break;
        }
    }
    return out;
}

// The helpers below fill out-parameters and return Status: g++ 12 at -O3 reports a false
// -Wfree-nonheap-object for tl::expected holding a UniqueFd next to an Error.

/// Moves `fd` to a number above 2, so dup2() onto 0/1/2 in the child never hits itself.
Status move_above_stdio(UniqueFd& fd)
{
    if (fd.get() > STDERR_FILENO) {
        return {};
    }
    const int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    if (moved < 0) {
        return fail(fmt::format("cannot duplicate a file descriptor: {}", errno_text(errno)));
    }
    fd.reset(moved);
    return {};
}

struct Pipe
{
    UniqueFd read_end;
    UniqueFd write_end;
};

Status make_pipe(Pipe& pipe)
{
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
        return fail(fmt::format("cannot create a pipe: {}", errno_text(errno)));
    }
    pipe.read_end.reset(fds[0]);
    pipe.write_end.reset(fds[1]);
    if (auto moved = move_above_stdio(pipe.read_end); !moved) {
        return moved;
    }
    return move_above_stdio(pipe.write_end);
}

/// The fds one output stream needs: the child's end (dup2'ed onto 1 or 2) and, for a pipe,
/// the parent's read end.
struct PreparedOutput
{
    UniqueFd child_end; ///< invalid: inherit the parent's stream
    UniqueFd parent_end;
    bool uses_null = false;
};

Status prepare_output(const OutputTarget& target, std::string_view stream, PreparedOutput& prepared)
{
    switch (target.kind) {
    case OutputTarget::Kind::inherit:
        break;
    case OutputTarget::Kind::null:
        prepared.uses_null = true;
        break;
    case OutputTarget::Kind::file: {
        const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (target.append ? O_APPEND : O_TRUNC);
        UniqueFd fd(::open(target.path.c_str(), flags, 0644));
        if (!fd.valid()) {
            return fail(fmt::format("cannot open '{}' for {}: {}", target.path.string(), stream,
                                    errno_text(errno)));
        }
        if (auto moved = move_above_stdio(fd); !moved) {
            return moved;
        }
        prepared.child_end = std::move(fd);
        break;
    }
    case OutputTarget::Kind::pipe: {
        Pipe p;
        if (auto made = make_pipe(p); !made) {
            return made;
        }
        // Only the parent's end is non-blocking; the child sees an ordinary blocking pipe.
        const int fl = ::fcntl(p.read_end.get(), F_GETFL);
        if (fl < 0 || ::fcntl(p.read_end.get(), F_SETFL, fl | O_NONBLOCK) != 0) {
            return fail(
                fmt::format("cannot make the {} pipe non-blocking: {}", stream, errno_text(errno)));
        }
        prepared.child_end = std::move(p.write_end);
        prepared.parent_end = std::move(p.read_end);
        break;
    }
    }
    return {};
}

/// "NAME=value" strings for the child: the parent's or the given environment, plus overrides.
std::vector<std::string> build_environment(const SpawnOptions& options)
{
    std::map<std::string, std::string> merged;
    if (options.env) {
        merged = *options.env;
    } else {
        // The one place processes inherit gpumod's environment; read it as execve would.
        for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
            const std::string_view text(*entry);
            const auto eq = text.find('=');
            if (eq == std::string_view::npos) {
                continue;
            }
            merged.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
        }
    }
    for (const auto& [name, value] : options.env_overrides) {
        merged[name] = value;
    }
    std::vector<std::string> strings;
    strings.reserve(merged.size());
    for (const auto& [name, value] : merged) {
        strings.push_back(fmt::format("{}={}", name, value));
    }
    return strings;
}

/// Paths to try for `program`, in execvp order, searched in the *child's* PATH.
std::vector<std::string> exec_candidates(const std::string& program,
                                         const std::vector<std::string>& env)
{
    if (program.find('/') != std::string::npos) {
        return {program};
    }
    std::string_view path = k_default_path;
    for (const auto& entry : env) {
        if (entry.starts_with("PATH=")) {
            path = std::string_view(entry).substr(5);
        }
    }
    std::vector<std::string> candidates;
    std::size_t start = 0;
    for (;;) {
        const auto colon = path.find(':', start);
        auto dir = path.substr(start, colon == std::string_view::npos ? path.npos : colon - start);
        // POSIX: an empty PATH element means the current directory.
        candidates.push_back(fmt::format("{}/{}", dir.empty() ? "." : dir, program));
        if (colon == std::string_view::npos) {
            break;
        }
        start = colon + 1;
    }
    return candidates;
}

/// Which step in the child failed; written with errno to the report pipe.
enum class ChildStage : int
{
    setup = 1,
    chdir = 2,
    exec = 3,
    limits = 4,
    credentials = 5,
};

struct ChildReport
{
    int stage = 0;
    int error = 0;
};

/// Everything the child needs, prepared before fork so the child never allocates.
struct ChildPlan
{
    char* const* argv = nullptr;
    char* const* envp = nullptr;
    const std::string* candidates = nullptr;
    std::size_t candidate_count = 0;
    const char* cwd = nullptr;
    int stdin_fd = -1;
    int stdout_fd = -1;
    int stderr_fd = -1;
    int report_fd = -1;
    bool die_with_parent = false;
    pid_t parent_pid = 0;
    const int* limit_resources = nullptr; ///< RLIMIT_* of each entry in `limit_values`
    const rlimit* limit_values = nullptr;
    std::size_t limit_count = 0;
    bool set_credentials = false;
    uid_t uid = 0;
    gid_t gid = 0;
    int fd_limit = 0; ///< highest fd + 1 to mark CLOEXEC when close_range is unavailable
};

[[noreturn]] void child_fail(int report_fd, ChildStage stage, int error)
{
    const ChildReport report{static_cast<int>(stage), error};
    // Eight bytes to a pipe are written atomically. Should the write fail anyway, the parent
    // reads EOF, takes it for a successful exec, and only the exit code 127 remains.
    [[maybe_unused]] const ssize_t n = ::write(report_fd, &report, sizeof report);
    ::_exit(127);
}

// Runs in the forked child: async-signal-safe calls only, no allocation, no locks.
[[noreturn]] void run_child(const ChildPlan& plan)
{
    if (::setpgid(0, 0) != 0) {
        child_fail(plan.report_fd, ChildStage::setup, errno);
    }
    for (std::size_t i = 0; i < plan.limit_count; ++i) {
        if (::setrlimit(static_cast<__rlimit_resource_t>(plan.limit_resources[i]),
                        &plan.limit_values[i]) != 0) {
            child_fail(plan.report_fd, ChildStage::limits, errno);
        }
    }
    // Raw system calls: glibc's wrappers synchronise all threads of the process, which is
    // not safe after fork. Groups first, gid next, uid last (after it, nothing else may go).
    // Before PR_SET_PDEATHSIG, because a change of credentials clears that signal.
    if (plan.set_credentials) {
        if (::syscall(SYS_setgroups, 0, nullptr) != 0 ||
            ::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0 ||
            ::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0) {
            child_fail(plan.report_fd, ChildStage::credentials, errno);
        }
    }
    if (plan.die_with_parent) {
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
            child_fail(plan.report_fd, ChildStage::setup, errno);
        }
        // The parent may have died between fork and prctl; then nobody would signal us.
        if (::getppid() != plan.parent_pid) {
            ::_exit(127);
        }
    }
    const std::array<std::pair<int, int>, 3> redirects{{{plan.stdin_fd, STDIN_FILENO},
                                                        {plan.stdout_fd, STDOUT_FILENO},
                                                        {plan.stderr_fd, STDERR_FILENO}}};
    for (const auto& [from, to] : redirects) {
        // Sources are all above 2 (move_above_stdio), so dup2 never aliases and clears CLOEXEC.
        if (from >= 0 && ::dup2(from, to) < 0) {
            child_fail(plan.report_fd, ChildStage::setup, errno);
        }
    }
    if (plan.cwd != nullptr && ::chdir(plan.cwd) != 0) {
        child_fail(plan.report_fd, ChildStage::chdir, errno);
    }
    // Every inherited fd above 2 closes at exec; the report pipe stays usable until then.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        for (int fd = 3; fd < plan.fd_limit; ++fd) {
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
    }
    // Ignored signals survive exec; handled ones are reset by exec anyway. All signals are
    // still blocked here (the parent blocked them around fork), so no handler can run.
    struct sigaction default_action = {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            ::sigaction(sig, &default_action, nullptr);
        }
    }
    sigset_t empty_mask;
    sigemptyset(&empty_mask);
    ::sigprocmask(SIG_SETMASK, &empty_mask, nullptr);

    // execvp's search rules: skip missing entries, remember EACCES, stop on anything else.
    int last_error = ENOENT;
    bool saw_eacces = false;
    for (std::size_t i = 0; i < plan.candidate_count; ++i) {
        ::execve(plan.candidates[i].c_str(), plan.argv, plan.envp);
        const int error = errno;
        if (error == EACCES) {
            saw_eacces = true;
        } else if (error == ENOENT || error == ENOTDIR) {
            last_error = plan.candidate_count == 1 ? error : ENOENT;
        } else {
            child_fail(plan.report_fd, ChildStage::exec, error);
        }
    }
    child_fail(plan.report_fd, ChildStage::exec, saw_eacces ? EACCES : last_error);
}

ExitStatus status_from(const siginfo_t& info)
{
    if (info.si_code == CLD_EXITED) {
        return ExitStatus{true, info.si_status};
    }
    return ExitStatus{false, info.si_status};
}

void reap_pid(pid_t pid)
{
    int raw = 0;
    while (::waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
    }
}

} // namespace

std::string ExitStatus::describe() const
{
    if (exited) {
        return fmt::format("exited with code {}", code);
    }
    if (code == 0) {
        return "ended, but its exit status was collected elsewhere";
    }
    if (const char* name = ::sigabbrev_np(code); name != nullptr) {
        return fmt::format("killed by signal {} (SIG{})", code, name);
    }
    return fmt::format("killed by signal {}", code);
}

struct ChildProcess::State
{
    std::string program;
    pid_t pid = -1;
    UniqueFd pidfd;
    UniqueFd stdout_pipe;
    UniqueFd stderr_pipe;
    std::optional<ExitStatus> status; ///< set once the child is reaped

    /// Reaps the child if it has ended (blocking when `block`); its status, or nullopt.
    std::optional<ExitStatus> reap(bool block)
    {
        if (status) {
            return status;
        }
        siginfo_t info{};
        const int flags = WEXITED | (block ? 0 : WNOHANG);
        while (::waitid(P_PIDFD, static_cast<id_t>(pidfd.get()), &info, flags) != 0) {
            if (errno != EINTR) {
                // ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN, a stray
                // waitpid(-1)); the child is gone but its status is lost.
                status = ExitStatus{false, 0};
                pidfd.reset();
                return status;
            }
        }
        if (info.si_pid == 0) {
            return std::nullopt;
        }
        status = status_from(info);
        pidfd.reset();
        return status;
    }

    /// Waits until the child has ended, without reaping it: while it is an unreaped zombie
    /// its pid, and so its process group id, cannot be reused, and kill(-pgid) stays safe.
    bool wait_exited(Clock::time_point deadline) const
    {
        return !pidfd.valid() || wait_readable(pidfd.get(), deadline);
    }

    /// Polls /proc until no live member of the group is left; false on timeout.
    bool wait_group_gone(Clock::time_point deadline) const
    {
        for (;;) {
            if (!process_group_alive(pid)) {
                return true;
            }
            if (monotonic_now() >= deadline) {
                return false;
            }
            // No fd tells us when an unrelated group member exits, so this one wait polls.
            sleep_for(k_group_poll_interval);
        }
    }

    ExitStatus stop(std::chrono::milliseconds grace)
    {
        if (status) {
            // Already reaped: only members left behind (background grandchildren) remain.
            if (process_group_alive(pid)) {
                ::kill(-pid, SIGTERM);
                if (!wait_group_gone(deadline_after(grace))) {
                    ::kill(-pid, SIGKILL);
                    wait_group_gone(deadline_after(k_group_exit_limit));
                }
            }
            return *status;
        }
        const auto grace_deadline = deadline_after(grace);
        ::kill(-pid, SIGTERM);
        if (wait_exited(grace_deadline)) {
            // The leader is gone; give the rest of the group what is left of the grace.
            wait_group_gone(grace_deadline);
        }
        // Unconditional: takes the leader and anything that ignored TERM or outlived it.
        ::kill(-pid, SIGKILL);
        const auto kill_deadline = deadline_after(k_group_exit_limit);
        wait_exited(kill_deadline);
        for (;;) {
            const auto round = std::min(kill_deadline, deadline_after(k_kill_repeat));
            if (wait_group_gone(round) || monotonic_now() >= kill_deadline) {
                break;
            }
            // A member forked while the first KILL was on its way escaped it.
            ::kill(-pid, SIGKILL);
        }
        return *reap(true);
    }
};

ChildProcess::ChildProcess(std::unique_ptr<State> state) : m_state(std::move(state)) {}

ChildProcess::ChildProcess(ChildProcess&&) noexcept = default;

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept
{
    if (this != &other) {
        if (m_state) {
            m_state->stop(k_destructor_grace);
        }
        m_state = std::move(other.m_state);
    }
    return *this;
}

ChildProcess::~ChildProcess()
{
    if (m_state) {
        m_state->stop(k_destructor_grace);
    }
}

int ChildProcess::pid() const
{
    return m_state ? m_state->pid : -1;
}

std::optional<ExitStatus> ChildProcess::poll()
{
    if (!m_state) {
        return std::nullopt;
    }
    return m_state->reap(false);
}

std::optional<ExitStatus> ChildProcess::wait_for(std::chrono::milliseconds timeout)
{
    if (!m_state) {
        return std::nullopt;
    }
    const auto deadline = deadline_after(timeout);
    for (;;) {
        if (auto status = m_state->reap(false)) {
            return status;
        }
        if (!m_state->wait_exited(deadline)) {
            return m_state->reap(false); // one last look: it may have ended at the deadline
        }
    }
}

ExitStatus ChildProcess::wait()
{
    if (!m_state) {
        return ExitStatus{};
    }
    return *m_state->reap(true);
}

Status ChildProcess::signal_group(int signal)
{
    if (!m_state) {
        return fail("cannot signal a process: the handle was moved from");
    }
    if (::kill(-m_state->pid, signal) != 0) {
        return fail(fmt::format("cannot send signal {} to process group {} of '{}': {}", signal,
                                m_state->pid, m_state->program, errno_text(errno)));
    }
    return {};
}

ExitStatus ChildProcess::stop(std::chrono::milliseconds grace)
{
    if (!m_state) {
        return ExitStatus{};
    }
    return m_state->stop(grace);
}

std::string ChildProcess::read_stdout(std::chrono::milliseconds timeout)
{
    return m_state ? read_some(m_state->stdout_pipe, timeout) : std::string();
}

std::string ChildProcess::read_stderr(std::chrono::milliseconds timeout)
{
    return m_state ? read_some(m_state->stderr_pipe, timeout) : std::string();
}

std::string ChildProcess::read_all_stdout(std::chrono::milliseconds timeout)
{
    return m_state ? read_until_eof(m_state->stdout_pipe, timeout) : std::string();
}

std::string ChildProcess::read_all_stderr(std::chrono::milliseconds timeout)
{
    return m_state ? read_until_eof(m_state->stderr_pipe, timeout) : std::string();
}

CapturedOutput ChildProcess::read_all_output(std::chrono::milliseconds timeout)
{
    CapturedOutput captured;
    if (!m_state) {
        captured.eof = true;
        return captured;
    }
    const auto deadline = deadline_after(timeout);
    UniqueFd& out_fd = m_state->stdout_pipe;
    UniqueFd& err_fd = m_state->stderr_pipe;
    while (out_fd.valid() || err_fd.valid()) {
        std::array<pollfd, 2> entries{{{out_fd.get(), POLLIN, 0}, {err_fd.get(), POLLIN, 0}}};
        // poll ignores entries with a negative fd, so a stream that hit EOF drops out.
        const int rc = ::poll(entries.data(), entries.size(), remaining_ms(deadline));
        if (rc < 0 && errno != EINTR) {
            break;
        }
        if (rc > 0) {
            if (entries[0].revents != 0) {
                drain(out_fd, captured.out);
            }
            if (entries[1].revents != 0) {
                drain(err_fd, captured.err);
            }
        }
        if (monotonic_now() >= deadline) {
            break;
        }
    }
    captured.eof = !out_fd.valid() && !err_fd.valid();
    return captured;
}

bool ChildProcess::stdout_eof() const
{
    return !m_state || !m_state->stdout_pipe.valid();
}

bool ChildProcess::stderr_eof() const
{
    return !m_state || !m_state->stderr_pipe.valid();
}

Result<ChildProcess> spawn(const SpawnOptions& options)
{
    if (options.argv.empty() || options.argv[0].empty()) {
        return fail("cannot run a process: the command line is empty");
    }
    const std::string& program = options.argv[0];
    auto failure = [&program](const std::string& why) {
        return fail(fmt::format("cannot run '{}': {}", program, why));
    };

    // Everything the child touches is built here: after fork it may not allocate.
    std::vector<std::string> arg_strings = options.argv;
    std::vector<char*> argv;
    argv.reserve(arg_strings.size() + 1);
    for (auto& arg : arg_strings) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);

    std::vector<std::string> env_strings = build_environment(options);
    std::vector<char*> envp;
    envp.reserve(env_strings.size() + 1);
    for (auto& entry : env_strings) {
        envp.push_back(entry.data());
    }
    envp.push_back(nullptr);

    const std::vector<std::string> candidates = exec_candidates(program, env_strings);
    const std::string cwd = options.cwd ? options.cwd->string() : std::string();

    PreparedOutput out;
    if (auto prepared = prepare_output(options.stdout_target, "stdout", out); !prepared) {
        return failure(prepared.error().message);
    }
    PreparedOutput err;
    if (auto prepared = prepare_output(options.stderr_target, "stderr", err); !prepared) {
        return failure(prepared.error().message);
    }
    UniqueFd dev_null;
    if (options.stdin_null || out.uses_null || err.uses_null) {
        dev_null.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
        if (!dev_null.valid()) {
            return failure(fmt::format("cannot open /dev/null: {}", errno_text(errno)));
        }
        if (auto moved = move_above_stdio(dev_null); !moved) {
            return failure(moved.error().message);
        }
    }
    std::vector<int> limit_resources;
    std::vector<rlimit> limit_values;
    for (const ResourceLimit& limit : options.rlimits) {
        limit_resources.push_back(limit.resource);
        limit_values.push_back(rlimit{static_cast<rlim_t>(limit.soft), static_cast<rlim_t>(limit.hard)});
    }
    Pipe report;
    if (auto made = make_pipe(report); !made) {
        return failure(made.error().message);
    }

    ChildPlan plan;
    plan.argv = argv.data();
    plan.envp = envp.data();
    plan.candidates = candidates.data();
    plan.candidate_count = candidates.size();
    plan.cwd = options.cwd ? cwd.c_str() : nullptr;
    plan.stdin_fd = options.stdin_null ? dev_null.get() : -1;
    plan.stdout_fd = out.uses_null ? dev_null.get() : out.child_end.get();
    plan.stderr_fd = err.uses_null ? dev_null.get() : err.child_end.get();
    plan.report_fd = report.write_end.get();
    plan.die_with_parent = options.die_with_parent;
    plan.parent_pid = ::getpid();
    plan.limit_resources = limit_resources.data();
    plan.limit_values = limit_values.data();
    plan.limit_count = limit_values.size();
    if (options.credentials) {
        plan.set_credentials = true;
        plan.uid = static_cast<uid_t>(options.credentials->uid);
        plan.gid = static_cast<gid_t>(options.credentials->gid);
    }
    const long open_max = ::sysconf(_SC_OPEN_MAX);
    plan.fd_limit = open_max > 0 && open_max < (1 << 20) ? static_cast<int>(open_max) : (1 << 16);

    // Block every signal across fork so no parent handler runs in the child before it
    // resets dispositions; the child unblocks right before exec.
    sigset_t all_signals;
    sigset_t previous_mask;
    sigfillset(&all_signals);
    ::pthread_sigmask(SIG_SETMASK, &all_signals, &previous_mask);
    const pid_t pid = ::fork();
    if (pid == 0) {
        run_child(plan);
    }
    const int fork_errno = errno;
    ::pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
    if (pid < 0) {
        return failure(fmt::format("fork failed: {}", errno_text(fork_errno)));
    }

    // Also from the parent: whoever runs first, the group exists before spawn returns.
    // EACCES (the child already exec'd, having done it itself) is fine.
    ::setpgid(pid, pid);

    report.write_end.reset();
    out.child_end.reset();
    err.child_end.reset();
    dev_null.reset();

    ChildReport child_report;
    ssize_t got = 0;
    do {
        got = ::read(report.read_end.get(), &child_report, sizeof child_report);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        // Cannot tell whether exec happened; a child we cannot account for must not run on.
        const int read_errno = errno;
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        reap_pid(pid);
        return failure(
            fmt::format("cannot read the child's exec report: {}", errno_text(read_errno)));
    }
    if (got != 0) {
        // The child failed before exec (it wrote a report) and exits; reap it here.
        reap_pid(pid);
        if (got != static_cast<ssize_t>(sizeof child_report)) {
            return failure("the child failed before exec and its report was lost");
        }
        const std::string reason = errno_text(child_report.error);
        switch (static_cast<ChildStage>(child_report.stage)) {
        case ChildStage::chdir:
            return failure(fmt::format("cannot change directory to '{}': {}", cwd, reason));
        case ChildStage::setup:
            return failure(fmt::format("cannot set up the child process: {}", reason));
        case ChildStage::limits:
            return failure(fmt::format("cannot set a resource limit: {}", reason));
        case ChildStage::credentials:
            return failure(fmt::format("cannot switch to uid {} gid {}: {}", plan.uid, plan.gid,
                                       reason));
        case ChildStage::exec:
            break;
        }
        return failure(reason);
    }

    const long pidfd = ::syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        const int pidfd_errno = errno;
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        reap_pid(pid);
        return failure(fmt::format("pidfd_open failed (Linux 5.3 or newer is required): {}",
                                   errno_text(pidfd_errno)));
    }

    auto state = std::make_unique<ChildProcess::State>();
    state->program = program;
    state->pid = pid;
    state->pidfd = UniqueFd(static_cast<int>(pidfd));
    state->stdout_pipe = std::move(out.parent_end);
    state->stderr_pipe = std::move(err.parent_end);
    return ChildProcess(std::move(state));
}

Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout,
                                  const std::map<std::string, std::string>& env_overrides)
{
    const auto deadline = deadline_after(timeout);
    SpawnOptions options;
    options.argv = argv;
    options.env_overrides = env_overrides;
    options.stdout_target = OutputTarget::pipe();
    options.stderr_target = OutputTarget::pipe();
    auto child = spawn(options);
    if (!child) {
        return tl::unexpected(child.error());
    }
    CommandOutput result;
    CapturedOutput captured = child->read_all_output(timeout);
    result.out = std::move(captured.out);
    result.err = std::move(captured.err);
    std::optional<ExitStatus> status;
    if (captured.eof) {
        status = child->wait_for(std::chrono::milliseconds(remaining_ms(deadline)));
    }
    if (!status) {
        result.timed_out = true;
        status = child->stop(std::chrono::milliseconds(0));
    }
    result.status = *status;
    // Background members of the group must not outlive the command either.
    child->stop(std::chrono::milliseconds(0));
    return result;
}

} // namespace gpumod::posix
