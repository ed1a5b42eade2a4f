#include <ostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/llama/llama_server_locator.hpp"
#include "adapters/nvml/nvml_library.hpp"
#include "adapters/posix/environment.hpp"
#include "adapters/posix/process.hpp"
#include "adapters/sqlite/database.hpp"
#include "app/commands.hpp"
#include "app/exit_codes.hpp"
#include "core/doctor/checks.hpp"
#include "core/gpu/gpu_info.hpp"

namespace gpumod::app {
namespace {

using namespace std::chrono_literals;

// Benchmarks validate model-written code with Debian's python3, not whatever python3 is first
// on PATH (a pyenv or venv interpreter usually lacks pytest).
constexpr const char* k_python = "/usr/bin/python3";

std::string first_line(const std::string& text)
{
    const auto end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
}

CheckResult check_llama_server()
{
    CheckResult check{"llama-server", CheckLevel::ok, "", ""};
    auto found = llama::find_llama_server(llama::llama_server_search_from_environment());
    if (!found) {
        check.level = CheckLevel::failure;
        check.detail = "not found";
        check.fix = found.error().message;
        return check;
    }
    const auto& [path, source] = *found;
    auto version = llama::query_llama_server_version(path);
    if (!version) {
        check.level = CheckLevel::failure;
        check.detail = fmt::format("{} (from {}) does not run", path.string(), llama::describe(source));
        check.fix = version.error().message;
        return check;
    }
    check.detail = fmt::format("{} at {} (from {})", version->version_line, path.string(),
                               llama::describe(source));
    return check;
}

CheckResult check_pytest()
{
    CheckResult check{"python3 + pytest", CheckLevel::ok, "", ""};
    const std::string fix = "apt-get install python3 python3-pytest python3-pytest-timeout "
                            "(or run scripts/install-deps --runtime)";
    auto r = posix::run_command(
        {k_python, "-c", "import sys, pytest; print(sys.version.split()[0], pytest.__version__)"},
        20s);
    if (!r) {
        check.level = CheckLevel::failure;
        check.detail = fmt::format("{} not runnable: {}", k_python, r.error().message);
        check.fix = fix;
        return check;
    }
    if (!r->status.success()) {
        check.level = CheckLevel::failure;
        check.detail = fmt::format("{} has no pytest ({})", k_python, first_line(r->err));
        check.fix = fix;
        return check;
    }
    const std::string versions = first_line(r->out);
    const auto space = versions.find(' ');
    check.detail = fmt::format("{} {}, pytest {}", k_python, versions.substr(0, space),
                               space == std::string::npos ? "?" : versions.substr(space + 1));
    return check;
}

CheckResult check_bubblewrap()
{
    CheckResult check{"bubblewrap", CheckLevel::ok, "", ""};
    auto version = posix::run_command({"bwrap", "--version"}, 10s);
    if (!version || !version->status.success()) {
        check.level = CheckLevel::warning;
        check.detail = "bwrap not found: model-written code would run without a sandbox";
        check.fix = "apt-get install bubblewrap";
        return check;
    }
    // Installed is not enough: containers often forbid the namespaces bwrap needs.
    auto probe = posix::run_command({"bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--unshare-net",
                                     "--unshare-pid", "--die-with-parent", "/bin/true"},
                                    10s);
    if (!probe || !probe->status.success()) {
        check.level = CheckLevel::warning;
        check.detail = fmt::format("{} is installed but cannot create a sandbox here: {}",
                                   first_line(version->out),
                                   probe ? first_line(probe->err) : probe.error().message);
        check.fix = "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) "
                    "or run gpumod outside this container; tests then run without isolation";
        return check;
    }
    check.detail = first_line(version->out) + ", sandbox works";
    return check;
}

CheckResult check_nvml()
{
    CheckResult check{"nvml", CheckLevel::ok, "", ""};
    auto inventory = nvml::query_gpus();
    if (!inventory) {
        check.level = CheckLevel::failure;
        check.detail = inventory.error().message;
        check.fix = "unset GPUMOD_NVML_LIBRARY or point it at a loadable libnvidia-ml.so.1";
        return check;
    }
    check.detail = describe_nvml_state(*inventory);
    switch (inventory->state) {
    case NvmlState::ok:
        break;
    case NvmlState::library_not_found:
    case NvmlState::no_devices:
        check.level = CheckLevel::warning;
        check.fix = "install the NVIDIA driver to run models on a GPU; without one, gpumod plans "
                    "for a named GPU (--gpu) or the CPU";
        break;
    case NvmlState::unavailable:
        check.level = CheckLevel::warning;
        check.fix = "check the NVIDIA driver with nvidia-smi (driver and library versions must match)";
        break;
    }
    return check;
}

CheckResult check_database(const GlobalOptions& global)
{
    CheckResult check{"database", CheckLevel::ok, "", ""};
    auto path = resolve_database_path(global.db_path, posix::path_environment());
    if (!path) {
        check.level = CheckLevel::failure;
        check.detail = "no path";
        check.fix = path.error().message;
        return check;
    }
    auto db = sqlite::Database::open(path->path);
    if (!db) {
        check.level = CheckLevel::failure;
        check.detail = fmt::format("{} (from {}) cannot be opened", path->path.string(),
                                   describe(path->source));
        check.fix = db.error().message;
        return check;
    }
    if (auto writable = db->check_writable(); !writable) {
        check.level = CheckLevel::failure;
        check.detail = fmt::format("{} is not writable", path->path.string());
        check.fix = writable.error().message;
        return check;
    }
    check.detail = fmt::format("{} (from {}), schema {}, {} journal", path->path.string(),
                               describe(path->source), db->schema_version(), db->journal_mode());
    return check;
}

} // namespace

int cmd_doctor(const GlobalOptions& global, std::ostream& out, std::ostream& /*err*/)
{
    const std::vector<CheckResult> checks{check_llama_server(), check_pytest(), check_bubblewrap(),
                                          check_nvml(), check_database(global)};
    const bool pass = all_required_pass(checks);
    if (global.json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& c : checks) {
            list.push_back({{"name", c.name},
                            {"level", to_string(c.level)},
                            {"detail", c.detail},
                            {"fix", c.fix}});
        }
        out << nlohmann::json{{"ok", pass}, {"checks", list}}.dump(2) << '\n';
    } else {
        out << render_checks(checks);
    }
    return pass ? k_exit_ok : k_exit_failure;
}

} // namespace gpumod::app
