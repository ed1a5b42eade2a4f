#include "adapters/services/log_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "adapters/posix/unique_fd.hpp"

namespace gpumod::services {
namespace {

using posix::UniqueFd;

std::string errno_text(int error)
{
    const char* text = ::strerrordesc_np(error);
    return text != nullptr ? std::string(text) : fmt::format("error {}", error);
}

bool pread_all(int fd, std::string& out, uint64_t offset, std::size_t size)
{
    out.resize(size);
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::pread(fd, out.data() + done, size - done,
                                  static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            out.resize(done);
            return n == 0;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

} // namespace

Status rotate_log(const std::filesystem::path& path)
{
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
        return fail(fmt::format("cannot create the log directory '{}': {}",
                                path.parent_path().string(), ec.message()));
    }
    const auto size = std::filesystem::file_size(path, ec);
    if (ec || size == 0) {
        return {};
    }
    auto previous = path;
    previous += ".1";
    std::filesystem::rename(path, previous, ec);
    if (ec) {
        return fail(fmt::format("cannot rotate the log '{}': {}", path.string(), ec.message()));
    }
    return {};
}

Result<uint64_t> enforce_log_cap(const std::filesystem::path& path, uint64_t cap_bytes,
                                 uint64_t head_bytes)
{
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd.valid()) {
        return errno == ENOENT ? Result<uint64_t>(0)
                               : fail(fmt::format("cannot open the log '{}': {}", path.string(),
                                                  errno_text(errno)));
    }
    struct stat st = {};
    if (::fstat(fd.get(), &st) != 0) {
        return fail(fmt::format("cannot stat the log '{}': {}", path.string(), errno_text(errno)));
    }
    const auto size = static_cast<uint64_t>(st.st_size);
    if (size <= cap_bytes || head_bytes >= cap_bytes) {
        return 0;
    }
    // Keep the head, and half the cap of the newest bytes so the file does not need capping
    // again right away.
    const uint64_t tail_bytes = (cap_bytes - head_bytes) / 2;
    std::string tail;
    if (!pread_all(fd.get(), tail, size - tail_bytes, static_cast<std::size_t>(tail_bytes))) {
        return fail(fmt::format("cannot read the log '{}': {}", path.string(), errno_text(errno)));
    }
    // Start the kept tail at a line boundary.
    if (const auto newline = tail.find('\n'); newline != std::string::npos) {
        tail.erase(0, newline + 1);
    }
    const uint64_t dropped = size - head_bytes - tail.size();
    const std::string marker =
        fmt::format("\n[gpumod: {} bytes of this log were dropped to keep it under {} bytes]\n",
                    dropped, cap_bytes);
    if (::ftruncate(fd.get(), static_cast<off_t>(head_bytes)) != 0) {
        return fail(fmt::format("cannot truncate the log '{}': {}", path.string(),
                                errno_text(errno)));
    }
    // The service appends with O_APPEND too, so these writes and its own never overlap.
    UniqueFd append(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    const std::string rest = marker + tail;
    if (!append.valid() || ::write(append.get(), rest.data(), rest.size()) < 0) {
        return fail(fmt::format("cannot rewrite the log '{}': {}", path.string(),
                                errno_text(errno)));
    }
    return dropped;
}

std::string read_last_lines(const std::filesystem::path& path, std::size_t lines)
{
    std::ifstream in(path, std::ios::binary);
    if (!in || lines == 0) {
        return "";
    }
    // Reads backwards in blocks, so a huge log costs only what is shown.
    in.seekg(0, std::ios::end);
    const auto size = static_cast<uint64_t>(in.tellg());
    constexpr uint64_t k_block = 65536;
    std::string buffer;
    uint64_t position = size;
    std::size_t newlines = 0;
    while (position > 0) {
        const uint64_t step = std::min(k_block, position);
        position -= step;
        std::string block(static_cast<std::size_t>(step), '\0');
        in.seekg(static_cast<std::streamoff>(position));
        in.read(block.data(), static_cast<std::streamsize>(step));
        buffer.insert(0, block);
        newlines = static_cast<std::size_t>(std::count(buffer.begin(), buffer.end(), '\n'));
        // One extra newline: the file's final one ends the last line, it does not start one.
        if (newlines > lines) {
            break;
        }
    }
    // Only complete blocks were added, so counting from the end is exact.
    const bool trailing_newline = !buffer.empty() && buffer.back() == '\n';
    const std::size_t body = buffer.size() - (trailing_newline ? 1 : 0);
    std::size_t start = 0;
    std::size_t cursor = body;
    for (std::size_t i = 0; i < lines; ++i) {
        const auto newline = cursor == 0 ? std::string::npos : buffer.rfind('\n', cursor - 1);
        if (newline == std::string::npos) {
            start = 0;
            break;
        }
        start = newline + 1;
        cursor = newline;
    }
    return buffer.substr(start);
}

LogCursor::LogCursor(std::filesystem::path path, uint64_t offset)
    : m_path(std::move(path)), m_offset(offset)
{
}

std::string LogCursor::read_new(std::size_t max_bytes)
{
    UniqueFd fd(::open(m_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        return "";
    }
    struct stat st = {};
    if (::fstat(fd.get(), &st) != 0) {
        return "";
    }
    const auto size = static_cast<uint64_t>(st.st_size);
    if (size < m_offset) {
        m_offset = 0; // rotated or capped underneath us
    }
    if (size == m_offset) {
        return "";
    }
    const auto want = static_cast<std::size_t>(std::min<uint64_t>(size - m_offset, max_bytes));
    std::string out;
    pread_all(fd.get(), out, m_offset, want);
    m_offset += out.size();
    return out;
}

} // namespace gpumod::services
