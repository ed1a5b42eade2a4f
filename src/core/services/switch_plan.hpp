#pragma once

// Mode switch planning: from what actually runs (observed, not what the database believes)
// and the target mode's ordered members to the steps that get there, and from a failure
// part-way to the steps that put things back. Pure: the executor runs the steps.

#include <string>
#include <string_view>
#include <vector>

namespace gpumod {

/// A service found running (adopted from its record and checked against /proc).
struct RunningService
{
    std::string id;
    bool healthy = true;       ///< ready; false: loading forever, unhealthy or wedged
    bool matches_spec = true;  ///< recorded argv equals what the preset renders today
};

enum class StepKind
{
    stop,         ///< TERM the group, KILL after grace
    wait_release, ///< wait until stopped services' GPU memory is released (NVML, bounded)
    start,        ///< spawn, then wait for readiness
};

/// "stop", "wait_release", "start".
std::string_view step_kind_word(StepKind kind);

struct SwitchStep
{
    StepKind kind = StepKind::stop;
    std::string service_id; ///< "" for wait_release
    friend bool operator==(const SwitchStep&, const SwitchStep&) = default;
};

struct SwitchPlan
{
    std::vector<std::string> stop;  ///< running services leaving (orphans included), id order
    std::vector<std::string> start; ///< target members to start, in the mode's order
    std::vector<std::string> keep;  ///< target members already running as specified and healthy
    std::vector<SwitchStep> steps;  ///< stops, then one wait_release (when anything stops and
                                    ///< anything starts), then starts
};

/// Plans a switch. Everything running outside `target` stops; target members that run
/// healthy with today's argv are kept; the others (not running, unhealthy, or started from an
/// older preset) are (re)started in target order. Duplicate ids in `target` count once.
SwitchPlan plan_switch(const std::vector<RunningService>& running,
                       const std::vector<std::string>& target);

/// Steps that undo a failed switch: stop what this switch started (newest first), then start
/// again what it stopped (in the order they had been stopped), waiting for memory in between.
std::vector<SwitchStep> plan_rollback(const std::vector<std::string>& started,
                                      const std::vector<std::string>& stopped);

/// Plan for `gpumod isolate ID`: stop every running service except `keep_id` (id order).
std::vector<std::string> plan_isolation(const std::vector<RunningService>& running,
                                        std::string_view keep_id);

} // namespace gpumod
