#include "adapters/pytest/sandbox.hpp"

#include "adapters/posix/clock.hpp"
#include "adapters/posix/process.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace gpumod::pytest {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// The bwrap probe should take milliseconds; this only guards against a hung namespace setup.
constexpr auto k_probe_timeout = 10s;
/// How often the run loop looks at the child while reading its output.
constexpr auto k_read_slice = 50ms;
/// Bytes kept from the end of each output stream.
constexpr std::size_t k_tail_bytes = 16384;
/// Extra CPU seconds over the wall timeout when no CPU limit is given: the wall clock should
/// stop a busy loop first; RLIMIT_CPU is the backstop for processes that escape the group.
constexpr std::uint64_t k_cpu_slack_seconds = 5;
/// The report lives next to the tests under a name no extracted file can have (dot files are
/// never .py modules).
constexpr std::string_view k_report_name = ".gpumod-junit.xml";

void append_tail(std::string& tail, const std::string& more)
{
    tail += more;
    if (tail.size() > 2 * k_tail_bytes) {
        tail.erase(0, tail.size() - k_tail_bytes);
    }
}

std::string final_tail(std::string tail)
{
    if (tail.size() > k_tail_bytes) {
        tail.erase(0, tail.size() - k_tail_bytes);
    }
    return tail;
}

/// Tasks (threads included, as RLIMIT_NPROC counts them) whose real uid is `uid`.
std::uint64_t tasks_of_uid(unsigned uid)
{
    std::uint64_t total = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream in(entry.path() / "status");
        std::string line;
        bool mine = false;
        std::uint64_t threads = 1;
        while (std::getline(in, line)) {
            if (line.starts_with("Uid:")) {
                std::istringstream fields(line.substr(4));
                unsigned real = 0;
                fields >> real;
                mine = fields && real == uid;
            } else if (line.starts_with("Threads:")) {
                std::istringstream fields(line.substr(8));
                fields >> threads;
            }
        }
        if (mine) {
            total += threads;
        }
    }
    return total;
}

/// The resource limits of every run (soft = hard, so the code cannot raise them).
std::vector<posix::ResourceLimit> resource_limits(const SandboxLimits& limits, unsigned uid)
{
    const std::uint64_t wall_seconds = static_cast<std::uint64_t>(
        std::chrono::ceil<std::chrono::seconds>(limits.wall_timeout).count());
    const std::uint64_t cpu =
        limits.cpu_seconds > 0 ? limits.cpu_seconds : wall_seconds + k_cpu_slack_seconds;
    const std::uint64_t nproc = tasks_of_uid(uid) + limits.extra_processes;
    return {
        {RLIMIT_CPU, cpu, cpu},
        {RLIMIT_AS, limits.address_space_bytes, limits.address_space_bytes},
        {RLIMIT_NPROC, nproc, nproc},
        {RLIMIT_FSIZE, limits.file_size_bytes, limits.file_size_bytes},
        {RLIMIT_CORE, 0, 0}, // a crashing interpreter must not leave core files behind
    };
}

std::optional<posix::ChildCredentials> credentials_for(const SandboxOptions& options)
{
    if (::geteuid() != 0) {
        return std::nullopt;
    }
    return posix::ChildCredentials{options.unprivileged_uid, options.unprivileged_gid};
}

/// The environment of the tests: nothing of gpumod's own, reproducible hashing.
std::map<std::string, std::string> sandbox_environment(const fs::path& work_dir)
{
    return {
        {"PATH", "/usr/bin:/bin"},
        {"HOME", work_dir.string()},
        {"LANG", "C.UTF-8"},
        {"TMPDIR", (work_dir / ".tmp").string()},
        {"PYTHONDONTWRITEBYTECODE", "1"},
        {"PYTHONHASHSEED", "0"},
        {"PYTHONNOUSERSITE", "1"},
        // Only the plugins a suite asks for (-p NAME), not whatever the system has installed.
        {"PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1"},
    };
}

/// Runs `bwrap ... /bin/true` as the runs will; the reason it failed, or "" when it works.
std::string probe_bwrap(const SandboxOptions& options)
{
    if (!fs::exists(options.bwrap)) {
        return fmt::format("'{}' does not exist", options.bwrap.string());
    }
    posix::SpawnOptions spawn_options;
    spawn_options.argv = {options.bwrap.string(), "--ro-bind", "/", "/", "--dev", "/dev",
                          "--unshare-net", "--unshare-pid", "--die-with-parent", "/bin/true"};
    spawn_options.env = std::map<std::string, std::string>{{"PATH", "/usr/bin:/bin"}};
    spawn_options.stdout_target = posix::OutputTarget::null();
    spawn_options.stderr_target = posix::OutputTarget::pipe();
    spawn_options.credentials = credentials_for(options);
    auto child = posix::spawn(spawn_options);
    if (!child) {
        return child.error().message;
    }
    const std::string err = child->read_all_stderr(k_probe_timeout);
    auto status = child->wait_for(1s);
    if (!status) {
        child->stop(0ms);
        return "the probe did not finish in time";
    }
    if (!status->success()) {
        const auto text = err.substr(0, err.find('\n'));
        return fmt::format("the probe {}{}", status->describe(), text.empty() ? "" : ": " + text);
    }
    return {};
}

