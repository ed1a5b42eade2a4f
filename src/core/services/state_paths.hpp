#pragma once

// Where supervised services keep their runtime files: logs and the mode-switch lock.

#include <filesystem>
#include <optional>
#include <string>

#include "core/base/error.hpp"

namespace gpumod {

/// $XDG_STATE_HOME/gpumod (default ~/.local/state/gpumod). Relative values are ignored, as
/// XDG says; fails when neither variable is an absolute path.
Result<std::filesystem::path> resolve_state_dir(const std::optional<std::string>& xdg_state_home,
                                                const std::optional<std::string>& home);

/// <state>/logs/<id>.log.
std::filesystem::path service_log_path(const std::filesystem::path& state_dir,
                                       const std::string& service_id);

/// <state>/mode-switch.lock: flock'ed by every mode switch and isolation.
std::filesystem::path switch_lock_path(const std::filesystem::path& state_dir);

} // namespace gpumod
