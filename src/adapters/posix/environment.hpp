#pragma once

#include <optional>
#include <string>

#include "core/paths/xdg_paths.hpp"

namespace gpumod::posix {

/// The value of an environment variable, or nullopt when unset.
std::optional<std::string> get_env(const char* name);

/// Snapshot of the variables that decide gpumod's paths.
PathEnvironment path_environment();

} // namespace gpumod::posix
