#include "adapters/services/supervisor.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>

#include "adapters/http/http_client.hpp"
#include "adapters/posix/clock.hpp"
#include "adapters/posix/unique_fd.hpp"
#include "adapters/services/detached_process.hpp"
#include "adapters/services/log_file.hpp"
#include "adapters/services/service_store.hpp"
#include "adapters/sqlite/database.hpp"
#include "core/services/service_url.hpp"
#include "core/services/state_paths.hpp"

namespace gpumod::services {
namespace {

using Clock = std::chrono::steady_clock;
using posix::UniqueFd;

/// Lines of log shown with a failed start.
constexpr std::size_t k_failure_tail_lines = 20;
/// Grace for members left behind by a service whose leader already ended.
constexpr auto k_straggler_grace = std::chrono::milliseconds(1000);

int64_t micros(Clock::duration d)
{
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

Result<http::HttpClient> health_client(const std::string& host, uint16_t port,
                                       std::chrono::milliseconds timeout)
{
    return http::HttpClient::create(service_base_url(host, port),
                                    http::Timeouts{timeout, timeout, timeout});
}

/// One GET of the health path: the status, or nullopt (with `refused` set when nothing
/// listens) on a transport failure.
std::optional<int> probe_health(http::HttpClient& client, const std::string& path, bool& refused)
{
    auto response = client.get(path);
    if (response) {
        refused = false;
        return response->status;
    }
    refused = response.error().message.find("Connection") != std::string::npos ||
              response.error().message.find("refused") != std::string::npos;
    return std::nullopt;
}

void note_event(sqlite::Database& db, const std::string& kind, const std::string& detail)
{
    // The event log is for people reading history; failing to write it must not fail a stop.
    [[maybe_unused]] auto recorded = db.record_event(posix::unix_now_ms(), kind, detail);
}

} // namespace

Supervisor::Supervisor(sqlite::Database& db, SupervisorOptions options)
    : m_db(&db), m_options(std::move(options))
{
}

std::filesystem::path Supervisor::log_path(const std::string& id) const
{
    return service_log_path(m_options.state_dir, id);
}

Result<std::vector<ServiceRecord>> Supervisor::live_records(std::vector<ClearedRecord>* cleared)
{
    ServiceStore store(*m_db);
    auto records = store.list();
    if (!records) {
        return tl::unexpected(records.error());
    }
    std::vector<ServiceRecord> live;
    for (auto& record : *records) {
        if (process_matches(record.pid, record.start_time_ticks)) {
            live.push_back(std::move(record));
            continue;
        }
        ClearedRecord gone{record.id, record.pid, "process gone"};
        if (auto start = read_start_time(record.pid); start) {
            gone.reason = "pid reused by another process";
        }
        // Our own ended child would stay a zombie; members it left behind still hold
        // whatever they hold (GPU memory too), so they go with it.
        reap_if_our_child(record.pid);
        [[maybe_unused]] auto stragglers =
            stop_group(record.pid, record.start_time_ticks, k_straggler_grace);
        if (auto removed = store.remove(record.id); !removed) {
            return tl::unexpected(removed.error());
        }
        note_event(*m_db, "service.cleared",
                   fmt::format("{} (pid {}): {}", record.id, record.pid, gone.reason));
        if (cleared != nullptr) {
            cleared->push_back(std::move(gone));
        }
    }
    return live;
}

Result<std::vector<ObservedService>> Supervisor::observe(std::vector<ClearedRecord>* cleared)
{
    auto records = live_records(cleared);
    if (!records) {
        return tl::unexpected(records.error());
    }
    std::vector<ObservedService> live;
    for (auto& record : *records) {
        ObservedService observed;
        ServiceFacts facts;
        facts.process_alive = true;
        facts.has_health_check = !record.health_path.empty() && record.port != 0;
        if (facts.has_health_check) {
            if (auto client = health_client(record.host, record.port, m_options.health_timeout)) {
                facts.health_status = probe_health(*client, record.health_path,
                                                   facts.health_refused);
            }
        }
        observed.health_status = facts.health_status;
        observed.state = derive_state(facts);
        [[maybe_unused]] auto capped =
            enforce_log_cap(record.log_path, m_options.log_cap_bytes, m_options.log_head_bytes);
        observed.record = std::move(record);
        live.push_back(std::move(observed));
    }
    return live;
}

Result<std::optional<ObservedService>> Supervisor::observe_one(const std::string& id)
{
    auto all = observe();
    if (!all) {
        return tl::unexpected(all.error());
    }
    for (auto& service : *all) {
        if (service.record.id == id) {
            return std::optional<ObservedService>(std::move(service));
        }
    }
    return std::optional<ObservedService>();
}

StartOutcome Supervisor::start(const ServiceSpec& spec)
{
    StartOutcome outcome;
    const auto requested = posix::monotonic_now();
    auto failed = [&](std::string error) {
        outcome.ok = false;
        outcome.error = fmt::format("cannot start service '{}': {}", spec.id, std::move(error));
        return outcome;
    };
    if (spec.argv.empty()) {
        return failed("its command line is empty");
    }

    // Liveness only (no health requests): this is on every start's critical path.
    auto live = live_records();
    if (!live) {
        return failed(live.error().message);
    }
    for (const auto& running : *live) {
        if (running.id == spec.id) {
            outcome.ok = true;
            outcome.already_running = true;
            outcome.record = running;
            return outcome;
        }
        if (spec.port != 0 && running.port == spec.port) {
            outcome.diagnosis = classify_log_tail("address already in use");
            return failed(fmt::format("port {} is already used by service '{}' (pid {}); stop it "
                                      "first (`gpumod service stop {}`) or give '{}' another port",
                                      spec.port, running.id, running.pid, running.id, spec.id));
        }
    }
    if (spec.port != 0) {
        auto available = port_available(spec.host, spec.port);
        if (!available) {
            return failed(available.error().message);
        }
        if (!*available) {
            outcome.diagnosis = classify_log_tail("address already in use");
            return failed(fmt::format("port {} on {} is already in use by another program (not "
                                      "a gpumod service); find it with `ss -ltnp 'sport = :{}'` "
                                      "or give the preset another port",
                                      spec.port, spec.host, spec.port));
        }
    }

    const auto log = log_path(spec.id);
    if (auto rotated = rotate_log(log); !rotated) {
        return failed(rotated.error().message);
    }
    auto process = spawn_detached(DetachedSpawn{spec.argv, spec.env, log});
    if (!process) {
        return failed(process.error().message);
    }
    const auto spawned = posix::monotonic_now();
    outcome.timings.spawn_us = micros(spawned - requested);

    ServiceRecord record;
    record.id = spec.id;
    record.pid = process->pid;
    record.start_time_ticks = process->start_time_ticks;
    record.host = spec.host;
    record.port = spec.port;
    record.argv = spec.argv;
    record.log_path = log;
    record.started_at_ms = posix::unix_now_ms();
    record.health_path = spec.port != 0 ? spec.health_path : std::string();
    ServiceStore store(*m_db);
    // Recorded before waiting: a gpumod killed during the wait leaves an adoptable record.
    if (auto put = store.put(record); !put) {
        [[maybe_unused]] auto stopped =
            stop_group(record.pid, record.start_time_ticks, m_options.stop_grace);
        return failed(put.error().message);
    }
    note_event(*m_db, "service.spawn",
               fmt::format("{} (pid {}, port {})", spec.id, record.pid, spec.port));

    auto give_up = [&](std::string why, std::string exit_description) {
        [[maybe_unused]] auto stopped =
            stop_group(record.pid, record.start_time_ticks, std::chrono::seconds(2));
        reap_if_our_child(record.pid);
        [[maybe_unused]] auto removed = store.remove(spec.id);
        outcome.log_tail = read_last_lines(log, k_failure_tail_lines);
        outcome.diagnosis = classify_log_tail(outcome.log_tail);
        outcome.exit_description = std::move(exit_description);
        note_event(*m_db, "service.failed",
                   fmt::format("{}: {} ({})", spec.id, why,
                               failure_kind_word(outcome.diagnosis->kind)));
        std::string message = fmt::format(
            "{}: {}\n  log line: {}\n  next step: {}\n  log: {}", why, outcome.diagnosis->summary,
            outcome.diagnosis->matched_line.empty() ? "(none matched)"
                                                    : outcome.diagnosis->matched_line,
            outcome.diagnosis->next_step, log.string());
        return failed(std::move(message));
    };

    const bool has_health = !record.health_path.empty();
    if (!has_health) {
        // Nothing to ask: a command without a health check is ready once it runs.
        if (!process_matches(record.pid, record.start_time_ticks)) {
            return give_up("it ended right after starting",
                           reap_if_our_child(record.pid).value_or(""));
        }
        outcome.timings.total_us = micros(posix::monotonic_now() - requested);
        outcome.ok = true;
        outcome.record = record;
        return outcome;
    }

    auto client = health_client(spec.host, spec.port, m_options.health_timeout);
    if (!client) {
        return give_up(client.error().message, "");
    }
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, record.pid, 0)));
    UniqueFd watch(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (watch.valid()) {
        ::inotify_add_watch(watch.get(), log.c_str(), IN_MODIFY);
    }
    LogCursor cursor(log);
    LineSplitter splitter;
    const auto deadline = spawned + spec.startup_timeout;
    auto next_health = spawned;
    std::optional<Clock::time_point> line_seen;
    bool ask_now = false;
    for (;;) {
        auto now = posix::monotonic_now();
        for (const auto& line : splitter.feed(cursor.read_new())) {
            if (!line_seen && readiness_signal(line) == ReadinessSignal::listening) {
                line_seen = now;
                outcome.timings.saw_listening_line = true;
                outcome.timings.server_clock_listening_us = parse_log_timestamp_us(line);
                ask_now = true; // confirm at once instead of at the next interval
            }
        }
        if (ask_now || now >= next_health) {
            bool refused = false;
            const auto status = probe_health(*client, record.health_path, refused);
            if (status && *status == 200) {
                const auto ready = posix::monotonic_now();
                // The server may have logged its listening line after our last read of the
                // log: look once more so the load/detect split uses it when it is there.
                for (const auto& line : splitter.feed(cursor.read_new())) {
                    if (!line_seen && readiness_signal(line) == ReadinessSignal::listening) {
                        line_seen = ready;
                        outcome.timings.saw_listening_line = true;
                        outcome.timings.server_clock_listening_us = parse_log_timestamp_us(line);
                    }
                }
                const auto load_end = line_seen.value_or(ready);
                outcome.timings.load_us = micros(load_end - spawned);
                outcome.timings.detect_us = micros(ready - load_end);
                outcome.timings.total_us = micros(ready - requested);
                break;
            }
            ask_now = false;
            now = posix::monotonic_now();
            next_health = now + m_options.health_interval;
        }
        if (now >= deadline) {
            return give_up(fmt::format("it was not ready within {} ms (GET {} on port {})",
                                       spec.startup_timeout.count(), record.health_path,
                                       spec.port),
                           "");
        }
        const auto wake = std::min(next_health, deadline);
        const int timeout_ms = static_cast<int>(std::max<int64_t>(
            0, std::chrono::ceil<std::chrono::milliseconds>(wake - now).count()));
        std::array<pollfd, 2> fds{{{pidfd.get(), POLLIN, 0}, {watch.get(), POLLIN, 0}}};
        const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
        if (ready > 0 && fds[0].revents != 0) {
            return give_up("it stopped during startup",
                           reap_if_our_child(record.pid).value_or("ended"));
        }
        if (ready > 0 && fds[1].revents != 0) {
            std::array<char, 4096> events{};
            while (::read(watch.get(), events.data(), events.size()) > 0) {
            }
        }
        if (!pidfd.valid() && !process_matches(record.pid, record.start_time_ticks)) {
            return give_up("it stopped during startup",
                           reap_if_our_child(record.pid).value_or("ended"));
        }
    }
    // No event here: the spawn event was written while the server loaded, and a write now
    // would only delay telling the caller that the service is ready.
    outcome.ok = true;
    outcome.record = std::move(record);
    return outcome;
}

Result<StopOutcome> Supervisor::stop(const std::string& id)
{
    ServiceStore store(*m_db);
    auto record = store.get(id);
    if (!record) {
        return tl::unexpected(record.error());
    }
    StopOutcome outcome;
    if (!*record) {
        return outcome;
    }
    outcome.pid = (*record)->pid;
    auto stopped = stop_group((*record)->pid, (*record)->start_time_ticks, m_options.stop_grace);
    if (!stopped) {
        return tl::unexpected(stopped.error().with_context(fmt::format("while stopping service '{}'", id)));
    }
    outcome.was_running = stopped->was_alive;
    outcome.killed = stopped->killed;
    outcome.took_us = stopped->took.count();
    if (auto removed = store.remove(id); !removed) {
        return tl::unexpected(removed.error());
    }
    note_event(*m_db, "service.stop",
               fmt::format("{} (pid {}){}", id, outcome.pid,
                           outcome.killed ? " needed SIGKILL" : ""));
    return outcome;
}

} // namespace gpumod::services
