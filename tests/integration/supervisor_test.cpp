// Supervised services against the real OS and a real llama-server (GPUMOD_LLAMA_SERVER) with
// tiny generated models. Fault injection uses /bin/sh through the `command` driver. Every test
// ends by checking that no process it started is left (process groups and /proc).

#include "adapters/services/mode_switcher.hpp"
#include "adapters/services/supervisor.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "../support/temp_dir.hpp"
#include "adapters/http/http_client.hpp"
#include "adapters/posix/atomic_file.hpp"
#include "adapters/posix/clock.hpp"
#include "adapters/posix/environment.hpp"
#include "adapters/posix/net.hpp"
#include "adapters/posix/process.hpp"
#include "adapters/services/detached_process.hpp"
#include "adapters/services/log_file.hpp"
#include "adapters/services/service_store.hpp"
#include "adapters/services/switch_lock.hpp"
#include "adapters/sqlite/database.hpp"
#include "core/gguf/gguf_writer.hpp"
#include "core/gguf/tiny_model.hpp"
#include "core/services/state_paths.hpp"

namespace gpumod::services {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing::TempDir;

std::optional<std::string> llama_server()
{
    auto env = posix::get_env("GPUMOD_LLAMA_SERVER");
    if (env && !env->empty() && std::filesystem::exists(*env)) {
        return env;
    }
    return std::nullopt;
}

uint16_t free_port()
{
    auto port = posix::find_free_loopback_port();
    EXPECT_TRUE(port) << port.error().message;
    return static_cast<uint16_t>(port.value_or(0));
}

std::string read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

int health_status(uint16_t port)
{
    auto client = http::HttpClient::create(fmt::format("http://127.0.0.1:{}", port),
                                           http::Timeouts{1000ms, 2000ms, 1000ms});
    if (!client) {
        return -1;
    }
    auto r = client->get("/health");
    return r ? r->status : -1;
}

class Supervision : public ::testing::Test
{
  protected:
    static void SetUpTestSuite()
    {
        s_models = std::make_unique<TempDir>();
        auto model = gguf::make_scripted_model({}, gguf::TinyModelOptions{1024, 42});
        ASSERT_TRUE(model) << model.error().message;
        auto bytes = gguf::write_gguf(model->model);
        ASSERT_TRUE(bytes) << bytes.error().message;
        ASSERT_TRUE(posix::write_file_atomically(model_path(), *bytes));
    }
    static void TearDownTestSuite() { s_models.reset(); }
    static std::filesystem::path model_path() { return s_models->path() / "tiny.gguf"; }

    void SetUp() override
    {
        auto db = sqlite::Database::open(m_dir.path() / "gpumod.db");
        ASSERT_TRUE(db) << db.error().message;
        m_db = std::make_unique<sqlite::Database>(std::move(*db));
        SupervisorOptions options;
        options.state_dir = m_dir.path() / "state";
        options.stop_grace = 5000ms;
        m_supervisor = std::make_unique<Supervisor>(*m_db, options);
    }

    void TearDown() override
    {
        // Stop whatever the test left recorded, then prove nothing it started survives.
        if (m_supervisor) {
            if (auto records = ServiceStore(*m_db).list()) {
                for (const auto& r : *records) {
                    remember(r.pid);
                    EXPECT_TRUE(m_supervisor->stop(r.id));
                }
            }
        }
        for (const int pid : m_pids) {
            EXPECT_FALSE(posix::process_group_alive(pid)) << "process group " << pid << " left";
            EXPECT_FALSE(read_start_time(pid).has_value()) << "process " << pid << " left";
        }
    }

    void remember(int pid) { m_pids.insert(pid); }

    /// Starts and remembers the pid for the orphan check.
    StartOutcome start(const ServiceSpec& spec)
    {
        auto outcome = m_supervisor->start(spec);
        if (outcome.record) {
            remember(outcome.record->pid);
        }
        return outcome;
    }

    ServiceSpec llama(const std::string& id, uint16_t port,
                      std::optional<std::filesystem::path> model = std::nullopt)
    {
        ServiceSpec spec;
        spec.id = id;
        spec.name = id;
        spec.port = port;
        spec.argv = {*llama_server(), "-m", model.value_or(model_path()).string(), "--host",
                     "127.0.0.1", "--port", std::to_string(port), "-c", "512", "-np", "1",
                     "-t", "1"};
        spec.startup_timeout = 60s;
        return spec;
    }

    static ServiceSpec shell(const std::string& id, uint16_t port, const std::string& script)
    {
        ServiceSpec spec;
        spec.id = id;
        spec.driver = ServiceDriver::command;
        spec.port = port;
        spec.health_path = port != 0 ? "/health" : "";
        spec.argv = {"/bin/sh", "-c", script};
        spec.startup_timeout = 10s;
        return spec;
    }

    ModeSwitcher switcher(const InMemoryCatalog& catalog)
    {
        return ModeSwitcher(
            *m_supervisor, *m_db, [&catalog](const std::string& id) { return catalog.service(id); },
            [](const ServiceSpec&, const FreeMemoryDelta&) { return PreflightVerdict{}; },
            [] { return Result<GpuInventory>(GpuInventory{}); });
    }

