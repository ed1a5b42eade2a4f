#include "app/cmd_services.hpp"

#include <csignal>
#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/nvml/nvml_library.hpp"
#include "adapters/posix/clock.hpp"
#include "adapters/posix/environment.hpp"
#include "adapters/services/log_file.hpp"
#include "adapters/services/mode_switcher.hpp"
#include "adapters/services/supervisor.hpp"
#include "adapters/services/vllm_control.hpp"
#include "adapters/sqlite/database.hpp"
#include "app/cmd_presets.hpp"
#include "app/exit_codes.hpp"
#include "core/config/render_argv.hpp"
#include "core/report/text_table.hpp"
#include "core/services/service_url.hpp"
#include "core/services/state_paths.hpp"
#include "core/services/systemd_unit.hpp"

namespace gpumod::app {
namespace {

using nlohmann::json;

/// How often `logs -f` looks for new lines and whether the service still runs.
constexpr auto k_follow_interval = std::chrono::milliseconds(100);

/// Presets and modes from the YAML search path, rendered to what the supervisor runs.
class ConfigServiceCatalog final : public ServiceCatalog
{
  public:
    ConfigServiceCatalog(config::Catalog catalog, config::RenderPrograms programs)
        : m_catalog(std::move(catalog)), m_programs(std::move(programs))
    {
    }

    Result<ServiceSpec> service(const std::string& id) const override
    {
        if (const auto* preset = m_catalog.find_preset(id)) {
            return config::to_service_spec(*preset, m_programs);
        }
        return fail(fmt::format("unknown service '{}'{}; `gpumod preset list` shows the known "
                                "ones",
                                id, problems_note()));
    }
    Result<std::vector<std::string>> service_ids() const override
    {
        std::vector<std::string> ids;
        for (const auto& preset : m_catalog.presets) {
            ids.push_back(preset.id);
        }
        return ids;
    }
    Result<ModeSpec> mode(const std::string& id) const override
    {
        if (const auto* mode = m_catalog.find_mode(id)) {
            return ModeSpec{mode->id, mode->name, mode->services};
        }
        return fail(fmt::format("unknown mode '{}'{}; `gpumod mode list` shows the known ones", id,
                                problems_note()));
    }

  private:
    [[nodiscard]] std::string problems_note() const
    {
        if (m_catalog.problems.empty()) {
            return "";
        }
        return fmt::format(" ({} problem(s) in configuration files hide some entries: run "
                           "`gpumod preset validate`)",
                           m_catalog.problems.size());
    }
    config::Catalog m_catalog;
    config::RenderPrograms m_programs;
};

/// Everything a service command needs, opened once per command. Not movable: the
/// supervisor points at the database member.
struct Context
{
    Context(sqlite::Database database, services::SupervisorOptions options)
        : db(std::move(database)), supervisor(db, std::move(options))
    {
    }
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    sqlite::Database db;
    services::Supervisor supervisor;
    std::unique_ptr<ServiceCatalog> catalog; ///< null when it could not be loaded
    std::optional<Error> catalog_error;

