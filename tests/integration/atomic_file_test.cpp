#include "adapters/posix/atomic_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace gpumod::posix {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class AtomicFile : public ::testing::Test
{
  protected:
    AtomicFile()
    {
        std::string pattern = (fs::temp_directory_path() / "gpumod-atomic-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        m_dir = pattern;
    }
    ~AtomicFile() override
    {
        std::error_code ec;
        fs::permissions(m_dir, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(m_dir, ec);
    }

    static std::string read(const fs::path& p)
    {
        std::ifstream in(p, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

    std::vector<std::string> entries() const
    {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(m_dir)) {
            names.push_back(e.path().filename().string());
        }
        std::sort(names.begin(), names.end());
        return names;
    }

    fs::path m_dir;
};

std::vector<uint8_t> bytes_of(std::string_view s)
{
    return {s.begin(), s.end()};
}

TEST_F(AtomicFile, WritesTheBytesAndLeavesNoTemporary)
{
    const auto path = m_dir / "model.gguf";
    ASSERT_TRUE(write_file_atomically(path, bytes_of("hello")));
    EXPECT_EQ(read(path), "hello");
    const std::string binary("a\0b", 3);
    const auto path2 = m_dir / "binary";
    ASSERT_TRUE(write_file_atomically(path2, bytes_of(binary)));
    EXPECT_EQ(read(path2), binary);
    EXPECT_EQ(entries(), (std::vector<std::string>{"binary", "model.gguf"}));
}

TEST_F(AtomicFile, WritesAnEmptyFile)
{
    const auto path = m_dir / "empty";
    ASSERT_TRUE(write_file_atomically(path, {}));
    EXPECT_TRUE(fs::is_regular_file(path));
    EXPECT_EQ(fs::file_size(path), 0U);
}

TEST_F(AtomicFile, RefusesToOverwriteUnlessAsked)
{
    const auto path = m_dir / "m.gguf";
    ASSERT_TRUE(write_file_atomically(path, bytes_of("old")));
    auto refused = write_file_atomically(path, bytes_of("new"));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message, "'" + path.string() + "' already exists");
    EXPECT_EQ(read(path), "old");
    ASSERT_TRUE(write_file_atomically(path, bytes_of("new"), ExistingFile::replace));
    EXPECT_EQ(read(path), "new");
    EXPECT_EQ(entries(), (std::vector<std::string>{"m.gguf"}));
}

TEST_F(AtomicFile, RefusesADanglingSymlinkToo)
{
    const auto link = m_dir / "link";
    fs::create_symlink(m_dir / "nowhere", link);
    auto refused = write_file_atomically(link, bytes_of("x"));
    ASSERT_FALSE(refused);
    EXPECT_THAT(refused.error().message, HasSubstr("already exists"));
    EXPECT_FALSE(fs::exists(m_dir / "nowhere"));
}

TEST_F(AtomicFile, MissingDirectoryNamesThePathAndReason)
{
    const auto path = m_dir / "no" / "such" / "m.gguf";
    auto r = write_file_atomically(path, bytes_of("x"));
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message, HasSubstr((m_dir / "no" / "such").string()));
    EXPECT_THAT(r.error().message, HasSubstr("No such file or directory"));
    EXPECT_TRUE(entries().empty());
}

TEST_F(AtomicFile, ParentThatIsAFileIsAnError)
{
    ASSERT_TRUE(write_file_atomically(m_dir / "plain", bytes_of("x")));
    auto r = write_file_atomically(m_dir / "plain" / "m.gguf", bytes_of("x"));
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message, HasSubstr("Not a directory"));
    EXPECT_EQ(entries(), (std::vector<std::string>{"plain"}));
}

TEST_F(AtomicFile, NotAFileNameIsAnError)
{
    auto r = write_file_atomically(m_dir / "sub" / "", bytes_of("x"));
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message, HasSubstr("not a file name"));
}

TEST_F(AtomicFile, FailureWhileWritingLeavesNothingBehind)
{
    // A file size limit makes write() fail half-way (EFBIG) like a full disk would.
    struct sigaction ignore
    {
    };
    ignore.sa_handler = SIG_IGN;
    struct sigaction old_action
    {
    };
    ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &old_action), 0);
    struct rlimit old_limit
    {
    };
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    struct rlimit small = old_limit;
    small.rlim_cur = 4096;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);

    const std::vector<uint8_t> big(100000, 0x42);
    auto r = write_file_atomically(m_dir / "big.gguf", big);

    ::setrlimit(RLIMIT_FSIZE, &old_limit);
    ::sigaction(SIGXFSZ, &old_action, nullptr);
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message, HasSubstr("File too large"));
    EXPECT_THAT(r.error().message, HasSubstr(m_dir.string()));
    EXPECT_TRUE(entries().empty()) << "found " << entries().front();
}

TEST_F(AtomicFile, UnwritableDirectoryIsAnError)
{
    if (::geteuid() == 0) {
        GTEST_SKIP() << "root bypasses directory permissions";
    }
    fs::permissions(m_dir, fs::perms::owner_read | fs::perms::owner_exec);
    auto r = write_file_atomically(m_dir / "m.gguf", bytes_of("x"));
    fs::permissions(m_dir, fs::perms::owner_all);
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message, HasSubstr("Permission denied"));
    EXPECT_TRUE(entries().empty());
}

TEST_F(AtomicFile, ModeFollowsTheUmask)
{
    const mode_t old = ::umask(027);
    auto r = write_file_atomically(m_dir / "m.gguf", bytes_of("x"));
    ::umask(old);
    ASSERT_TRUE(r);
    EXPECT_EQ(fs::status(m_dir / "m.gguf").permissions(),
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
}

} // namespace
} // namespace gpumod::posix