    /// Every pid a report's steps name, for the orphan check.
    void remember_running()
    {
        if (auto live = m_supervisor->observe()) {
            for (const auto& s : *live) {
                remember(s.record.pid);
            }
        }
    }

    TempDir m_dir;
    std::unique_ptr<sqlite::Database> m_db;
    std::unique_ptr<Supervisor> m_supervisor;
    std::set<int> m_pids;
    static std::unique_ptr<TempDir> s_models;
};

std::unique_ptr<TempDir> Supervision::s_models;

#define REQUIRE_LLAMA_SERVER()                                                                     \
    do {                                                                                           \
        if (!llama_server()) {                                                                     \
            GTEST_SKIP() << "GPUMOD_LLAMA_SERVER is unset (scripts/setup-llama-server provides "  \
                            "one)";                                                                \
        }                                                                                          \
    } while (false)

TEST_F(Supervision, StartStatusLogsStop)
{
    REQUIRE_LLAMA_SERVER();
    const uint16_t port = free_port();
    const auto outcome = start(llama("chat", port));
    ASSERT_TRUE(outcome.ok) << outcome.error << outcome.log_tail;
    EXPECT_FALSE(outcome.already_running);
    EXPECT_EQ(health_status(port), 200);
    // Readiness is the server's own "listening" line, confirmed by /health within 50 ms.
    EXPECT_TRUE(outcome.timings.saw_listening_line);
    EXPECT_LT(outcome.timings.detect_us, 50000);
    EXPECT_TRUE(outcome.timings.server_clock_listening_us.has_value());
    EXPECT_GT(outcome.timings.load_us, 0);

    auto observed = m_supervisor->observe_one("chat");
    ASSERT_TRUE(observed && *observed);
    EXPECT_EQ((*observed)->state, ServiceState::ready);
    EXPECT_EQ((*observed)->record.pid, outcome.record->pid);
    EXPECT_EQ((*observed)->record.port, port);
    EXPECT_EQ((*observed)->record.argv, llama("chat", port).argv);
    EXPECT_TRUE(process_matches(outcome.record->pid, outcome.record->start_time_ticks));

    const auto log = m_supervisor->log_path("chat");
    EXPECT_EQ(log, m_dir.path() / "state" / "logs" / "chat.log");
    EXPECT_THAT(read_file(log), HasSubstr("listening on http://127.0.0.1:" + std::to_string(port)));
    EXPECT_THAT(read_last_lines(log, 1), HasSubstr("listening on"));

    const auto again = start(llama("chat", port));
    EXPECT_TRUE(again.ok && again.already_running);
    EXPECT_EQ(again.record->pid, outcome.record->pid);

    auto stopped = m_supervisor->stop("chat");
    ASSERT_TRUE(stopped) << stopped.error().message;
    EXPECT_TRUE(stopped->was_running);
    EXPECT_FALSE(stopped->killed);
    EXPECT_FALSE(posix::process_group_alive(outcome.record->pid));
    EXPECT_FALSE(*ServiceStore(*m_db).get("chat"));
    auto stopped_again = m_supervisor->stop("chat");
    ASSERT_TRUE(stopped_again);
    EXPECT_FALSE(stopped_again->was_running);
}

TEST_F(Supervision, RestartRotatesTheLog)
{
    REQUIRE_LLAMA_SERVER();
    const uint16_t port = free_port();
    ASSERT_TRUE(start(llama("chat", port)).ok);
    ASSERT_TRUE(m_supervisor->stop("chat"));
    const auto first = start(llama("chat", port));
    ASSERT_TRUE(first.ok) << first.error;
    auto previous = m_supervisor->log_path("chat");
    previous += ".1";
    EXPECT_THAT(read_file(previous), HasSubstr("listening on"));
    // The fresh log holds exactly one start.
    const std::string current = read_file(m_supervisor->log_path("chat"));
    EXPECT_EQ(current.find("listening on"), current.rfind("listening on"));
}

TEST_F(Supervision, ServiceOutlivesTheProcessThatStartedIt)
{
    REQUIRE_LLAMA_SERVER();
    const uint16_t port = free_port();
    const auto spec = llama("chat", port);
    const auto db_path = m_db->path();
    const auto state_dir = m_supervisor->options().state_dir;
    const pid_t starter = ::fork();
    ASSERT_GE(starter, 0);
    if (starter == 0) {
        // A separate "gpumod" that starts the service and dies without stopping it.
        auto db = sqlite::Database::open(db_path);
        SupervisorOptions options;
        options.state_dir = state_dir;
        Supervisor supervisor(*db, options);
        ::_exit(supervisor.start(spec).ok ? 0 : 1);
    }
    int raw = 0;
    ASSERT_EQ(::waitpid(starter, &raw, 0), starter);
    ASSERT_TRUE(WIFEXITED(raw) && WEXITSTATUS(raw) == 0);

    auto observed = m_supervisor->observe_one("chat");
    ASSERT_TRUE(observed && *observed);
    remember((*observed)->record.pid);
    EXPECT_EQ((*observed)->state, ServiceState::ready);
    EXPECT_EQ(health_status(port), 200);
    // Its own session and group, and no longer a child of the dead starter.
    EXPECT_EQ(::getsid((*observed)->record.pid), (*observed)->record.pid);
    EXPECT_EQ(::getpgid((*observed)->record.pid), (*observed)->record.pid);
    auto stopped = m_supervisor->stop("chat");
    ASSERT_TRUE(stopped);
    EXPECT_TRUE(stopped->was_running);
}

TEST_F(Supervision, DeadAndReusedRecordsAreClearedNotAdopted)
{
    ServiceStore store(*m_db);
    ServiceRecord reused;
    reused.id = "reused";
    reused.pid = ::getpid(); // alive, but not the process that was started
    reused.start_time_ticks = *read_start_time(::getpid()) + 1;
    reused.host = "127.0.0.1";
    ASSERT_TRUE(store.put(reused));
    // A pid from a process that ended (fork + reap: its pid is free now).
    const pid_t gone = ::fork();
    if (gone == 0) {
        ::_exit(0);
    }
    ::waitpid(gone, nullptr, 0);
    ServiceRecord dead = reused;
    dead.id = "dead";
    dead.pid = gone;
    dead.start_time_ticks = 1;
    ASSERT_TRUE(store.put(dead));

    std::vector<ClearedRecord> cleared;
    auto live = m_supervisor->observe(&cleared);
    ASSERT_TRUE(live) << live.error().message;
    EXPECT_TRUE(live->empty());
    ASSERT_EQ(cleared.size(), 2U);
    EXPECT_EQ(cleared[0].id, "dead");
    EXPECT_EQ(cleared[0].reason, "process gone");
    EXPECT_EQ(cleared[1].id, "reused");
    EXPECT_EQ(cleared[1].reason, "pid reused by another process");
    EXPECT_TRUE(store.list()->empty());
    // Stopping through a stale record must never signal the process now owning the pid.
    ASSERT_TRUE(store.put(reused));
    auto stopped = m_supervisor->stop("reused");
    ASSERT_TRUE(stopped);
    EXPECT_FALSE(stopped->was_running);
}

TEST_F(Supervision, MissingModelFileIsClassified)
{
    REQUIRE_LLAMA_SERVER();
    const auto outcome = start(llama("broken", free_port(), "/nonexistent/model.gguf"));
    ASSERT_FALSE(outcome.ok);
    ASSERT_TRUE(outcome.diagnosis);
    EXPECT_EQ(outcome.diagnosis->kind, FailureKind::model_file_missing);
    EXPECT_THAT(outcome.diagnosis->matched_line, HasSubstr("/nonexistent/model.gguf"));
    EXPECT_THAT(outcome.error, HasSubstr("next step"));
    EXPECT_THAT(outcome.error, HasSubstr("broken.log"));
    EXPECT_FALSE(outcome.exit_description.empty());
    EXPECT_FALSE(*ServiceStore(*m_db).get("broken"));
}

TEST_F(Supervision, UnknownFlagIsClassified)
{
    REQUIRE_LLAMA_SERVER();
    auto spec = llama("flags", free_port());
    spec.argv.push_back("--no-such-flag");
    const auto outcome = start(spec);
    ASSERT_FALSE(outcome.ok);
    ASSERT_TRUE(outcome.diagnosis);
    EXPECT_EQ(outcome.diagnosis->kind, FailureKind::unknown_flag);
    EXPECT_THAT(outcome.diagnosis->matched_line, HasSubstr("--no-such-flag"));
}

TEST_F(Supervision, PortTakenIsRefusedBeforeStarting)
{
    REQUIRE_LLAMA_SERVER();
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    const auto port = ntohs(address.sin_port);

    const auto outcome = start(llama("chat", port));
    ::close(fd);
    ASSERT_FALSE(outcome.ok);
    ASSERT_TRUE(outcome.diagnosis);
    EXPECT_EQ(outcome.diagnosis->kind, FailureKind::port_in_use);
    EXPECT_THAT(outcome.error, HasSubstr(fmt::format("port {}", port)));
    // Refused before spawning: no process, no log.
    EXPECT_FALSE(outcome.record);
    EXPECT_FALSE(std::filesystem::exists(m_supervisor->log_path("chat")));
}

TEST_F(Supervision, PortOfAnotherServiceIsRefusedNamingIt)
{
    const uint16_t port = free_port();
    // A fake server: python would do, but a shell that only sleeps is enough without health.
    auto first = shell("first", 0, "sleep 30");
    first.port = port;
    first.health_path = "";
    ASSERT_TRUE(start(first).ok);
    auto second = shell("second", port, "sleep 30");
    const auto outcome = start(second);
    ASSERT_FALSE(outcome.ok);
    EXPECT_THAT(outcome.error, HasSubstr("service 'first'"));
    EXPECT_EQ(outcome.diagnosis->kind, FailureKind::port_in_use);
}

TEST_F(Supervision, CrashDuringLoadIsClassifiedWithTheExitStatus)
{
    const auto outcome = start(shell(
        "crashy", free_port(),
        "echo 'load_model: loading model'; sleep 0.2; "
        "echo 'ggml_backend_cuda_buffer_type_alloc_buffer: allocating 20480.00 MiB on device 0: "
        "cudaMalloc failed: out of memory' >&2; exit 3"));
    ASSERT_FALSE(outcome.ok);
    ASSERT_TRUE(outcome.diagnosis);
    EXPECT_EQ(outcome.diagnosis->kind, FailureKind::out_of_memory);
    EXPECT_EQ(outcome.exit_description, "exited with code 3");
    EXPECT_THAT(outcome.log_tail, HasSubstr("loading model"));
    EXPECT_FALSE(*ServiceStore(*m_db).get("crashy"));
}

TEST_F(Supervision, StartupTimeoutStopsTheGroup)
{
    auto spec = shell("slow", free_port(), "sleep 30 & sleep 30");
    spec.startup_timeout = 300ms;
    const auto begin = posix::monotonic_now();
    const auto outcome = start(spec);
    EXPECT_LT(posix::monotonic_now() - begin, 5s);
    ASSERT_FALSE(outcome.ok);
    EXPECT_THAT(outcome.error, HasSubstr("not ready within 300 ms"));
    EXPECT_FALSE(*ServiceStore(*m_db).get("slow"));
    // The pid of the failed start is in the log path's events; the group check in TearDown
    // needs it: take it from the event log.
    auto events = m_db->recent_events(10);
    ASSERT_TRUE(events);
    bool spawned = false;
    for (const auto& e : *events) {
        if (e.kind == "service.spawn") {
            spawned = true;
            const auto pid = std::stoi(e.detail.substr(e.detail.find("pid ") + 4));
            remember(pid);
        }
    }
    EXPECT_TRUE(spawned);
}

TEST_F(Supervision, StopEscalatesToKillForTheWholeGroup)
{
    SupervisorOptions options = m_supervisor->options();
    options.stop_grace = 200ms;
    Supervisor impatient(*m_db, options);
    // Ignores TERM, and has a background member that must go too.
    auto outcome = start(shell("stubborn", 0, "trap '' TERM; sleep 60 & sleep 60"));
    ASSERT_TRUE(outcome.ok) << outcome.error;
    posix::sleep_for(100ms); // let the shell install its trap
    auto stopped = impatient.stop("stubborn");
    ASSERT_TRUE(stopped) << stopped.error().message;
    EXPECT_TRUE(stopped->was_running);
    EXPECT_TRUE(stopped->killed);
    EXPECT_GE(stopped->took_us, 200000);
    EXPECT_FALSE(posix::process_group_alive(outcome.record->pid));
}

TEST_F(Supervision, ModeSwitchBetweenTwoModes)
{
    REQUIRE_LLAMA_SERVER();
    InMemoryCatalog catalog;
    catalog.add(llama("chat", free_port()));
    catalog.add(llama("coder", free_port()));
    catalog.add(ModeSpec{"one", "One", {"chat"}});
    catalog.add(ModeSpec{"two", "Two", {"coder"}});
    auto modes = switcher(catalog);

    auto first = modes.switch_to(*catalog.mode("one"), {});
    remember_running();
    ASSERT_TRUE(first.ok) << first.error;
    EXPECT_EQ(first.started, (std::vector<std::string>{"chat"}));
    EXPECT_EQ(*m_db->get_setting(k_setting_current_mode), std::optional<std::string>("one"));
    const int chat_pid = (*m_supervisor->observe_one("chat"))->record.pid;

    auto second = modes.switch_to(*catalog.mode("two"), {});
    remember_running();
    ASSERT_TRUE(second.ok) << second.error;
    EXPECT_EQ(second.previous_mode, std::optional<std::string>("one"));
    EXPECT_EQ(second.stopped, (std::vector<std::string>{"chat"}));
    EXPECT_EQ(second.started, (std::vector<std::string>{"coder"}));
    ASSERT_EQ(second.steps.size(), 3U);
    EXPECT_EQ(second.steps[0].kind, StepKind::stop);
    EXPECT_EQ(second.steps[1].kind, StepKind::wait_release);
    EXPECT_EQ(second.steps[1].detail, "skipped: no NVIDIA GPU visible");
    EXPECT_EQ(second.steps[2].kind, StepKind::start);
    ASSERT_TRUE(second.steps[2].timings);
    EXPECT_TRUE(second.steps[2].timings->saw_listening_line);
    EXPECT_EQ(second.steps[2].preflight, "not checked");
    EXPECT_FALSE(posix::process_group_alive(chat_pid));
    EXPECT_EQ(*m_db->get_setting(k_setting_current_mode), std::optional<std::string>("two"));

    // Switching to the running mode changes nothing.
    auto same = modes.switch_to(*catalog.mode("two"), {});
    ASSERT_TRUE(same.ok);
    EXPECT_TRUE(same.steps.empty());
    EXPECT_EQ(same.kept, (std::vector<std::string>{"coder"}));
}

TEST_F(Supervision, ModeSwitchRollsBackWhenAMemberFails)
{
    REQUIRE_LLAMA_SERVER();
    InMemoryCatalog catalog;
    catalog.add(llama("chat", free_port()));
    catalog.add(llama("coder", free_port()));
    catalog.add(llama("broken", free_port(), "/nonexistent/model.gguf"));
    catalog.add(ModeSpec{"one", "One", {"chat"}});
    catalog.add(ModeSpec{"bad", "Bad", {"coder", "broken"}});
    auto modes = switcher(catalog);
    ASSERT_TRUE(modes.switch_to(*catalog.mode("one"), {}).ok);
    remember_running();
    const int chat_before = (*m_supervisor->observe_one("chat"))->record.pid;

    auto report = modes.switch_to(*catalog.mode("bad"), {});
    remember_running();
    EXPECT_FALSE(report.ok);
    EXPECT_THAT(report.error, HasSubstr("'broken'"));
    EXPECT_TRUE(report.rolled_back);
    EXPECT_TRUE(report.rollback_ok);
    std::vector<std::string> trail;
    for (const auto& step : report.steps) {
        trail.push_back(fmt::format("{}{}:{}:{}", step.rollback ? "rollback " : "",
                                    step_kind_word(step.kind), step.service_id,
                                    step.ok ? "ok" : "failed"));
    }
    EXPECT_EQ(trail, (std::vector<std::string>{"stop:chat:ok", "wait_release::ok",
                                               "start:coder:ok", "start:broken:failed",
                                               "rollback stop:coder:ok",
                                               "rollback wait_release::ok",
                                               "rollback start:chat:ok"}));
    ASSERT_TRUE(report.steps[3].diagnosis);
    EXPECT_EQ(report.steps[3].diagnosis->kind, FailureKind::model_file_missing);
    // What ran before runs again (a new process), the mode is unchanged, nothing else runs.
    auto live = m_supervisor->observe();
    ASSERT_TRUE(live);
    ASSERT_EQ(live->size(), 1U);
    EXPECT_EQ((*live)[0].record.id, "chat");
    EXPECT_EQ((*live)[0].state, ServiceState::ready);
    EXPECT_NE((*live)[0].record.pid, chat_before);
    EXPECT_EQ(*m_db->get_setting(k_setting_current_mode), std::optional<std::string>("one"));
}

TEST_F(Supervision, ConcurrentSwitchesFromTwoProcessesSerialize)
{
    REQUIRE_LLAMA_SERVER();
    InMemoryCatalog catalog;
    catalog.add(llama("chat", free_port()));
    catalog.add(llama("coder", free_port()));
    catalog.add(ModeSpec{"one", "One", {"chat"}});
    catalog.add(ModeSpec{"two", "Two", {"coder"}});
    const auto db_path = m_db->path();
    const auto state_dir = m_supervisor->options().state_dir;
    std::vector<pid_t> children;
    for (const std::string mode : {"one", "two"}) {
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            auto db = sqlite::Database::open(db_path);
            SupervisorOptions options;
            options.state_dir = state_dir;
            Supervisor supervisor(*db, options);
            ModeSwitcher modes(
                supervisor, *db, [&catalog](const std::string& id) { return catalog.service(id); },
                [](const ServiceSpec&, const FreeMemoryDelta&) { return PreflightVerdict{}; },
                [] { return Result<GpuInventory>(GpuInventory{}); });
            const auto begin = posix::monotonic_now().time_since_epoch();
            const auto report = modes.switch_to(*catalog.mode(mode), {});
            const auto end = posix::monotonic_now().time_since_epoch();
            // Holding the lock = from (begin + lock wait) to end; monotonic is system-wide.
            std::ofstream(state_dir / (mode + ".times"))
                << std::chrono::duration_cast<std::chrono::microseconds>(begin).count() +
                       report.lock_wait_us
                << ' ' << std::chrono::duration_cast<std::chrono::microseconds>(end).count();
            ::_exit(report.ok ? 0 : 1);
        }
        children.push_back(child);
    }
    for (const pid_t child : children) {
        int raw = 0;
        ASSERT_EQ(::waitpid(child, &raw, 0), child);
        EXPECT_TRUE(WIFEXITED(raw) && WEXITSTATUS(raw) == 0);
    }
    remember_running();
    int64_t one_from = 0;
    int64_t one_to = 0;
    int64_t two_from = 0;
    int64_t two_to = 0;
    std::ifstream(state_dir / "one.times") >> one_from >> one_to;
    std::ifstream(state_dir / "two.times") >> two_from >> two_to;
    ASSERT_GT(one_to, 0);
    ASSERT_GT(two_to, 0);
    // Critical sections do not overlap: one finished before the other took the lock.
    EXPECT_TRUE(one_to <= two_from || two_to <= one_from)
        << one_from << '-' << one_to << " vs " << two_from << '-' << two_to;
    // The last switch wins, completely: exactly its member runs and it is the current mode.
    const std::string last = one_to > two_to ? "one" : "two";
    auto live = m_supervisor->observe();
    ASSERT_TRUE(live);
    ASSERT_EQ(live->size(), 1U);
    EXPECT_EQ((*live)[0].record.id, last == "one" ? "chat" : "coder");
    EXPECT_EQ(*m_db->get_setting(k_setting_current_mode), std::optional<std::string>(last));
}

