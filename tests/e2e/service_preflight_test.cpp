// The preflight gate, `service unit` and vLLM sleep/wake through the built binary. GPU memory
// comes from the fake NVML (GPUMOD_NVML_LIBRARY, one 24564 MiB GPU whose used memory a file
// sets); vLLM is a fake HTTP server in the test (support/fake_vllm.hpp).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "adapters/posix/process.hpp"
#include "adapters/sqlite/database.hpp"
#include "support/fake_vllm.hpp"
#include "support/service_cli_fixture.hpp"
#include "support/systemd_words.hpp"

namespace gpumod::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

/// The fake NVML's GPU 0 (an RTX 4090).
constexpr double k_fake_total_mib = 24564;

class ServicePreflightCli : public ServiceCliFixture
{
  protected:
    /// The fake NVML with one GPU of which `free_mib` MiB are free.
    void fake_gpu(double free_mib)
    {
        const auto used = m_dir.path() / "used-mib.txt";
        std::ofstream(used) << static_cast<uint64_t>(k_fake_total_mib - free_mib) << '\n';
        m_env["GPUMOD_NVML_LIBRARY"] = GPUMOD_FAKE_NVML_PATH;
        m_env["FAKE_NVML_GPU_COUNT"] = "1";
        m_env["FAKE_NVML_USED_MIB_FILE"] = used.string();
    }

    /// `gpumod plan`'s GPU total for `model` at `ctx` tokens, one slot, in MiB.
    double planned_mib(const std::filesystem::path& model, int ctx)
    {
        auto r = run({"plan", model.string(), "--ctx", std::to_string(ctx), "--parallel", "1",
                      "--gpu", "80GB", "--fit", "off", "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        const auto j = json::parse(r.out);
        return j.at("devices").at(0).at("total").get<double>() / (1024.0 * 1024.0);
    }

    /// Details of the events of `kind`, newest first.
    std::vector<std::string> events(const std::string& kind)
    {
        std::vector<std::string> out;
        auto db = sqlite::Database::open(m_env.at("GPUMOD_DB"));
        EXPECT_TRUE(db) << db.error().message;
        for (const auto& e :
             db->recent_events(100).value_or(std::vector<sqlite::Database::Event>{})) {
            if (e.kind == kind) {
                out.push_back(e.detail);
            }
        }
        return out;
    }
};

TEST_F(ServicePreflightCli, RefusesWhatDoesNotFitForceStartsItAndASmallOnePasses)
{
    auto model = make_model(m_dir.path(), "long.gguf", {"--n-ctx", "32768"});
    ASSERT_TRUE(model) << model.error().message;
    // The same model at 32768 and 512 tokens: free memory between the two predictions.
    const double big_mib = planned_mib(*model, 32768);
    const double small_mib = planned_mib(*model, 512);
    ASSERT_GT(big_mib - small_mib, 8.0);
    fake_gpu((big_mib + small_mib) / 2);
    raw_preset("big", fmt::format("id: big\nport: {}\nmodel_path: {}\nllamacpp:\n  ctx: 32768\n"
                                  "  parallel: 1\n  n_gpu_layers: all\n  threads: 1\n"
                                  "startup_timeout_s: 60\n",
                                  free_port(), model->string()));
    preset("small", free_port(), model->string());
    mode("bigmode", {"big"});
    mode("empty", {});

    auto refused = run({"service", "start", "big"});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_THAT(refused.err, HasSubstr("cannot start: service 'big' does not fit: GPU0 needs"));
    EXPECT_THAT(refused.err, HasSubstr("GPU0 (NVIDIA GeForce RTX 4090): "));
    EXPECT_THAT(refused.err, HasSubstr("KV cache 16.0 MiB"));
    EXPECT_THAT(refused.err, HasSubstr("fallbacks, best first:\n    1. --ctx-size "));
    EXPECT_THAT(refused.err, HasSubstr("next step: pass --force to start it anyway"));
    EXPECT_EQ(run({"service", "status", "big"}).exit_code, 1);
    ASSERT_FALSE(events("service.preflight").empty());
    EXPECT_THAT(events("service.preflight").front(), HasSubstr("big: does not fit: GPU0 needs"));
    EXPECT_THAT(events("service.preflight").front(), HasSubstr("[planner]; refused"));

    auto small = run({"service", "start", "small", "--json"});
    ASSERT_EQ(small.exit_code, 0) << small.err;
    const auto s = json::parse(small.out);
    EXPECT_EQ(s.at("preflight").at("outcome"), "fits");
    EXPECT_EQ(s.at("preflight").at("basis"), "planner");
    EXPECT_LT(s.at("preflight").at("gpus").at(0).at("needs_bytes").get<double>(),
              s.at("preflight").at("gpus").at(0).at("free_bytes").get<double>());
    collect_pids();

    // A switch to a mode of `big` stops `small` first (its memory is not in the fake's process
    // list, so only the gate at big's start can tell), is refused there and rolls back.
    auto switched = run({"mode", "switch", "bigmode"});
    collect_pids();
    EXPECT_EQ(switched.exit_code, 1);
    EXPECT_THAT(switched.err, HasSubstr("refused by the preflight check: service 'big' does not "
                                        "fit"));
    EXPECT_THAT(switched.err, HasSubstr("rolled back"));
    auto after = run({"service", "status", "small"});
    EXPECT_EQ(after.exit_code, 0) << after.out;

    auto forced = run({"service", "start", "big", "--force", "--json"});
    ASSERT_EQ(forced.exit_code, 0) << forced.err;
    const auto f = json::parse(forced.out);
    EXPECT_TRUE(f.at("ok").get<bool>());
    EXPECT_EQ(f.at("preflight").at("outcome"), "does not fit");
    EXPECT_TRUE(f.at("preflight").at("forced").get<bool>());
    EXPECT_FALSE(f.at("preflight").at("fallbacks").empty());
    EXPECT_THAT(forced.err, HasSubstr("gpumod: warning: service 'big' does not fit"));
    collect_pids();
    EXPECT_THAT(events("service.preflight").front(), HasSubstr("started anyway (--force)"));
}

TEST_F(ServicePreflightCli, WithoutAnNvidiaGpuNothingIsCheckedAndTheStartProceeds)
{
    m_env["GPUMOD_NVML_LIBRARY"] = GPUMOD_FAKE_NVML_PATH;
    m_env["FAKE_NVML_GPU_COUNT"] = "0";
    preset("chat", free_port(), m_model.string());
    mode("empty", {});
    auto started = run({"service", "start", "chat"});
    ASSERT_EQ(started.exit_code, 0) << started.err;
    collect_pids();
    EXPECT_THAT(started.out, HasSubstr("preflight: not checked: no NVIDIA GPU"));
    ASSERT_FALSE(events("service.preflight").empty());
    EXPECT_THAT(events("service.preflight").front(),
                HasSubstr("chat: not checked: no NVIDIA GPU (NVML reports 0 GPUs); start "
                          "proceeds"));
}

/// The ExecStart= value of a unit, and the Environment= lines.
struct UnitLines
{
    std::string exec_start;
    std::vector<std::string> environment;
};

UnitLines unit_lines(const std::string& unit)
{
    UnitLines lines;
    std::istringstream in(unit);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("ExecStart=", 0) == 0) {
            lines.exec_start = line.substr(10);
        } else if (line.rfind("Environment=", 0) == 0) {
            lines.environment.push_back(line.substr(12));
        }
    }
    return lines;
}

