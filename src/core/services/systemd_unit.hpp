#pragma once

// A systemd user unit for one service, for people who want systemd to run it instead of
// gpumod's own supervision (`gpumod service unit ID`). Pure: the same spec always renders
// the same text, with the exact argv of `gpumod service cmd ID`.

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/services/service_spec.hpp"

namespace gpumod {

struct SystemdUnitOptions
{
    std::filesystem::path log_path;          ///< StandardOutput=append:<this> (gpumod's log)
    std::filesystem::path working_directory; ///< WorkingDirectory=
    std::chrono::seconds stop_timeout{10};   ///< TimeoutStopSec=, gpumod's own TERM->KILL grace
};

/// "gpumod-ID.service".
std::string systemd_unit_name(std::string_view service_id);

/// One ExecStart= argument as systemd reads it back: plain when only safe characters,
/// otherwise in double quotes with `\` and `"` backslash-escaped, control characters as
/// \xNN; `$` doubled (no variable expansion) and `%` doubled (no specifier); a lone `;`
/// (systemd's command separator) as `\;`. A `program` (the first word) starting with one of
/// systemd's prefix characters (-@:+!|) is quoted too.
std::string systemd_exec_quote(std::string_view arg, bool program = false);

/// An Environment= assignment "NAME=value", quoted like an ExecStart= argument except that
/// `$` stays as is (Environment= expands no variables).
std::string systemd_environment_quote(std::string_view assignment);

/// A path in a setting that takes it verbatim (WorkingDirectory=, StandardOutput=append:):
/// `%` is doubled (no specifier).
std::string systemd_path_value(const std::filesystem::path& path);

/// The unit file: a header saying it was generated and how to install it, [Unit],
/// [Service] (ExecStart with the spec's argv, Environment=, WorkingDirectory=,
/// Restart=on-failure, KillMode=control-group, TimeoutStopSec=, the log) and [Install].
std::string render_systemd_unit(const ServiceSpec& spec, const SystemdUnitOptions& options);

} // namespace gpumod
