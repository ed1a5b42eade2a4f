#include "adapters/bench/run_store.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <tuple>
#include <utility>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include "adapters/sqlite/database.hpp"
#include "core/bench/result_codec.hpp"

namespace gpumod::bench {
namespace {

// Ambiguous prefixes list this many candidates; more would drown the message.
constexpr std::size_t k_max_candidates_shown = 10;

std::string in_db(sqlite::Database& db)
{
    return fmt::format("'{}'", db.path().string());
}

tl::unexpected<Error> no_such_run(sqlite::Database& db, const std::string& id)
{
    return fail(fmt::format("no benchmark run '{}' in {}; `gpumod bench list` shows the runs", id,
                            in_db(db)));
}

/// Writes take the write lock at BEGIN: a deferred transaction that reads first and then
/// writes can fail at once with SQLITE_BUSY when another process committed in between,
/// instead of waiting out the busy timeout.
SQLite::Transaction begin_write(sqlite::Database& db)
{
    return SQLite::Transaction(db.handle(), SQLite::TransactionBehavior::IMMEDIATE);
}

void insert_attempt(sqlite::Database& db, const std::string& run_id, const AttemptRecord& attempt,
                    std::int64_t now_ms)
{
    SQLite::Statement q(db.handle(),
                        "INSERT INTO bench_attempts(run_id, iteration, level, outcome, points, "
                        "record_json, recorded_at_ms) VALUES(?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT(run_id, iteration, level) DO UPDATE SET "
                        "outcome = excluded.outcome, points = excluded.points, "
                        "record_json = excluded.record_json, "
                        "recorded_at_ms = excluded.recorded_at_ms");
    q.bind(1, run_id);
    q.bind(2, attempt.iteration);
    q.bind(3, attempt.level);
    q.bind(4, std::string(to_string(attempt.outcome)));
    q.bind(5, attempt.points);
    q.bind(6, encode_attempt(attempt));
    q.bind(7, now_ms);
    q.exec();
}

std::optional<std::int64_t> nullable_int64(const SQLite::Column& column)
{
    if (column.isNull()) {
        return std::nullopt;
    }
    return column.getInt64();
}

/// The run's row without attempts; nullopt when absent.
Result<std::optional<RunRecord>> read_run_row(sqlite::Database& db, const std::string& id)
{
    SQLite::Statement q(db.handle(), "SELECT status, created_at_ms, updated_at_ms, finished_at_ms, "
                                     "config_json, facts_json, note FROM bench_runs WHERE id = ?");
    q.bind(1, id);
    if (!q.executeStep()) {
        return std::optional<RunRecord>();
    }
    RunRecord run;
    run.id = id;
    const std::string status = q.getColumn(0).getString();
    const auto parsed_status = parse_run_status(status);
    if (!parsed_status) {
        return fail(fmt::format("the stored status '{}' is unknown", status));
    }
    run.status = *parsed_status;
    run.created_at_ms = q.getColumn(1).getInt64();
    run.updated_at_ms = q.getColumn(2).getInt64();
    run.finished_at_ms = nullable_int64(q.getColumn(3));
    auto config = decode_run_config(q.getColumn(4).getString());
    if (!config) {
        return tl::unexpected(config.error().with_context("the stored config is unreadable"));
    }
    run.config = std::move(*config);
    if (auto facts = decode_run_facts(q.getColumn(5).getString(), run); !facts) {
        return tl::unexpected(facts.error().with_context("the stored facts are unreadable"));
    }
    run.note = q.getColumn(6).getString();
    return std::optional<RunRecord>(std::move(run));
}

Status read_attempts(sqlite::Database& db, RunRecord& run)
{
    SQLite::Statement q(db.handle(), "SELECT iteration, level, record_json FROM bench_attempts "
                                     "WHERE run_id = ?");
    q.bind(1, run.id);
    while (q.executeStep()) {
        auto attempt = decode_attempt(q.getColumn(2).getString());
        if (!attempt) {
            return tl::unexpected(attempt.error().with_context(
                fmt::format("the stored attempt (iteration {}, level '{}') is unreadable",
                            q.getColumn(0).getInt64(), q.getColumn(1).getString())));
        }
        run.attempts.push_back(std::move(*attempt));
    }
    std::map<std::string, std::size_t, std::less<>> level_order;
    for (std::size_t i = 0; i < run.config.level_ids.size(); ++i) {
        level_order.emplace(run.config.level_ids[i], i);
    }
    const auto rank = [&level_order](const AttemptRecord& a) {
        const auto it = level_order.find(a.level);
        return std::tuple(a.iteration, it == level_order.end() ? level_order.size() : it->second,
                          std::string_view(a.level));
    };
    std::sort(
        run.attempts.begin(), run.attempts.end(),
        [&rank](const AttemptRecord& a, const AttemptRecord& b) { return rank(a) < rank(b); });
    return {};
}

} // namespace

Status RunStore::create_run(const RunRecord& run)
{
    try {
        auto tx = begin_write(*m_db);
        SQLite::Statement exists(m_db->handle(), "SELECT 1 FROM bench_runs WHERE id = ?");
        exists.bind(1, run.id);
        if (exists.executeStep()) {
            return fail(
                fmt::format("a benchmark run '{}' already exists in {}", run.id, in_db(*m_db)));
        }
        SQLite::Statement q(m_db->handle(),
                            "INSERT INTO bench_runs(id, kind, status, suite, created_at_ms, "
                            "updated_at_ms, finished_at_ms, config_json, facts_json, note) "
                            "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        q.bind(1, run.id);
        q.bind(2, std::string(to_string(run.config.kind)));
        q.bind(3, std::string(to_string(run.status)));
        q.bind(4, run.config.suite);
        q.bind(5, run.created_at_ms);
        q.bind(6, run.updated_at_ms);
        if (run.finished_at_ms) {
            q.bind(7, *run.finished_at_ms);
        } else {
            q.bind(7);
        }
        q.bind(8, encode_run_config(run.config));
        q.bind(9, encode_run_facts(run));
        q.bind(10, run.note);
        q.exec();
        for (const auto& attempt : run.attempts) {
            insert_attempt(*m_db, run.id, attempt, run.updated_at_ms);
        }
        tx.commit();
        return {};
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("cannot create benchmark run '{}' in {}: {}", run.id, in_db(*m_db),
                                e.what()));
    }
}

Status RunStore::update_facts(const std::string& id, const RunRecord& facts)
{
    try {
        SQLite::Statement q(m_db->handle(), "UPDATE bench_runs SET facts_json = ? WHERE id = ?");
        q.bind(1, encode_run_facts(facts));
        q.bind(2, id);
        if (q.exec() == 0) {
            return no_such_run(*m_db, id);
        }
        return {};
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("cannot record the facts of benchmark run '{}' in {}: {}", id,
                                in_db(*m_db), e.what()));
    }
}

