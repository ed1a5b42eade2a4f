#include "adapters/gguf/model_files.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <system_error>
#include <variant>
#include <vector>

#include "adapters/posix/unique_fd.hpp"

namespace gpumod::gguf {

namespace {

// First read: enough for the header of nearly every model in one go, large vocabularies
// (250K tokens and merges, ~10 MiB) included. The reader restarts from byte 0 on every
// NeedMoreBytes, so each extra round costs a whole parse; reading a few MiB too many costs
// far less (header-only files are read whole anyway).
constexpr uint64_t k_first_read_bytes = uint64_t{16} << 20U;
// Later reads grow by this factor, so a huge header costs few restarts.
constexpr uint64_t k_growth = 4;
// The size the reader is told while the real size would reject missing tensor data. The
// reader sizes allocations by the bytes actually given, never by this, so it is safe.
constexpr uint64_t k_unbounded_size = std::numeric_limits<uint64_t>::max();

std::string errno_text(int error)
{
    return std::error_code(error, std::generic_category()).message();
}

// A prefix of the file in memory. Unlike std::vector<uint8_t> it does not zero what pread
// overwrites anyway (10 MiB for a large vocabulary: a few ms per read).
class PrefixBuffer
{
  public:
    [[nodiscard]] uint8_t* data() { return m_bytes.get(); }
    [[nodiscard]] size_t size() const { return m_size; }
    [[nodiscard]] std::span<const uint8_t> bytes() const { return {m_bytes.get(), m_size}; }

    /// Grows to `size` bytes, keeping the first size() (the new ones are unset).
    void grow(size_t size)
    {
        if (size <= m_size) {
            return;
        }
        auto bigger = std::make_unique_for_overwrite<uint8_t[]>(size);
        if (m_size > 0) {
            std::memcpy(bigger.get(), m_bytes.get(), m_size);
        }
        m_bytes = std::move(bigger);
        m_size = size;
    }

  private:
    std::unique_ptr<uint8_t[]> m_bytes;
    size_t m_size = 0;
};

// Fills buffer[from, size) from the same offsets of the file.
Status read_range(int fd, PrefixBuffer& buffer, size_t from, const std::filesystem::path& path)
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

// The header is cut short or corrupt. The parse against the real file size names the field
// and byte offset in terms of the real file (the unbounded parse would quote byte counts of
// the imaginary file), so its error is the one reported.
tl::unexpected<Error> strict_error(const std::filesystem::path& path, uint64_t max_header_bytes,
                                   const Error& unbounded_error)
{
    auto strict = read_gguf_file_header(path, max_header_bytes);
    if (!strict) {
        return tl::unexpected(strict.error());
    }
    return tl::unexpected(unbounded_error.with_context(fmt::format("'{}'", path.string())));
}

} // namespace

Result<GgufHeader> read_gguf_header_allow_missing_data(const std::filesystem::path& path,
                                                       uint64_t max_header_bytes)
{
    posix::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
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
    const uint64_t readable = std::min(file_size, max_header_bytes);

    PrefixBuffer buffer;
    uint64_t want = std::min(readable, k_first_read_bytes);
    for (;;) {
        const size_t have = buffer.size();
        buffer.grow(static_cast<size_t>(want));
        if (auto s = read_range(fd.get(), buffer, have, path); !s) {
            return tl::unexpected(s.error());
        }
        // Parsed as if the file went on forever, so only the header's own bytes must exist.
        auto parsed = read_gguf_prefix(buffer.bytes(), k_unbounded_size);
        if (!parsed) {
            return strict_error(path, max_header_bytes, parsed.error());
        }
        if (auto* header = std::get_if<GgufHeader>(&*parsed)) {
            header->file_size = file_size;
            return std::move(*header);
        }
        const uint64_t needed = std::get<NeedMoreBytes>(*parsed).at_least;
        if (needed > file_size || needed > max_header_bytes) {
            return strict_error(
                path, max_header_bytes,
                Error{fmt::format("the GGUF header needs {} bytes but the file has {} and at most "
                                  "{} are read",
                                  needed, file_size, max_header_bytes)});
        }
        // Grow geometrically so a header that is read in many small steps costs O(size).
        want = std::min(readable, std::max(needed, want * k_growth));
    }
}

Result<ModelView> read_model_files(const std::filesystem::path& path, uint64_t max_header_bytes)
{
    auto first = read_gguf_header_allow_missing_data(path, max_header_bytes);
    if (!first) {
        return tl::unexpected(first.error());
    }
    auto info = split_info(*first);
    if (!info) {
        return tl::unexpected(info.error().with_context(fmt::format("'{}'", path.string())));
    }
    if (info->count <= 1) {
        std::vector<ShardHeader> one;
        one.push_back(ShardHeader{path.string(), std::move(*first)});
        return merge_shards(std::move(one));
    }
    const auto name = parse_split_name(path.filename().string());
    if (!name) {
        return fail(fmt::format("'{}' is shard {} of {} of a split model, but its name does not "
                                "follow NAME-{:05}-of-{:05}.gguf, so the other shards cannot be "
                                "found",
                                path.string(), info->number, info->count, info->number,
                                info->count));
    }
    if (name->number != info->number || name->count != info->count) {
        return fail(fmt::format("'{}' is named shard {} of {} but its metadata says shard {} of {}",
                                path.string(), name->number, name->count, info->number,
                                info->count));
    }
    const std::filesystem::path dir = path.parent_path();
    std::vector<ShardHeader> shards;
    shards.reserve(info->count);
    for (const std::string& sibling : split_sibling_names(*name)) {
        const std::filesystem::path shard_path = dir / sibling;
        if (sibling == path.filename().string()) {
            shards.push_back(ShardHeader{shard_path.string(), std::move(*first)});
            continue;
        }
        std::error_code ec;
        if (!std::filesystem::exists(shard_path, ec)) {
            return fail(fmt::format("split model '{}': shard '{}' is missing",
                                    split_file_name(name->prefix, 1, name->count),
                                    shard_path.string()));
        }
        auto header = read_gguf_header_allow_missing_data(shard_path, max_header_bytes);
        if (!header) {
            return tl::unexpected(header.error());
        }
        shards.push_back(ShardHeader{shard_path.string(), std::move(*header)});
    }
    return merge_shards(std::move(shards));
}

} // namespace gpumod::gguf
