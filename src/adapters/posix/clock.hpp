#pragma once

// The one place that reads clocks and sleeps, so core code stays deterministic.

#include <chrono>
#include <cstdint>

namespace gpumod::posix {

/// Monotonic time, for durations and deadlines.
inline std::chrono::steady_clock::time_point monotonic_now()
{
    return std::chrono::steady_clock::now();
}

/// Wall-clock time in Unix milliseconds, for records.
inline int64_t unix_now_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Blocks the calling thread.
void sleep_for(std::chrono::milliseconds duration);

} // namespace gpumod::posix
