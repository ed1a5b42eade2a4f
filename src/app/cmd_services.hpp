#pragma once

// `gpumod service ...`, `gpumod mode status|switch`, `gpumod isolate`: supervised services
// (adapters/services) wired to presets and modes (config) and the preflight gate
// (app/preflight).

#include <cstddef>
#include <iosfwd>
#include <optional>
#include <cstdint>
#include <string>
#include <vector>

#include "app/commands.hpp"
#include "app/preflight.hpp"
#include "core/services/service_catalog.hpp"

namespace gpumod::app {

/// What `gpumod status` shows about services: the current mode and every live service.
struct ServicesOverview
{
    std::optional<std::string> current_mode;
    struct Entry
    {
        std::string id;
        std::string state; ///< "ready", "loading", ...
        int pid = 0;
        uint16_t port = 0;
        std::string host;              ///< where it listens ("127.0.0.1")
        std::vector<std::string> argv; ///< its command line, as started
    };
    std::vector<Entry> services;
};

/// Observes the services gpumod supervises (adopting live ones, clearing dead records).
Result<ServicesOverview> services_overview(const GlobalOptions& global);

/// `gpumod service list`: every known service (presets) and every running one (orphans too),
/// with state, pid, port.
int cmd_service_list(const GlobalOptions& global, std::ostream& out, std::ostream& err);

/// `gpumod service status [ID]`: one service in detail (or all, like list); exit 1 when ID
/// does not run.
int cmd_service_status(const GlobalOptions& global, const std::optional<std::string>& id,
                       std::ostream& out, std::ostream& err);

/// `gpumod service start ID`: starts detached, waits for readiness, prints timings; exit 1
/// with the classified log tail when it fails.
int cmd_service_start(const GlobalOptions& global, const std::string& id, bool force,
                      std::ostream& out, std::ostream& err);

/// `gpumod service stop ID`: TERM, grace, KILL to the group; not running is fine (exit 0).
int cmd_service_stop(const GlobalOptions& global, const std::string& id, std::ostream& out,
                     std::ostream& err);

/// `gpumod service restart ID`: stop, then start with today's preset.
int cmd_service_restart(const GlobalOptions& global, const std::string& id, bool force,
                        std::ostream& out, std::ostream& err);

struct ServiceLogsOptions
{
    std::string id;
    bool follow = false;   ///< keep printing until the service stops (or Ctrl-C)
    std::size_t lines = 50;
};

/// `gpumod service logs ID [-f] [-n N]`.
int cmd_service_logs(const GlobalOptions& global, const ServiceLogsOptions& options,
                     std::ostream& out, std::ostream& err);

/// `gpumod service cmd ID`: the exact argv (one shell-quoted line; --json: the array) and env.
int cmd_service_cmd(const GlobalOptions& global, const std::string& id, std::ostream& out,
                    std::ostream& err);

/// `gpumod service unit ID`: a systemd user unit running the same argv and environment as
/// `service cmd` (--json: the text with its unit name and install path).
int cmd_service_unit(const GlobalOptions& global, const std::string& id, std::ostream& out,
                     std::ostream& err);

/// `gpumod service sleep ID [--level 1|2]`: vLLM's sleep mode frees the service's GPU memory;
/// exit 2 for a service that is not vLLM, 1 when vLLM refuses (e.g. no --enable-sleep-mode).
int cmd_service_sleep(const GlobalOptions& global, const std::string& id, int level,
                      std::ostream& out, std::ostream& err);

/// `gpumod service wake ID`: vLLM reloads what `sleep` released.
int cmd_service_wake(const GlobalOptions& global, const std::string& id, std::ostream& out,
                     std::ostream& err);

/// `gpumod mode status`: the recorded current mode, whether what runs matches it, and drift.
int cmd_mode_status(const GlobalOptions& global, std::ostream& out, std::ostream& err);

/// `gpumod mode switch ID [--force]`: see ModeSwitcher; prints every step with timings.
int cmd_mode_switch(const GlobalOptions& global, const std::string& id, bool force,
                    std::ostream& out, std::ostream& err);

/// `gpumod isolate ID` / `gpumod isolate --restore`.
int cmd_isolate(const GlobalOptions& global, const std::optional<std::string>& id, bool restore,
                bool force, std::ostream& out, std::ostream& err);

} // namespace gpumod::app
