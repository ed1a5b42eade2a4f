#include "adapters/sqlite/database.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include <fstream>

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>

namespace gpumod::sqlite {
namespace {

class DatabaseTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/gpumod-db-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        m_dir = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(m_dir); }
    std::filesystem::path m_dir;
};

TEST_F(DatabaseTest, CreatesParentDirectoriesAndMigratesToLatestInWalMode)
{
    const auto path = m_dir / "nested" / "deeper" / "gpumod.db";
    auto db = Database::open(path);
    ASSERT_TRUE(db.has_value()) << db.error().message;
    EXPECT_TRUE(std::filesystem::exists(path));
    EXPECT_EQ(db->schema_version(), latest_schema_version());
    EXPECT_GE(latest_schema_version(), 1);
    EXPECT_EQ(db->journal_mode(), "wal");
}

TEST_F(DatabaseTest, SettingsAndEventsPersistAcrossReopen)
{
    const auto path = m_dir / "gpumod.db";
    {
        auto db = Database::open(path);
        ASSERT_TRUE(db.has_value()) << db.error().message;
        ASSERT_TRUE(db->set_setting("current_mode", "code", 1000).has_value());
        ASSERT_TRUE(db->set_setting("current_mode", "blank", 2000).has_value());
        ASSERT_TRUE(db->record_event(10, "smoke", "first").has_value());
        ASSERT_TRUE(db->record_event(20, "smoke", "second").has_value());
    }
    auto db = Database::open(path);
    ASSERT_TRUE(db.has_value()) << db.error().message;
    auto mode = db->get_setting("current_mode");
    ASSERT_TRUE(mode.has_value());
    EXPECT_EQ(mode->value_or(""), "blank");
    EXPECT_FALSE(db->get_setting("missing")->has_value());
    auto events = db->recent_events(10);
    ASSERT_TRUE(events.has_value());
    ASSERT_EQ(events->size(), 2U);
    EXPECT_EQ((*events)[0].detail, "second");
    EXPECT_EQ((*events)[1].detail, "first");
}

TEST_F(DatabaseTest, WriteCheckLeavesNoTrace)
{
    auto db = Database::open(m_dir / "gpumod.db");
    ASSERT_TRUE(db.has_value());
    ASSERT_TRUE(db->check_writable().has_value());
    EXPECT_FALSE(db->get_setting("doctor.write_check")->has_value());
}

TEST_F(DatabaseTest, RefusesADatabaseFromANewerGpumod)
{
    const auto path = m_dir / "gpumod.db";
    {
        auto db = Database::open(path);
        ASSERT_TRUE(db.has_value());
    }
    {
        // Simulate a database written by a future gpumod.
        SQLite::Database raw(path.string(), SQLite::OPEN_READWRITE);
        raw.exec("PRAGMA user_version=999");
    }
    auto db = Database::open(path);
    ASSERT_FALSE(db.has_value());
    EXPECT_NE(db.error().message.find("newer"), std::string::npos) << db.error().message;
    EXPECT_NE(db.error().message.find(path.string()), std::string::npos);
}

TEST_F(DatabaseTest, NotADatabaseFileIsAClearError)
{
    const auto path = m_dir / "garbage.db";
    std::ofstream(path) << "this is not an sqlite file, just some text that is long enough";
    auto db = Database::open(path);
    ASSERT_FALSE(db.has_value());
    EXPECT_NE(db.error().message.find(path.string()), std::string::npos) << db.error().message;
    EXPECT_NE(db.error().message.find("--db"), std::string::npos);
}

TEST_F(DatabaseTest, UnwritableDirectoryIsAClearErrorThatNamesTheFix)
{
    if (geteuid() == 0) {
        // root ignores directory permissions; a path under a regular file fails for anyone.
        const auto file = m_dir / "a-file";
        std::ofstream(file) << "x";
        auto db = Database::open(file / "sub" / "gpumod.db");
        ASSERT_FALSE(db.has_value());
        EXPECT_NE(db.error().message.find("GPUMOD_DB"), std::string::npos) << db.error().message;
        return;
    }
    std::filesystem::permissions(m_dir, std::filesystem::perms::owner_read |
                                            std::filesystem::perms::owner_exec);
    auto db = Database::open(m_dir / "gpumod.db");
    std::filesystem::permissions(m_dir, std::filesystem::perms::owner_all);
    ASSERT_FALSE(db.has_value());
    EXPECT_NE(db.error().message.find("GPUMOD_DB"), std::string::npos) << db.error().message;
}

TEST_F(DatabaseTest, ManyProcessesOpeningANewDatabaseAtOnceAllSucceed)
{
    // Each child opens its own connection at the same moment: the switch to WAL and the
    // migrations race, and every opener must still get a migrated database.
    const auto path = m_dir / "race.db";
    constexpr int k_children = 8;
    std::vector<pid_t> children;
    for (int i = 0; i < k_children; ++i) {
        const pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            auto db = Database::open(path);
            _exit(db.has_value() && db->schema_version() == latest_schema_version() ? 0 : 1);
        }
        children.push_back(pid);
    }
    int failures = 0;
    for (pid_t pid : children) {
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        failures += (WIFEXITED(status) && WEXITSTATUS(status) == 0) ? 0 : 1;
    }
    EXPECT_EQ(failures, 0);
}

} // namespace
} // namespace gpumod::sqlite
