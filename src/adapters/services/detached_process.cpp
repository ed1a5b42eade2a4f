#include "adapters/services/detached_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

#include "adapters/posix/clock.hpp"
#include "adapters/posix/process.hpp"
#include "adapters/posix/unique_fd.hpp"
#include "core/services/service_record.hpp"

extern char** environ;

namespace gpumod::services {
namespace {

using posix::UniqueFd;

/// Interval of the liveness checks while a group winds down; stop latency is part of every
/// mode switch, so this is short (a /proc scan costs well under a millisecond).
constexpr auto k_stop_poll = std::chrono::milliseconds(2);
/// SIGTERM is repeated this often during the grace period. llama-server can lose a TERM that
/// arrives right after its "listening" line, before its main loop runs (seen in 1 of 100
/// stops in bench/switch-latency); a second TERM makes it exit at once.
constexpr auto k_term_repeat = std::chrono::milliseconds(500);
/// How long after SIGKILL we keep checking; only D-state processes outlast it.
constexpr auto k_kill_limit = std::chrono::seconds(5);

std::string errno_text(int error)
{
    const char* text = ::strerrordesc_np(error);
    return text != nullptr ? std::string(text) : fmt::format("error {}", error);
}

std::optional<std::string> read_stat(int pid)
{
    std::ifstream in(fmt::format("/proc/{}/stat", pid), std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// The environment as execve wants it: gpumod's own plus overrides.
std::vector<std::string> child_environment(const std::map<std::string, std::string>& overrides)
{
    std::map<std::string, std::string> merged;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string_view text(*entry);
        const auto eq = text.find('=');
        if (eq != std::string_view::npos) {
            merged.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
        }
    }
    for (const auto& [name, value] : overrides) {
        merged[name] = value;
    }
    std::vector<std::string> out;
    for (const auto& [name, value] : merged) {
        out.push_back(name + "=" + value);
    }
    return out;
}

/// Resolves a program name on PATH (as execvp would) before fork, so the child only execs.
Result<std::string> resolve_program(const std::string& program, const std::vector<std::string>& env)
{
    if (program.find('/') != std::string::npos) {
        return program;
    }
    std::string path = "/bin:/usr/bin";
    for (const auto& entry : env) {
        if (entry.starts_with("PATH=")) {
            path = entry.substr(5);
        }
    }
    std::size_t start = 0;
    for (;;) {
        const auto colon = path.find(':', start);
        std::string dir = path.substr(start, colon == std::string::npos ? std::string::npos
                                                                        : colon - start);
        const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
        if (colon == std::string::npos) {
            break;
        }
        start = colon + 1;
    }
    return fail(fmt::format("cannot run '{}': not found on PATH ({})", program, path));
}

struct ChildPlan
{
    const char* program = nullptr;
    char* const* argv = nullptr;
    char* const* envp = nullptr;
    int null_fd = -1;
    int log_fd = -1;
    int report_fd = -1;
};

[[noreturn]] void child_fail(int report_fd, int error)
{
    [[maybe_unused]] const ssize_t n = ::write(report_fd, &error, sizeof error);
    ::_exit(127);
}

// After fork: async-signal-safe calls only.
[[noreturn]] void run_child(const ChildPlan& plan)
{
    auto fail_with = [&](int error) { child_fail(plan.report_fd, error); };
    // A new session: own process group, no controlling terminal. No PR_SET_PDEATHSIG: the
    // service must outlive the gpumod command that started it.
    if (::setsid() < 0) {
        fail_with(errno);
    }
    if (::dup2(plan.null_fd, STDIN_FILENO) < 0 || ::dup2(plan.log_fd, STDOUT_FILENO) < 0 ||
        ::dup2(plan.log_fd, STDERR_FILENO) < 0) {
        fail_with(errno);
    }
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        for (int fd = 3; fd < 4096; ++fd) {
            ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
    }
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
    ::execve(plan.program, plan.argv, plan.envp);
    child_fail(plan.report_fd, errno);
}

/// Fd above 2, so dup2 onto 0/1/2 in the child never aliases.
int above_stdio(int fd)
{
    if (fd > STDERR_FILENO || fd < 0) {
        return fd;
    }
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    ::close(fd);
    return moved;
}

} // namespace

Result<DetachedProcess> spawn_detached(const DetachedSpawn& spawn)
{
    if (spawn.argv.empty() || spawn.argv[0].empty()) {
        return fail("cannot start a service: the command line is empty");
    }
    const std::string& program_name = spawn.argv[0];
    std::vector<std::string> env_strings = child_environment(spawn.env_overrides);
    auto program = resolve_program(program_name, env_strings);
    if (!program) {
        return tl::unexpected(program.error());
    }
    std::vector<std::string> arg_strings = spawn.argv;
    std::vector<char*> argv;
    for (auto& arg : arg_strings) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& entry : env_strings) {
        envp.push_back(entry.data());
    }
    envp.push_back(nullptr);

