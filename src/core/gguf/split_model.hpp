#pragma once

// Split GGUF models: llama.cpp's gguf-split writes one model as NAME-00001-of-00003.gguf,
// NAME-00002-of-00003.gguf, ...; the first shard holds the model's metadata, every shard
// holds split.no (0-based), split.count and split.tensors.count, and the tensors are spread
// over the shards. Pure: recognizes shard names and merges shard headers into one model
// view; finding and reading the files is the adapter's job (adapters/gguf/model_files.hpp).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/error.hpp"
#include "core/gguf/gguf_reader.hpp"

namespace gpumod::gguf {

/// Metadata keys llama.cpp's gguf-split writes into every shard.
inline constexpr std::string_view k_split_no_key = "split.no";
inline constexpr std::string_view k_split_count_key = "split.count";
inline constexpr std::string_view k_split_tensors_count_key = "split.tensors.count";

/// A file name of the form PREFIX-NNNNN-of-MMMMM.gguf, taken apart.
struct SplitName
{
    std::string prefix; ///< everything before "-NNNNN-of-MMMMM.gguf" (may contain a directory)
    uint32_t number = 1; ///< 1-based, as in the name
    uint32_t count = 1;
    friend bool operator==(const SplitName&, const SplitName&) = default;
};

/// The parts of a shard name (five digits each, 1 <= number <= count), or nullopt when
/// `file_name` does not follow llama.cpp's pattern.
std::optional<SplitName> parse_split_name(std::string_view file_name);

/// The name llama.cpp gives shard `number` (1-based) of `count`: PREFIX-00002-of-00003.gguf.
std::string split_file_name(std::string_view prefix, uint32_t number, uint32_t count);

/// Every shard's name, in order, for the model `name` belongs to.
std::vector<std::string> split_sibling_names(const SplitName& name);

/// What the metadata says about splitting: shard `number` (1-based) of `count`, with
/// `tensors` tensors over all shards. A file without split keys is shard 1 of 1.
struct SplitInfo
{
    uint32_t number = 1;
    uint32_t count = 1;
    std::optional<uint64_t> tensors; ///< split.tensors.count when present
};

/// The split keys of one header; fails when they have the wrong type or impossible values.
Result<SplitInfo> split_info(const GgufHeader& header);

/// One shard as read from disk.
struct ShardHeader
{
    std::string name; ///< how errors and reports name this shard (usually its path)
    GgufHeader header; ///< header.file_size is the real size of the file on disk
};

/// Where the last byte of tensor data of `header` ends (absolute offset); data_offset when
/// the file has no tensors.
uint64_t tensor_data_end(const GgufHeader& header);

/// True when the file holds less than its tensors' data: a header-only or truncated file.
bool is_header_only(const GgufHeader& header);

/// A per-shard summary for reports.
struct ShardSummary
{
    std::string name;
    uint32_t version = 3;
    uint32_t alignment = k_default_alignment;
    uint64_t file_bytes = 0;
    uint64_t header_bytes = 0;
    uint64_t data_offset = 0;
    uint64_t data_end = 0; ///< tensor_data_end() of this shard
    uint64_t tensor_count = 0;
    bool header_only = false;
};

/// A whole model, whether it came in one file or in several.
struct ModelView
{
    /// Metadata of shard 1 and the tensors of every shard in shard order. version and
    /// alignment are shard 1's; file_size and header_size are summed over the shards;
    /// data_offset is shard 1's. Tensor offsets stay relative to their own shard's data.
    GgufHeader header;
    std::vector<uint32_t> tensor_shard; ///< parallel to header.tensors: 0-based shard index
    std::vector<ShardSummary> shards;

    /// True when any shard lacks (some of) its tensor data.
    [[nodiscard]] bool header_only() const;
    /// True when the model came in more than one file.
    [[nodiscard]] bool is_split() const { return shards.size() > 1; }
};

/// Merges shard headers, given in shard order, into one model. Fails naming the shard when
/// a shard's split.no or split.count disagrees with its place, split.tensors.count with the
/// tensors found, or a tensor name appears in two shards. One shard without split keys is a
/// plain file.
Result<ModelView> merge_shards(std::vector<ShardHeader> shards);

} // namespace gpumod::gguf
