// `gpumod service ...`, `gpumod mode status|switch`, `gpumod isolate` (issue #4, supervision).
#include "cli/command_groups.hpp"

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "app/cmd_services.hpp"
#include "app/commands.hpp"

namespace gpumod::cli {
namespace {

// CLI11 binds options to references that must outlive parsing (after this file's function
// returns), so flag values live in one shared object the callbacks keep alive.
struct ServiceFlags
{
    std::string id;
    std::optional<std::string> status_id;
    bool force = false;
    app::ServiceLogsOptions logs;
    std::string mode_id;
    std::optional<std::string> isolate_id;
    bool restore = false;
    int sleep_level = 1;
};

void add_json_flag(CLI::App& cmd, app::GlobalOptions& global)
{
    cmd.add_flag("--json", global.json, "print machine-readable JSON on stdout");
}

// The config side registers `mode list|show|...` on the same group; whoever comes first
// creates it. get_subcommand(name) would throw when it is missing.
CLI::App* find_or_add_group(CLI::App& app, const std::string& name, const std::string& description)
{
    for (auto* sub : app.get_subcommands({})) {
        if (sub->check_name(name)) {
            return sub;
        }
    }
    auto* group = app.add_subcommand(name, description);
    group->require_subcommand(1);
    return group;
}

} // namespace

void register_service_commands(CLI::App& app, app::GlobalOptions& global, int& exit_code)
{
    auto flags = std::make_shared<ServiceFlags>();
    auto& out = std::cout;
    auto& err = std::cerr;

    auto* service = find_or_add_group(
        app, "service",
        "supervise services: llama-server processes gpumod starts detached (they outlive the "
        "command), records (pid + start time) and re-adopts");

    auto* list = service->add_subcommand("list", "every known and every running service");
    add_json_flag(*list, global);
    list->callback([&global, &exit_code, &out, &err] {
        exit_code = app::cmd_service_list(global, out, err);
    });

    auto* status = service->add_subcommand("status", "one service in detail (all without ID); "
                                                     "exit 1 when it does not run");
    status->add_option("id", flags->status_id, "service id");
    add_json_flag(*status, global);
    status->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_service_status(global, flags->status_id, out, err);
    });

    auto* start = service->add_subcommand(
        "start", "start a service detached and wait until it is ready (GET /health 200); on "
                 "failure show the classified log tail and a next step");
    start->add_option("id", flags->id, "service id (a preset)")->required();
    start->add_flag("--force", flags->force,
                    "start even when the preflight check (predicted GPU memory against NVML's "
                    "free memory) says it does not fit");
    add_json_flag(*start, global);
    start->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_service_start(global, flags->id, flags->force, out, err);
    });

    auto* stop = service->add_subcommand(
        "stop", "stop a service: SIGTERM to its process group, SIGKILL after 10 s");
    stop->add_option("id", flags->id, "service id")->required();
    add_json_flag(*stop, global);
    stop->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_service_stop(global, flags->id, out, err);
    });

    auto* restart = service->add_subcommand("restart", "stop, then start with today's preset");
    restart->add_option("id", flags->id, "service id")->required();
    restart->add_flag("--force", flags->force, "start even when the preflight check says it "
                                               "does not fit");
    add_json_flag(*restart, global);
    restart->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_service_restart(global, flags->id, flags->force, out, err);
    });

    auto* logs = service->add_subcommand("logs", "print a service's log (stdout + stderr)");
    logs->add_option("id", flags->logs.id, "service id")->required();
    logs->add_flag("-f,--follow", flags->logs.follow,
                   "keep printing new lines until the service stops (or Ctrl-C)");
    logs->add_option("-n,--lines", flags->logs.lines, "print the last N lines first")
        ->capture_default_str();
    logs->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_service_logs(global, flags->logs, out, err);
    });

    auto* cmd = service->add_subcommand("cmd", "print the exact command line (and environment) "
                                               "the service runs");
    cmd->add_option("id", flags->id, "service id")->required();
    add_json_flag(*cmd, global);
    cmd->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_service_cmd(global, flags->id, out, err);
    });

    auto* unit = service->add_subcommand(
        "unit", "print a systemd user unit that runs the service like `service cmd` shows "
                "(for people who want systemd to supervise it; the header says how to install)");
    unit->add_option("id", flags->id, "service id")->required();
    add_json_flag(*unit, global);
    unit->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_service_unit(global, flags->id, out, err);
    });

    auto* sleep = service->add_subcommand(
        "sleep", "put a vLLM service to sleep (vLLM's sleep mode: its GPU memory is released "
                 "while the process keeps running); needs vllm.enable_sleep_mode in the preset");
    sleep->add_option("id", flags->id, "service id (driver vllm)")->required();
    sleep->add_option("--level", flags->sleep_level,
                      "1: offload the weights to host memory (fast wake); 2: discard them")
        ->check(CLI::IsMember({1, 2}))
        ->capture_default_str();
    add_json_flag(*sleep, global);
    sleep->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_service_sleep(global, flags->id, flags->sleep_level, out, err);
    });

    auto* wake = service->add_subcommand("wake", "wake a sleeping vLLM service");
    wake->add_option("id", flags->id, "service id (driver vllm)")->required();
    add_json_flag(*wake, global);
    wake->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_service_wake(global, flags->id, out, err);
    });

    auto* mode = find_or_add_group(app, "mode",
                                   "modes: sets of services that run together (YAML in "
                                   "$XDG_CONFIG_HOME/gpumod/modes, then the bundled ones)");
    auto* mode_status = mode->add_subcommand(
        "status", "the current mode, what runs, and what differs from the mode");
    add_json_flag(*mode_status, global);
    mode_status->callback([&global, &exit_code, &out, &err] {
        exit_code = app::cmd_mode_status(global, out, err);
    });

    auto* mode_switch = mode->add_subcommand(
        "switch", "make exactly this mode's services run: stop the others (orphans too), wait "
                  "for GPU memory to be released, start members in order; roll back on failure. "
                  "Switches from several shells run one after another");
    mode_switch->add_option("id", flags->mode_id, "mode id")->required();
    mode_switch->add_flag("--force", flags->force,
                          "start members even when the preflight check says they do not fit");
    add_json_flag(*mode_switch, global);
    mode_switch->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_mode_switch(global, flags->mode_id, flags->force, out, err);
    });

    auto* isolate = app.add_subcommand(
        "isolate", "stop every other service so ID has the GPU to itself (starting ID if "
                   "needed), remembering what was stopped; --restore brings them back");
    isolate->add_option("id", flags->isolate_id, "service id to keep");
    isolate->add_flag("--restore", flags->restore, "start again what the last isolate stopped");
    isolate->add_flag("--force", flags->force,
                      "start even when the preflight check says it does not fit");
    add_json_flag(*isolate, global);
    isolate->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_isolate(global, flags->isolate_id, flags->restore, flags->force, out,
                                     err);
    });
}

} // namespace gpumod::cli