    UniqueFd log_fd(above_stdio(
        ::open(spawn.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)));
    if (!log_fd.valid()) {
        return fail(fmt::format("cannot open the service log '{}': {}", spawn.log_path.string(),
                                errno_text(errno)));
    }
    UniqueFd null_fd(above_stdio(::open("/dev/null", O_RDWR | O_CLOEXEC)));
    if (!null_fd.valid()) {
        return fail(fmt::format("cannot open /dev/null: {}", errno_text(errno)));
    }
    std::array<int, 2> pipe_fds{};
    if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) {
        return fail(fmt::format("cannot create a pipe: {}", errno_text(errno)));
    }
    UniqueFd report_read(above_stdio(pipe_fds[0]));
    UniqueFd report_write(above_stdio(pipe_fds[1]));

    ChildPlan plan;
    plan.program = program->c_str();
    plan.argv = argv.data();
    plan.envp = envp.data();
    plan.null_fd = null_fd.get();
    plan.log_fd = log_fd.get();
    plan.report_fd = report_write.get();

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
        return fail(fmt::format("cannot run '{}': fork failed: {}", program_name,
                                errno_text(fork_errno)));
    }
    report_write.reset();
    int child_errno = 0;
    ssize_t got = 0;
    do {
        got = ::read(report_read.get(), &child_errno, sizeof child_errno);
    } while (got < 0 && errno == EINTR);
    if (got != 0) {
        int raw = 0;
        while (::waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
        }
        return fail(fmt::format("cannot run '{}': {}", program_name,
                                got == static_cast<ssize_t>(sizeof child_errno)
                                    ? errno_text(child_errno)
                                    : std::string("the child failed before exec")));
    }
    // exec succeeded, so the child is in its new session and /proc has its start time.
    auto start = read_start_time(pid);
    if (!start) {
        // It already ended (bad argv, crashed at once): still a valid start to report; the
        // readiness wait sees the exit. Start time 0 never matches a live process.
        return DetachedProcess{pid, 0};
    }
    return DetachedProcess{pid, *start};
}

std::optional<uint64_t> read_start_time(int pid)
{
    if (pid <= 0) {
        return std::nullopt;
    }
    auto text = read_stat(pid);
    if (!text) {
        return std::nullopt;
    }
    const char state = parse_proc_state(*text);
    if (state == 'Z' || state == 'X' || state == '?') {
        return std::nullopt;
    }
    return parse_proc_start_time(*text);
}

bool process_matches(int pid, uint64_t start_time_ticks)
{
    auto start = read_start_time(pid);
    return start && *start == start_time_ticks && start_time_ticks != 0;
}

