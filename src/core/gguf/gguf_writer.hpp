#pragma once

// Serializes a model (ordered metadata + tensors with their bytes) to GGUF v3: little-endian,
// tensor data aligned to general.alignment (default 32). Pure: returns the file's bytes.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/error.hpp"
#include "core/gguf/gguf_types.hpp"

namespace gpumod::gguf {

/// Longest tensor name ggml accepts (GGML_MAX_NAME is 64 including the terminating NUL).
inline constexpr size_t k_max_tensor_name = 63;

/// A tensor with its data, ready to be written.
struct TensorData
{
    std::string name;
    std::vector<uint64_t> shape; ///< ne[0] (fastest-varying) first, as ggml stores it
    TensorType type = TensorType::f32;
    std::vector<uint8_t> data; ///< exactly tensor_byte_size(type, shape) bytes
};

/// Everything a GGUF file holds, in file order.
struct GgufModel
{
    std::vector<MetadataEntry> metadata;
    std::vector<TensorData> tensors;

    /// The value stored under `key`, or nullptr.
    [[nodiscard]] const Value* find(std::string_view key) const
    {
        return find_value(metadata, key);
    }
};

/// The file's bytes; fails (naming the entry) on duplicate keys or tensor names, arrays whose
/// items do not all have the element type, data sizes that do not match the shape, more than
/// 4 dimensions, over-long tensor names, or a general.alignment that is not a power-of-two
/// uint32.
Result<std::vector<uint8_t>> write_gguf(const GgufModel& model);

/// An F32 tensor holding `values` (row-major, ne[0] fastest).
TensorData f32_tensor(std::string name, std::vector<uint64_t> shape, std::span<const float> values);

/// An F16 tensor holding `values` rounded to half precision (nearest, ties to even).
TensorData f16_tensor(std::string name, std::vector<uint64_t> shape, std::span<const float> values);

/// IEEE 754 binary16 bits nearest to `value` (ties to even; overflow gives infinity).
uint16_t float_to_half(float value);

/// The float a binary16 bit pattern denotes (exact).
float half_to_float(uint16_t bits);

} // namespace gpumod::gguf
