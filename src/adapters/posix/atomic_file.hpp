#pragma once

// Writing a file so that readers see either nothing (or the old file) or the whole new one:
// the bytes go to a temporary file in the same directory, are fsync'ed, and the temporary is
// renamed over the target; the directory is fsync'ed too. On any failure nothing is left
// behind: no temporary, no partial target.

#include <cstdint>
#include <filesystem>
#include <span>

#include "core/base/error.hpp"

namespace gpumod::posix {

/// What to do when the target already exists.
enum class ExistingFile
{
    refuse,  ///< fail, leaving the existing file untouched (checked atomically)
    replace, ///< replace it atomically
};

/// Writes `bytes` to `path` atomically (see above). The file gets mode 0666 minus the umask.
/// Errors name the path and the system's reason.
Status write_file_atomically(const std::filesystem::path& path, std::span<const uint8_t> bytes,
                             ExistingFile existing = ExistingFile::refuse);

} // namespace gpumod::posix
