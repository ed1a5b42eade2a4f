#pragma once

// Subcommand groups that live in their own translation units, so that each group's flags sit
// next to each other. Each registers subcommands on `app` whose callbacks store the app-layer
// exit code in `exit_code`.

namespace CLI {
class App;
}

namespace gpumod::app {
struct GlobalOptions;
}

namespace gpumod::cli {

/// `gpumod preset ...` and `gpumod mode list|show|validate` (config side of issue #4).
void register_preset_commands(CLI::App& app, app::GlobalOptions& global, int& exit_code);

/// `gpumod service ...`, `gpumod mode status|switch`, `gpumod isolate` (supervision, issue #4).
void register_service_commands(CLI::App& app, app::GlobalOptions& global, int& exit_code);

/// `gpumod bench run|smoke|list|show` (benchmark engine, issue #5).
void register_bench_commands(CLI::App& app, app::GlobalOptions& global, int& exit_code);

} // namespace gpumod::cli
