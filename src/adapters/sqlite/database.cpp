#include "adapters/sqlite/database.hpp"

#include <algorithm>
#include <chrono>

#include <system_error>

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>
#include <fmt/format.h>

#include "adapters/posix/clock.hpp"

namespace gpumod::sqlite {
namespace {

// Schema history. Never edit a shipped migration: add a new one.
const std::vector<Migration> k_migrations = {
    {1, "settings and event log",
     R"sql(
CREATE TABLE settings (
    key           TEXT PRIMARY KEY,
    value         TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE events (
    id     INTEGER PRIMARY KEY,
    at_ms  INTEGER NOT NULL,
    kind   TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;
CREATE INDEX events_at ON events(at_ms);
)sql"},
    {2, "supervised services",
     R"sql(
CREATE TABLE services (
    id               TEXT PRIMARY KEY,
    pid              INTEGER NOT NULL,
    start_time_ticks INTEGER NOT NULL,
    host             TEXT NOT NULL,
    port             INTEGER NOT NULL,
    argv_json        TEXT NOT NULL,
    log_path         TEXT NOT NULL,
    health_path      TEXT NOT NULL,
    started_at_ms    INTEGER NOT NULL
) STRICT;
)sql"},
    {3, "benchmark runs, attempts and the file hash cache",
     R"sql(
CREATE TABLE bench_runs (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    status         TEXT NOT NULL,
    suite          TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    finished_at_ms INTEGER,
    config_json    TEXT NOT NULL,
    facts_json     TEXT NOT NULL,
    note           TEXT NOT NULL
) STRICT;
CREATE INDEX bench_runs_created ON bench_runs(created_at_ms);
CREATE TABLE bench_attempts (
    run_id         TEXT NOT NULL REFERENCES bench_runs(id) ON DELETE CASCADE,
    iteration      INTEGER NOT NULL,
    level          TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    points         INTEGER NOT NULL,
    record_json    TEXT NOT NULL,
    recorded_at_ms INTEGER NOT NULL,
    PRIMARY KEY (run_id, iteration, level)
) STRICT;
CREATE TABLE file_hashes (
    path           TEXT PRIMARY KEY,
    size_bytes     INTEGER NOT NULL,
    mtime_ns       INTEGER NOT NULL,
    sha256         TEXT NOT NULL,
    computed_at_ms INTEGER NOT NULL
) STRICT;
)sql"},
};

std::string where(const std::filesystem::path& path)
{
    return fmt::format("database '{}'", path.string());
}

// Pragmas and migrations on a freshly opened connection; SQLite exceptions propagate.
Status configure_and_migrate(SQLite::Database& db, const std::filesystem::path& path)
{
    db.exec("PRAGMA foreign_keys=ON");
    // WAL lets a running benchmark write while `status` reads.
    const std::string mode = db.execAndGet("PRAGMA journal_mode=WAL").getString();
    if (mode != "wal") {
        return fail(fmt::format("{}: cannot switch to WAL journal mode (got '{}'); is it on "
                                "a network file system?",
                                where(path), mode));
    }
    db.exec("PRAGMA synchronous=NORMAL");
    const int current = db.execAndGet("PRAGMA user_version").getInt();
    if (current > latest_schema_version()) {
        return fail(fmt::format("{} has schema version {}, newer than this gpumod knows ({}); "
                                "upgrade gpumod or use another database with --db",
                                where(path), current, latest_schema_version()));
    }
    for (const auto& m : k_migrations) {
        if (m.version <= current) {
            continue;
        }
        // IMMEDIATE takes the write lock first, and the version is read again under it:
        // two gpumod processes opening a new database at once must not both migrate.
        SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
        if (db.execAndGet("PRAGMA user_version").getInt() >= m.version) {
            continue;
        }
        db.exec(m.sql);
        db.exec(fmt::format("PRAGMA user_version={}", m.version));
        tx.commit();
    }
    return {};
}

} // namespace

const std::vector<Migration>& migrations()
{
    return k_migrations;
}

int latest_schema_version()
{
    return k_migrations.empty() ? 0 : k_migrations.back().version;
}

Result<Database> Database::open(const std::filesystem::path& path)
{
    std::error_code ec;
    const auto parent = path.parent_path();
    if (!parent.empty()) {
        std::filesystem::create_directories(parent, ec);
        if (ec) {
            return fail(fmt::format("cannot create the directory '{}' for the {}: {}; choose "
                                    "another path with --db or GPUMOD_DB",
                                    parent.string(), where(path), ec.message()));
        }
    }
    std::unique_ptr<SQLite::Database> db;
    // Two gpumod processes opening a new database at once race for the lock that the switch
    // to WAL needs, and SQLite answers SQLITE_BUSY at once there instead of waiting for its
    // busy timeout: retry the whole setup for a bounded time.
    const auto deadline = posix::monotonic_now() + std::chrono::seconds(10);
    for (int attempt = 0;; ++attempt) {
        try {
            db = std::make_unique<SQLite::Database>(
                path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, 5000);
            if (auto configured = configure_and_migrate(*db, path); !configured) {
                return tl::unexpected(configured.error());
            }
            break;
        } catch (const SQLite::Exception& e) {
            const bool busy = e.getErrorCode() == SQLITE_BUSY || e.getErrorCode() == SQLITE_LOCKED;
            if (busy && posix::monotonic_now() < deadline) {
                db.reset();
                posix::sleep_for(std::chrono::milliseconds(10 + 10 * std::min(attempt, 9)));
                continue;
            }
            return fail(fmt::format("cannot open {}: {}; check the file's permissions or choose "
                                    "another path with --db or GPUMOD_DB",
                                    where(path), e.what()));
        }
    }
    return Database(path, std::move(db));
}

Database::Database(std::filesystem::path path, std::unique_ptr<SQLite::Database> db)
    : m_path(std::move(path)), m_db(std::move(db))
{
}

Database::Database(Database&&) noexcept = default;
Database& Database::operator=(Database&&) noexcept = default;
Database::~Database() = default;

SQLite::Database& Database::handle()
{
    return *m_db;
}

const std::filesystem::path& Database::path() const
{
    return m_path;
}

int Database::schema_version() const
{
    return m_db->execAndGet("PRAGMA user_version").getInt();
}

std::string Database::journal_mode() const
{
    return m_db->execAndGet("PRAGMA journal_mode").getString();
}

Result<std::optional<std::string>> Database::get_setting(const std::string& key)
{
    try {
        SQLite::Statement q(*m_db, "SELECT value FROM settings WHERE key = ?");
        q.bind(1, key);
        if (q.executeStep()) {
            return std::optional<std::string>(q.getColumn(0).getString());
        }
        return std::optional<std::string>();
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("{}: reading setting '{}': {}", where(m_path), key, e.what()));
    }
}

Status Database::set_setting(const std::string& key, const std::string& value, int64_t now_ms)
{
    try {
        SQLite::Statement q(*m_db, "INSERT INTO settings(key, value, updated_at_ms) VALUES(?, ?, ?) "
                                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                                   "updated_at_ms = excluded.updated_at_ms");
        q.bind(1, key);
        q.bind(2, value);
        q.bind(3, now_ms);
        q.exec();
        return {};
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("{}: writing setting '{}': {}", where(m_path), key, e.what()));
    }
}

Status Database::record_event(int64_t at_ms, const std::string& kind, const std::string& detail)
{
    try {
        SQLite::Statement q(*m_db, "INSERT INTO events(at_ms, kind, detail) VALUES(?, ?, ?)");
        q.bind(1, at_ms);
        q.bind(2, kind);
        q.bind(3, detail);
        q.exec();
        return {};
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("{}: recording event '{}': {}", where(m_path), kind, e.what()));
    }
}

