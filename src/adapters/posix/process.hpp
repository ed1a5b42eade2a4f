#pragma once

// POSIX child processes: each child leads its own process group, so stopping it stops
// everything it spawned. Waiting uses a pidfd, so there is no SIGCHLD handler and no race
// with pid reuse.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/error.hpp"

namespace gpumod::posix {

/// Where one of the child's output streams goes.
struct OutputTarget
{
    enum class Kind
    {
        inherit, ///< the parent's own stream
        null,    ///< /dev/null
        file,    ///< a file, created or truncated (append when `append` is set)
        pipe,    ///< a pipe the parent reads with ChildProcess::read_stdout/read_stderr
    };
    Kind kind = Kind::inherit;
    std::filesystem::path path;
    bool append = false;

    static OutputTarget inherit() { return {}; }
    static OutputTarget null() { return {Kind::null, {}, false}; }
    static OutputTarget file(std::filesystem::path p, bool append = false)
    {
        return {Kind::file, std::move(p), append};
    }
    static OutputTarget pipe() { return {Kind::pipe, {}, false}; }
};

/// One resource limit applied in the child before exec (setrlimit; `resource` is an RLIMIT_*
/// constant). Limits are inherited by everything the child starts.
struct ResourceLimit
{
    int resource = 0;
    std::uint64_t soft = 0;
    std::uint64_t hard = 0;
};

/// Ids the child switches to before exec (setgroups to none, then gid, then uid). Needs the
/// privilege to do so; used when gpumod runs as root and must not hand root to a child.
struct ChildCredentials
{
    unsigned uid = 0;
    unsigned gid = 0;
};

struct SpawnOptions
{
    std::vector<std::string> argv; ///< argv[0] is the program; looked up on PATH when it has no '/'
    /// Environment of the child. Unset: the parent's environment. Set: exactly this one.
    std::optional<std::map<std::string, std::string>> env;
    /// Variables added to (or overriding) the environment above.
    std::map<std::string, std::string> env_overrides;
    std::optional<std::filesystem::path> cwd;
    OutputTarget stdout_target;
    OutputTarget stderr_target;
    bool stdin_null = true; ///< stdin from /dev/null
    /// PR_SET_PDEATHSIG(SIGKILL) in the child. The kernel fires it when the *thread* that
    /// called spawn() ends, so spawn long-lived children from a long-lived thread.
    bool die_with_parent = true;
    /// Resource limits set in the child between fork and exec (a failure is a spawn error).
    std::vector<ResourceLimit> rlimits;
    /// Credentials the child drops to before exec; unset: it keeps gpumod's.
    std::optional<ChildCredentials> credentials;
};

/// How a child ended.
struct ExitStatus
{
    bool exited = false; ///< ended by exit(); otherwise by a signal
    int code = 0;        ///< exit code when `exited`, signal number otherwise
    [[nodiscard]] bool success() const { return exited && code == 0; }
    [[nodiscard]] std::string describe() const;
};

/// Both piped streams of a child, read together (see ChildProcess::read_all_output).
struct CapturedOutput
{
    std::string out;
    std::string err;
    bool eof = false; ///< both streams reached EOF; false when the timeout came first
};

/// A running (or finished, not yet dropped) child. Destroying it kills the whole group
/// (TERM, short grace, KILL) and reaps the child, so no child outlives its handle unnoticed.
/// Not thread-safe: one thread owns a ChildProcess at a time.
class ChildProcess
{
  public:
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ChildProcess(ChildProcess&&) noexcept;
    ChildProcess& operator=(ChildProcess&&) noexcept;
    ~ChildProcess();

    /// Pid of the child, which is also its process group id.
    [[nodiscard]] int pid() const;

    /// Non-blocking: the exit status if the child has ended (and reaps it), else nullopt.
    std::optional<ExitStatus> poll();

    /// Waits up to `timeout` for the child to end; nullopt on timeout.
    std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);

    /// Waits without limit.
    ExitStatus wait();

    /// Sends `signal` to the whole process group. Fails when the group is already gone.
    Status signal_group(int signal);

    /// TERM to the group, wait up to `grace` for the group to exit, then KILL to the group;
    /// reaps the child and waits (bounded) until no process of the group is left. Also cleans
    /// up group members left behind by a child that was already reaped.
    ExitStatus stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

    /// Reads whatever is available from a piped stream (blocking up to `timeout` for the
    /// first byte); returns empty at EOF or timeout. Only for OutputTarget::pipe streams.
    std::string read_stdout(std::chrono::milliseconds timeout);
    std::string read_stderr(std::chrono::milliseconds timeout);

    /// Reads a piped stream until EOF (bounded by `timeout`).
    std::string read_all_stdout(std::chrono::milliseconds timeout);
    std::string read_all_stderr(std::chrono::milliseconds timeout);

    /// Reads both piped streams at once until both reach EOF (bounded by `timeout`). Use this,
    /// not the single-stream readers, when both are pipes: a child that fills the pipe the
    /// parent is not reading blocks forever otherwise.
    CapturedOutput read_all_output(std::chrono::milliseconds timeout);

    /// True once a piped stream has reached EOF (or was never a pipe).
    [[nodiscard]] bool stdout_eof() const;
    [[nodiscard]] bool stderr_eof() const;

    struct State;
    explicit ChildProcess(std::unique_ptr<State> state);

  private:
    std::unique_ptr<State> m_state;
};

/// Starts a child. Fails (with errno text and the program name) when the program cannot be
/// executed; an exec failure is reported through a CLOEXEC pipe, never as a zombie.
Result<ChildProcess> spawn(const SpawnOptions& options);

/// True while any process other than a zombie is a member of process group `pgid`. Zombies
/// do not count: in a container, PID 1 may never reap orphans that were re-parented to it.
bool process_group_alive(int pgid);

/// Runs a command to completion, capturing stdout and stderr (for short helper commands
/// such as `llama-server --version`). Kills the group after `timeout`. Output is read until
/// EOF, so a background grandchild that keeps the pipes open counts against the timeout.
struct CommandOutput
{
    ExitStatus status;
    std::string out;
    std::string err;
    bool timed_out = false;
};
Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout,
                                  const std::map<std::string, std::string>& env_overrides = {});

} // namespace gpumod::posix
