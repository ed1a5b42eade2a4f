#include "adapters/posix/atomic_file.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <stdio.h> // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace gpumod::posix {

namespace {

// Temporary names stay well below NAME_MAX (255) even for long target names.
constexpr size_t k_max_temp_stem = 200;
constexpr int k_temp_attempts = 100;

std::string errno_text(int error)
{
    // std::error_code's message is thread-safe, unlike strerror.
    return std::error_code(error, std::generic_category()).message();
}

// Closes the descriptor and removes the temporary file unless the write was published.
class TempFile
{
  public:
    TempFile() = default;
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile()
    {
        close_fd();
        if (!m_path.empty()) {
            ::unlink(m_path.c_str());
        }
    }

    Status create(const std::filesystem::path& dir, const std::string& name)
    {
        const std::string stem = name.substr(0, k_max_temp_stem);
        for (int attempt = 0; attempt < k_temp_attempts; ++attempt) {
            auto candidate = dir / fmt::format(".{}.{}.{}.tmp", stem, ::getpid(), attempt);
            // 0666 so that the final file gets the usual mode minus the umask.
            const int fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (fd >= 0) {
                m_fd = fd;
                m_path = std::move(candidate);
                return {};
            }
            if (errno != EEXIST) {
                return fail(fmt::format("cannot create a temporary file in '{}': {}", dir.string(),
                                        errno_text(errno)));
            }
        }
        return fail(fmt::format("cannot create a temporary file in '{}': {} names taken",
                                dir.string(), k_temp_attempts));
    }

    Status write_all(std::span<const uint8_t> bytes)
    {
        size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::write(m_fd, bytes.data() + done, bytes.size() - done);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return fail(
                    fmt::format("cannot write '{}': {}", m_path.string(), errno_text(errno)));
            }
            done += static_cast<size_t>(n);
        }
        if (::fsync(m_fd) != 0) {
            return fail(
                fmt::format("cannot flush '{}' to disk: {}", m_path.string(), errno_text(errno)));
        }
        const int fd = m_fd;
        m_fd = -1;
        // close() can report a deferred write error (NFS), so it is checked, not just done.
        if (::close(fd) != 0) {
            return fail(fmt::format("cannot close '{}': {}", m_path.string(), errno_text(errno)));
        }
        return {};
    }

    [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

    /// After a successful rename the temporary name no longer exists: nothing to clean up.
    void release() { m_path.clear(); }

  private:
    void close_fd()
    {
        if (m_fd >= 0) {
            ::close(m_fd);
            m_fd = -1;
        }
    }
    int m_fd = -1;
    std::filesystem::path m_path;
};

Status publish_without_replacing(const std::filesystem::path& temp,
                                 const std::filesystem::path& path)
{
    if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
        return {};
    }
    if (errno != EINVAL && errno != ENOSYS) {
        return fail(errno == EEXIST
                        ? fmt::format("'{}' already exists", path.string())
                        : fmt::format("cannot create '{}': {}", path.string(), errno_text(errno)));
    }
    // Some filesystems lack RENAME_NOREPLACE; link() also fails when the target exists.
    if (::link(temp.c_str(), path.c_str()) != 0) {
        return fail(errno == EEXIST
                        ? fmt::format("'{}' already exists", path.string())
                        : fmt::format("cannot create '{}': {}", path.string(), errno_text(errno)));
    }
    ::unlink(temp.c_str());
    return {};
}

void sync_directory(const std::filesystem::path& dir)
{
    // Makes the rename itself durable. Best effort: the file is complete and in place either
    // way, and some filesystems refuse fsync on a directory.
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

} // namespace

Status write_file_atomically(const std::filesystem::path& path, std::span<const uint8_t> bytes,
                             ExistingFile existing)
{
    const std::string name = path.filename().string();
    if (name.empty() || name == "." || name == "..") {
        return fail(fmt::format("cannot write '{}': not a file name", path.string()));
    }
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
    struct stat st
    {
    };
    if (existing == ExistingFile::refuse && ::lstat(path.c_str(), &st) == 0) {
        // Checked again atomically when publishing; this early check just saves the write.
        return fail(fmt::format("'{}' already exists", path.string()));
    }

    TempFile temp;
    if (auto s = temp.create(dir, name); !s) {
        return s;
    }
    if (auto s = temp.write_all(bytes); !s) {
        return s;
    }
    if (existing == ExistingFile::replace) {
        if (::rename(temp.path().c_str(), path.c_str()) != 0) {
            return fail(fmt::format("cannot replace '{}': {}", path.string(), errno_text(errno)));
        }
    } else if (auto s = publish_without_replacing(temp.path(), path); !s) {
        return s;
    }
    temp.release();
    sync_directory(dir);
    return {};
}

} // namespace gpumod::posix
