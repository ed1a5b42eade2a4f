#include "core/services/switch_plan.hpp"

#include <algorithm>
#include <set>

namespace gpumod {

std::string_view step_kind_word(StepKind kind)
{
    switch (kind) {
    case StepKind::stop:
        return "stop";
    case StepKind::wait_release:
        return "wait_release";
    case StepKind::start:
        return "start";
    }
    return "unknown";
}

SwitchPlan plan_switch(const std::vector<RunningService>& running,
                       const std::vector<std::string>& target)
{
    SwitchPlan plan;
    std::vector<std::string> members;
    std::set<std::string> member_set;
    for (const auto& id : target) {
        if (member_set.insert(id).second) {
            members.push_back(id);
        }
    }
    std::vector<RunningService> sorted = running;
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
    std::set<std::string> kept;
    for (const auto& service : sorted) {
        const bool wanted = member_set.count(service.id) != 0;
        if (wanted && service.healthy && service.matches_spec) {
            kept.insert(service.id);
        } else {
            // Outside the target (orphans too), or a member that must restart to be trusted.
            plan.stop.push_back(service.id);
        }
    }
    for (const auto& id : members) {
        if (kept.count(id) != 0) {
            plan.keep.push_back(id);
        } else {
            plan.start.push_back(id);
        }
    }
    for (const auto& id : plan.stop) {
        plan.steps.push_back({StepKind::stop, id});
    }
    if (!plan.stop.empty() && !plan.start.empty()) {
        plan.steps.push_back({StepKind::wait_release, ""});
    }
    for (const auto& id : plan.start) {
        plan.steps.push_back({StepKind::start, id});
    }
    return plan;
}

std::vector<SwitchStep> plan_rollback(const std::vector<std::string>& started,
                                      const std::vector<std::string>& stopped)
{
    std::vector<SwitchStep> steps;
    for (auto it = started.rbegin(); it != started.rend(); ++it) {
        steps.push_back({StepKind::stop, *it});
    }
    if (!started.empty() && !stopped.empty()) {
        steps.push_back({StepKind::wait_release, ""});
    }
    for (const auto& id : stopped) {
        steps.push_back({StepKind::start, id});
    }
    return steps;
}

std::vector<std::string> plan_isolation(const std::vector<RunningService>& running,
                                        std::string_view keep_id)
{
    std::vector<std::string> stop;
    for (const auto& service : running) {
        if (service.id != keep_id) {
            stop.push_back(service.id);
        }
    }
    std::sort(stop.begin(), stop.end());
    return stop;
}

} // namespace gpumod