TEST_F(Supervision, AdoptsServicesAfterGpumodIsKilledMidSwitch)
{
    REQUIRE_LLAMA_SERVER();
    InMemoryCatalog catalog;
    catalog.add(llama("chat", free_port()));
    // Never becomes ready within the switch: the kill lands while gpumod waits for it.
    auto slow = shell("slow", free_port(), "exec sleep 60");
    slow.startup_timeout = 60s;
    catalog.add(slow);
    catalog.add(llama("coder", free_port()));
    catalog.add(ModeSpec{"big", "Big", {"chat", "slow"}});
    catalog.add(ModeSpec{"two", "Two", {"coder"}});
    const auto db_path = m_db->path();
    const auto state_dir = m_supervisor->options().state_dir;
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto db = sqlite::Database::open(db_path);
        SupervisorOptions options;
        options.state_dir = state_dir;
        Supervisor supervisor(*db, options);
        ModeSwitcher modes(
            supervisor, *db, [&catalog](const std::string& id) { return catalog.service(id); },
            [](const ServiceSpec&, const FreeMemoryDelta&) { return PreflightVerdict{}; },
            [] { return Result<GpuInventory>(GpuInventory{}); });
        modes.switch_to(*catalog.mode("big"), {});
        ::_exit(0);
    }
    // Wait until the switch has recorded the slow member (chat is ready by then), then SIGKILL.
    ServiceStore store(*m_db);
    const auto deadline = posix::monotonic_now() + 60s;
    while (posix::monotonic_now() < deadline) {
        auto slow_record = store.get("slow");
        if (slow_record && *slow_record) {
            break;
        }
        posix::sleep_for(5ms);
    }
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    ::waitpid(child, nullptr, 0);

    // A new gpumod sees both services, adopts them (pid + start time match), and reports the
    // slow one as still loading.
    auto live = m_supervisor->observe();
    ASSERT_TRUE(live) << live.error().message;
    ASSERT_EQ(live->size(), 2U);
    for (const auto& s : *live) {
        remember(s.record.pid);
    }
    EXPECT_EQ((*live)[0].record.id, "chat");
    EXPECT_EQ((*live)[0].state, ServiceState::ready);
    EXPECT_EQ((*live)[1].record.id, "slow");
    EXPECT_EQ((*live)[1].state, ServiceState::loading);
    // The killed switch never recorded its mode.
    EXPECT_FALSE(*m_db->get_setting(k_setting_current_mode));

    // The next switch stops both (orphans of an unfinished mode) and starts its own.
    auto report = switcher(catalog).switch_to(*catalog.mode("two"), {});
    remember_running();
    ASSERT_TRUE(report.ok) << report.error;
    EXPECT_EQ(report.stopped, (std::vector<std::string>{"chat", "slow"}));
    EXPECT_EQ(report.started, (std::vector<std::string>{"coder"}));
}

