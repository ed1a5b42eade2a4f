#pragma once

// Parses a GGUF file's header (metadata and tensor infos) from bytes. Pure: it never reads
// files itself. It can work from a prefix of a file plus the file's total size, so that an
// adapter can read a header from a huge model without loading the tensor data: when the
// prefix ends too early it says how many bytes it needs, which is distinct from corruption.
//
// Every count and length is checked against the bytes that remain before anything is
// allocated; errors name the byte offset and the field, e.g.
//   gguf: at byte 1234, metadata key #5 'tokenizer.ggml.tokens': array length ... exceeds ...

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/base/error.hpp"
#include "core/gguf/gguf_types.hpp"

namespace gpumod::gguf {

/// Where one tensor's data lives and how it is laid out.
struct TensorInfo
{
    std::string name;
    std::vector<uint64_t> shape; ///< ne[0] first
    TensorType type = TensorType::f32;
    uint64_t offset = 0;    ///< relative to GgufHeader::data_offset
    uint64_t byte_size = 0; ///< computed from type and shape
    friend bool operator==(const TensorInfo&, const TensorInfo&) = default;
};

/// Everything in a GGUF file except the tensor data.
struct GgufHeader
{
    uint32_t version = 3;
    std::vector<MetadataEntry> metadata;
    std::vector<TensorInfo> tensors;
    uint32_t alignment = k_default_alignment; ///< general.alignment or the default
    uint64_t header_size = 0;                 ///< bytes up to the end of the tensor infos
    uint64_t data_offset = 0;                 ///< absolute offset of the tensor data section
    uint64_t file_size = 0;

    /// The value stored under `key`, or nullptr.
    [[nodiscard]] const Value* find(std::string_view key) const
    {
        return find_value(metadata, key);
    }
};

/// The prefix ended before the header did; the file may still be fine.
struct NeedMoreBytes
{
    uint64_t at_least = 0; ///< a prefix of this many bytes gets the parse further
};

/// A parsed header, or how much more of the file the parse needs.
using PrefixParse = std::variant<GgufHeader, NeedMoreBytes>;

/// Parses the header from the first bytes of a file of `file_size` bytes. Corruption
/// (bad magic or version, lengths beyond the end of the file, unknown types, more than 4
/// dimensions, misaligned, out-of-file or overlapping tensor data, duplicate keys or names)
/// is an Error naming the byte offset and the field.
Result<PrefixParse> read_gguf_prefix(std::span<const uint8_t> prefix, uint64_t file_size);

/// Parses the header of a whole file held in memory.
Result<GgufHeader> read_gguf(std::span<const uint8_t> file);

/// The data bytes of `tensor` within `file` (the whole file the header was read from).
Result<std::span<const uint8_t>> tensor_bytes(const GgufHeader& header, const TensorInfo& tensor,
                                              std::span<const uint8_t> file);

} // namespace gpumod::gguf
