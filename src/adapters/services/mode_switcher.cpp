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

std::string preflight_word(PreflightVerdict::Outcome outcome)
{
    switch (outcome) {
    case PreflightVerdict::Outcome::not_checked:
        return "not checked";
    case PreflightVerdict::Outcome::fits:
        return "fits";
    case PreflightVerdict::Outcome::does_not_fit:
        return "does not fit";
    }
    return "unknown";
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
    const PreflightVerdict verdict = m_preflight ? m_preflight(*spec) : PreflightVerdict{};
    step.preflight = preflight_word(verdict.outcome);
    if (gate && verdict.outcome == PreflightVerdict::Outcome::does_not_fit && !options.force) {
        step.ok = false;
        step.detail = fmt::format("refused by the preflight check (use --force to start "
                                  "anyway): {}",
                                  verdict.detail);
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
    if (!outcome.already_running) {
        run.started.push_back(id);
    }
    return step;
}

void ModeSwitcher::roll_back(Run& run, const SwitchOptions& options)
{
    run.report.rolled_back = true;
    const auto steps = plan_rollback(run.started, run.stopped);
    run.stopped_pids.clear();
    const auto started = run.started;
    const auto stopped = run.stopped;
    for (const auto& planned : steps) {
        StepReport step;
        switch (planned.kind) {
        case StepKind::stop:
            step = stop_step(run, planned.service_id);
            break;
        case StepKind::wait_release:
            step = release_step(run, options);
            break;
        case StepKind::start:
            // Putting back what ran before is not gated: it ran a moment ago.
            step = start_step(run, planned.service_id, options, false);
            break;
        }
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
    const auto begin = posix::monotonic_now();
    auto finish = [&](SwitchReport& r) -> SwitchReport {
        r.total_us = micros(posix::monotonic_now() - begin);
        return r;
    };

    auto lock = SwitchLock::acquire(switch_lock_path(m_supervisor->options().state_dir),
                                    options.lock_timeout, options.on_lock_wait);
    if (!lock) {
        report.error = lock.error().message;
        return finish(report);
    }
    report.lock_wait_us = lock->waited().count();
    if (auto previous = m_db->get_setting(k_setting_current_mode); previous && *previous) {
        report.previous_mode = **previous;
    }

    // Every member must resolve before anything changes.
    for (const auto& id : mode.services) {
        if (auto spec = m_resolve(id); !spec) {
            report.error = spec.error().with_context(
                fmt::format("mode '{}' names service '{}'", mode.id, id)).message;
            return finish(report);
        }
    }
    auto live = m_supervisor->observe(&report.cleared);
    if (!live) {
        report.error = live.error().message;
        return finish(report);
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

    // The preflight gate runs for every member to start before anything is stopped, so a
    // refused switch changes nothing.
    if (!options.force) {
        for (const auto& id : plan.start) {
            auto spec = m_resolve(id);
            const PreflightVerdict verdict = m_preflight ? m_preflight(*spec) : PreflightVerdict{};
            if (verdict.outcome == PreflightVerdict::Outcome::does_not_fit) {
                report.error = fmt::format("service '{}' does not fit (use --force to switch "
                                           "anyway): {}",
                                           id, verdict.detail);
                return finish(report);
            }
        }
    }

    for (const auto& planned : plan.steps) {
        StepReport step;
        switch (planned.kind) {
        case StepKind::stop:
            step = stop_step(run, planned.service_id);
            break;
        case StepKind::wait_release:
            step = release_step(run, options);
            break;
        case StepKind::start:
            step = start_step(run, planned.service_id, options, false);
            break;
        }
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
            return finish(report);
        }
    }
    report.started = run.started;
    report.stopped = run.stopped;
    if (auto set = m_db->set_setting(k_setting_current_mode, mode.id, posix::unix_now_ms()); !set) {
        report.error = set.error().message;
        return finish(report);
    }
    [[maybe_unused]] auto noted = m_db->record_event(
        posix::unix_now_ms(), "mode.switch",
        fmt::format("{} (started {}, stopped {}, kept {})", mode.id, report.started.size(),
                    report.stopped.size(), report.kept.size()));
    report.ok = true;
    return finish(report);
}

SwitchReport ModeSwitcher::isolate(const std::string& keep_id, const SwitchOptions& options)
{
    SwitchReport report;
    report.action = "isolate";
    report.target = keep_id;
    const auto begin = posix::monotonic_now();
    auto finish = [&](SwitchReport& r) -> SwitchReport {
        r.total_us = micros(posix::monotonic_now() - begin);
        return r;
    };
    auto lock = SwitchLock::acquire(switch_lock_path(m_supervisor->options().state_dir),
                                    options.lock_timeout, options.on_lock_wait);
    if (!lock) {
        report.error = lock.error().message;
        return finish(report);
    }
    report.lock_wait_us = lock->waited().count();
    if (auto spec = m_resolve(keep_id); !spec) {
        report.error = spec.error().message;
        return finish(report);
    }
    auto live = m_supervisor->observe(&report.cleared);
    if (!live) {
        report.error = live.error().message;
        return finish(report);
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
        return finish(report);
    }
    [[maybe_unused]] auto kept_set = m_db->set_setting(k_setting_isolated_kept, keep_id, now_ms);
    for (const auto& id : plan_isolation(running, keep_id)) {
        auto step = stop_step(run, id);
        const bool ok = step.ok;
        run.add(std::move(step));
        if (!ok) {
            report.error = run.report.steps.back().detail;
            report.stopped = run.stopped;
            return finish(report);
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
            return finish(report);
        }
    } else {
        report.kept.push_back(keep_id);
    }
    report.stopped = run.stopped;
    report.started = run.started;
    report.ok = true;
    return finish(report);
}

SwitchReport ModeSwitcher::restore(const SwitchOptions& options)
{
    SwitchReport report;
    report.action = "restore";
    const auto begin = posix::monotonic_now();
    auto finish = [&](SwitchReport& r) -> SwitchReport {
        r.total_us = micros(posix::monotonic_now() - begin);
        return r;
    };
    auto lock = SwitchLock::acquire(switch_lock_path(m_supervisor->options().state_dir),
                                    options.lock_timeout, options.on_lock_wait);
    if (!lock) {
        report.error = lock.error().message;
        return finish(report);
    }
    report.lock_wait_us = lock->waited().count();
    std::vector<std::string> remembered;
    auto stored = m_db->get_setting(k_setting_isolated_stopped);
    if (!stored) {
        report.error = stored.error().message;
        return finish(report);
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
        return finish(report);
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
        return finish(report);
    }
    report.ok = true;
    return finish(report);
}

} // namespace gpumod::services