TEST_F(Supervision, IsolateAndRestore)
{
    REQUIRE_LLAMA_SERVER();
    InMemoryCatalog catalog;
    catalog.add(llama("chat", free_port()));
    catalog.add(llama("coder", free_port()));
    catalog.add(ModeSpec{"both", "Both", {"chat", "coder"}});
    auto modes = switcher(catalog);
    ASSERT_TRUE(modes.switch_to(*catalog.mode("both"), {}).ok);
    remember_running();

    auto isolated = modes.isolate("coder", {});
    ASSERT_TRUE(isolated.ok) << isolated.error;
    EXPECT_EQ(isolated.stopped, (std::vector<std::string>{"chat"}));
    EXPECT_EQ(isolated.kept, (std::vector<std::string>{"coder"}));
    auto live = m_supervisor->observe();
    ASSERT_EQ(live->size(), 1U);
    EXPECT_EQ((*live)[0].record.id, "coder");

    auto restored = modes.restore({});
    remember_running();
    ASSERT_TRUE(restored.ok) << restored.error;
    EXPECT_EQ(restored.started, (std::vector<std::string>{"chat"}));
    EXPECT_EQ(m_supervisor->observe()->size(), 2U);
    // Nothing left to restore.
    auto again = modes.restore({});
    EXPECT_TRUE(again.ok);
    EXPECT_TRUE(again.started.empty());
}

