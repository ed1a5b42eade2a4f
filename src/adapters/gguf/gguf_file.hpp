#pragma once

// Reading a GGUF header from disk without reading the tensor data: the pure reader is fed
// growing prefixes of the file until it has the whole header.

#include <cstdint>
#include <filesystem>

#include "core/base/error.hpp"
#include "core/gguf/gguf_reader.hpp"

namespace gpumod::gguf {

/// Largest header read_gguf_file_header() reads by default (real vocabularies take a few MiB).
inline constexpr uint64_t k_default_max_header_bytes = uint64_t{256} << 20U;

/// The header (metadata and tensor infos) of the GGUF file at `path`, read in growing
/// prefixes; fails naming the path when the file cannot be read, is corrupt, or its header
/// is larger than `max_header_bytes`.
Result<GgufHeader> read_gguf_file_header(const std::filesystem::path& path,
                                         uint64_t max_header_bytes = k_default_max_header_bytes);

} // namespace gpumod::gguf