Result<std::vector<Database::Event>> Database::recent_events(int limit)
{
    try {
        SQLite::Statement q(*m_db, "SELECT id, at_ms, kind, detail FROM events "
                                   "ORDER BY at_ms DESC, id DESC LIMIT ?");
        q.bind(1, limit);
        std::vector<Event> events;
        while (q.executeStep()) {
            events.push_back(Event{q.getColumn(0).getInt64(), q.getColumn(1).getInt64(),
                                   q.getColumn(2).getString(), q.getColumn(3).getString()});
        }
        return events;
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("{}: reading events: {}", where(m_path), e.what()));
    }
}

Status Database::check_writable()
{
    try {
        SQLite::Transaction tx(*m_db);
        SQLite::Statement q(*m_db, "INSERT INTO settings(key, value, updated_at_ms) VALUES(?, ?, 0) "
                                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
        q.bind(1, "doctor.write_check");
        q.bind(2, "ok");
        q.exec();
        const std::string back =
            m_db->execAndGet("SELECT value FROM settings WHERE key = 'doctor.write_check'")
                .getString();
        if (back != "ok") {
            return fail(fmt::format("{}: wrote 'ok' but read back '{}'", where(m_path), back));
        }
        // The transaction rolls back when `tx` goes out of scope without commit.
        return {};
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("{} is not writable: {}; check permissions and free space, or "
                                "choose another path with --db or GPUMOD_DB",
                                where(m_path), e.what()));
    }
}

} // namespace gpumod::sqlite
