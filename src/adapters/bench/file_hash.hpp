#pragma once

// SHA-256 of model files, cached in the database's file_hashes table (migration 3): hashing
// tens of GiB takes minutes, and every run records the model's hash.

#include <filesystem>
#include <string>

#include "core/base/error.hpp"

namespace gpumod::sqlite {
class Database;
}

namespace gpumod::bench {

/// Lower-case hex SHA-256 of `file`. Returns the cached hash when the file's canonical path,
/// size and mtime (ns) match the cache; otherwise hashes the file and caches the result.
/// Fails naming the file when it cannot be read or changed while it was being hashed.
Result<std::string> cached_sha256(sqlite::Database& db, const std::filesystem::path& file);

} // namespace gpumod::bench
