#pragma once

// Mode switches and isolation, executed step by step against what actually runs: observe
// (adopting live services, clearing dead records), plan (core/services/switch_plan), stop the
// leavers, wait for their GPU memory to be released, start the members in order with the
// preflight gate, and roll back on failure. Serialized across processes by SwitchLock.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "adapters/services/supervisor.hpp"
#include "core/base/error.hpp"
#include "core/gpu/gpu_info.hpp"
#include "core/services/service_catalog.hpp"
#include "core/services/switch_plan.hpp"

namespace gpumod::services {

/// Settings keys (table `settings`).
inline constexpr const char* k_setting_current_mode = "mode.current";
inline constexpr const char* k_setting_isolated_stopped = "isolate.stopped";
inline constexpr const char* k_setting_isolated_kept = "isolate.kept";

/// What one executed step did.
struct StepReport
{
    StepKind kind = StepKind::stop;
    std::string service_id;
    bool ok = true;
    bool rollback = false;              ///< part of undoing a failed switch
    int64_t took_us = 0;
    std::optional<StartTimings> timings; ///< start steps
    std::string detail;                 ///< words: "pid 123, TERM", "released in 40 ms", errors
    std::optional<LogDiagnosis> diagnosis; ///< failed starts
    std::string preflight;              ///< start steps: "not checked", "fits", "does not fit"
    std::string preflight_summary;      ///< start steps: the verdict's one line
};

/// Everything a switch (or isolation, or restore) did, in order.
struct SwitchReport
{
    std::string action; ///< "switch", "isolate", "restore"
    std::string target; ///< mode id, or the isolated service id
    bool ok = false;
    std::string error;
    std::optional<std::string> previous_mode;
    std::vector<std::string> kept;
    std::vector<std::string> started;
    std::vector<std::string> stopped;
    std::vector<ClearedRecord> cleared; ///< dead records found while observing
    bool rolled_back = false;
    bool rollback_ok = true;
    std::vector<StepReport> steps;
    int64_t lock_wait_us = 0;
    int64_t total_us = 0;
};

struct SwitchOptions
{
    bool force = false; ///< start even when the preflight gate says it does not fit
    std::chrono::milliseconds lock_timeout{std::chrono::minutes(10)};
    std::chrono::milliseconds release_timeout{std::chrono::seconds(30)};
    std::chrono::milliseconds release_poll{100};
    /// Called once if another switch holds the lock (with its pid when known).
    std::function<void(std::optional<int>)> on_lock_wait;
    /// Called after each step, for progress lines.
    std::function<void(const StepReport&)> on_step;
};

/// Looks up the spec a service id runs today.
using SpecResolver = std::function<Result<ServiceSpec>(const std::string& id)>;
/// The preflight gate (the planner against free VRAM, plus `delta` per GPU: what services
/// about to stop hold, less what members started earlier in the switch will take).
using PreflightHook = std::function<PreflightVerdict(const ServiceSpec&, const FreeMemoryDelta&)>;
/// Reads the GPUs (NVML); used to wait for stopped services' memory to be released.
using GpuQuery = std::function<Result<GpuInventory>()>;

class ModeSwitcher
{
  public:
    /// All references must outlive the switcher.
    ModeSwitcher(Supervisor& supervisor, sqlite::Database& db, SpecResolver resolve,
                 PreflightHook preflight, GpuQuery gpus);

    /// Makes exactly `mode`'s services run (see the file comment). On success records the
    /// mode as current; on failure rolls back and leaves the current mode as it was.
    SwitchReport switch_to(const ModeSpec& mode, const SwitchOptions& options);

    /// Stops every running service except `keep_id` (starting it when it does not run) and
    /// remembers what it stopped for restore().
    SwitchReport isolate(const std::string& keep_id, const SwitchOptions& options);

    /// Starts again what isolate() stopped (those not running now), then forgets them.
    SwitchReport restore(const SwitchOptions& options);

  private:
    struct Run;
    StepReport stop_step(Run& run, const std::string& id);
    StepReport release_step(Run& run, const SwitchOptions& options);
    StepReport start_step(Run& run, const std::string& id, const SwitchOptions& options,
                          bool gate);
    /// Runs one planned step; `gate` applies the preflight gate to a start.
    StepReport run_step(Run& run, const SwitchStep& planned, const SwitchOptions& options,
                        bool gate);
    /// The up-front gate of a switch: "" when every member to start fits (or may fit).
    std::string refuse_up_front(const Run& run, const SwitchPlan& plan);
    void record_preflight(const std::string& id, const PreflightVerdict& verdict,
                          const PreflightDecision& decision);
    void roll_back(Run& run, const SwitchOptions& options);

    Supervisor* m_supervisor;
    sqlite::Database* m_db;
    SpecResolver m_resolve;
    PreflightHook m_preflight;
    GpuQuery m_gpus;
};

} // namespace gpumod::services
