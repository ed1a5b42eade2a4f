#pragma once

// Starts, stops, observes and re-adopts services (ServiceSpec) as detached processes whose
// records live in SQLite. Nothing is kept in memory between gpumod commands: every call looks
// at the records and checks each against /proc (pid + start time) first, adopting the live
// ones and clearing the dead.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/base/error.hpp"
#include "core/services/log_diagnosis.hpp"
#include "core/services/service_record.hpp"
#include "core/services/service_spec.hpp"

namespace gpumod::sqlite {
class Database;
}

namespace gpumod::services {

struct SupervisorOptions
{
    std::filesystem::path state_dir;               ///< logs/ and the switch lock live here
    std::chrono::milliseconds stop_grace{10000};   ///< TERM -> KILL
    uint64_t log_cap_bytes = uint64_t{16} << 20;   ///< per service log
    uint64_t log_head_bytes = uint64_t{64} << 10;  ///< kept when capping (startup messages)
    std::chrono::milliseconds health_interval{25}; ///< GET /health while starting (<= 50 ms)
    std::chrono::milliseconds health_timeout{1000};
};

/// Where the time of one start went (microseconds, monotonic clock).
struct StartTimings
{
    int64_t spawn_us = 0;  ///< request -> exec done (port check, log rotation, fork+exec)
    int64_t load_us = 0;   ///< exec done -> the server's "listening" line seen in its log
                           ///< (-> first /health 200 when no such line appears)
    int64_t detect_us = 0; ///< that line seen -> readiness confirmed by /health 200
    int64_t total_us = 0;  ///< request -> ready
    bool saw_listening_line = false;
    std::optional<int64_t> server_clock_listening_us; ///< llama-server's own timestamp of it
};

/// What start() did.
struct StartOutcome
{
    bool ok = false;
    bool already_running = false; ///< a live, adopted process was there; nothing was started
    std::optional<ServiceRecord> record; ///< set when ok
    StartTimings timings;
    std::string error;                   ///< when !ok: what happened, with the log path
    std::optional<LogDiagnosis> diagnosis; ///< when the process ended or timed out
    std::string exit_description;        ///< "exited with code 1", when known
    std::string log_tail;                ///< last lines of the log, when !ok
};

/// What stop() did.
struct StopOutcome
{
    bool was_running = false;
    bool killed = false; ///< needed SIGKILL after the grace period
    int pid = 0;
    int64_t took_us = 0;
};

/// A service as observed now.
struct ObservedService
{
    ServiceRecord record;
    ServiceState state = ServiceState::stopped;
    std::optional<int> health_status;
};

/// Records of dead processes found and cleared by an observation.
struct ClearedRecord
{
    std::string id;
    int pid = 0;
    std::string reason; ///< "process gone" / "pid reused by another process"
};

class Supervisor
{
  public:
    /// `db` must outlive the supervisor.
    Supervisor(sqlite::Database& db, SupervisorOptions options);

    /// Live services (records whose pid + start time match a running process), each with its
    /// state from one GET of its health path. Dead records are deleted and listed in
    /// `cleared` (when given) and in the event log. Logs over the cap are trimmed.
    Result<std::vector<ObservedService>> observe(std::vector<ClearedRecord>* cleared = nullptr);

    /// The one service, observed as above; nullopt when it does not run.
    Result<std::optional<ObservedService>> observe_one(const std::string& id);

    /// Starts `spec` detached and waits until it is ready: GET health every
    /// health_interval and the log watched (inotify) for the server's "listening" line,
    /// confirmed by /health 200. Refuses (before spawning) when the port is in use or another
    /// recorded service has it. A process that exits, or misses spec.startup_timeout, fails
    /// with its log tail classified; the group is stopped and the record cleared.
    StartOutcome start(const ServiceSpec& spec);

    /// TERM to the service's process group, KILL after the grace; clears the record.
    /// Not running is not an error (was_running = false).
    Result<StopOutcome> stop(const std::string& id);

    /// The log file of `id` (whether or not it exists).
    [[nodiscard]] std::filesystem::path log_path(const std::string& id) const;

    [[nodiscard]] const SupervisorOptions& options() const { return m_options; }

  private:
    /// Records whose pid + start time match a live process; clears the others.
    Result<std::vector<ServiceRecord>> live_records(std::vector<ClearedRecord>* cleared = nullptr);

    sqlite::Database* m_db;
    SupervisorOptions m_options;
};

} // namespace gpumod::services