Status write_file(const fs::path& path, const std::string& text)
{
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
        return fail(fmt::format("cannot create '{}': {}", path.parent_path().string(),
                                ec.message()));
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
        return fail(fmt::format("cannot write '{}'", path.string()));
    }
    return {};
}

/// Hands the tree to the unprivileged user that will run the tests.
Status give_tree_to(const fs::path& root, unsigned uid, unsigned gid)
{
    auto give = [uid, gid](const fs::path& path) -> Status {
        if (::lchown(path.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0) {
            return fail(fmt::format("cannot hand '{}' to uid {}: {}", path.string(), uid,
                                    std::strerror(errno)));
        }
        return {};
    };
    if (auto done = give(root); !done) {
        return done;
    }
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (auto done = give(it->path()); !done) {
            return done;
        }
    }
    if (ec) {
        return fail(fmt::format("cannot walk '{}': {}", root.string(), ec.message()));
    }
    return {};
}

Result<fs::path> make_work_dir(const SandboxOptions& options)
{
    std::error_code ec;
    const fs::path parent =
        options.work_parent.empty() ? fs::temp_directory_path(ec) : options.work_parent;
    if (ec) {
        return fail(fmt::format("no temporary directory: {}", ec.message()));
    }
    std::string pattern = (parent / "gpumod-pytest-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        return fail(fmt::format("cannot create a work directory under '{}': {}", parent.string(),
                                std::strerror(errno)));
    }
    return fs::path(pattern);
}

std::vector<std::string> bwrap_prefix(const SandboxOptions& options, const fs::path& work_dir)
{
    const std::string dir = work_dir.string();
    // Order matters: the private /tmp is mounted before the work directory (which may live
    // under /tmp) is bound into it.
    return {options.bwrap.string(),
            "--ro-bind", "/", "/",
            "--dev", "/dev",
            "--proc", "/proc",
            "--tmpfs", "/tmp",
            "--bind", dir, dir,
            "--chdir", dir,
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--die-with-parent", "--new-session",
            "--"};
}

} // namespace

std::string_view to_string(SandboxMode mode)
{
    return mode == SandboxMode::bwrap ? "bwrap" : "rlimits";
}

PytestSandbox::PytestSandbox(SandboxOptions options, SandboxMode mode, std::string bwrap_reason)
    : m_options(std::move(options)), m_mode(mode), m_bwrap_reason(std::move(bwrap_reason))
{
}

PytestSandbox PytestSandbox::create(SandboxOptions options)
{
    if (!options.use_bwrap) {
        return PytestSandbox(std::move(options), SandboxMode::rlimits, "bwrap was turned off");
    }
    std::string reason = probe_bwrap(options);
    const SandboxMode mode = reason.empty() ? SandboxMode::bwrap : SandboxMode::rlimits;
    return PytestSandbox(std::move(options), mode, std::move(reason));
}

