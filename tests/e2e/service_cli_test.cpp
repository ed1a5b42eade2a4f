// `gpumod service|mode|isolate` driven through the built binary against a real llama-server
// with tiny models (fixture: support/service_cli_fixture.hpp). Every test stops what it
// started and checks that no process is left.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "adapters/posix/clock.hpp"
#include "adapters/posix/net.hpp"
#include "adapters/posix/process.hpp"
#include "support/service_cli_fixture.hpp"

namespace gpumod::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using nlohmann::json;

class ServiceCli : public ServiceCliFixture
{
};

TEST_F(ServiceCli, StartStatusLogsCmdStop)
{
    const int port = free_port();
    preset("chat", port, m_model.string());
    mode("empty", {});

    auto cmd = run({"service", "cmd", "chat", "--json"});
    ASSERT_EQ(cmd.exit_code, 0) << cmd.err;
    const auto argv = json::parse(cmd.out).at("argv");
    EXPECT_EQ(argv[0], m_env["GPUMOD_LLAMA_SERVER"]);
    EXPECT_THAT(cmd.out, HasSubstr(m_model.string()));

    auto started = run({"service", "start", "chat", "--json"});
    ASSERT_EQ(started.exit_code, 0) << started.err << started.out;
    const auto s = json::parse(started.out);
    EXPECT_TRUE(s.at("ok").get<bool>());
    EXPECT_TRUE(s.at("timings").at("saw_listening_line").get<bool>());
    EXPECT_LT(s.at("timings").at("detect_us").get<int64_t>(), 50000);
    const int pid = s.at("record").at("pid").get<int>();
    m_pids.insert(pid);

    auto status = run({"service", "status", "chat", "--json"});
    ASSERT_EQ(status.exit_code, 0) << status.err;
    const auto st = json::parse(status.out);
    EXPECT_EQ(st.at("state"), "ready");
    EXPECT_EQ(st.at("pid"), pid);
    EXPECT_EQ(st.at("port"), port);
    EXPECT_EQ(st.at("health_status"), 200);

    auto text = run({"service", "list"});
    EXPECT_THAT(text.out, HasSubstr("chat"));
    EXPECT_THAT(text.out, HasSubstr("ready"));

    // `gpumod status` shows what runs next to the GPUs.
    auto overall = run({"status", "--json"});
    ASSERT_EQ(overall.exit_code, 0) << overall.err;
    const auto o = json::parse(overall.out);
    ASSERT_EQ(o.at("services").size(), 1U) << overall.out;
    EXPECT_EQ(o.at("services")[0].at("id"), "chat");
    EXPECT_EQ(o.at("services")[0].at("state"), "ready");
    EXPECT_EQ(o.at("services")[0].at("pid"), pid);
    EXPECT_EQ(o.at("services")[0].at("port"), port);
    auto overall_text = run({"status"});
    EXPECT_THAT(overall_text.out, HasSubstr("service"));
    EXPECT_THAT(overall_text.out, HasSubstr("ready"));

    auto logs = run({"service", "logs", "chat", "-n", "1"});
    ASSERT_EQ(logs.exit_code, 0) << logs.err;
    EXPECT_THAT(logs.out, HasSubstr(fmt::format("listening on http://127.0.0.1:{}", port)));

    auto stopped = run({"service", "stop", "chat"});
    ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
    EXPECT_THAT(stopped.out, HasSubstr(fmt::format("stopped chat (pid {})", pid)));
    EXPECT_FALSE(posix::process_group_alive(pid));
    auto after = run({"service", "status", "chat"});
    EXPECT_EQ(after.exit_code, 1);
    EXPECT_THAT(after.out, HasSubstr("stopped"));
}

TEST_F(ServiceCli, ServiceOutlivesAKilledGpumodAndIsAdopted)
{
    const int chat_port = free_port();
    const int slow_port = free_port();
    preset("chat", chat_port, m_model.string());
    command_preset("slow", slow_port, "exec sleep 60");
    mode("big", {"chat", "slow"});
    mode("empty", {});
    // `mode switch big` starts chat, then waits for slow forever: kill it there.
    posix::SpawnOptions options;
    options.argv = {GPUMOD_BINARY, "mode", "switch", "big"};
    options.env_overrides = m_env;
    options.stdout_target = posix::OutputTarget::file(m_dir.path() / "switch.out");
    options.stderr_target = posix::OutputTarget::file(m_dir.path() / "switch.err");
    auto cli = posix::spawn(options);
    ASSERT_TRUE(cli) << cli.error().message;
    const auto deadline = posix::monotonic_now() + 60s;
    bool slow_recorded = false;
    while (!slow_recorded && posix::monotonic_now() < deadline) {
        const auto listed = list_json();
        for (const auto& s : listed.at("services")) {
            slow_recorded = slow_recorded || (s.at("id") == "slow" && s.contains("pid"));
        }
        if (!slow_recorded) {
            posix::sleep_for(20ms);
        }
    }
    ASSERT_TRUE(slow_recorded) << "switch said: " << read_text(m_dir.path() / "switch.out")
                               << read_text(m_dir.path() / "switch.err");
    ASSERT_TRUE(cli->signal_group(SIGKILL));
    cli->wait();

    const auto services = list_json().at("services");
    std::map<std::string, json> by_id;
    for (const auto& s : services) {
        by_id[s.at("id")] = s;
        if (s.contains("pid")) {
            m_pids.insert(s.at("pid").get<int>());
        }
    }
    EXPECT_EQ(by_id.at("chat").at("state"), "ready");
    EXPECT_EQ(by_id.at("slow").at("state"), "loading");
    auto health = run({"service", "status", "chat", "--json"});
    EXPECT_EQ(json::parse(health.out).at("health_status"), 200);
    auto status = run({"mode", "status", "--json"});
    ASSERT_EQ(status.exit_code, 0) << status.err;
    EXPECT_TRUE(json::parse(status.out).at("id").is_null());

    auto cleanup = run({"mode", "switch", "empty", "--json"});
    ASSERT_EQ(cleanup.exit_code, 0) << cleanup.err;
    EXPECT_EQ(json::parse(cleanup.out).at("stopped"), json::array({"chat", "slow"}));
}