    /// The spec of `id` from the presets.
    [[nodiscard]] Result<ServiceSpec> spec(const std::string& id) const
    {
        if (!catalog) {
            return tl::unexpected(*catalog_error);
        }
        return catalog->service(id);
    }
};

Result<std::unique_ptr<Context>> open_context(const GlobalOptions& global)
{
    auto db_path = resolve_database_path(global.db_path, posix::path_environment());
    if (!db_path) {
        return tl::unexpected(db_path.error());
    }
    auto db = sqlite::Database::open(db_path->path);
    if (!db) {
        return tl::unexpected(db.error());
    }
    auto state_dir = resolve_state_dir(posix::get_env("XDG_STATE_HOME"), posix::get_env("HOME"));
    if (!state_dir) {
        return tl::unexpected(state_dir.error());
    }
    services::SupervisorOptions options;
    options.state_dir = *state_dir;
    auto context = std::make_unique<Context>(std::move(*db), std::move(options));
    auto catalog = load_config_catalog();
    if (catalog) {
        context->catalog =
            std::make_unique<ConfigServiceCatalog>(std::move(*catalog), render_programs());
    } else {
        context->catalog_error = catalog.error();
    }
    return context;
}

/// Opens the context or prints why not; nullptr then, with `code` set.
std::unique_ptr<Context> open_or_report(const GlobalOptions& global, std::ostream& err, int& code)
{
    auto context = open_context(global);
    if (!context) {
        err << "gpumod: " << context.error().message << '\n';
        code = k_exit_environment;
        return nullptr;
    }
    return std::move(*context);
}

/// Stops `id`, observing first: that clears a dead record instead of "stopping" a reused pid.
/// nullopt after printing why (`code` set).
std::optional<services::StopOutcome> observe_and_stop(Context& context, const std::string& id,
                                                      std::ostream& err, int& code)
{
    if (auto observed = context.supervisor.observe(); !observed) {
        err << "gpumod: " << observed.error().message << '\n';
        code = k_exit_environment;
        return std::nullopt;
    }
    auto stopped = context.supervisor.stop(id);
    if (!stopped) {
        err << "gpumod: " << stopped.error().message << '\n';
        code = k_exit_failure;
        return std::nullopt;
    }
    return *stopped;
}

/// A command's context with the spec of the service it names.
struct ServiceTarget
{
    std::unique_ptr<Context> context;
    ServiceSpec spec;
};

/// Opens the context and resolves `id` from the presets, or prints why not (`code` set).
std::optional<ServiceTarget> open_service(const GlobalOptions& global, const std::string& id,
                                          std::ostream& err, int& code)
{
    auto context = open_or_report(global, err, code);
    if (!context) {
        return std::nullopt;
    }
    auto spec = context->spec(id);
    if (!spec) {
        err << "gpumod: " << spec.error().message << '\n';
        code = k_exit_usage;
        return std::nullopt;
    }
    return ServiceTarget{std::move(context), std::move(*spec)};
}

std::string ms_text(int64_t us)
{
    return fmt::format("{:.1f} ms", static_cast<double>(us) / 1000.0);
}

json timings_json(const services::StartTimings& t)
{
    json j{{"spawn_us", t.spawn_us},
           {"load_us", t.load_us},
           {"detect_us", t.detect_us},
           {"total_us", t.total_us},
           {"saw_listening_line", t.saw_listening_line}};
    j["server_clock_listening_us"] =
        t.server_clock_listening_us ? json(*t.server_clock_listening_us) : json(nullptr);
    return j;
}

json diagnosis_json(const std::optional<LogDiagnosis>& d)
{
    if (!d) {
        return nullptr;
    }
    return json{{"kind", failure_kind_word(d->kind)},
                {"summary", d->summary},
                {"matched_line", d->matched_line},
                {"next_step", d->next_step}};
}

json record_json(const ServiceRecord& r)
{
    return json{{"id", r.id},
                {"pid", r.pid},
                {"start_time_ticks", r.start_time_ticks},
                {"host", r.host},
                {"port", r.port},
                {"argv", r.argv},
                {"log_path", r.log_path.string()},
                {"health_path", r.health_path},
                {"started_at_ms", r.started_at_ms}};
}

json preflight_json(const PreflightVerdict& v, bool forced)
{
    json gpus = json::array();
    for (const auto& [index, needs] : v.needs_by_gpu) {
        const auto free = v.free_by_gpu.find(index);
        gpus.push_back(json{{"index", index},
                            {"needs_bytes", needs},
                            {"free_bytes", free == v.free_by_gpu.end() ? json(nullptr)
                                                                       : json(free->second)}});
    }
    json fallbacks = json::array();
    for (const auto& f : v.fallbacks) {
        fallbacks.push_back(json{{"rank", f.rank},
                                 {"kind", plan::fallback_kind_name(f.kind)},
                                 {"change", f.change},
                                 {"args", f.args},
                                 {"predicted_total", f.predicted_total},
                                 {"fits", f.fits},
                                 {"note", f.note}});
    }
    return json{{"outcome", preflight_outcome_word(v.outcome)},
                {"summary", v.summary},
                {"basis", v.basis},
                {"detail", v.detail},
                {"forced", forced},
                {"gpus", gpus},
                {"fallbacks", fallbacks}};
}

json observed_json(const services::ObservedService& s)
{
    json j = record_json(s.record);
    j["state"] = state_word(s.state);
    j["health_status"] = s.health_status ? json(*s.health_status) : json(nullptr);
    return j;
}

std::string timings_text(const services::StartTimings& t)
{
    return fmt::format("spawn {}, load {}, ready detected {} later; total {}",
                       ms_text(t.spawn_us), ms_text(t.load_us), ms_text(t.detect_us),
                       ms_text(t.total_us));
}

/// A start behind the preflight gate.
struct GatedStart
{
    services::StartOutcome outcome;
    PreflightVerdict verdict;
    bool forced = false; ///< started although the verdict is does_not_fit
};

/// Prints the outcome of a start; returns the exit code.
int report_start(const GlobalOptions& global, const std::string& id, const GatedStart& gated,
                 std::ostream& out, std::ostream& err)
{
    const services::StartOutcome& outcome = gated.outcome;
    if (!global.json && outcome.ok && !outcome.already_running) {
        out << "preflight: " << gated.verdict.summary << '\n';
    }
    if (global.json) {
        json j{{"id", id},
               {"ok", outcome.ok},
               {"already_running", outcome.already_running},
               {"timings", timings_json(outcome.timings)},
               {"diagnosis", diagnosis_json(outcome.diagnosis)},
               {"error", outcome.error},
               {"exit", outcome.exit_description},
               {"log_tail", outcome.log_tail},
               {"preflight", preflight_json(gated.verdict, gated.forced)}};
        j["record"] = outcome.record ? record_json(*outcome.record) : json(nullptr);
        out << j.dump(2) << '\n';
    } else if (outcome.ok && outcome.already_running) {
        out << fmt::format("{} is already running (pid {}, port {})\n", id, outcome.record->pid,
                           outcome.record->port);
    } else if (outcome.ok) {
        out << fmt::format("{} is ready on {}:{} (pid {}): {}\nlog: {}\n", id,
                           outcome.record->host, outcome.record->port, outcome.record->pid,
                           timings_text(outcome.timings), outcome.record->log_path.string());
    }
    if (!outcome.ok) {
        err << "gpumod: " << outcome.error << '\n';
        if (!outcome.exit_description.empty()) {
            err << "  the process " << outcome.exit_description << '\n';
        }
        if (!outcome.log_tail.empty()) {
            err << "  last log lines:\n";
            for (const auto& line : LineSplitter().feed(outcome.log_tail)) {
                err << "    " << line << '\n';
            }
        }
        return k_exit_failure;
    }
    return k_exit_ok;
}

/// Start with the preflight gate; the verdict goes to the audit log, and a forced start that
/// does not fit is warned about on `err` before it begins.
GatedStart gated_start(Context& context, const ServiceSpec& spec, bool force, std::ostream& err)
{
    GatedStart gated;
    // A running service holds its memory already: judging it again would refuse it.
    if (auto live = context.supervisor.observe_one(spec.id); live && *live) {
        gated.verdict = preflight_not_checked("already running");
        gated.outcome = context.supervisor.start(spec);
        return gated;
    }
    gated.verdict = preflight(spec);
    const auto decision = decide_preflight(gated.verdict, force);
    [[maybe_unused]] auto noted =
        context.db.record_event(posix::unix_now_ms(), "service.preflight",
                                preflight_event_detail(spec.id, gated.verdict, decision.words));
    if (decision.refuse) {
        gated.outcome.error = "cannot start: " +
                              preflight_refusal_message(spec.id, gated.verdict,
                                                        "pass --force to start it anyway, or "
                                                        "change the preset (see the fallbacks)");
        return gated;
    }
    if (gated.verdict.outcome == PreflightVerdict::Outcome::does_not_fit) {
        gated.forced = true;
        err << "gpumod: warning: "
            << preflight_refusal_message(spec.id, gated.verdict,
                                         "none: starting it anyway (--force)")
            << '\n'
            << std::flush;
    }
    gated.outcome = context.supervisor.start(spec);
    return gated;
}

std::string uptime_text(int64_t started_at_ms)
{
    const int64_t seconds = std::max<int64_t>(0, (posix::unix_now_ms() - started_at_ms) / 1000);
    if (seconds < 120) {
        return fmt::format("{}s", seconds);
    }
    if (seconds < 7200) {
        return fmt::format("{}m", seconds / 60);
    }
    return fmt::format("{}h", seconds / 3600);
}

json switch_report_json(const services::SwitchReport& report)
{
    json steps = json::array();
    for (const auto& step : report.steps) {
        json s{{"kind", step_kind_word(step.kind)},
               {"service", step.service_id},
               {"ok", step.ok},
               {"rollback", step.rollback},
               {"took_us", step.took_us},
               {"detail", step.detail}};
        if (step.kind == StepKind::start) {
            s["preflight"] = step.preflight;
            s["preflight_summary"] = step.preflight_summary;
            s["timings"] = step.timings ? timings_json(*step.timings) : json(nullptr);
            s["diagnosis"] = diagnosis_json(step.diagnosis);
        }
        steps.push_back(std::move(s));
    }
    json cleared = json::array();
    for (const auto& c : report.cleared) {
        cleared.push_back(json{{"id", c.id}, {"pid", c.pid}, {"reason", c.reason}});
    }
    json j{{"action", report.action},
           {"target", report.target},
           {"ok", report.ok},
           {"error", report.error},
           {"kept", report.kept},
           {"started", report.started},
           {"stopped", report.stopped},
           {"cleared", cleared},
           {"rolled_back", report.rolled_back},
           {"rollback_ok", report.rollback_ok},
           {"steps", steps},
           {"lock_wait_us", report.lock_wait_us},
           {"total_us", report.total_us}};
    j["previous_mode"] = report.previous_mode ? json(*report.previous_mode) : json(nullptr);
    return j;
}

std::string step_line(const services::StepReport& step)
{
    std::string line = fmt::format("{}{:<12} {:<20} {:>10}  {}", step.rollback ? "rollback " : "",
                                   step_kind_word(step.kind),
                                   step.service_id.empty() ? "-" : step.service_id,
                                   ms_text(step.took_us), step.ok ? "ok" : "FAILED");
    if (step.timings && step.ok) {
        line += " (" + timings_text(*step.timings) + ")";
    }
    if (!step.detail.empty() && (step.ok || !step.timings)) {
        // A refusal's breakdown comes with the final error; one line per step here.
        line += "; " + step.detail.substr(0, step.detail.find('\n'));
    }
    return line;
}

int print_switch_report(const GlobalOptions& global, const services::SwitchReport& report,
                        std::ostream& out, std::ostream& err)
{
    if (global.json) {
        out << switch_report_json(report).dump(2) << '\n';
    } else {
        for (const auto& c : report.cleared) {
            out << fmt::format("cleared stale record of {} (pid {}: {})\n", c.id, c.pid, c.reason);
        }
        // The steps were printed as they happened (switch_options' on_step).
        if (!report.kept.empty()) {
            std::string kept;
            for (const auto& id : report.kept) {
                kept += (kept.empty() ? "" : ", ") + id;
            }
            out << "kept running: " << kept << '\n';
        }
        if (report.ok) {
            out << fmt::format("{} {}: done in {}{}\n", report.action, report.target,
                               ms_text(report.total_us),
                               report.lock_wait_us > 1000
                                   ? fmt::format(" (waited {} for another switch)",
                                                 ms_text(report.lock_wait_us))
                                   : "");
        }
    }
    if (!report.ok) {
        err << "gpumod: " << report.action << ' ' << report.target << " failed: " << report.error
            << '\n';
        if (report.rolled_back) {
            err << (report.rollback_ok ? "  rolled back: the services that ran before run again\n"
                                       : "  rollback was incomplete: see the steps above and "
                                         "`gpumod service list`\n");
        }
        return k_exit_failure;
    }
    return k_exit_ok;
}

services::SwitchOptions switch_options(bool force, std::ostream& err, bool json_output,
                                       std::ostream& out)
{
    services::SwitchOptions options;
    options.force = force;
    options.on_lock_wait = [&err](std::optional<int> holder) {
        err << "gpumod: waiting for another mode switch"
            << (holder ? fmt::format(" (pid {})", *holder) : std::string()) << " to finish\n";
    };
    if (!json_output) {
        // Progress as it happens: a switch can take minutes with big models.
        options.on_step = [&out](const services::StepReport& step) {
            out << step_line(step) << '\n' << std::flush;
        };
    }
    return options;
}

services::ModeSwitcher make_switcher(Context& context)
{
    return services::ModeSwitcher(
        context.supervisor, context.db, [&context](const std::string& id) { return context.spec(id); },
        [](const ServiceSpec& spec, const FreeMemoryDelta& delta) {
            return preflight(spec, delta);
        },
        [] { return nvml::query_gpus(); });
}

} // namespace

int cmd_service_list(const GlobalOptions& global, std::ostream& out, std::ostream& err)
{
    int code = k_exit_ok;
    auto context = open_or_report(global, err, code);
    if (!context) {
        return code;
    }
    auto live = context->supervisor.observe();
    if (!live) {
        err << "gpumod: " << live.error().message << '\n';
        return k_exit_environment;
    }
    std::map<std::string, const services::ObservedService*> running;
    for (const auto& s : *live) {
        running[s.record.id] = &s;
    }
    std::vector<std::string> ids;
    if (context->catalog) {
        if (auto known = context->catalog->service_ids()) {
            ids = *known;
        }
    } else {
        err << "gpumod: presets not loaded: " << context->catalog_error->message << '\n';
    }
    const std::set<std::string> known(ids.begin(), ids.end());
    for (const auto& [id, s] : running) {
        if (known.count(id) == 0) {
            ids.push_back(id); // running without a preset: an orphan worth showing
        }
    }
    if (global.json) {
        json list = json::array();
        for (const auto& id : ids) {
            json j;
            if (auto it = running.find(id); it != running.end()) {
                j = observed_json(*it->second);
            } else {
                j = json{{"id", id}, {"state", "stopped"}};
                if (auto spec = context->spec(id)) {
                    j["host"] = spec->host;
                    j["port"] = spec->port;
                }
            }
            j["has_preset"] = known.count(id) != 0;
            list.push_back(std::move(j));
        }
        out << json{{"services", list}}.dump(2) << '\n';
        return k_exit_ok;
    }
    if (ids.empty()) {
        out << "No services: add presets (see `gpumod preset list`).\n";
        return k_exit_ok;
    }
    TextTable table;
    table.add_column("ID");
    table.add_column("STATE");
    table.add_column("PID", Align::right);
    table.add_column("PORT", Align::right);
    table.add_column("UP", Align::right);
    table.add_column("NOTE");
    for (const auto& id : ids) {
        const std::string note = known.count(id) == 0 ? "no preset (orphan)" : "";
        if (auto it = running.find(id); it != running.end()) {
            const auto& s = *it->second;
            table.add_row({id, std::string(state_word(s.state)), std::to_string(s.record.pid),
                           std::to_string(s.record.port), uptime_text(s.record.started_at_ms),
                           note});
        } else {
            auto spec = context->spec(id);
            table.add_row({id, "stopped", "-", spec ? std::to_string(spec->port) : "-", "-", note});
        }
    }
    out << table.render();
    return k_exit_ok;
}

int cmd_service_status(const GlobalOptions& global, const std::optional<std::string>& id,
                       std::ostream& out, std::ostream& err)
{
    if (!id) {
        return cmd_service_list(global, out, err);
    }
    int code = k_exit_ok;
    auto context = open_or_report(global, err, code);
    if (!context) {
        return code;
    }
    auto observed = context->supervisor.observe_one(*id);
    if (!observed) {
        err << "gpumod: " << observed.error().message << '\n';
        return k_exit_environment;
    }
    auto spec = context->spec(*id);
    if (!*observed && !spec) {
        err << "gpumod: " << spec.error().message << '\n';
        return k_exit_usage;
    }
    const auto log = context->supervisor.log_path(*id);
    if (global.json) {
        json j = *observed ? observed_json(**observed) : json{{"id", *id}, {"state", "stopped"}};
        j["has_preset"] = static_cast<bool>(spec);
        j["log_path"] = log.string();
        out << j.dump(2) << '\n';
    } else if (*observed) {
        const auto& s = **observed;
        out << fmt::format("{}: {} (pid {}, {}:{}, up {})\n", *id, state_word(s.state),
                           s.record.pid, s.record.host, s.record.port,
                           uptime_text(s.record.started_at_ms));
        out << fmt::format("health: {}\n", s.health_status ? std::to_string(*s.health_status)
                                                           : std::string("no answer"));
        out << "command: " << config::format_command_line(s.record.argv) << '\n';
        out << "log: " << log.string() << '\n';
    } else {
        out << fmt::format("{}: stopped\nlog: {}\n", *id, log.string());
    }
    return *observed ? k_exit_ok : k_exit_failure;
}

int cmd_service_start(const GlobalOptions& global, const std::string& id, bool force,
                      std::ostream& out, std::ostream& err)
{
    int code = k_exit_ok;
    auto target = open_service(global, id, err, code);
    if (!target) {
        return code;
    }
    return report_start(global, id, gated_start(*target->context, target->spec, force, err), out,
                        err);
}

int cmd_service_stop(const GlobalOptions& global, const std::string& id, std::ostream& out,
                     std::ostream& err)
{
    int code = k_exit_ok;
    auto context = open_or_report(global, err, code);
    if (!context) {
        return code;
    }
    auto stopped = observe_and_stop(*context, id, err, code);
    if (!stopped) {
        return code;
    }
    if (global.json) {
        out << json{{"id", id},
                    {"was_running", stopped->was_running},
                    {"killed", stopped->killed},
                    {"pid", stopped->pid},
                    {"took_us", stopped->took_us}}
                   .dump(2)
            << '\n';
    } else if (stopped->was_running) {
        out << fmt::format("stopped {} (pid {}) in {}{}\n", id, stopped->pid,
                           ms_text(stopped->took_us),
                           stopped->killed ? " (needed SIGKILL after the grace period)" : "");
    } else {
        out << fmt::format("{} was not running\n", id);
    }
    return k_exit_ok;
}

int cmd_service_restart(const GlobalOptions& global, const std::string& id, bool force,
                        std::ostream& out, std::ostream& err)
{
    int code = k_exit_ok;
    auto target = open_service(global, id, err, code);
    if (!target) {
        return code;
    }
    auto& context = target->context;
    auto stopped = observe_and_stop(*context, id, err, code);
    if (!stopped) {
        return code;
    }
    if (!global.json && stopped->was_running) {
        out << fmt::format("stopped {} (pid {}) in {}\n", id, stopped->pid,
                           ms_text(stopped->took_us));
    }
    return report_start(global, id, gated_start(*context, target->spec, force, err), out, err);
}

int cmd_service_logs(const GlobalOptions& global, const ServiceLogsOptions& options,
                     std::ostream& out, std::ostream& err)
{
    int code = k_exit_ok;
    auto context = open_or_report(global, err, code);
    if (!context) {
        return code;
    }
    const auto log = context->supervisor.log_path(options.id);
    if (!std::filesystem::exists(log)) {
        if (!context->spec(options.id)) {
            err << "gpumod: " << context->spec(options.id).error().message << '\n';
            return k_exit_usage;
        }
        err << fmt::format("gpumod: {} has no log yet ({}): it was never started\n", options.id,
                           log.string());
        return k_exit_failure;
    }
    out << services::read_last_lines(log, options.lines) << std::flush;
    if (!options.follow) {
        return k_exit_ok;
    }
    std::error_code ec;
    services::LogCursor cursor(log, std::filesystem::file_size(log, ec));
    // Follows until the service stops: then the remaining lines are printed and we exit.
    for (;;) {
        const std::string fresh = cursor.read_new();
        if (!fresh.empty()) {
            out << fresh << std::flush;
            continue;
        }
        auto observed = context->supervisor.observe_one(options.id);
        if (!observed || !*observed) {
            out << cursor.read_new() << std::flush;
            return k_exit_ok;
        }
        posix::sleep_for(k_follow_interval);
    }
}

int cmd_service_cmd(const GlobalOptions& global, const std::string& id, std::ostream& out,
                    std::ostream& err)
{
    int code = k_exit_ok;
    auto target = open_service(global, id, err, code);
    if (!target) {
        return code;
    }
    const auto* spec = &target->spec;
    if (global.json) {
        out << json{{"id", id}, {"argv", spec->argv}, {"env", spec->env}}.dump(2) << '\n';
        return k_exit_ok;
    }
    std::string env;
    for (const auto& [name, value] : spec->env) {
        env += config::format_command_line({name + "=" + value}) + " ";
    }
    out << env << config::format_command_line(spec->argv) << '\n';
    return k_exit_ok;
}

int cmd_service_unit(const GlobalOptions& global, const std::string& id, std::ostream& out,
                     std::ostream& err)
{
    int code = k_exit_ok;
    auto target = open_service(global, id, err, code);
    if (!target) {
        return code;
    }
    const auto& spec = target->spec;
    const auto& supervisor = target->context->supervisor;
    SystemdUnitOptions options;
    options.log_path = supervisor.log_path(id);
    // Relative paths in a preset's extra_args read best from beside the preset.
    options.working_directory =
        spec.source_file.empty() ? std::filesystem::path("~") : spec.source_file.parent_path();
    options.stop_timeout = std::chrono::ceil<std::chrono::seconds>(supervisor.options().stop_grace);
    const std::string unit = render_systemd_unit(spec, options);
    const std::string name = systemd_unit_name(id);
    if (global.json) {
        out << json{{"id", id},
                    {"unit_name", name},
                    {"install_path", "~/.config/systemd/user/" + name},
                    {"log_path", options.log_path.string()},
                    {"unit", unit}}
                   .dump(2)
            << '\n';
        return k_exit_ok;
    }
    out << unit;
    return k_exit_ok;
}

namespace {

/// A control client for the vLLM service `target` names, or nullopt after printing why.
std::optional<services::VllmControl> vllm_control(ServiceTarget& target, std::ostream& err,
                                                  int& code)
{
    const auto& spec = target.spec;
    if (spec.driver != ServiceDriver::vllm) {
        err << fmt::format("gpumod: service '{}' runs driver {}: sleep and wake are vLLM's "
                           "(a preset with driver vllm and vllm.enable_sleep_mode: true)\n",
                           spec.id, config::driver_name(spec.driver));
        code = k_exit_usage;
        return std::nullopt;
    }
    // What runs wins over the preset: it may have been started before the preset changed.
    std::string host = spec.host;
    uint16_t port = spec.port;
    if (auto live = target.context->supervisor.observe_one(spec.id); live && *live) {
        host = (*live)->record.host;
        port = (*live)->record.port;
    }
    auto control = services::VllmControl::create(service_base_url(host, port));
    if (!control) {
        err << "gpumod: " << control.error().message << '\n';
        code = k_exit_usage;
        return std::nullopt;
    }
    return std::move(*control);
}

/// Prints a sleep or wake result (and records it); returns the exit code.
int report_sleep_state(const GlobalOptions& global, Context& context, const std::string& id,
                       const std::string& action, std::optional<int> level, const Status& done,
                       services::VllmControl& control, int64_t took_us, std::ostream& out,
                       std::ostream& err)
{
    if (!done) {
        err << fmt::format("gpumod: {} of '{}' failed: {}\n", action, id, done.error().message);
        return k_exit_failure;
    }
    auto sleeping = control.is_sleeping();
    [[maybe_unused]] auto noted = context.db.record_event(
        posix::unix_now_ms(), "service." + action,
        fmt::format("{}{} in {}", id, level ? fmt::format(" (level {})", *level) : "",
                    ms_text(took_us)));
    if (global.json) {
        json j{{"id", id}, {"action", action}, {"took_us", took_us}};
        j["level"] = level ? json(*level) : json(nullptr);
        j["is_sleeping"] = sleeping ? json(*sleeping) : json(nullptr);
        out << j.dump(2) << '\n';
    } else if (level) {
        out << fmt::format("{} is asleep (level {}) after {}: its GPU memory is released; "
                           "`gpumod service wake {}` brings it back\n",
                           id, *level, ms_text(took_us), id);
    } else {
        out << fmt::format("{} is awake after {}\n", id, ms_text(took_us));
    }
    if (!sleeping) {
        err << "gpumod: warning: " << sleeping.error().message << '\n';
    } else if (*sleeping != level.has_value()) {
        err << fmt::format("gpumod: warning: vLLM says it is {}sleeping\n",
                           *sleeping ? "still " : "not ");
        return k_exit_failure;
    }
    return k_exit_ok;
}

/// `service sleep` (with a level) or `service wake` (without): timed, recorded, reported.
int vllm_sleep_action(const GlobalOptions& global, const std::string& id,
                      std::optional<int> level, std::ostream& out, std::ostream& err)
{
    int code = k_exit_ok;
    auto target = open_service(global, id, err, code);
    if (!target) {
        return code;
    }
    auto control = vllm_control(*target, err, code);
    if (!control) {
        return code;
    }
    const auto begin = posix::monotonic_now();
    const auto done = level ? control->sleep(*level) : control->wake();
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(
                          posix::monotonic_now() - begin)
                          .count();
    return report_sleep_state(global, *target->context, id, level ? "sleep" : "wake", level, done,
                              *control, took, out, err);
}

} // namespace

int cmd_service_sleep(const GlobalOptions& global, const std::string& id, int level,
                      std::ostream& out, std::ostream& err)
{
    return vllm_sleep_action(global, id, level, out, err);
}

int cmd_service_wake(const GlobalOptions& global, const std::string& id, std::ostream& out,
                     std::ostream& err)
{
    return vllm_sleep_action(global, id, std::nullopt, out, err);
}

Result<ServicesOverview> services_overview(const GlobalOptions& global)
{
    auto context = open_context(global);
    if (!context) {
        return tl::unexpected(context.error());
    }
    auto current = (*context)->db.get_setting(services::k_setting_current_mode);
    if (!current) {
        return tl::unexpected(current.error());
    }
    auto live = (*context)->supervisor.observe();
    if (!live) {
        return tl::unexpected(live.error());
    }
    ServicesOverview overview;
    overview.current_mode = *current;
    for (const auto& s : *live) {
        overview.services.push_back(ServicesOverview::Entry{s.record.id,
                                                            std::string(state_word(s.state)),
                                                            s.record.pid, s.record.port,
                                                            s.record.host, s.record.argv});
    }
    return overview;
}

int cmd_mode_status(const GlobalOptions& global, std::ostream& out, std::ostream& err)
{
    int code = k_exit_ok;
    auto context = open_or_report(global, err, code);
    if (!context) {
        return code;
    }
    auto current = context->db.get_setting(services::k_setting_current_mode);
    if (!current) {
        err << "gpumod: " << current.error().message << '\n';
        return k_exit_environment;
    }
    auto live = context->supervisor.observe();
    if (!live) {
        err << "gpumod: " << live.error().message << '\n';
        return k_exit_environment;
    }
    std::vector<std::string> members;
    std::optional<std::string> mode_error;
    if (*current && context->catalog) {
        if (auto mode = context->catalog->mode(**current)) {
            members = mode->services;
        } else {
            mode_error = mode.error().message;
        }
    }
    std::set<std::string> running;
    for (const auto& s : *live) {
        running.insert(s.record.id);
    }
    std::vector<std::string> missing;
    for (const auto& id : members) {
        if (running.count(id) == 0) {
            missing.push_back(id);
        }
    }
    std::vector<std::string> extra;
    const std::set<std::string> member_set(members.begin(), members.end());
    for (const auto& id : running) {
        if (member_set.count(id) == 0) {
            extra.push_back(id);
        }
    }
    const bool in_sync = *current && !mode_error && missing.empty() && extra.empty();
    if (global.json) {
        json services = json::array();
        for (const auto& s : *live) {
            services.push_back(observed_json(s));
        }
        json j{{"id", *current ? json(**current) : json(nullptr)},
               {"members", members},
               {"running", services},
               {"missing", missing},
               {"extra", extra},
               {"in_sync", in_sync}};
        out << j.dump(2) << '\n';
        return k_exit_ok;
    }
    if (!*current) {
        out << "No mode switched to yet.\n";
    } else {
        out << fmt::format("mode: {}{}\n", **current,
                           in_sync ? " (all members running, nothing else)" : "");
    }
    if (mode_error) {
        out << "  warning: " << *mode_error << '\n';
    }
    for (const auto& s : *live) {
        out << fmt::format("  {:<20} {:<9} pid {} port {}\n", s.record.id, state_word(s.state),
                           s.record.pid, s.record.port);
    }
    for (const auto& id : missing) {
        out << fmt::format("  {:<20} not running (member of the mode)\n", id);
    }
    if (!extra.empty() && *current) {
        out << "  services outside the mode run too; `gpumod mode switch " << **current
            << "` stops them\n";
    }
    return k_exit_ok;
}

int cmd_mode_switch(const GlobalOptions& global, const std::string& id, bool force,
                    std::ostream& out, std::ostream& err)
{
    int code = k_exit_ok;
    auto context = open_or_report(global, err, code);
    if (!context) {
        return code;
    }
    if (!context->catalog) {
        err << "gpumod: " << context->catalog_error->message << '\n';
        return k_exit_environment;
    }
    auto mode = context->catalog->mode(id);
    if (!mode) {
        err << "gpumod: " << mode.error().message << '\n';
        return k_exit_usage;
    }
    auto switcher = make_switcher(*context);
    const auto report = switcher.switch_to(*mode, switch_options(force, err, global.json, out));
    return print_switch_report(global, report, out, err);
}

int cmd_isolate(const GlobalOptions& global, const std::optional<std::string>& id, bool restore,
                bool force, std::ostream& out, std::ostream& err)
{
    if (restore == id.has_value()) {
        err << "gpumod: give either a service id to isolate or --restore\n";
        return k_exit_usage;
    }
    int code = k_exit_ok;
    auto context = open_or_report(global, err, code);
    if (!context) {
        return code;
    }
    auto switcher = make_switcher(*context);
    const auto options = switch_options(force, err, global.json, out);
    const auto report = restore ? switcher.restore(options) : switcher.isolate(*id, options);
    return print_switch_report(global, report, out, err);
}

} // namespace gpumod::app
