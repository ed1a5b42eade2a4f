#pragma once

// The `services` table (migration 2): one row per service gpumod started and believes may
// still run. Rows are claims, checked against /proc by the supervisor before use.

#include <optional>
#include <string>
#include <vector>

#include "core/base/error.hpp"
#include "core/services/service_record.hpp"

namespace gpumod::sqlite {
class Database;
}

namespace gpumod::services {

class ServiceStore
{
  public:
    /// Uses `db` (not owned; must outlive the store).
    explicit ServiceStore(sqlite::Database& db) : m_db(&db) {}

    /// Inserts or replaces the record for record.id.
    Status put(const ServiceRecord& record);
    /// The record for `id`, or nullopt.
    Result<std::optional<ServiceRecord>> get(const std::string& id);
    /// Every record, by id.
    Result<std::vector<ServiceRecord>> list();
    /// Deletes the record for `id` (no error when absent).
    Status remove(const std::string& id);

  private:
    sqlite::Database* m_db;
};

} // namespace gpumod::services
