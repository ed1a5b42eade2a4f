#include "adapters/bench/run_store.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/sqlite/database.hpp"

namespace gpumod::bench {
namespace {

using ::testing::HasSubstr;

class RunStoreTest : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/gpumod-run-store-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        m_dir = tmpl;
        m_path = m_dir / "gpumod.db";
        auto db = sqlite::Database::open(m_path);
        ASSERT_TRUE(db.has_value()) << db.error().message;
        m_db.emplace(std::move(*db));
    }
    void TearDown() override
    {
        m_db.reset();
        std::filesystem::remove_all(m_dir);
    }

    RunStore store() { return RunStore(*m_db); }

    std::int64_t count_attempt_rows(const std::string& run_id)
    {
        SQLite::Statement q(m_db->handle(), "SELECT COUNT(*) FROM bench_attempts WHERE run_id = ?");
        q.bind(1, run_id);
        q.executeStep();
        return q.getColumn(0).getInt64();
    }

    std::filesystem::path m_dir;
    std::filesystem::path m_path;
    std::optional<sqlite::Database> m_db;
};

RunRecord make_run(const std::string& id, std::int64_t created_at_ms,
                   std::vector<std::string> levels = {"zeta", "alpha", "mid"})
{
    RunRecord run;
    run.id = id;
    run.created_at_ms = created_at_ms;
    run.updated_at_ms = created_at_ms;
    run.config.suite = "coding";
    run.config.level_ids = std::move(levels);
    run.config.iterations = 2;
    run.config.sampler.name = "thinking-coding";
    run.config.sampler.temperature = 0.6;
    run.config.seed = 18'000'000'000'000'000'000ULL;
    run.config.base_url = "http://127.0.0.1:7103";
    run.config.service = "qwen36";
    run.server.build = "b11669-Debian";
    run.model.file_name = "qwen.gguf";
    run.model.size_bytes = 123;
    run.environment.gpus = {"NVIDIA H100 (81559 MiB)"};
    return run;
}

AttemptRecord make_attempt(int iteration, const std::string& level, int points = 0)
{
    AttemptRecord a;
    a.iteration = iteration;
    a.level = level;
    a.seed = -static_cast<std::int64_t>(iteration) * 1'000'000'007;
    a.outcome = points > 0 ? Outcome::pass : Outcome::test_failures;
    a.points = points;
    a.points_possible = 10;
    a.tests = TestCounts{3, points > 0 ? 0 : 1, 0, 0};
    a.content = "reply for " + level;
    a.metrics.request_ms = 1234.5678;
    a.metrics.ttft_ms = 0.1;
    return a;
}

std::vector<std::pair<int, std::string>> keys(const RunRecord& run)
{
    std::vector<std::pair<int, std::string>> out;
    for (const auto& a : run.attempts) {
        out.emplace_back(a.iteration, a.level);
    }
    return out;
}

TEST_F(RunStoreTest, MigrationCreatesTheBenchTables)
{
    EXPECT_GE(sqlite::latest_schema_version(), 3);
    for (const char* table : {"bench_runs", "bench_attempts", "file_hashes"}) {
        SQLite::Statement q(m_db->handle(),
                            "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = ?");
        q.bind(1, table);
        ASSERT_TRUE(q.executeStep());
        EXPECT_EQ(q.getColumn(0).getInt(), 1) << table;
    }
}

TEST_F(RunStoreTest, CreatedRunLoadsBackEqualAndIdsAreUnique)
{
    RunRecord run = make_run("r1", 1000);
    run.attempts = {make_attempt(1, "zeta", 10)};
    ASSERT_TRUE(store().create_run(run).has_value());
    auto loaded = store().load_run("r1");
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
    ASSERT_TRUE(loaded->has_value());
    EXPECT_EQ(**loaded, run);

    auto again = store().create_run(make_run("r1", 2000));
    ASSERT_FALSE(again.has_value());
    EXPECT_THAT(again.error().message, HasSubstr("'r1' already exists"));

    auto missing = store().load_run("nope");
    ASSERT_TRUE(missing.has_value()) << missing.error().message;
    EXPECT_FALSE(missing->has_value());
}