SandboxRun PytestSandbox::run(const std::vector<SourceFile>& solution,
                              const std::vector<SourceFile>& tests) const
{
    SandboxRun run;
    run.mode = m_mode;
    const auto started = posix::monotonic_now();
    auto finish = [&run, started]() -> SandboxRun {
        run.duration =
            std::chrono::duration_cast<std::chrono::milliseconds>(posix::monotonic_now() - started);
        return std::move(run);
    };
    auto infra = [&](std::string why) -> SandboxRun {
        run.report.sandbox_failure = std::move(why);
        return finish();
    };

    if (tests.empty()) {
        return infra("the level has no test files");
    }
    if (::access(m_options.python.c_str(), X_OK) != 0) {
        return infra(fmt::format("cannot run '{}': {}", m_options.python.string(),
                                 std::strerror(errno)));
    }
    auto work_dir = make_work_dir(m_options);
    if (!work_dir) {
        return infra(work_dir.error().message);
    }
    run.work_dir = *work_dir;
    // Removes the directory however the run ends (unless asked to keep it).
    struct Cleanup
    {
        fs::path dir; // a copy: `run` is moved out when the result is returned
        bool keep;
        ~Cleanup()
        {
            if (!keep) {
                std::error_code ec;
                fs::remove_all(dir, ec);
            }
        }
    } cleanup{run.work_dir, m_options.keep_work_dir};

    for (const auto& file : solution) {
        const bool shadowed = std::any_of(tests.begin(), tests.end(), [&file](const SourceFile& t) {
            return t.path == file.path;
        });
        if (shadowed) {
            run.notes.push_back(fmt::format("'{}' from the reply was replaced by the level's "
                                            "test file of that name",
                                            file.path));
            continue;
        }
        if (auto written = write_file(run.work_dir / file.path, file.text); !written) {
            return infra(written.error().message);
        }
    }
    bool has_ini = false;
    for (const auto& file : tests) {
        has_ini = has_ini || file.path == "pytest.ini";
        if (auto written = write_file(run.work_dir / file.path, file.text); !written) {
            return infra(written.error().message);
        }
    }
    // An ini file in the work directory makes it pytest's rootdir, so no pytest.ini or
    // setup.cfg further up the tree (in /tmp, say) changes how the tests run.
    if (!has_ini) {
        if (auto written = write_file(run.work_dir / "pytest.ini", "[pytest]\n"); !written) {
            return infra(written.error().message);
        }
    }
    std::error_code ec;
    fs::create_directories(run.work_dir / ".tmp", ec);

    const auto credentials = credentials_for(m_options);
    run.dropped_privileges = credentials.has_value();
    if (credentials) {
        if (auto given = give_tree_to(run.work_dir, credentials->uid, credentials->gid); !given) {
            return infra(given.error().message);
        }
    }

    const fs::path report_path = run.work_dir / std::string(k_report_name);
    if (m_mode == SandboxMode::bwrap) {
        run.command = bwrap_prefix(m_options, run.work_dir);
    }
    for (const std::string& arg :
         {m_options.python.string(), std::string("-m"), std::string("pytest"), std::string("-q"),
          std::string("-p"), std::string("no:cacheprovider"),
          "--junitxml=" + report_path.string()}) {
        run.command.push_back(arg);
    }
    run.command.insert(run.command.end(), m_options.extra_pytest_args.begin(),
                       m_options.extra_pytest_args.end());
    for (const auto& file : tests) {
        // Test modules are named on the command line, so pytest collects nothing else (not
        // tests the model wrote); conftest.py and package markers are support files.
        const std::string base = fs::path(file.path).filename().string();
        if (file.path.ends_with(".py") && base != "conftest.py" && base != "__init__.py") {
            run.command.push_back(file.path);
        }
    }

    posix::SpawnOptions spawn_options;
    spawn_options.argv = run.command;
    spawn_options.env = sandbox_environment(run.work_dir);
    spawn_options.cwd = run.work_dir;
    spawn_options.stdout_target = posix::OutputTarget::pipe();
    spawn_options.stderr_target = posix::OutputTarget::pipe();
    spawn_options.rlimits = resource_limits(
        m_options.limits, credentials ? credentials->uid : static_cast<unsigned>(::getuid()));
    spawn_options.credentials = credentials;

    auto child = posix::spawn(spawn_options);
    if (!child) {
        return infra(child.error().message);
    }
    run.process_group = child->pid();

    const auto deadline = started + m_options.limits.wall_timeout;
    std::string out;
    std::string err;
    std::optional<posix::ExitStatus> status;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - posix::monotonic_now());
        if (left <= 0ms) {
            break;
        }
        auto chunk = child->read_all_output(std::min<std::chrono::milliseconds>(left, k_read_slice));
        append_tail(out, chunk.out);
        append_tail(err, chunk.err);
        if ((status = child->poll())) {
            break;
        }
        if (chunk.eof) {
            // Both streams closed but the leader lives on: wait for it without spinning.
            status = child->wait_for(std::max(0ms, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                       deadline - posix::monotonic_now())));
            break;
        }
    }
    if (!status) {
        run.report.timed_out = true;
        status = child->stop(0ms);
    }
    // Whatever the leader left behind in its group (rlimits mode) goes too; under bwrap the
    // pid namespace dies with its init, which --die-with-parent ties to bwrap.
    child->stop(0ms);
    auto rest = child->read_all_output(100ms);
    append_tail(out, rest.out);
    append_tail(err, rest.err);
    run.stdout_tail = final_tail(std::move(out));
    run.stderr_tail = final_tail(std::move(err));

    run.report.exited = status->exited;
    run.report.exit_code = status->exited ? status->code : 0;
    run.report.signal = status->exited ? 0 : status->code;
    run.report.output_tail = run.stdout_tail;
    if (!run.stderr_tail.empty()) {
        run.report.output_tail += "\n" + run.stderr_tail;
    }
    // bwrap reports its own failures as "bwrap: ..." with exit code 1, like failing tests.
    if (m_mode == SandboxMode::bwrap && status->exited && status->code == 1 &&
        run.stderr_tail.starts_with("bwrap: ")) {
        run.report.sandbox_failure = run.stderr_tail.substr(0, run.stderr_tail.find('\n'));
        return finish();
    }
    if (!run.report.timed_out) {
        auto junit = read_junit(report_path);
        if (junit) {
            run.report.counts = junit->counts;
            run.report.collection_errors = junit->collection_errors();
            run.junit = std::move(*junit);
        } else {
            run.report.junit_problem = junit.error().message;
        }
    }
    return finish();
}

} // namespace gpumod::pytest