TEST(SwitchLockTest, SecondHolderWaitsAndTimesOut)
{
    TempDir dir;
    const auto path = dir.path() / "state" / "mode-switch.lock";
    auto first = SwitchLock::acquire(path, 1s);
    ASSERT_TRUE(first) << first.error().message;
    std::optional<int> holder;
    bool waited = false;
    auto second = SwitchLock::acquire(path, 50ms, [&](std::optional<int> pid) {
        waited = true;
        holder = pid;
    });
    ASSERT_FALSE(second);
    EXPECT_TRUE(waited);
    EXPECT_EQ(holder, std::optional<int>(::getpid()));
    EXPECT_THAT(second.error().message, HasSubstr("another mode switch"));
    first = tl::unexpected(Error{"released"});
    EXPECT_TRUE(SwitchLock::acquire(path, 50ms));
}

TEST(LogFileTest, CapKeepsHeadAndNewestLines)
{
    TempDir dir;
    const auto path = dir.path() / "x.log";
    {
        std::ofstream out(path);
        out << "HEAD first line\n";
        for (int i = 0; i < 20000; ++i) {
            out << "line " << i << '\n';
        }
    }
    auto dropped = enforce_log_cap(path, 16384, 1024);
    ASSERT_TRUE(dropped) << dropped.error().message;
    EXPECT_GT(*dropped, 100000U);
    const std::string text = read_file(path);
    EXPECT_LE(text.size(), 16384U);
    EXPECT_TRUE(text.starts_with("HEAD first line\n"));
    EXPECT_THAT(text, HasSubstr("bytes of this log were dropped"));
    EXPECT_TRUE(text.ends_with("line 19999\n"));
    EXPECT_EQ(read_last_lines(path, 2), "line 19998\nline 19999\n");
    EXPECT_EQ(*enforce_log_cap(path, 16384, 1024), 0U);
}