std::optional<std::string> reap_if_our_child(int pid)
{
    if (pid <= 0) {
        return std::nullopt;
    }
    int raw = 0;
    pid_t got = 0;
    do {
        got = ::waitpid(pid, &raw, WNOHANG);
    } while (got < 0 && errno == EINTR);
    if (got != pid) {
        return std::nullopt; // still running, or not our child (ECHILD)
    }
    posix::ExitStatus status;
    if (WIFEXITED(raw)) {
        status = posix::ExitStatus{true, WEXITSTATUS(raw)};
    } else {
        status = posix::ExitStatus{false, WTERMSIG(raw)};
    }
    return status.describe();
}

Result<GroupStop> stop_group(int pgid, uint64_t leader_start_ticks, std::chrono::milliseconds grace)
{
    GroupStop result;
    const auto started = posix::monotonic_now();
    if (pgid <= 0) {
        return result;
    }
    const auto leader_start = read_start_time(pgid);
    if (leader_start && *leader_start != leader_start_ticks) {
        // The pid now belongs to another process: whatever we started is long gone.
        return result;
    }
    // Reap first: a zombie leader of ours keeps kill(-pgid) succeeding for nothing.
    reap_if_our_child(pgid);
    if (!posix::process_group_alive(pgid)) {
        return result;
    }
    result.was_alive = true;
    // Wake on the leader's exit through a pidfd instead of sleeping blindly.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pgid, 0)));
    ::kill(-pgid, SIGTERM);
    const auto grace_deadline = started + grace;
    auto wait_gone = [&](std::chrono::steady_clock::time_point deadline) {
        for (;;) {
            reap_if_our_child(pgid);
            if (!posix::process_group_alive(pgid)) {
                return true;
            }
            if (posix::monotonic_now() >= deadline) {
                return false;
            }
            if (pidfd.valid()) {
                pollfd entry{pidfd.get(), POLLIN, 0};
                // Readable once the leader has exited; then only stragglers remain, polled.
                if (::poll(&entry, 1, static_cast<int>(k_stop_poll.count())) > 0) {
                    pidfd.reset();
                }
            } else {
                posix::sleep_for(k_stop_poll);
            }
        }
    };
    bool gone = false;
    for (;;) {
        const auto round = std::min(grace_deadline, posix::monotonic_now() + k_term_repeat);
        gone = wait_gone(round);
        if (gone || posix::monotonic_now() >= grace_deadline) {
            break;
        }
        ::kill(-pgid, SIGTERM);
    }
    if (!gone) {
        result.killed = true;
        ::kill(-pgid, SIGKILL);
        if (!wait_gone(posix::monotonic_now() + k_kill_limit)) {
            return fail(fmt::format("process group {} is still alive {} ms after SIGKILL (a "
                                    "process in uninterruptible sleep?)",
                                    pgid, std::chrono::milliseconds(k_kill_limit).count()));
        }
    }
    result.took = std::chrono::duration_cast<std::chrono::microseconds>(posix::monotonic_now() -
                                                                        started);
    return result;
}

Result<bool> port_available(const std::string& host, uint16_t port)
{
    const std::string address = host == "localhost" ? "127.0.0.1" : host;
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family = AF_INET;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    if (::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        length = sizeof(sockaddr_in);
    } else if (::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
        family = AF_INET6;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        length = sizeof(sockaddr_in6);
    } else {
        return fail(fmt::format("cannot check port {} on '{}': not an IP address", port, host));
    }
    UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        return fail(fmt::format("cannot create a socket: {}", errno_text(errno)));
    }
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0) {
        if (errno == EADDRINUSE) {
            return false;
        }
        return fail(fmt::format("cannot bind {}:{} to check it: {}", host, port,
                                errno_text(errno)));
    }
    // A bound socket that never listens is not enough for llama-server to fail; listen too,
    // so a wildcard listener on the same port is noticed the same way.
    if (::listen(fd.get(), 1) != 0) {
        return errno == EADDRINUSE ? Result<bool>(false)
                                   : fail(fmt::format("cannot listen on {}:{}: {}", host, port,
                                                      errno_text(errno)));
    }
    return true;
}

} // namespace gpumod::services