Status RunStore::set_status(const std::string& id, RunStatus status, const std::string& note,
                            std::int64_t now_ms, std::optional<std::int64_t> finished_at_ms)
{
    try {
        SQLite::Statement q(m_db->handle(),
                            "UPDATE bench_runs SET status = ?, note = ?, updated_at_ms = ?, "
                            "finished_at_ms = ? WHERE id = ?");
        q.bind(1, std::string(to_string(status)));
        q.bind(2, note);
        q.bind(3, now_ms);
        if (finished_at_ms) {
            q.bind(4, *finished_at_ms);
        } else {
            q.bind(4);
        }
        q.bind(5, id);
        if (q.exec() == 0) {
            return no_such_run(*m_db, id);
        }
        return {};
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("cannot set the status of benchmark run '{}' to {} in {}: {}", id,
                                to_string(status), in_db(*m_db), e.what()));
    }
}

Status RunStore::record_attempt(const std::string& run_id, const AttemptRecord& attempt,
                                std::int64_t now_ms)
{
    try {
        auto tx = begin_write(*m_db);
        SQLite::Statement touch(m_db->handle(),
                                "UPDATE bench_runs SET updated_at_ms = ? WHERE id = ?");
        touch.bind(1, now_ms);
        touch.bind(2, run_id);
        if (touch.exec() == 0) {
            return no_such_run(*m_db, run_id);
        }
        insert_attempt(*m_db, run_id, attempt, now_ms);
        tx.commit();
        return {};
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("cannot record attempt (iteration {}, level '{}') of benchmark "
                                "run '{}' in {}: {}",
                                attempt.iteration, attempt.level, run_id, in_db(*m_db), e.what()));
    }
}

Result<std::optional<RunRecord>> RunStore::load_run(const std::string& id)
{
    try {
        // One read transaction: the run and its attempts come from the same snapshot even
        // while another process records attempts.
        SQLite::Transaction tx(m_db->handle());
        auto run = read_run_row(*m_db, id);
        if (!run) {
            return tl::unexpected(run.error().with_context(
                fmt::format("benchmark run '{}' in {}", id, in_db(*m_db))));
        }
        if (!*run) {
            return run;
        }
        if (auto attempts = read_attempts(*m_db, **run); !attempts) {
            return tl::unexpected(attempts.error().with_context(
                fmt::format("benchmark run '{}' in {}", id, in_db(*m_db))));
        }
        tx.commit();
        return run;
    } catch (const SQLite::Exception& e) {
        return fail(
            fmt::format("cannot read benchmark run '{}' from {}: {}", id, in_db(*m_db), e.what()));
    }
}

