#include "adapters/services/mode_switcher.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "adapters/posix/clock.hpp"
#include "adapters/services/switch_lock.hpp"
#include "adapters/sqlite/database.hpp"
#include "core/services/state_paths.hpp"

namespace gpumod::services {
namespace {

using Clock = std::chrono::steady_clock;

int64_t micros(Clock::duration d)
{
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

/// Stamps how long a switch took on its report as it is handed back.
class ReportTimer
{
  public:
    ReportTimer() : m_begin(posix::monotonic_now()) {}

    SwitchReport finish(SwitchReport& report) const
    {
        report.total_us = micros(posix::monotonic_now() - m_begin);
        return report;
    }

  private:
    Clock::time_point m_begin;
};

/// Takes the switch lock, recording the wait on `report`, or the error when it fails.
std::optional<SwitchLock> take_lock(const std::filesystem::path& state_dir, SwitchReport& report,
                                    const SwitchOptions& options)
{
    auto lock = SwitchLock::acquire(switch_lock_path(state_dir), options.lock_timeout,
                                    options.on_lock_wait);
    if (!lock) {
        report.error = lock.error().message;
        return std::nullopt;
    }
    report.lock_wait_us = lock->waited().count();
    return std::move(*lock);
}

/// GPU memory the processes `pids` hold, per GPU, from NVML's process list. nullopt when one
/// of them is not listed: its memory is unknown (a driver that does not say, or a container
/// that sees other pids), so nothing can be concluded before it stops.
std::optional<FreeMemoryDelta> memory_held_by(const std::vector<int>& pids, const GpuQuery& gpus)
{
    FreeMemoryDelta held;
    if (pids.empty() || !gpus) {
        return held;
    }
    auto inventory = gpus();
    if (!inventory || inventory->state != NvmlState::ok) {
        return held; // no GPU: the gate checks nothing either
    }
    for (const int pid : pids) {
        bool listed = false;
        for (const auto& gpu : inventory->gpus) {
            for (const auto& process : gpu.processes.value_or(std::vector<GpuProcess>{})) {
                if (process.pid != static_cast<uint32_t>(pid)) {
                    continue;
                }
                if (!process.used_bytes) {
                    return std::nullopt;
                }
                held[gpu.index] += static_cast<int64_t>(*process.used_bytes);
                listed = true;
            }
        }
        if (!listed) {
            return std::nullopt;
        }
    }
    return held;
}

/// A spec rebuilt from a record, to restart a stopped service whose preset is gone.
ServiceSpec spec_from_record(const ServiceRecord& record)
{
    ServiceSpec spec;
    spec.id = record.id;
    spec.name = record.id;
    spec.argv = record.argv;
    spec.host = record.host;
    spec.port = record.port;
    spec.health_path = record.health_path;
    return spec;
}

RunningService as_running(const ObservedService& observed, const SpecResolver& resolve,
                          const std::set<std::string>& targets)
{
    RunningService running;
    running.id = observed.record.id;
    running.healthy = observed.state == ServiceState::ready;
    if (targets.count(observed.record.id) != 0) {
        auto spec = resolve(observed.record.id);
        // A preset edited since the service started must restart to take effect.
        running.matches_spec = spec && spec->argv == observed.record.argv;
    }
    return running;
}

StepReport make_step(StepKind kind, std::string id)
{
    StepReport step;
    step.kind = kind;
    step.service_id = std::move(id);
    return step;
}

} // namespace

struct ModeSwitcher::Run
{
    explicit Run(SwitchReport& r) : report(r) {}
    SwitchReport& report;
    std::map<std::string, ServiceRecord> observed; ///< live at the start, by id
    std::vector<int> stopped_pids;                 ///< for the GPU release wait
    std::vector<std::string> started;
    std::vector<std::string> stopped;
    const SwitchOptions* options = nullptr;