TEST_F(RunStoreTest, AttemptsRecordedOutOfOrderLoadByIterationThenLevelOrder)
{
    ASSERT_TRUE(store().create_run(make_run("r1", 1000)).has_value());
    std::int64_t now = 2000;
    for (const auto& [iteration, level] : std::vector<std::pair<int, std::string>>{
             {2, "mid"}, {1, "alpha"}, {2, "zeta"}, {1, "zeta"}, {1, "mid"}, {1, "unlisted"}}) {
        ASSERT_TRUE(store().record_attempt("r1", make_attempt(iteration, level), ++now));
    }
    auto loaded = store().load_run("r1");
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
    ASSERT_TRUE(loaded->has_value());
    const std::vector<std::pair<int, std::string>> expected = {
        {1, "zeta"}, {1, "alpha"}, {1, "mid"}, {1, "unlisted"}, {2, "zeta"}, {2, "mid"}};
    EXPECT_EQ(keys(**loaded), expected);
    EXPECT_EQ((*loaded)->updated_at_ms, now);
    EXPECT_EQ((*loaded)->attempts[0], make_attempt(1, "zeta"));
}

TEST_F(RunStoreTest, RecordingTheSameAttemptAgainReplacesIt)
{
    ASSERT_TRUE(store().create_run(make_run("r1", 1000)).has_value());
    ASSERT_TRUE(store().record_attempt("r1", make_attempt(1, "alpha", 0), 2000));
    const AttemptRecord retry = make_attempt(1, "alpha", 10);
    ASSERT_TRUE(store().record_attempt("r1", retry, 3000));
    auto loaded = store().load_run("r1");
    ASSERT_TRUE(loaded.has_value() && loaded->has_value());
    ASSERT_EQ((*loaded)->attempts.size(), 1U);
    EXPECT_EQ((*loaded)->attempts[0], retry);
    auto rows = store().list_runs(10);
    ASSERT_TRUE(rows.has_value()) << rows.error().message;
    ASSERT_EQ(rows->size(), 1U);
    EXPECT_EQ((*rows)[0].attempts_recorded, 1);
    EXPECT_EQ((*rows)[0].points_earned, 10);
}

TEST_F(RunStoreTest, RecordedAttemptSurvivesTheProcessBeingKilled)
{
    ASSERT_TRUE(store().create_run(make_run("r1", 1000)).has_value());
    m_db.reset();
    // A child records attempts and dies by SIGKILL with the connection open: no destructor,
    // no checkpoint of the WAL. Whatever record_attempt confirmed must be there afterwards.
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        auto db = sqlite::Database::open(m_path);
        if (!db) {
            _exit(2);
        }
        RunStore child(*db);
        if (!child.record_attempt("r1", make_attempt(1, "zeta", 10), 5000) ||
            !child.record_attempt("r1", make_attempt(1, "alpha"), 6000)) {
            _exit(3);
        }
        ::kill(::getpid(), SIGKILL);
        _exit(4);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;

    auto db = sqlite::Database::open(m_path);
    ASSERT_TRUE(db.has_value()) << db.error().message;
    auto loaded = RunStore(*db).load_run("r1");
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
    ASSERT_TRUE(loaded->has_value());
    const std::vector<std::pair<int, std::string>> expected = {{1, "zeta"}, {1, "alpha"}};
    EXPECT_EQ(keys(**loaded), expected);
    EXPECT_EQ((*loaded)->attempts[0], make_attempt(1, "zeta", 10));
    EXPECT_EQ((*loaded)->updated_at_ms, 6000);
}

TEST_F(RunStoreTest, StatusAndFactsAreUpdatedAndSurviveReopening)
{
    ASSERT_TRUE(store().create_run(make_run("r1", 1000)).has_value());
    ASSERT_TRUE(store().set_status("r1", RunStatus::complete, "", 4000, 4000));
    RunRecord facts;
    facts.server.build = "b9999";
    facts.model.sha256 = "abcd";
    facts.environment.hostname = "box";
    ASSERT_TRUE(store().update_facts("r1", facts));
    ASSERT_TRUE(store().record_attempt("r1", make_attempt(2, "mid"), 4500));
    ASSERT_TRUE(store().set_status("r1", RunStatus::interrupted, "Ctrl-C", 5000, std::nullopt));

    m_db.reset();
    auto db = sqlite::Database::open(m_path);
    ASSERT_TRUE(db.has_value()) << db.error().message;
    auto loaded = RunStore(*db).load_run("r1");
    ASSERT_TRUE(loaded.has_value() && loaded->has_value());
    const RunRecord& run = **loaded;
    EXPECT_EQ(run.status, RunStatus::interrupted);
    EXPECT_EQ(run.note, "Ctrl-C");
    EXPECT_EQ(run.updated_at_ms, 5000);
    EXPECT_FALSE(run.finished_at_ms.has_value()) << "a resumed run is not finished";
    EXPECT_EQ(run.server, facts.server);
    EXPECT_EQ(run.model, facts.model);
    EXPECT_EQ(run.environment, facts.environment);
    EXPECT_EQ(run.config, make_run("r1", 1000).config);
    ASSERT_EQ(run.attempts.size(), 1U);
}

