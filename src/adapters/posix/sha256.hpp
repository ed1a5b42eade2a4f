#pragma once

// SHA-256 through OpenSSL's libcrypto (EVP): suite content hashes, model file hashes.

#include <filesystem>
#include <string>
#include <string_view>

#include "core/base/error.hpp"

namespace gpumod::posix {

/// Lower-case hex SHA-256 of `bytes`. Throws std::runtime_error only when OpenSSL cannot
/// set up a digest (out of memory).
std::string sha256_hex(std::string_view bytes);

/// Lower-case hex SHA-256 of a file's content, read in 1 MiB chunks so that model files of
/// many GiB never sit in memory. Fails naming the file when it cannot be opened or read.
Result<std::string> sha256_file(const std::filesystem::path& file);

} // namespace gpumod::posix
