#include "adapters/services/service_store.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include "adapters/sqlite/database.hpp"

namespace gpumod::services {
namespace {

constexpr const char* k_columns =
    "id, pid, start_time_ticks, host, port, argv_json, log_path, health_path, started_at_ms";

Result<ServiceRecord> read_row(SQLite::Statement& q)
{
    ServiceRecord r;
    r.id = q.getColumn(0).getString();
    r.pid = q.getColumn(1).getInt();
    r.start_time_ticks = static_cast<uint64_t>(q.getColumn(2).getInt64());
    r.host = q.getColumn(3).getString();
    r.port = static_cast<uint16_t>(q.getColumn(4).getInt());
    auto argv = decode_string_list(q.getColumn(5).getString());
    if (!argv) {
        return fail(fmt::format("the record of service '{}' has an unreadable argv", r.id));
    }
    r.argv = std::move(*argv);
    r.log_path = q.getColumn(6).getString();
    r.health_path = q.getColumn(7).getString();
    r.started_at_ms = q.getColumn(8).getInt64();
    return r;
}

} // namespace

Status ServiceStore::put(const ServiceRecord& record)
{
    try {
        SQLite::Statement q(m_db->handle(),
                            fmt::format("INSERT OR REPLACE INTO services({}) VALUES(?, ?, ?, ?, ?, "
                                        "?, ?, ?, ?)",
                                        k_columns));
        q.bind(1, record.id);
        q.bind(2, record.pid);
        q.bind(3, static_cast<int64_t>(record.start_time_ticks));
        q.bind(4, record.host);
        q.bind(5, static_cast<int>(record.port));
        q.bind(6, encode_string_list(record.argv));
        q.bind(7, record.log_path.string());
        q.bind(8, record.health_path);
        q.bind(9, record.started_at_ms);
        q.exec();
        return {};
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("cannot record service '{}' in '{}': {}", record.id,
                                m_db->path().string(), e.what()));
    }
}

Result<std::optional<ServiceRecord>> ServiceStore::get(const std::string& id)
{
    try {
        SQLite::Statement q(m_db->handle(),
                            fmt::format("SELECT {} FROM services WHERE id = ?", k_columns));
        q.bind(1, id);
        if (!q.executeStep()) {
            return std::optional<ServiceRecord>();
        }
        auto record = read_row(q);
        if (!record) {
            return tl::unexpected(record.error());
        }
        return std::optional<ServiceRecord>(std::move(*record));
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("cannot read the record of service '{}' from '{}': {}", id,
                                m_db->path().string(), e.what()));
    }
}

Result<std::vector<ServiceRecord>> ServiceStore::list()
{
    try {
        SQLite::Statement q(m_db->handle(),
                            fmt::format("SELECT {} FROM services ORDER BY id", k_columns));
        std::vector<ServiceRecord> records;
        while (q.executeStep()) {
            auto record = read_row(q);
            if (!record) {
                return tl::unexpected(record.error());
            }
            records.push_back(std::move(*record));
        }
        return records;
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("cannot read service records from '{}': {}",
                                m_db->path().string(), e.what()));
    }
}

Status ServiceStore::remove(const std::string& id)
{
    try {
        SQLite::Statement q(m_db->handle(), "DELETE FROM services WHERE id = ?");
        q.bind(1, id);
        q.exec();
        return {};
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("cannot delete the record of service '{}' from '{}': {}", id,
                                m_db->path().string(), e.what()));
    }
}

} // namespace gpumod::services