/// One GPU whose memory the test decides: `base_free` free, plus what each holder holds
/// while its process group lives (released once it is gone, as the driver does).
struct FakeGpu
{
    static constexpr uint64_t k_gib = uint64_t{1} << 30U;
    uint64_t base_free = 2 * k_gib;
    std::map<int, uint64_t> holders; ///< pid -> bytes
    bool lists_processes = true;

    [[nodiscard]] GpuInventory inventory() const
    {
        GpuInventory inventory;
        inventory.state = NvmlState::ok;
        GpuDevice gpu;
        gpu.memory.total_bytes = 24 * k_gib;
        gpu.memory.free_bytes = base_free;
        std::vector<GpuProcess> processes;
        for (const auto& [pid, bytes] : holders) {
            if (posix::process_group_alive(pid)) {
                processes.push_back(GpuProcess{static_cast<uint32_t>(pid), bytes});
            } else {
                gpu.memory.free_bytes += bytes;
            }
        }
        if (lists_processes) {
            gpu.processes = processes;
        }
        inventory.gpus.push_back(gpu);
        return inventory;
    }
};

class SwitchPreflight : public Supervision
{
  protected:
    /// A switcher whose gate gives `needs` (by service id) against the fake GPU's free memory
    /// plus the switch's delta, recording every delta it is asked with.
    ModeSwitcher gated_switcher(const InMemoryCatalog& catalog)
    {
        return ModeSwitcher(
            *m_supervisor, *m_db, [&catalog](const std::string& id) { return catalog.service(id); },
            [this](const ServiceSpec& spec, const FreeMemoryDelta& delta) {
                m_deltas.push_back(delta);
                const uint64_t needs = m_needs.count(spec.id) != 0 ? m_needs.at(spec.id) : 0;
                const auto inventory = m_gpu.inventory();
                const auto visible = visible_gpus(inventory.gpus, std::nullopt, delta);
                return judge_budget(needs, visible.gpus);
            },
            [this] { return Result<GpuInventory>(m_gpu.inventory()); });
    }

