#pragma once

// Service log files: rotated when a service (re)starts, capped in size, read incrementally
// (readiness watching, `logs -f`) and from the end (`logs -n`, failure tails).

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/base/error.hpp"

namespace gpumod::services {

/// Moves `path` to `path.1` (replacing an older one) so a fresh start writes a fresh file;
/// nothing happens when `path` is missing or empty. Creates the parent directory.
Status rotate_log(const std::filesystem::path& path);

/// Keeps the log under `cap_bytes`: when larger, keeps its first `head_bytes` (how the service
/// started) and its newest bytes, with a marker line saying how much was dropped. The service
/// keeps appending (O_APPEND); lines it writes during the few microseconds of the rewrite can
/// be lost. Returns the bytes dropped (0 when under the cap).
Result<uint64_t> enforce_log_cap(const std::filesystem::path& path, uint64_t cap_bytes,
                                 uint64_t head_bytes);

/// The last `lines` lines of the file ("" when missing).
std::string read_last_lines(const std::filesystem::path& path, std::size_t lines);

/// Reads what a log file gained since the last call. Notices truncation (a new file after
/// rotation, or a capped file) and starts over from its beginning.
class LogCursor
{
  public:
    /// Starts at `offset` (0: the beginning).
    explicit LogCursor(std::filesystem::path path, uint64_t offset = 0);
    /// New bytes (at most `max_bytes`), "" when nothing new or the file is missing.
    std::string read_new(std::size_t max_bytes = std::size_t{1} << 20);
    /// Current offset.
    [[nodiscard]] uint64_t offset() const { return m_offset; }

  private:
    std::filesystem::path m_path;
    uint64_t m_offset;
};

} // namespace gpumod::services