    void add(StepReport step)
    {
        if (options != nullptr && options->on_step) {
            options->on_step(step);
        }
        report.steps.push_back(std::move(step));
    }
};

ModeSwitcher::ModeSwitcher(Supervisor& supervisor, sqlite::Database& db, SpecResolver resolve,
                           PreflightHook preflight, GpuQuery gpus)
    : m_supervisor(&supervisor), m_db(&db), m_resolve(std::move(resolve)),
      m_preflight(std::move(preflight)), m_gpus(std::move(gpus))
{
}

StepReport ModeSwitcher::stop_step(Run& run, const std::string& id)
{
    StepReport step = make_step(StepKind::stop, id);
    const auto begin = posix::monotonic_now();
    auto stopped = m_supervisor->stop(id);
    step.took_us = micros(posix::monotonic_now() - begin);
    if (!stopped) {
        step.ok = false;
        step.detail = stopped.error().message;
        return step;
    }
    step.detail = stopped->was_running
                      ? fmt::format("pid {}, {}", stopped->pid,
                                    stopped->killed ? "SIGKILL after the grace period" : "SIGTERM")
                      : "was not running";
    run.stopped_pids.push_back(stopped->pid);
    run.stopped.push_back(id);
    return step;
}

StepReport ModeSwitcher::release_step(Run& run, const SwitchOptions& options)
{
    StepReport step = make_step(StepKind::wait_release, "");
    const auto begin = posix::monotonic_now();
    const auto deadline = begin + options.release_timeout;
    const std::set<uint32_t> pids(run.stopped_pids.begin(), run.stopped_pids.end());
    for (;;) {
        auto inventory = m_gpus ? m_gpus() : Result<GpuInventory>(GpuInventory{});
        if (!inventory || inventory->state != NvmlState::ok) {
            step.detail = "skipped: no NVIDIA GPU visible";
            break;
        }
        bool listed = false;
        bool holding = false;
        for (const auto& gpu : inventory->gpus) {
            if (!gpu.processes) {
                continue;
            }
            listed = true;
            for (const auto& process : *gpu.processes) {
                holding = holding || pids.count(process.pid) != 0;
            }
        }
        if (!listed) {
            step.detail = "skipped: the driver does not list GPU processes";
            break;
        }
        if (!holding) {
            step.detail = "released";
            break;
        }
        if (posix::monotonic_now() >= deadline) {
            step.ok = false;
            step.detail = fmt::format("GPU memory of the stopped services was not released "
                                      "within {} ms",
                                      options.release_timeout.count());
            break;
        }
        posix::sleep_for(options.release_poll);
    }
    step.took_us = micros(posix::monotonic_now() - begin);
    return step;
}

StepReport ModeSwitcher::start_step(Run& run, const std::string& id, const SwitchOptions& options,
                                    bool gate)
{
    StepReport step = make_step(StepKind::start, id);
    const auto begin = posix::monotonic_now();
    auto spec = m_resolve(id);
    if (!spec) {
        // Restoring a service whose preset disappeared: run what ran before.
        if (auto it = run.observed.find(id); it != run.observed.end()) {
            spec = spec_from_record(it->second);
        } else {
            step.ok = false;
            step.detail = spec.error().message;
            return step;
        }
    }
    const PreflightVerdict verdict =
        m_preflight ? m_preflight(*spec, FreeMemoryDelta{}) : PreflightVerdict{};
    step.preflight = preflight_outcome_word(verdict.outcome);
    step.preflight_summary = verdict.summary;
    const auto decision = decide_preflight(verdict, options.force, gate);
    record_preflight(id, verdict, decision);
    if (decision.refuse) {
        step.ok = false;
        step.detail = "refused by the preflight check: " +
                      preflight_refusal_message(id, verdict,
                                                "pass --force to start it anyway, or change the "
                                                "preset (see the fallbacks)");
        step.took_us = micros(posix::monotonic_now() - begin);
        return step;
    }
    auto outcome = m_supervisor->start(*spec);
    step.took_us = micros(posix::monotonic_now() - begin);
    step.timings = outcome.timings;
    step.ok = outcome.ok;
    step.diagnosis = outcome.diagnosis;
    if (!outcome.ok) {
        step.detail = outcome.error;
        return step;
    }
    step.detail = outcome.already_running ? "already running"
                                          : fmt::format("pid {}, port {}", outcome.record->pid,
                                                        outcome.record->port);
    if (verdict.outcome == PreflightVerdict::Outcome::does_not_fit) {
        step.detail += "; started although the preflight check says " + verdict.summary;
    }
    if (!outcome.already_running) {
        run.started.push_back(id);
    }
    return step;
}

StepReport ModeSwitcher::run_step(Run& run, const SwitchStep& planned,
                                  const SwitchOptions& options, bool gate)
{
    switch (planned.kind) {
    case StepKind::stop:
        return stop_step(run, planned.service_id);
    case StepKind::wait_release:
        return release_step(run, options);
    case StepKind::start:
        break;
    }
    return start_step(run, planned.service_id, options, gate);
}

void ModeSwitcher::record_preflight(const std::string& id, const PreflightVerdict& verdict,
                                    const PreflightDecision& decision)
{
    [[maybe_unused]] auto noted =
        m_db->record_event(posix::unix_now_ms(), "service.preflight",
                           preflight_event_detail(id, verdict, decision.words));
}

std::string ModeSwitcher::refuse_up_front(const Run& run, const SwitchPlan& plan)
{
    if (!m_preflight || plan.start.empty()) {
        return "";
    }
    std::vector<int> leaving;
    for (const auto& id : plan.stop) {
        if (auto it = run.observed.find(id); it != run.observed.end()) {
            leaving.push_back(it->second.pid);
        }
    }
    // Free memory once the leavers stop; when that is unknown, the gate at each start
    // (after the stops) decides, and a refusal there rolls back.
    auto delta = memory_held_by(leaving, m_gpus);
    if (!delta) {
        return "";
    }
    for (const auto& id : plan.start) {
        auto spec = m_resolve(id);
        if (!spec) {
            continue; // resolved before; a preset that vanished since fails at its start
        }
        const PreflightVerdict verdict = m_preflight(*spec, *delta);
        if (verdict.outcome == PreflightVerdict::Outcome::does_not_fit) {
            record_preflight(id, verdict,
                             PreflightDecision{true, "switch refused, nothing changed"});
            return preflight_refusal_message(id, verdict,
                                             "pass --force to go ahead anyway, or change the "
                                             "preset (see the fallbacks); nothing was changed");
        }
        // Members start in order: the next one finds this one's memory taken.
        for (const auto& [gpu, bytes] : verdict.needs_by_gpu) {
            (*delta)[gpu] -= static_cast<int64_t>(bytes);
        }
    }
    return "";
}

void ModeSwitcher::roll_back(Run& run, const SwitchOptions& options)
{
    run.report.rolled_back = true;
    const auto steps = plan_rollback(run.started, run.stopped);
    run.stopped_pids.clear();
    const auto started = run.started;
    const auto stopped = run.stopped;
    for (const auto& planned : steps) {
        // Putting back what ran before is not gated: it ran a moment ago.
        StepReport step = run_step(run, planned, options, false);
        step.rollback = true;
        run.report.rollback_ok = run.report.rollback_ok && step.ok;
        run.add(std::move(step));
    }
    run.started = started;
    run.stopped = stopped;
}

SwitchReport ModeSwitcher::switch_to(const ModeSpec& mode, const SwitchOptions& options)
{
    SwitchReport report;
    report.action = "switch";
    report.target = mode.id;
    const ReportTimer timer;
    const auto lock = take_lock(m_supervisor->options().state_dir, report, options);
    if (!lock) {
        return timer.finish(report);
    }
    if (auto previous = m_db->get_setting(k_setting_current_mode); previous && *previous) {
        report.previous_mode = **previous;
    }

    // Every member must resolve before anything changes.
    for (const auto& id : mode.services) {
        if (auto spec = m_resolve(id); !spec) {
            report.error = spec.error().with_context(
                fmt::format("mode '{}' names service '{}'", mode.id, id)).message;
            return timer.finish(report);
        }
    }
    auto live = m_supervisor->observe(&report.cleared);
    if (!live) {
        report.error = live.error().message;
        return timer.finish(report);
    }
    Run run{report};
    run.options = &options;
    const std::set<std::string> targets(mode.services.begin(), mode.services.end());
    std::vector<RunningService> running;
    for (const auto& service : *live) {
        run.observed[service.record.id] = service.record;
        running.push_back(as_running(service, m_resolve, targets));
    }
    const SwitchPlan plan = plan_switch(running, mode.services);
    report.kept = plan.keep;

    // The preflight gate runs for every member to start before anything is stopped, counting
    // the memory the leavers will release, so a refused switch changes nothing. Each start
    // is gated again once the leavers' memory is really free.
    if (!options.force) {
        if (auto refused = refuse_up_front(run, plan); !refused.empty()) {
            report.error = std::move(refused);
            return timer.finish(report);
        }
    }

    for (const auto& planned : plan.steps) {
        StepReport step = run_step(run, planned, options, true);
        const bool ok = step.ok;
        const std::string detail = step.detail;
        run.add(std::move(step));
        if (!ok) {
            report.error = planned.service_id.empty()
                               ? detail
                               : fmt::format("{} of '{}' failed: {}", step_kind_word(planned.kind),
                                             planned.service_id, detail);
            roll_back(run, options);
            report.started = run.started;
            report.stopped = run.stopped;
            return timer.finish(report);
        }
    }
    report.started = run.started;
    report.stopped = run.stopped;
    if (auto set = m_db->set_setting(k_setting_current_mode, mode.id, posix::unix_now_ms()); !set) {
        report.error = set.error().message;
        return timer.finish(report);
    }
    [[maybe_unused]] auto noted = m_db->record_event(
        posix::unix_now_ms(), "mode.switch",
        fmt::format("{} (started {}, stopped {}, kept {})", mode.id, report.started.size(),
                    report.stopped.size(), report.kept.size()));
    report.ok = true;
    return timer.finish(report);
}

SwitchReport ModeSwitcher::isolate(const std::string& keep_id, const SwitchOptions& options)
{
    SwitchReport report;
    report.action = "isolate";
    report.target = keep_id;
    const ReportTimer timer;
    const auto lock = take_lock(m_supervisor->options().state_dir, report, options);
    if (!lock) {
        return timer.finish(report);
    }
    if (auto spec = m_resolve(keep_id); !spec) {
        report.error = spec.error().message;
        return timer.finish(report);
    }
    auto live = m_supervisor->observe(&report.cleared);
    if (!live) {
        report.error = live.error().message;
        return timer.finish(report);
    }
    Run run{report};
    run.options = &options;
    std::vector<RunningService> running;
    bool keep_running = false;
    for (const auto& service : *live) {
        run.observed[service.record.id] = service.record;
        running.push_back(as_running(service, m_resolve, {}));
        keep_running = keep_running || service.record.id == keep_id;
    }
    // As for a switch: refused before anything stops when it cannot fit even then.
    if (!keep_running && !options.force) {
        SwitchPlan plan;
        plan.stop = plan_isolation(running, keep_id);
        plan.start = {keep_id};
        if (auto refused = refuse_up_front(run, plan); !refused.empty()) {
            report.error = std::move(refused);
            return timer.finish(report);
        }
    }
    // Remember before stopping: a gpumod killed half-way must still be able to restore.
    std::vector<std::string> remembered;
    if (auto stored = m_db->get_setting(k_setting_isolated_stopped); stored && *stored) {
        remembered = decode_string_list(**stored).value_or(std::vector<std::string>{});
    }
    for (const auto& id : plan_isolation(running, keep_id)) {
        if (std::find(remembered.begin(), remembered.end(), id) == remembered.end()) {
            remembered.push_back(id);
        }
    }
    const auto now_ms = posix::unix_now_ms();
    if (auto set = m_db->set_setting(k_setting_isolated_stopped, encode_string_list(remembered),
                                     now_ms);
        !set) {
        report.error = set.error().message;
        return timer.finish(report);
    }
    [[maybe_unused]] auto kept_set = m_db->set_setting(k_setting_isolated_kept, keep_id, now_ms);
    for (const auto& id : plan_isolation(running, keep_id)) {
        auto step = stop_step(run, id);
        const bool ok = step.ok;
        run.add(std::move(step));
        if (!ok) {
            report.error = run.report.steps.back().detail;
            report.stopped = run.stopped;
            return timer.finish(report);
        }
    }
    if (!keep_running) {
        if (!run.stopped.empty()) {
            run.add(release_step(run, options));
        }
        auto step = start_step(run, keep_id, options, true);
        const bool ok = step.ok;
        run.add(std::move(step));
        if (!ok) {
            report.error = run.report.steps.back().detail;
            report.stopped = run.stopped;
            report.started = run.started;
            return timer.finish(report);
        }
    } else {
        report.kept.push_back(keep_id);
    }
    report.stopped = run.stopped;
    report.started = run.started;
    report.ok = true;
    return timer.finish(report);
}

SwitchReport ModeSwitcher::restore(const SwitchOptions& options)
{
    SwitchReport report;
    report.action = "restore";
    const ReportTimer timer;
    const auto lock = take_lock(m_supervisor->options().state_dir, report, options);
    if (!lock) {
        return timer.finish(report);
    }
    std::vector<std::string> remembered;
    auto stored = m_db->get_setting(k_setting_isolated_stopped);
    if (!stored) {
        report.error = stored.error().message;
        return timer.finish(report);
    }
    if (*stored) {
        remembered = decode_string_list(**stored).value_or(std::vector<std::string>{});
    }
    if (auto kept = m_db->get_setting(k_setting_isolated_kept); kept && *kept) {
        report.target = **kept;
    }
    auto live = m_supervisor->observe(&report.cleared);
    if (!live) {
        report.error = live.error().message;
        return timer.finish(report);
    }
    Run run{report};
    run.options = &options;
    std::set<std::string> running;
    for (const auto& service : *live) {
        running.insert(service.record.id);
    }
    std::vector<std::string> failed;
    for (const auto& id : remembered) {
        if (running.count(id) != 0) {
            report.kept.push_back(id);
            continue;
        }
        auto step = start_step(run, id, options, true);
        if (!step.ok) {
            failed.push_back(id);
        }
        run.add(std::move(step));
    }
    report.started = run.started;
    // Only what could not be restored stays remembered, so a second --restore retries it.
    const auto now_ms = posix::unix_now_ms();
    [[maybe_unused]] auto set = m_db->set_setting(k_setting_isolated_stopped,
                                                  encode_string_list(failed), now_ms);
    if (!failed.empty()) {
        report.error = fmt::format("could not restore {} of {} services", failed.size(),
                                   remembered.size());
        return timer.finish(report);
    }
    report.ok = true;
    return timer.finish(report);
}

} // namespace gpumod::services