TEST_F(ServiceCli, ModeSwitchStatusAndRollback)
{
    preset("chat", free_port(), m_model.string());
    preset("coder", free_port(), m_model.string());
    preset("broken", free_port(), "/nonexistent/model.gguf");
    mode("one", {"chat"});
    mode("two", {"coder"});
    mode("bad", {"coder", "broken"});
    mode("empty", {});

    auto one = run({"mode", "switch", "one"});
    ASSERT_EQ(one.exit_code, 0) << one.err;
    EXPECT_THAT(one.out, HasSubstr("start"));
    EXPECT_THAT(one.out, HasSubstr("switch one: done"));
    collect_pids();

    auto two = run({"mode", "switch", "two", "--json"});
    ASSERT_EQ(two.exit_code, 0) << two.err;
    const auto report = json::parse(two.out);
    EXPECT_EQ(report.at("previous_mode"), "one");
    EXPECT_EQ(report.at("stopped"), json::array({"chat"}));
    EXPECT_EQ(report.at("started"), json::array({"coder"}));
    collect_pids();

    auto status = run({"mode", "status", "--json"});
    const auto st = json::parse(status.out);
    EXPECT_EQ(st.at("id"), "two");
    EXPECT_TRUE(st.at("in_sync").get<bool>());

    auto bad = run({"mode", "switch", "bad"});
    collect_pids();
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_THAT(bad.err, HasSubstr("'broken'"));
    EXPECT_THAT(bad.err, HasSubstr("the model file does not exist"));
    EXPECT_THAT(bad.err, HasSubstr("rolled back"));
    auto after = json::parse(run({"mode", "status", "--json"}).out);
    EXPECT_EQ(after.at("id"), "two");
    EXPECT_TRUE(after.at("in_sync").get<bool>());
}

TEST_F(ServiceCli, FailedStartShowsTheCauseAndNextStep)
{
    preset("broken", free_port(), "/nonexistent/model.gguf");
    mode("empty", {});
    auto r = run({"service", "start", "broken"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("the model file does not exist"));
    EXPECT_THAT(r.err, HasSubstr("next step"));
    EXPECT_THAT(r.err, HasSubstr("/nonexistent/model.gguf"));
    auto unknown = run({"service", "start", "nope"});
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_THAT(unknown.err, HasSubstr("unknown service 'nope'"));
}

TEST_F(ServiceCli, IsolateRestoreAndFollowLogs)
{
    preset("chat", free_port(), m_model.string());
    preset("coder", free_port(), m_model.string());
    mode("both", {"chat", "coder"});
    mode("empty", {});
    ASSERT_EQ(run({"mode", "switch", "both"}).exit_code, 0);
    collect_pids();

    // `logs -f` follows until the service stops, then exits by itself.
    posix::SpawnOptions follow;
    // A tail long enough to hold the start-up lines whatever the server printed after them
    // (with "-n 1" the test raced the server's idle-slot lines).
    follow.argv = {GPUMOD_BINARY, "service", "logs", "chat", "-f", "-n", "500"};
    follow.env_overrides = m_env;
    follow.stdout_target = posix::OutputTarget::pipe();
    follow.stderr_target = posix::OutputTarget::null();
    auto follower = posix::spawn(follow);
    ASSERT_TRUE(follower);

    auto isolated = run({"isolate", "coder", "--json"});
    ASSERT_EQ(isolated.exit_code, 0) << isolated.err;
    EXPECT_EQ(json::parse(isolated.out).at("stopped"), json::array({"chat"}));
    const auto followed = follower->read_all_stdout(30s);
    const auto ended = follower->wait_for(30s);
    ASSERT_TRUE(ended);
    EXPECT_TRUE(ended->success());
    EXPECT_THAT(followed, HasSubstr("listening on"));
    // Lines written after the follower started: the server's shutdown, then logs -f ends.
    EXPECT_THAT(followed, HasSubstr("cleaning up before exit"));

    auto restored = run({"isolate", "--restore", "--json"});
    ASSERT_EQ(restored.exit_code, 0) << restored.err;
    EXPECT_EQ(json::parse(restored.out).at("started"), json::array({"chat"}));
    collect_pids();
    EXPECT_EQ(run({"isolate"}).exit_code, 2);
}

} // namespace
} // namespace gpumod::testing
