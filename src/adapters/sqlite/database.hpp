#pragma once

// gpumod's embedded state: one SQLite database in WAL mode, its schema advanced by numbered
// migrations gated on PRAGMA user_version. YAML files stay the source of truth for presets
// and modes; the database holds runtime state and results.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/error.hpp"

namespace SQLite {
class Database;
}

namespace gpumod::sqlite {

/// One schema step: applied inside a transaction, then user_version is set to `version`.
struct Migration
{
    int version;
    const char* description;
    const char* sql;
};

/// The migrations this build knows, in order (versions 1..N without gaps).
const std::vector<Migration>& migrations();

/// The schema version this build writes.
int latest_schema_version();

class Database
{
public:
    /// Opens (creating it and its parent directories when missing) and migrates the database.
    /// Fails with the path and SQLite's message when the file cannot be created or written,
    /// is not a database, or was written by a newer gpumod (user_version above ours).
    static Result<Database> open(const std::filesystem::path& path);

    Database(Database&&) noexcept;
    Database& operator=(Database&&) noexcept;
    ~Database();

    [[nodiscard]] const std::filesystem::path& path() const;

    /// The SQLiteCpp connection, for adapters that keep their own tables (services); they
    /// convert SQLite exceptions to Result themselves.
    SQLite::Database& handle();

    /// PRAGMA user_version after migration.
    [[nodiscard]] int schema_version() const;

    /// PRAGMA journal_mode (expected "wal").
    [[nodiscard]] std::string journal_mode() const;

    /// Reads a setting; nullopt when absent.
    Result<std::optional<std::string>> get_setting(const std::string& key);

    /// Inserts or replaces a setting, stamping updated_at_ms.
    Status set_setting(const std::string& key, const std::string& value, int64_t now_ms);

    /// Appends an event to the audit log (what gpumod did, for `status` and debugging).
    Status record_event(int64_t at_ms, const std::string& kind, const std::string& detail);

    struct Event
    {
        int64_t id;
        int64_t at_ms;
        std::string kind;
        std::string detail;
    };
    /// The newest `limit` events, newest first.
    Result<std::vector<Event>> recent_events(int limit);

    /// Proves the file is writable end to end: a write and a read-back in a transaction that
    /// is rolled back, so the check leaves no trace.
    Status check_writable();

private:
    Database(std::filesystem::path path, std::unique_ptr<SQLite::Database> db);
    std::filesystem::path m_path;
    std::unique_ptr<SQLite::Database> m_db;
};

} // namespace gpumod::sqlite
