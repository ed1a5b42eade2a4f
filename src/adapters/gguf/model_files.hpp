#pragma once

// A model on disk: one GGUF file, or every shard of a split model found from any one of them.
// Reads headers only (growing pread prefixes), never the tensor data, and accepts header-only
// files (tensor data absent or truncated) so that models can be planned before they are
// downloaded; ModelView::header_only() says so.

#include <cstdint>
#include <filesystem>

#include "adapters/gguf/gguf_file.hpp"
#include "core/base/error.hpp"
#include "core/gguf/gguf_reader.hpp"
#include "core/gguf/split_model.hpp"

namespace gpumod::gguf {

/// The header of the GGUF file at `path`, like read_gguf_file_header(), except that tensor
/// data lying past the end of the file is allowed: header.file_size is the real size, so
/// is_header_only(header) tells such files apart. A header that is itself cut short or
/// corrupt is an error naming the path and the byte offset.
Result<GgufHeader> read_gguf_header_allow_missing_data(
    const std::filesystem::path& path, uint64_t max_header_bytes = k_default_max_header_bytes);

/// The whole model `path` belongs to. A file whose metadata says it is shard i of n (n > 1)
/// must be named NAME-0000i-of-0000n.gguf; its siblings are read from the same directory and
/// merged (merge_shards()). A missing sibling is an error naming it.
Result<ModelView> read_model_files(const std::filesystem::path& path,
                                   uint64_t max_header_bytes = k_default_max_header_bytes);

} // namespace gpumod::gguf