    /// Switches to mode `one` ({a}) and makes a hold 6 GiB of the GPU.
    int start_holder(const InMemoryCatalog& catalog)
    {
        auto modes = gated_switcher(catalog);
        EXPECT_TRUE(modes.switch_to(*catalog.mode("one"), {}).ok);
        remember_running();
        const int pid = (*m_supervisor->observe_one("a"))->record.pid;
        m_gpu.holders[pid] = 6 * FakeGpu::k_gib;
        m_deltas.clear();
        return pid;
    }

    static InMemoryCatalog two_modes()
    {
        InMemoryCatalog catalog;
        catalog.add(shell("a", 0, "exec sleep 60"));
        catalog.add(shell("b", 0, "exec sleep 60"));
        catalog.add(ModeSpec{"one", "One", {"a"}});
        catalog.add(ModeSpec{"two", "Two", {"b"}});
        return catalog;
    }

    std::vector<std::string> preflight_events()
    {
        std::vector<std::string> out;
        const auto recent =
            m_db->recent_events(50).value_or(std::vector<sqlite::Database::Event>{});
        for (const auto& e : recent) {
            if (e.kind == "service.preflight") {
                out.push_back(e.detail);
            }
        }
        return out;
    }

    FakeGpu m_gpu;
    std::map<std::string, uint64_t> m_needs;
    std::vector<FreeMemoryDelta> m_deltas;
};

