#pragma once

namespace gpumod::app {
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failure = 1;     ///< the command ran and found a failure
inline constexpr int k_exit_usage = 2;       ///< bad flags or arguments
inline constexpr int k_exit_environment = 3; ///< something the command needs is missing
inline constexpr int k_exit_internal = 70;   ///< a bug: an exception reached main
} // namespace gpumod::app
