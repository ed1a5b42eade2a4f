#pragma once

// Benchmark runs in SQLite (migration 3): one bench_runs row per run (settings and facts as
// the result codec's JSON) and one bench_attempts row per attempt. record_attempt is the
// checkpoint: once it returns the attempt is committed, so `bench run --resume` after a crash
// or Ctrl-C continues from the attempts on record. Several processes may write one database:
// every write takes the write lock up front and waits out the connection's busy timeout.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/error.hpp"
#include "core/bench/run_types.hpp"

namespace gpumod::sqlite {
class Database;
}

namespace gpumod::bench {

/// One line of `bench list`: a run without its attempts' content.
struct RunSummaryRow
{
    std::string id;
    RunKind kind = RunKind::run;
    RunStatus status = RunStatus::running;
    std::string suite;
    std::int64_t created_at_ms = 0;
    std::int64_t updated_at_ms = 0;
    std::optional<std::int64_t> finished_at_ms;
    std::int64_t attempts_recorded = 0;
    std::int64_t attempts_planned = 0; ///< config iterations x levels
    std::int64_t points_earned = 0;    ///< sum over the recorded attempts
    std::string model_file;            ///< facts model.file_name ("" when unknown)
    std::string base_url;
    std::optional<std::string> service;

    bool operator==(const RunSummaryRow&) const = default;
};

class RunStore
{
  public:
    /// Uses `db` (not owned; must outlive the store).
    explicit RunStore(sqlite::Database& db) : m_db(&db) {}

    /// Inserts a new run with its config, facts and any attempts it already holds; fails when
    /// a run with that id exists.
    Status create_run(const RunRecord& run);

    /// Replaces the run's server, model and environment facts with those of `facts`.
    Status update_facts(const std::string& id, const RunRecord& facts);

    /// Sets status, note, updated_at_ms = now_ms and finished_at_ms (nullopt clears it, as a
    /// resumed run needs).
    Status set_status(const std::string& id, RunStatus status, const std::string& note,
                      std::int64_t now_ms, std::optional<std::int64_t> finished_at_ms);

    /// Inserts or replaces the attempt (run, iteration, level) and sets the run's
    /// updated_at_ms, in one transaction: after it returns, the attempt survives a crash.
    Status record_attempt(const std::string& run_id, const AttemptRecord& attempt,
                          std::int64_t now_ms);

    /// The run with its attempts ordered by iteration, then by the config's level order
    /// (levels the config does not name last, by id); nullopt when there is no such run.
    Result<std::optional<RunRecord>> load_run(const std::string& id);

    /// The newest `limit` runs (all when limit <= 0), newest first.
    Result<std::vector<RunSummaryRow>> list_runs(int limit);

    /// The id of the one run whose id starts with `prefix` (an exact id always wins);
    /// nullopt when none does; an error listing candidates when several do.
    Result<std::optional<std::string>> find_run_by_prefix(std::string_view prefix);

    /// Deletes the run and its attempts; fails when there is no such run.
    Status delete_run(const std::string& id);

  private:
    sqlite::Database* m_db;
};

} // namespace gpumod::bench