TEST_F(RunStoreTest, WritesToAMissingRunAreErrorsNamingIt)
{
    RunStore s = store();
    for (const Status& status :
         {s.record_attempt("ghost", make_attempt(1, "a"), 1), s.update_facts("ghost", RunRecord{}),
          s.set_status("ghost", RunStatus::aborted, "", 1, std::nullopt), s.delete_run("ghost")}) {
        ASSERT_FALSE(status.has_value());
        EXPECT_THAT(status.error().message, HasSubstr("no benchmark run 'ghost'"));
    }
    EXPECT_EQ(count_attempt_rows("ghost"), 0);
}

TEST_F(RunStoreTest, ListRunsIsNewestFirstWithCountsAndFacts)
{
    ASSERT_TRUE(store().create_run(make_run("old", 100)));
    RunRecord newest = make_run("newest", 300, {"L1"});
    newest.config.kind = RunKind::smoke;
    newest.config.iterations = 5;
    newest.config.service.reset();
    newest.config.base_url = "http://10.0.0.2:8000";
    newest.model.file_name = "";
    ASSERT_TRUE(store().create_run(newest));
    ASSERT_TRUE(store().create_run(make_run("middle", 200)));
    ASSERT_TRUE(store().record_attempt("old", make_attempt(1, "zeta", 10), 400));
    ASSERT_TRUE(store().record_attempt("old", make_attempt(1, "alpha", 7), 401));
    ASSERT_TRUE(store().record_attempt("old", make_attempt(2, "mid", 0), 402));
    ASSERT_TRUE(store().record_attempt("newest", make_attempt(3, "L1", 10), 403));
    ASSERT_TRUE(store().set_status("old", RunStatus::complete, "", 500, 500));

    auto rows = store().list_runs(0);
    ASSERT_TRUE(rows.has_value()) << rows.error().message;
    ASSERT_EQ(rows->size(), 3U);
    EXPECT_EQ((*rows)[0].id, "newest");
    EXPECT_EQ((*rows)[1].id, "middle");
    EXPECT_EQ((*rows)[2].id, "old");

    RunSummaryRow expected_old;
    expected_old.id = "old";
    expected_old.kind = RunKind::run;
    expected_old.status = RunStatus::complete;
    expected_old.suite = "coding";
    expected_old.created_at_ms = 100;
    expected_old.updated_at_ms = 500;
    expected_old.finished_at_ms = 500;
    expected_old.attempts_recorded = 3;
    expected_old.attempts_planned = 6;
    expected_old.points_earned = 17;
    expected_old.model_file = "qwen.gguf";
    expected_old.base_url = "http://127.0.0.1:7103";
    expected_old.service = "qwen36";
    EXPECT_EQ((*rows)[2], expected_old);

    const RunSummaryRow& smoke = (*rows)[0];
    EXPECT_EQ(smoke.kind, RunKind::smoke);
    EXPECT_EQ(smoke.attempts_planned, 5);
    EXPECT_EQ(smoke.attempts_recorded, 1);
    EXPECT_EQ(smoke.points_earned, 10);
    EXPECT_EQ(smoke.base_url, "http://10.0.0.2:8000");
    EXPECT_FALSE(smoke.service.has_value());
    EXPECT_EQ((*rows)[1].attempts_recorded, 0);
    EXPECT_EQ((*rows)[1].points_earned, 0);

    auto two = store().list_runs(2);
    ASSERT_TRUE(two.has_value());
    ASSERT_EQ(two->size(), 2U);
    EXPECT_EQ((*two)[1].id, "middle");
}

