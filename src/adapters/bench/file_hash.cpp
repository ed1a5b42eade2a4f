#include "adapters/bench/file_hash.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <system_error>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include "adapters/posix/clock.hpp"
#include "adapters/posix/sha256.hpp"
#include "adapters/sqlite/database.hpp"

namespace gpumod::bench {
namespace {

constexpr std::int64_t k_ns_per_s = 1'000'000'000;

/// What identifies one version of a file for the cache.
struct FileStamp
{
    std::int64_t size_bytes = 0;
    std::int64_t mtime_ns = 0;

    bool operator==(const FileStamp&) const = default;
};

Result<FileStamp> stamp_of(const std::filesystem::path& file)
{
    struct stat st = {};
    if (::stat(file.c_str(), &st) != 0) {
        const std::error_code ec(errno, std::generic_category());
        return fail(fmt::format("cannot hash {}: {}", file.string(), ec.message()));
    }
    if (!S_ISREG(st.st_mode)) {
        return fail(fmt::format("cannot hash {}: not a regular file", file.string()));
    }
    return FileStamp{static_cast<std::int64_t>(st.st_size),
                     static_cast<std::int64_t>(st.st_mtim.tv_sec) * k_ns_per_s +
                         static_cast<std::int64_t>(st.st_mtim.tv_nsec)};
}

std::optional<std::string> cached(sqlite::Database& db, const std::string& key,
                                  const FileStamp& stamp)
{
    SQLite::Statement q(db.handle(),
                        "SELECT sha256 FROM file_hashes WHERE path = ? AND size_bytes = ? "
                        "AND mtime_ns = ?");
    q.bind(1, key);
    q.bind(2, stamp.size_bytes);
    q.bind(3, stamp.mtime_ns);
    if (q.executeStep()) {
        return q.getColumn(0).getString();
    }
    return std::nullopt;
}

void store(sqlite::Database& db, const std::string& key, const FileStamp& stamp,
           const std::string& sha256)
{
    SQLite::Statement q(db.handle(),
                        "INSERT OR REPLACE INTO file_hashes(path, size_bytes, mtime_ns, sha256, "
                        "computed_at_ms) VALUES(?, ?, ?, ?, ?)");
    q.bind(1, key);
    q.bind(2, stamp.size_bytes);
    q.bind(3, stamp.mtime_ns);
    q.bind(4, sha256);
    q.bind(5, posix::unix_now_ms());
    q.exec();
}

} // namespace

Result<std::string> cached_sha256(sqlite::Database& db, const std::filesystem::path& file)
{
    // The canonical path: a model reached through a symlink or a relative path is one entry.
    std::error_code ec;
    const std::filesystem::path canonical = std::filesystem::canonical(file, ec);
    if (ec) {
        return fail(fmt::format("cannot hash {}: {}", file.string(), ec.message()));
    }
    const std::string key = canonical.string();
    auto before = stamp_of(canonical);
    if (!before) {
        return tl::unexpected(before.error());
    }
    try {
        if (auto hit = cached(db, key, *before)) {
            return *hit;
        }
    } catch (const SQLite::Exception&) {
        // An unreadable cache only costs the time to hash; the answer is still right.
    }
    auto sha256 = posix::sha256_file(canonical);
    if (!sha256) {
        return sha256;
    }
    auto after = stamp_of(canonical);
    if (!after) {
        return tl::unexpected(after.error());
    }
    if (*after != *before) {
        return fail(fmt::format("{} changed while it was being hashed; if it is still being "
                                "written (a download), try again when it is complete",
                                file.string()));
    }
    try {
        store(db, key, *after, *sha256);
    } catch (const SQLite::Exception&) {
        // As above: the hash is right; the next run hashes again.
    }
    return sha256;
}

} // namespace gpumod::bench
