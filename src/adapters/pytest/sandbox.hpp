#pragma once

// Runs a level's pytest tests against model-written files, in a fresh directory, inside
// bubblewrap when it works here (no network, read-only system, private /tmp) and always in its
// own process group with resource limits and a wall-clock timeout. When gpumod runs as root,
// the tests run as an unprivileged user (RLIMIT_NPROC does not bind root). docs/validation.md
// says what each mode does and does not stop.

#include "adapters/pytest/junit.hpp"
#include "core/bench/outcome.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gpumod::pytest {

/// How the tests were isolated.
enum class SandboxMode
{
    bwrap,   ///< bubblewrap namespaces, plus the resource limits
    rlimits, ///< only a process group and resource limits
};

/// Stable name: "bwrap" or "rlimits".
std::string_view to_string(SandboxMode mode);

/// Limits of one pytest run (the resource limits hold in both modes).
struct SandboxLimits
{
    std::chrono::milliseconds wall_timeout = std::chrono::seconds(30);
    std::uint64_t address_space_bytes = std::uint64_t{2} << 30; ///< RLIMIT_AS
    std::uint64_t cpu_seconds = 0; ///< RLIMIT_CPU per process; 0: the wall timeout + 5 s
    /// RLIMIT_NPROC counts every task (thread) of the user, so the limit is set to what that
    /// user runs already plus this many.
    std::uint64_t extra_processes = 64;
    std::uint64_t file_size_bytes = std::uint64_t{64} << 20; ///< RLIMIT_FSIZE
};

/// Where things are and what to allow.
struct SandboxOptions
{
    std::filesystem::path python = "/usr/bin/python3";
    std::filesystem::path bwrap = "/usr/bin/bwrap";
    bool use_bwrap = true; ///< false forces the rlimits-only mode
    /// Parent of the per-run directories; empty: the system temp directory. When gpumod runs
    /// as root, the unprivileged user must be able to reach it.
    std::filesystem::path work_parent;
    bool keep_work_dir = false; ///< leave the directory for inspection (else removed)
    SandboxLimits limits;
    /// Who runs the tests when gpumod is root (default: nobody/nogroup).
    unsigned unprivileged_uid = 65534;
    unsigned unprivileged_gid = 65534;
    std::vector<std::string> extra_pytest_args; ///< e.g. {"-p", "pytest_timeout"}
};

/// One file to place in the work directory.
struct SourceFile
{
    std::string path; ///< relative, already validated (bench::normalize_relative_path)
    std::string text;
};

/// What one run did, for classification (`report`) and for artifacts (the rest).
struct SandboxRun
{
    bench::PytestReport report;
    SandboxMode mode = SandboxMode::rlimits;
    bool dropped_privileges = false; ///< ran as the unprivileged user because gpumod is root
    std::filesystem::path work_dir;
    std::vector<std::string> command; ///< the full command line, bwrap included
    std::chrono::milliseconds duration{0};
    int process_group = -1; ///< the pgid of the run (its leader's pid)
    std::optional<JunitReport> junit;
    std::string stdout_tail;
    std::string stderr_tail;
    std::vector<std::string> notes; ///< e.g. solution files the level's tests replaced
};

/// Runs pytest in a fresh directory per call. Probes bwrap once, at creation. Calls may run
/// concurrently from several threads (each run has its own directory and process group).
class PytestSandbox
{
  public:
    /// Probes `bwrap` (when allowed) with the credentials the runs will use.
    static PytestSandbox create(SandboxOptions options);

    /// The mode runs use.
    [[nodiscard]] SandboxMode mode() const { return m_mode; }
    /// Why bwrap is not used (empty in bwrap mode).
    [[nodiscard]] const std::string& bwrap_unavailable_reason() const { return m_bwrap_reason; }
    [[nodiscard]] const SandboxOptions& options() const { return m_options; }

    /// Writes `solution` and then `tests` (a test file wins over a solution file of the same
    /// name) into a new directory and runs pytest on the test files. Never throws; problems of
    /// the sandbox itself land in report.sandbox_failure.
    [[nodiscard]] SandboxRun run(const std::vector<SourceFile>& solution,
                                 const std::vector<SourceFile>& tests) const;

  private:
    PytestSandbox(SandboxOptions options, SandboxMode mode, std::string bwrap_reason);

    SandboxOptions m_options;
    SandboxMode m_mode;
    std::string m_bwrap_reason;
};

} // namespace gpumod::pytest