TEST_F(SwitchPreflight, CountsWhatTheLeaversReleaseBeforeJudging)
{
    const auto catalog = two_modes();
    start_holder(catalog);
    m_needs["b"] = 7 * FakeGpu::k_gib; // 2 free + 6 released
    auto modes = gated_switcher(catalog);
    const auto report = modes.switch_to(*catalog.mode("two"), {});
    remember_running();
    ASSERT_TRUE(report.ok) << report.error;
    ASSERT_EQ(report.steps.size(), 3U);
    EXPECT_EQ(report.steps[2].preflight, "fits");
    // Up front with the leaver's 6 GiB, then at the start against what NVML says then.
    ASSERT_EQ(m_deltas.size(), 2U);
    EXPECT_EQ(m_deltas[0], (FreeMemoryDelta{{0, static_cast<int64_t>(6 * FakeGpu::k_gib)}}));
    EXPECT_TRUE(m_deltas[1].empty());
    ASSERT_FALSE(preflight_events().empty());
    EXPECT_THAT(preflight_events().front(), HasSubstr("b: fits"));
}

TEST_F(SwitchPreflight, RefusesUpFrontAndChangesNothing)
{
    const auto catalog = two_modes();
    const int holder = start_holder(catalog);
    m_needs["b"] = 9 * FakeGpu::k_gib;
    auto modes = gated_switcher(catalog);
    const auto report = modes.switch_to(*catalog.mode("two"), {});
    EXPECT_FALSE(report.ok);
    EXPECT_THAT(report.error, HasSubstr("service 'b' does not fit"));
    EXPECT_THAT(report.error, HasSubstr("nothing was changed"));
    EXPECT_TRUE(report.steps.empty());
    EXPECT_EQ((*m_supervisor->observe_one("a"))->record.pid, holder);
    ASSERT_FALSE(preflight_events().empty());
    EXPECT_THAT(preflight_events().front(), HasSubstr("switch refused"));

    // --force switches anyway, and says so on the start step.
    SwitchOptions force;
    force.force = true;
    const auto forced = modes.switch_to(*catalog.mode("two"), force);
    remember_running();
    ASSERT_TRUE(forced.ok) << forced.error;
    EXPECT_EQ(forced.steps.back().preflight, "does not fit");
    EXPECT_THAT(forced.steps.back().detail, HasSubstr("started although the preflight check"));
    EXPECT_THAT(preflight_events().front(), HasSubstr("started anyway (--force)"));
}

TEST_F(SwitchPreflight, UnknownLeaverMemoryLeavesTheDecisionToTheStartAndRollsBack)
{
    const auto catalog = two_modes();
    const int holder = start_holder(catalog);
    m_gpu.lists_processes = false; // the leaver's memory cannot be known before it stops
    m_needs["b"] = 9 * FakeGpu::k_gib;
    auto modes = gated_switcher(catalog);
    const auto report = modes.switch_to(*catalog.mode("two"), {});
    remember_running();
    EXPECT_FALSE(report.ok);
    EXPECT_THAT(report.error, HasSubstr("refused by the preflight check"));
    EXPECT_TRUE(report.rolled_back);
    EXPECT_TRUE(report.rollback_ok);
    ASSERT_EQ(m_deltas.size(), 2U); // the start of b, then the rollback's start of a
    auto a = m_supervisor->observe_one("a");
    ASSERT_TRUE(a && *a);
    EXPECT_NE((*a)->record.pid, holder);
    EXPECT_FALSE(*m_supervisor->observe_one("b"));
}

TEST_F(SwitchPreflight, IsolateIsRefusedBeforeItStopsAnything)
{
    const auto catalog = two_modes();
    const int holder = start_holder(catalog);
    m_needs["b"] = 9 * FakeGpu::k_gib;
    auto modes = gated_switcher(catalog);
    const auto report = modes.isolate("b", {});
    EXPECT_FALSE(report.ok);
    EXPECT_THAT(report.error, HasSubstr("service 'b' does not fit"));
    EXPECT_TRUE(report.stopped.empty());
    EXPECT_EQ((*m_supervisor->observe_one("a"))->record.pid, holder);
    EXPECT_FALSE(*m_db->get_setting(k_setting_isolated_stopped));

    m_needs["b"] = 7 * FakeGpu::k_gib;
    const auto isolated = modes.isolate("b", {});
    remember_running();
    ASSERT_TRUE(isolated.ok) << isolated.error;
    EXPECT_EQ(isolated.stopped, (std::vector<std::string>{"a"}));
}

TEST(LogFileTest, CursorReadsOnlyNewBytesAndSurvivesRotation)
{
    TempDir dir;
    const auto path = dir.path() / "logs" / "x.log";
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << "one\n";
    LogCursor cursor(path);
    EXPECT_EQ(cursor.read_new(), "one\n");
    EXPECT_EQ(cursor.read_new(), "");
    std::ofstream(path, std::ios::app) << "two\n";
    EXPECT_EQ(cursor.read_new(), "two\n");
    ASSERT_TRUE(rotate_log(path));
    auto rotated = path;
    rotated += ".1";
    EXPECT_EQ(read_file(rotated), "one\ntwo\n");
    std::ofstream(path) << "3\n";
    EXPECT_EQ(cursor.read_new(), "3\n");
    EXPECT_EQ(read_last_lines(rotated, 5), "one\ntwo\n");
    EXPECT_EQ(read_last_lines(dir.path() / "missing", 5), "");
}

} // namespace
} // namespace gpumod::services
