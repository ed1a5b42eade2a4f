#pragma once

// The vocabulary of the GGUF file format: metadata value types, the typed value that holds
// one metadata entry, and ggml's tensor type table (block size and bytes per block), from
// which tensor byte sizes follow. Pure; shared by the reader, the writer and the planner.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/base/error.hpp"

namespace gpumod::gguf {

/// GGUF metadata value types; the numbers are the type ids stored in the file.
enum class ValueType : uint32_t
{
    uint8 = 0,
    int8 = 1,
    uint16 = 2,
    int16 = 3,
    uint32 = 4,
    int32 = 5,
    float32 = 6,
    boolean = 7,
    string = 8,
    array = 9,
    uint64 = 10,
    int64 = 11,
    float64 = 12,
};

/// Number of metadata value types (ids 0 .. k_value_type_count - 1 are valid).
inline constexpr uint32_t k_value_type_count = 13;

/// The type for a stored type id, or nullopt when the id is unknown.
std::optional<ValueType> value_type_from_id(uint32_t id);

/// The name the GGUF specification uses ("uint32", "bool", "string", "array", ...).
std::string_view value_type_name(ValueType type);

/// Bytes a scalar of `type` occupies in the file; 0 for string and array (variable length).
uint64_t scalar_size(ValueType type);

struct Value;

/// A GGUF array: every item has type `element_type` (arrays may nest).
struct Array
{
    ValueType element_type = ValueType::uint8;
    std::vector<Value> items;
};

/// One metadata value. The variant's alternative index equals the GGUF type id.
struct Value
{
    using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                                 std::string, Array, uint64_t, int64_t, double>;

    Storage data;

    Value() = default;
    /// Holds exactly `v`; only the 13 storage types are accepted, so no silent conversions.
    template <typename T>
    requires(std::is_same_v<T, uint8_t> || std::is_same_v<T, int8_t> ||
             std::is_same_v<T, uint16_t> || std::is_same_v<T, int16_t> ||
             std::is_same_v<T, uint32_t> || std::is_same_v<T, int32_t> ||
             std::is_same_v<T, float> || std::is_same_v<T, bool> ||
             std::is_same_v<T, std::string> || std::is_same_v<T, Array> ||
             std::is_same_v<T, uint64_t> || std::is_same_v<T, int64_t> || std::is_same_v<T, double>)
        Value(T v) // NOLINT(google-explicit-constructor): a Value is its payload
        : data(std::move(v))
    {
    }
    /// A string value (string literals would otherwise pick bool).
    Value(const char* text) // NOLINT(google-explicit-constructor)
        : data(std::string(text))
    {
    }

    /// The GGUF type of the held value.
    [[nodiscard]] ValueType type() const { return static_cast<ValueType>(data.index()); }

    /// Any integer type holding a non-negative value, widened; nullopt otherwise.
    [[nodiscard]] std::optional<uint64_t> as_uint() const;
    /// Any integer type whose value fits int64_t, widened; nullopt otherwise.
    [[nodiscard]] std::optional<int64_t> as_int() const;
    /// float32 or float64, widened; nullopt otherwise.
    [[nodiscard]] std::optional<double> as_float() const;
    /// The bool; nullopt for other types.
    [[nodiscard]] std::optional<bool> as_bool() const;
    /// The string, or nullptr for other types.
    [[nodiscard]] const std::string* as_string() const;
    /// The array, or nullptr for other types.
    [[nodiscard]] const Array* as_array() const;

    /// Same type and same value; floats compare bit for bit, so NaN payloads round-trip too.
    friend bool operator==(const Value& a, const Value& b);
};

/// Same element type and equal items.
bool operator==(const Array& a, const Array& b);

/// An array of strings (e.g. tokenizer.ggml.tokens).
Value string_array(std::span<const std::string> items);
/// An array of float32 (e.g. tokenizer.ggml.scores).
Value float32_array(std::span<const float> items);
/// An array of int32 (e.g. tokenizer.ggml.token_type).
Value int32_array(std::span<const int32_t> items);

/// One metadata key/value pair; files keep them in order.
struct MetadataEntry
{
    std::string key;
    Value value;
    friend bool operator==(const MetadataEntry&, const MetadataEntry&) = default;
};

/// The value stored under `key`, or nullptr.
const Value* find_value(std::span<const MetadataEntry> metadata, std::string_view key);

/// Default alignment of the tensor data section (general.alignment when absent).
inline constexpr uint32_t k_default_alignment = 32;
/// Maximum tensor rank ggml supports.
inline constexpr uint32_t k_max_dims = 4;

/// ggml tensor types; the numbers are the type ids stored in the file. Gaps are ids ggml
/// removed (4, 5, 31-33, 36-38).
enum class TensorType : uint32_t
{
    f32 = 0,
    f16 = 1,
    q4_0 = 2,
    q4_1 = 3,
    q5_0 = 6,
    q5_1 = 7,
    q8_0 = 8,
    q8_1 = 9,
    q2_k = 10,
    q3_k = 11,
    q4_k = 12,
    q5_k = 13,
    q6_k = 14,
    q8_k = 15,
    iq2_xxs = 16,
    iq2_xs = 17,
    iq3_xxs = 18,
    iq1_s = 19,
    iq4_nl = 20,
    iq3_s = 21,
    iq2_s = 22,
    iq4_xs = 23,
    i8 = 24,
    i16 = 25,
    i32 = 26,
    i64 = 27,
    f64 = 28,
    iq1_m = 29,
    bf16 = 30,
    tq1_0 = 34,
    tq2_0 = 35,
    mxfp4 = 39,
    nvfp4 = 40,
    q1_0 = 41,
    q2_0 = 42,
};

/// Storage layout of one tensor type: `block_size` elements take `block_bytes` bytes.
struct TensorTypeInfo
{
    TensorType type;
    std::string_view name; ///< ggml's name, e.g. "q4_K", "f16", "iq2_xxs"
    uint32_t block_size;
    uint32_t block_bytes;
};

/// Every tensor type gpumod knows, ordered by id.
std::span<const TensorTypeInfo> tensor_type_table();

/// The layout for a stored type id, or nullptr when the id is unknown.
const TensorTypeInfo* find_tensor_type(uint32_t id);

/// The layout for a type name as ggml or llama-server flags spell it (case-insensitive:
/// "q8_0", "Q4_K", "bf16"), or nullptr.
const TensorTypeInfo* find_tensor_type(std::string_view name);

/// The layout of a known type.
const TensorTypeInfo& tensor_type_info(TensorType type);

/// Number of elements of a tensor with this shape (ne[0] first); fails on overflow.
Result<uint64_t> element_count(std::span<const uint64_t> shape);

/// Bytes a tensor of `type` and `shape` occupies; fails when ne[0] is not a multiple of the
/// block size (ggml stores whole blocks per row) or the size overflows.
Result<uint64_t> tensor_byte_size(TensorType type, std::span<const uint64_t> shape);

} // namespace gpumod::gguf