Result<std::vector<RunSummaryRow>> RunStore::list_runs(int limit)
{
    try {
        SQLite::Statement q(m_db->handle(),
                            "SELECT r.id, r.kind, r.status, r.suite, r.created_at_ms, "
                            "r.updated_at_ms, r.finished_at_ms, r.config_json, r.facts_json, "
                            "COUNT(a.run_id), COALESCE(SUM(a.points), 0) "
                            "FROM bench_runs r LEFT JOIN bench_attempts a ON a.run_id = r.id "
                            "GROUP BY r.id ORDER BY r.created_at_ms DESC, r.id DESC LIMIT ?");
        q.bind(1, limit > 0 ? limit : -1);
        std::vector<RunSummaryRow> rows;
        while (q.executeStep()) {
            RunSummaryRow row;
            row.id = q.getColumn(0).getString();
            // One bad row names itself instead of hiding every other run.
            const auto unreadable = [&](std::string_view what) {
                return fmt::format("benchmark run '{}' in {}: {}", row.id, in_db(*m_db), what);
            };
            const std::string kind = q.getColumn(1).getString();
            const std::string status = q.getColumn(2).getString();
            const auto parsed_kind = parse_run_kind(kind);
            const auto parsed_status = parse_run_status(status);
            if (!parsed_kind || !parsed_status) {
                return fail(unreadable(
                    fmt::format("unknown stored kind '{}' or status '{}'", kind, status)));
            }
            row.kind = *parsed_kind;
            row.status = *parsed_status;
            row.suite = q.getColumn(3).getString();
            row.created_at_ms = q.getColumn(4).getInt64();
            row.updated_at_ms = q.getColumn(5).getInt64();
            row.finished_at_ms = nullable_int64(q.getColumn(6));
            auto config = decode_run_config(q.getColumn(7).getString());
            if (!config) {
                return tl::unexpected(
                    config.error().with_context(unreadable("the stored config is unreadable")));
            }
            RunRecord facts;
            if (auto decoded = decode_run_facts(q.getColumn(8).getString(), facts); !decoded) {
                return tl::unexpected(
                    decoded.error().with_context(unreadable("the stored facts are unreadable")));
            }
            row.attempts_recorded = q.getColumn(9).getInt64();
            row.points_earned = q.getColumn(10).getInt64();
            row.attempts_planned = static_cast<std::int64_t>(config->iterations) *
                                   static_cast<std::int64_t>(config->level_ids.size());
            row.model_file = facts.model.file_name;
            row.base_url = config->base_url;
            row.service = config->service;
            rows.push_back(std::move(row));
        }
        return rows;
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("cannot list benchmark runs in {}: {}", in_db(*m_db), e.what()));
    }
}

Result<std::optional<std::string>> RunStore::find_run_by_prefix(std::string_view prefix)
{
    if (prefix.empty()) {
        return fail("an empty run id matches every run; give the id or its first characters");
    }
    try {
        // substr/length count characters on both sides, so multi-byte ids compare correctly.
        SQLite::Statement q(m_db->handle(), "SELECT id FROM bench_runs "
                                            "WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id");
        q.bind(1, std::string(prefix));
        std::vector<std::string> matches;
        while (q.executeStep()) {
            matches.push_back(q.getColumn(0).getString());
        }
        if (matches.empty()) {
            return std::optional<std::string>();
        }
        if (std::find(matches.begin(), matches.end(), prefix) != matches.end()) {
            return std::optional<std::string>(std::string(prefix));
        }
        if (matches.size() == 1) {
            return std::optional<std::string>(matches.front());
        }
        std::string listed;
        for (std::size_t i = 0; i < matches.size() && i < k_max_candidates_shown; ++i) {
            listed += (i == 0 ? "" : ", ") + matches[i];
        }
        if (matches.size() > k_max_candidates_shown) {
            listed += fmt::format(" and {} more", matches.size() - k_max_candidates_shown);
        }
        return fail(fmt::format("run id '{}' is ambiguous: it starts {} runs ({}); give more "
                                "characters",
                                prefix, matches.size(), listed));
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("cannot look up benchmark run '{}' in {}: {}", prefix, in_db(*m_db),
                                e.what()));
    }
}

Status RunStore::delete_run(const std::string& id)
{
    try {
        // The attempts go with the run (ON DELETE CASCADE; Database turns foreign keys on).
        SQLite::Statement q(m_db->handle(), "DELETE FROM bench_runs WHERE id = ?");
        q.bind(1, id);
        if (q.exec() == 0) {
            return no_such_run(*m_db, id);
        }
        return {};
    } catch (const SQLite::Exception& e) {
        return fail(fmt::format("cannot delete benchmark run '{}' from {}: {}", id, in_db(*m_db),
                                e.what()));
    }
}

} // namespace gpumod::bench
