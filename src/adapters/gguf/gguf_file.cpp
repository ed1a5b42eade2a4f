#include "adapters/gguf/gguf_file.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <vector>

namespace gpumod::gguf {

namespace {

// First read: enough for the header of most models in one go.
constexpr uint64_t k_first_read_bytes = uint64_t{1} << 20U;

std::string errno_text(int error)
{
    return std::error_code(error, std::generic_category()).message();
}

class ReadOnlyFd
{
  public:
    explicit ReadOnlyFd(const std::filesystem::path& path)
        : m_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC))
    {
    }
    ReadOnlyFd(const ReadOnlyFd&) = delete;
    ReadOnlyFd& operator=(const ReadOnlyFd&) = delete;
    ~ReadOnlyFd()
    {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }
    [[nodiscard]] int get() const { return m_fd; }

  private:
    int m_fd;
};

// Fills buffer[from, size) from the same offsets of the file.
Status read_range(int fd, std::vector<uint8_t>& buffer, size_t from,
                  const std::filesystem::path& path)
{
    size_t done = from;
    while (done < buffer.size()) {
        const ssize_t n =
            ::pread(fd, buffer.data() + done, buffer.size() - done, static_cast<off_t>(done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(fmt::format("cannot read '{}': {}", path.string(), errno_text(errno)));
        }
        if (n == 0) {
            return fail(
                fmt::format("cannot read '{}': the file shrank while being read", path.string()));
        }
        done += static_cast<size_t>(n);
    }
    return {};
}

} // namespace

Result<GgufHeader> read_gguf_file_header(const std::filesystem::path& path,
                                         uint64_t max_header_bytes)
{
    ReadOnlyFd fd(path);
    if (fd.get() < 0) {
        return fail(fmt::format("cannot open '{}': {}", path.string(), errno_text(errno)));
    }
    struct stat st
    {
    };
    if (::fstat(fd.get(), &st) != 0) {
        return fail(fmt::format("cannot stat '{}': {}", path.string(), errno_text(errno)));
    }
    if (!S_ISREG(st.st_mode)) {
        return fail(fmt::format("'{}' is not a regular file", path.string()));
    }
    const auto file_size = static_cast<uint64_t>(st.st_size);

    std::vector<uint8_t> buffer;
    uint64_t want = std::min({file_size, k_first_read_bytes, max_header_bytes});
    for (;;) {
        const size_t have = buffer.size();
        buffer.resize(static_cast<size_t>(want));
        if (auto s = read_range(fd.get(), buffer, have, path); !s) {
            return tl::unexpected(s.error());
        }
        auto parsed = read_gguf_prefix(buffer, file_size);
        if (!parsed) {
            return tl::unexpected(parsed.error().with_context(fmt::format("'{}'", path.string())));
        }
        if (auto* header = std::get_if<GgufHeader>(&*parsed)) {
            return std::move(*header);
        }
        const uint64_t needed = std::get<NeedMoreBytes>(*parsed).at_least;
        if (needed > max_header_bytes) {
            return fail(
                fmt::format("'{}': the GGUF header needs more than {} bytes; refusing to read "
                            "further",
                            path.string(), max_header_bytes));
        }
        // Grow geometrically so a header that is read in many small steps costs O(size).
        want = std::min({file_size, max_header_bytes, std::max(needed, want * 2)});
    }
}

} // namespace gpumod::gguf