TEST_F(RunStoreTest, PrefixFindsOneRunAndNamesCandidatesWhenAmbiguous)
{
    for (const char* id : {"20250611-aaa", "20250611-aab", "20250612-x", "abc", "abcd"}) {
        ASSERT_TRUE(store().create_run(make_run(id, 1)).has_value()) << id;
    }
    auto unique = store().find_run_by_prefix("20250612");
    ASSERT_TRUE(unique.has_value()) << unique.error().message;
    EXPECT_EQ(unique->value_or(""), "20250612-x");

    auto exact = store().find_run_by_prefix("abc");
    ASSERT_TRUE(exact.has_value()) << exact.error().message;
    EXPECT_EQ(exact->value_or(""), "abc");

    auto ambiguous = store().find_run_by_prefix("20250611-a");
    ASSERT_FALSE(ambiguous.has_value());
    EXPECT_THAT(ambiguous.error().message, HasSubstr("ambiguous"));
    EXPECT_THAT(ambiguous.error().message, HasSubstr("20250611-aaa, 20250611-aab"));

    for (const char* none : {"zzz", "2025061_", "2025061%", "abcde"}) {
        auto missing = store().find_run_by_prefix(none);
        ASSERT_TRUE(missing.has_value()) << missing.error().message;
        EXPECT_FALSE(missing->has_value()) << none;
    }
    EXPECT_FALSE(store().find_run_by_prefix("").has_value());
}

TEST_F(RunStoreTest, DeleteRemovesTheRunAndItsAttemptsOnly)
{
    ASSERT_TRUE(store().create_run(make_run("gone", 1)));
    ASSERT_TRUE(store().create_run(make_run("kept", 2)));
    ASSERT_TRUE(store().record_attempt("gone", make_attempt(1, "zeta"), 3));
    ASSERT_TRUE(store().record_attempt("gone", make_attempt(1, "alpha"), 4));
    ASSERT_TRUE(store().record_attempt("kept", make_attempt(1, "zeta"), 5));
    ASSERT_EQ(count_attempt_rows("gone"), 2);

    ASSERT_TRUE(store().delete_run("gone"));
    EXPECT_EQ(count_attempt_rows("gone"), 0);
    EXPECT_EQ(count_attempt_rows("kept"), 1);
    auto loaded = store().load_run("gone");
    ASSERT_TRUE(loaded.has_value());
    EXPECT_FALSE(loaded->has_value());
}

TEST_F(RunStoreTest, TwoConnectionsWritingFromTwoThreadsLoseNothing)
{
    ASSERT_TRUE(store().create_run(make_run("shared", 1, {"A", "B"})));
    constexpr int k_per_thread = 40;
    std::vector<std::string> errors(2);
    {
        std::vector<std::jthread> writers;
        for (int t = 0; t < 2; ++t) {
            writers.emplace_back([this, t, &errors] {
                auto db = sqlite::Database::open(m_path);
                if (!db) {
                    errors[static_cast<std::size_t>(t)] = db.error().message;
                    return;
                }
                RunStore writer(*db);
                const std::string level = t == 0 ? "A" : "B";
                for (int i = 1; i <= k_per_thread; ++i) {
                    if (auto s = writer.record_attempt("shared", make_attempt(i, level), i); !s) {
                        errors[static_cast<std::size_t>(t)] = s.error().message;
                        return;
                    }
                }
            });
        }
    }
    EXPECT_EQ(errors[0], "");
    EXPECT_EQ(errors[1], "");
    auto loaded = store().load_run("shared");
    ASSERT_TRUE(loaded.has_value() && loaded->has_value());
    ASSERT_EQ((*loaded)->attempts.size(), 2U * k_per_thread);
    for (int i = 0; i < 2 * k_per_thread; ++i) {
        const auto& a = (*loaded)->attempts[static_cast<std::size_t>(i)];
        EXPECT_EQ(a.iteration, i / 2 + 1);
        EXPECT_EQ(a.level, i % 2 == 0 ? "A" : "B");
    }
}

TEST_F(RunStoreTest, UnreadableStoredAttemptIsAnErrorNamingRunAndAttempt)
{
    ASSERT_TRUE(store().create_run(make_run("r1", 1)));
    ASSERT_TRUE(store().record_attempt("r1", make_attempt(2, "mid"), 2));
    m_db->handle().exec("UPDATE bench_attempts SET record_json = '{\"iteration\": 2}'");
    auto loaded = store().load_run("r1");
    ASSERT_FALSE(loaded.has_value());
    EXPECT_THAT(loaded.error().message, HasSubstr("benchmark run 'r1'"));
    EXPECT_THAT(loaded.error().message, HasSubstr("(iteration 2, level 'mid')"));
    EXPECT_THAT(loaded.error().message, HasSubstr("level: missing"));
}

} // namespace
} // namespace gpumod::bench