class ServiceUnitCli : public ServicePreflightCli
{
  protected:
    /// A preset whose argv and environment need every kind of systemd quoting.
    std::string awkward_preset()
    {
        raw_preset("chat", fmt::format("id: chat\nport: {}\nmodel_path: {}\nllamacpp:\n"
                                       "  ctx: 512\n  extra_args: [--alias, \"my model $$x 100%\", "
                                       "'a\"b\\c']\nenv:\n  GREETING: \"hi $$USER 5%\"\n",
                                       free_port(), m_model.string()));
        mode("empty", {});
        auto unit = run({"service", "unit", "chat"});
        EXPECT_EQ(unit.exit_code, 0) << unit.err;
        return unit.out;
    }
};

TEST_F(ServiceUnitCli, RunsExactlyWhatServiceCmdShows)
{
    const std::string unit = awkward_preset();
    auto cmd = run({"service", "cmd", "chat", "--json"});
    ASSERT_EQ(cmd.exit_code, 0) << cmd.err;
    const auto expected = json::parse(cmd.out);
    const auto lines = unit_lines(unit);
    const auto argv = systemd_exec_words(lines.exec_start);
    ASSERT_TRUE(argv) << lines.exec_start;
    EXPECT_EQ(json(*argv), expected.at("argv")) << lines.exec_start;
    ASSERT_EQ(lines.environment.size(), 1U);
    EXPECT_EQ(lines.environment[0], R"("GREETING=hi $USER 5%%")");
    EXPECT_EQ(expected.at("env").at("GREETING"), "hi $USER 5%");

    EXPECT_THAT(unit, HasSubstr("# gpumod-chat.service: generated by `gpumod service unit chat`"));
    EXPECT_THAT(unit, HasSubstr("> ~/.config/systemd/user/gpumod-chat.service\n"));
    EXPECT_THAT(unit, HasSubstr("#   systemctl --user daemon-reload\n"));
    EXPECT_THAT(unit, HasSubstr("#   systemctl --user start gpumod-chat\n"));
    EXPECT_THAT(unit, HasSubstr("\nWorkingDirectory=" +
                                (m_dir.path() / "config/gpumod/presets").string() + "\n"));
    EXPECT_THAT(unit, HasSubstr("\nRestart=on-failure\n"));
    EXPECT_THAT(unit, HasSubstr("\nKillMode=control-group\n"));
    EXPECT_THAT(unit, HasSubstr("\nTimeoutStopSec=10\n"));
    EXPECT_THAT(unit, HasSubstr("\nStandardOutput=append:" +
                                (m_dir.path() / "state/gpumod/logs/chat.log").string() + "\n"));

    auto as_json = run({"service", "unit", "chat", "--json"});
    ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
    const auto j = json::parse(as_json.out);
    EXPECT_EQ(j.at("unit_name"), "gpumod-chat.service");
    EXPECT_EQ(j.at("install_path"), "~/.config/systemd/user/gpumod-chat.service");
    EXPECT_EQ(j.at("unit"), unit);
    EXPECT_EQ(run({"service", "unit", "nope"}).exit_code, 2);
}

