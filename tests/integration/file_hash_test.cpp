#include "adapters/bench/file_hash.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/posix/sha256.hpp"
#include "adapters/sqlite/database.hpp"

namespace gpumod::bench {
namespace {

using ::testing::HasSubstr;

constexpr const char* k_sha256_abc =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

class FileHashTest : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/gpumod-file-hash-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        m_dir = tmpl;
        auto db = sqlite::Database::open(m_dir / "gpumod.db");
        ASSERT_TRUE(db.has_value()) << db.error().message;
        m_db.emplace(std::move(*db));
        m_file = m_dir / "model.gguf";
        write(m_file, "abc");
    }
    void TearDown() override
    {
        m_db.reset();
        std::filesystem::remove_all(m_dir);
    }

    static void write(const std::filesystem::path& path, const std::string& content)
    {
        std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    }

    /// Replaces every cached hash, so that a cache hit is visible in the answer.
    void plant_sentinel() { m_db->handle().exec("UPDATE file_hashes SET sha256 = 'sentinel'"); }

    std::string hash(const std::filesystem::path& path)
    {
        auto sha = cached_sha256(*m_db, path);
        EXPECT_TRUE(sha.has_value()) << sha.error().message;
        return sha.value_or("");
    }

    std::filesystem::path m_dir;
    std::filesystem::path m_file;
    std::optional<sqlite::Database> m_db;
};

TEST_F(FileHashTest, HashIsComputedAndCachedUnderTheCanonicalPath)
{
    EXPECT_EQ(hash(m_file), k_sha256_abc);
    SQLite::Statement q(m_db->handle(), "SELECT path, size_bytes, sha256 FROM file_hashes");
    ASSERT_TRUE(q.executeStep());
    EXPECT_EQ(q.getColumn(0).getString(), std::filesystem::canonical(m_file).string());
    EXPECT_EQ(q.getColumn(1).getInt64(), 3);
    EXPECT_EQ(q.getColumn(2).getString(), k_sha256_abc);
    EXPECT_FALSE(q.executeStep());
}

TEST_F(FileHashTest, UnchangedFileIsAnsweredFromTheCache)
{
    ASSERT_EQ(hash(m_file), k_sha256_abc);
    plant_sentinel();
    EXPECT_EQ(hash(m_file), "sentinel");
    // Another way to the same file is the same cache entry.
    const auto link = m_dir / "link.gguf";
    std::filesystem::create_symlink(m_file, link);
    EXPECT_EQ(hash(link), "sentinel");
}

TEST_F(FileHashTest, ModifiedFileIsHashedAgain)
{
    ASSERT_EQ(hash(m_file), k_sha256_abc);
    plant_sentinel();
    // Same size, new content and a later mtime (set explicitly: coarse file system clocks
    // could otherwise give both writes the same stamp).
    const auto stamp = std::filesystem::last_write_time(m_file);
    write(m_file, "abd");
    std::filesystem::last_write_time(m_file, stamp + std::chrono::seconds(1));
    EXPECT_EQ(hash(m_file), posix::sha256_hex("abd"));
    EXPECT_NE(posix::sha256_hex("abd"), k_sha256_abc);

    // A new size is a change too, even with the old mtime.
    plant_sentinel();
    const auto same_stamp = std::filesystem::last_write_time(m_file);
    write(m_file, "abcdef");
    std::filesystem::last_write_time(m_file, same_stamp);
    EXPECT_EQ(hash(m_file), posix::sha256_hex("abcdef"));
    plant_sentinel();
    EXPECT_EQ(hash(m_file), "sentinel") << "the new version is cached in turn";
}

TEST_F(FileHashTest, MissingFileIsAnErrorNamingIt)
{
    auto sha = cached_sha256(*m_db, m_dir / "absent.gguf");
    ASSERT_FALSE(sha.has_value());
    EXPECT_THAT(sha.error().message, HasSubstr("absent.gguf"));

    auto dir = cached_sha256(*m_db, m_dir);
    ASSERT_FALSE(dir.has_value());
    EXPECT_THAT(dir.error().message, HasSubstr("not a regular file"));
}

} // namespace
} // namespace gpumod::bench
