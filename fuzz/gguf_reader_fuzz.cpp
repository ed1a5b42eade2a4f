// libFuzzer target for the GGUF header reader and what `gpumod gguf inspect` does with its
// result. Besides "no crash, no hang, no huge allocation" it checks properties the adapters
// rely on, and traps when one fails:
//   - reading in growing prefixes (as adapters/gguf does) ends exactly like reading the whole
//     file, and a NeedMoreBytes always asks for more than it was given, within the file;
//   - the parse that pretends the file never ends (header-only files) accepts whatever the
//     real-size parse accepts, with the same metadata and tensors;
//   - merging, rendering and deriving the architecture never crash on an accepted header.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <variant>
#include <vector>

#include "core/gguf/gguf_reader.hpp"
#include "core/gguf/inspect_render.hpp"
#include "core/gguf/split_model.hpp"

namespace {

using gpumod::gguf::GgufHeader;
using gpumod::gguf::NeedMoreBytes;

void check(bool ok)
{
    if (!ok) {
        __builtin_trap();
    }
}

bool same_header(const GgufHeader& a, const GgufHeader& b)
{
    return a.version == b.version && a.alignment == b.alignment && a.metadata == b.metadata &&
           a.tensors == b.tensors && a.header_size == b.header_size &&
           a.data_offset == b.data_offset;
}

// The adapters' loop: start small, grow to what the reader asks for (at least doubling).
gpumod::Result<GgufHeader> read_in_prefixes(std::span<const uint8_t> file, uint64_t file_size,
                                            size_t first)
{
    size_t have = std::min(first, file.size());
    for (;;) {
        auto parsed = gpumod::gguf::read_gguf_prefix(file.first(have), file_size);
        if (!parsed) {
            return tl::unexpected(parsed.error());
        }
        if (auto* header = std::get_if<GgufHeader>(&*parsed)) {
            return std::move(*header);
        }
        const uint64_t needed = std::get<NeedMoreBytes>(*parsed).at_least;
        check(needed > have);
        if (needed > file.size()) {
            // Only the unbounded parse may ask beyond the bytes that exist.
            check(file_size > file.size());
            return gpumod::fail("needs more than the file");
        }
        have = static_cast<size_t>(std::max<uint64_t>(needed, std::min<uint64_t>(
                                                                  file.size(), uint64_t{have} * 2)));
    }
}

void exercise_inspect(GgufHeader header)
{
    std::vector<gpumod::gguf::ShardHeader> shards;
    shards.push_back({"fuzz.gguf", std::move(header)});
    auto view = gpumod::gguf::merge_shards(std::move(shards));
    if (!view) {
        return;
    }
    const auto architecture = gpumod::gguf::inspect_architecture(view->header);
    const std::string text = gpumod::gguf::render_inspect_text(
        *view, {true, 4}, gpumod::gguf::render_architecture_text(architecture));
    check(!text.empty());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::span<const uint8_t> file(data, size);
    auto whole = gpumod::gguf::read_gguf(file);

    // The first read size comes from the input so that many prefix boundaries get tried.
    const size_t first = size == 0 ? 1 : 1 + data[size - 1] * (size / 256 + 1);
    auto prefixed = read_in_prefixes(file, size, first);
    check(whole.has_value() == prefixed.has_value());
    if (whole && prefixed) {
        check(same_header(*whole, *prefixed));
    }

    constexpr uint64_t k_unbounded = std::numeric_limits<uint64_t>::max();
    auto unbounded = read_in_prefixes(file, k_unbounded, first);
    if (whole) {
        check(unbounded.has_value());
        check(same_header(*whole, *unbounded));
    }

    if (whole) {
        exercise_inspect(std::move(*whole));
    } else if (unbounded) {
        // A header-only file: the adapter keeps the real size so the gap shows.
        unbounded->file_size = size;
        check(gpumod::gguf::is_header_only(*unbounded) || unbounded->tensors.empty());
        exercise_inspect(std::move(*unbounded));
    }
    return 0;
}
