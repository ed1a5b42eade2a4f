#include "core/services/switch_plan.hpp"

#include <gtest/gtest.h>

#include "core/services/state_paths.hpp"

namespace gpumod {
namespace {

using Steps = std::vector<SwitchStep>;

RunningService svc(std::string id, bool healthy = true, bool matches_spec = true)
{
    RunningService r;
    r.id = std::move(id);
    r.healthy = healthy;
    r.matches_spec = matches_spec;
    return r;
}

TEST(PlanSwitch, StopsEverythingOutsideTheTargetIncludingOrphansThenStartsInOrder)
{
    const auto plan = plan_switch({svc("zeta-orphan"), svc("chat"), svc("old")}, {"coder", "chat", "embed"});
    EXPECT_EQ(plan.stop, (std::vector<std::string>{"old", "zeta-orphan"}));
    EXPECT_EQ(plan.keep, (std::vector<std::string>{"chat"}));
    EXPECT_EQ(plan.start, (std::vector<std::string>{"coder", "embed"}));
    EXPECT_EQ(plan.steps, (Steps{{StepKind::stop, "old"},
                                 {StepKind::stop, "zeta-orphan"},
                                 {StepKind::wait_release, ""},
                                 {StepKind::start, "coder"},
                                 {StepKind::start, "embed"}}));
}

TEST(PlanSwitch, UnhealthyOrOutdatedMembersRestart)
{
    const auto wedged = svc("chat", false, true);
    const auto edited = svc("coder", true, false);
    const auto plan = plan_switch({wedged, edited}, {"chat", "coder"});
    EXPECT_TRUE(plan.keep.empty());
    EXPECT_EQ(plan.stop, (std::vector<std::string>{"chat", "coder"}));
    EXPECT_EQ(plan.start, (std::vector<std::string>{"chat", "coder"}));
}

TEST(PlanSwitch, NothingToDoWhenTheTargetAlreadyRuns)
{
    const auto plan = plan_switch({svc("a"), svc("b")}, {"b", "a"});
    EXPECT_TRUE(plan.steps.empty());
    EXPECT_EQ(plan.keep, (std::vector<std::string>{"b", "a"}));
}

TEST(PlanSwitch, BlankModeStopsAllWithoutAReleaseWait)
{
    const auto plan = plan_switch({svc("a"), svc("b")}, {});
    EXPECT_EQ(plan.steps, (Steps{{StepKind::stop, "a"}, {StepKind::stop, "b"}}));
}

TEST(PlanSwitch, DuplicateMembersCountOnce)
{
    const auto plan = plan_switch({}, {"a", "b", "a"});
    EXPECT_EQ(plan.start, (std::vector<std::string>{"a", "b"}));
}

TEST(PlanRollback, StopsWhatStartedNewestFirstThenRestartsWhatStopped)
{
    EXPECT_EQ(plan_rollback({"x", "y"}, {"a", "b"}),
              (Steps{{StepKind::stop, "y"},
                     {StepKind::stop, "x"},
                     {StepKind::wait_release, ""},
                     {StepKind::start, "a"},
                     {StepKind::start, "b"}}));
    EXPECT_EQ(plan_rollback({}, {"a"}), (Steps{{StepKind::start, "a"}}));
    EXPECT_TRUE(plan_rollback({}, {}).empty());
}

TEST(PlanIsolation, StopsAllButTheKeptService)
{
    EXPECT_EQ(plan_isolation({svc("c"), svc("keep"), svc("a")}, "keep"),
              (std::vector<std::string>{"a", "c"}));
}

TEST(StatePaths, XdgStateHomeThenHome)
{
    EXPECT_EQ(*resolve_state_dir("/s", "/h"), "/s/gpumod");
    EXPECT_EQ(*resolve_state_dir("relative", "/h"), "/h/.local/state/gpumod");
    EXPECT_EQ(*resolve_state_dir(std::nullopt, "/h"), "/h/.local/state/gpumod");
    EXPECT_FALSE(resolve_state_dir(std::nullopt, std::nullopt));
    EXPECT_EQ(service_log_path("/s/gpumod", "chat"), "/s/gpumod/logs/chat.log");
    EXPECT_EQ(switch_lock_path("/s/gpumod"), "/s/gpumod/mode-switch.lock");
}

} // namespace
} // namespace gpumod
