#pragma once

// What the database remembers about a service gpumod started, and what gpumod sees when it
// looks at the machine. A record alone proves nothing: the pid may have died or been reused,
// so every reader checks it against /proc (pid + start time) before believing it.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpumod {

/// One row of the `services` table: a process gpumod started and may still own.
struct ServiceRecord
{
    std::string id;
    int pid = 0;                   ///< also the process group and session id (setsid)
    uint64_t start_time_ticks = 0; ///< /proc/PID/stat field 22, to tell pid reuse apart
    std::string host;
    uint16_t port = 0;
    std::vector<std::string> argv;
    std::filesystem::path log_path;
    int64_t started_at_ms = 0; ///< wall clock, for people
    std::string health_path;   ///< "" when the service has no health check
};

/// Where an observed service is in its life (derived from facts, never stored as truth).
enum class ServiceState
{
    stopped,   ///< no live process
    loading,   ///< process alive; not listening yet, or /health says 503 (loading the model)
    ready,     ///< /health answered 200 (or alive without a health check)
    unhealthy, ///< process alive but /health answers something else or times out after load
};

/// "stopped", "loading", "ready", "unhealthy".
std::string_view state_word(ServiceState state);

/// Facts about one service, gathered by the supervisor.
struct ServiceFacts
{
    bool process_alive = false;        ///< record's pid + start time match a live process
    bool has_health_check = true;
    std::optional<int> health_status;  ///< HTTP status of GET health_path; nullopt: no answer
    bool health_refused = false;       ///< connection refused (not listening yet)
};

/// The state those facts mean: 200 = ready, 503 or refused = loading, else unhealthy.
ServiceState derive_state(const ServiceFacts& facts);

/// The start time (field 22, clock ticks since boot) from the text of /proc/PID/stat; nullopt
/// when the text is not a stat line. The command name may contain spaces and parentheses.
std::optional<uint64_t> parse_proc_start_time(std::string_view stat_text);

/// A list of strings as a JSON array of strings (for the argv column): `["a","b c"]`.
/// Control characters, quotes and backslashes are escaped; bytes >= 0x80 pass through.
std::string encode_string_list(const std::vector<std::string>& items);

/// Reads what encode_string_list wrote (any JSON array of plain strings, with the standard
/// escapes, \uXXXX included); nullopt for anything else.
std::optional<std::vector<std::string>> decode_string_list(std::string_view text);

/// The state letter (field 3) from the text of /proc/PID/stat, or '?' when unreadable.
char parse_proc_state(std::string_view stat_text);

} // namespace gpumod