TEST_F(ServiceUnitCli, SystemdAcceptsTheUnit)
{
    const std::string analyze = "/usr/bin/systemd-analyze";
    if (!std::filesystem::exists(analyze)) {
        GTEST_SKIP() << "systemd-analyze is not installed (Debian package systemd)";
    }
    const std::string unit = awkward_preset();
    const auto path = m_dir.path() / "gpumod-chat.service";
    std::ofstream(path) << unit;
    // Offline (system-manager) verification parses every setting without a running systemd.
    auto verified =
        posix::run_command({analyze, "verify", path.string()}, std::chrono::seconds(30));
    ASSERT_TRUE(verified) << verified.error().message;
    if (!verified->status.success() &&
        verified->err.find("Failed to initialize manager") != std::string::npos) {
        GTEST_SKIP() << "systemd-analyze cannot run here: " << verified->err;
    }
    EXPECT_TRUE(verified->status.success()) << verified->err << verified->out;
    EXPECT_EQ(verified->err, "");
}

TEST_F(ServicePreflightCli, SleepsAndWakesAVllmServiceOnly)
{
    FakeVllm vllm;
    raw_preset("v", fmt::format("id: v\ndriver: vllm\nport: {}\nvllm:\n  model: Qwen/Qwen3-0.6B\n"
                                "  enable_sleep_mode: true\n",
                                vllm.port()));
    preset("chat", free_port(), m_model.string());
    mode("empty", {});

    auto slept = run({"service", "sleep", "v"});
    ASSERT_EQ(slept.exit_code, 0) << slept.err;
    EXPECT_THAT(slept.out, HasSubstr("v is asleep (level 1)"));
    EXPECT_TRUE(vllm.sleeping());
    EXPECT_EQ(vllm.level(), 1);

    auto deeper = run({"service", "sleep", "v", "--level", "2", "--json"});
    ASSERT_EQ(deeper.exit_code, 0) << deeper.err;
    const auto d = json::parse(deeper.out);
    EXPECT_EQ(d.at("level"), 2);
    EXPECT_EQ(d.at("is_sleeping"), true);
    EXPECT_EQ(vllm.level(), 2);

    auto woken = run({"service", "wake", "v"});
    ASSERT_EQ(woken.exit_code, 0) << woken.err;
    EXPECT_THAT(woken.out, HasSubstr("v is awake"));
    EXPECT_FALSE(vllm.sleeping());
    const auto calls = vllm.calls();
    EXPECT_EQ(std::count(calls.begin(), calls.end(), "POST /sleep?level=1"), 1);
    EXPECT_EQ(std::count(calls.begin(), calls.end(), "POST /sleep?level=2"), 1);
    EXPECT_EQ(std::count(calls.begin(), calls.end(), "POST /wake_up"), 1);
    ASSERT_EQ(events("service.sleep").size(), 2U);
    EXPECT_THAT(events("service.wake").front(), HasSubstr("v in "));

    auto not_vllm = run({"service", "sleep", "chat"});
    EXPECT_EQ(not_vllm.exit_code, 2);
    EXPECT_THAT(not_vllm.err, HasSubstr("service 'chat' runs driver llamacpp"));
    EXPECT_NE(run({"service", "sleep", "v", "--level", "3"}).exit_code, 0);
}

TEST_F(ServicePreflightCli, AVllmWithoutSleepModeGetsTheFlagNamed)
{
    FakeVllm vllm(FakeVllm::Options{false, 0});
    raw_preset("v", fmt::format("id: v\ndriver: vllm\nport: {}\nvllm:\n  model: m\n", vllm.port()));
    mode("empty", {});
    auto slept = run({"service", "sleep", "v"});
    EXPECT_EQ(slept.exit_code, 1);
    EXPECT_THAT(slept.err, HasSubstr("sleep of 'v' failed"));
    EXPECT_THAT(slept.err, HasSubstr("404"));
    EXPECT_THAT(slept.err, HasSubstr("--enable-sleep-mode"));
    EXPECT_FALSE(vllm.sleeping());
}

} // namespace
} // namespace gpumod::testing
