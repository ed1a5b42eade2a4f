#include "core/gguf/gguf_types.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <limits>

namespace gpumod::gguf {

namespace {

// The variant's alternative index doubles as the on-disk type id; keep them in step.
static_assert(std::is_same_v<std::variant_alternative_t<0, Value::Storage>, uint8_t>);
static_assert(std::is_same_v<std::variant_alternative_t<6, Value::Storage>, float>);
static_assert(std::is_same_v<std::variant_alternative_t<7, Value::Storage>, bool>);
static_assert(std::is_same_v<std::variant_alternative_t<8, Value::Storage>, std::string>);
static_assert(std::is_same_v<std::variant_alternative_t<9, Value::Storage>, Array>);
static_assert(std::is_same_v<std::variant_alternative_t<12, Value::Storage>, double>);
static_assert(std::variant_size_v<Value::Storage> == k_value_type_count);

constexpr std::array<std::string_view, k_value_type_count> k_value_type_names = {
    "uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
    "bool",  "string", "array",  "uint64", "int64",  "float64"};

constexpr std::array<uint64_t, k_value_type_count> k_scalar_sizes = {1, 1, 2, 2, 4, 4, 4,
                                                                     1, 0, 0, 8, 8, 8};

// Block layouts from ggml's type traits (ggml.h / ggml-common.h): QK_K = 256 for the
// k-quants and i-quants, 32 for the classic quants.
constexpr std::array<TensorTypeInfo, 35> k_tensor_types = {{
    {TensorType::f32, "f32", 1, 4},
    {TensorType::f16, "f16", 1, 2},
    {TensorType::q4_0, "q4_0", 32, 18},
    {TensorType::q4_1, "q4_1", 32, 20},
    {TensorType::q5_0, "q5_0", 32, 22},
    {TensorType::q5_1, "q5_1", 32, 24},
    {TensorType::q8_0, "q8_0", 32, 34},
    {TensorType::q8_1, "q8_1", 32, 36},
    {TensorType::q2_k, "q2_K", 256, 84},
    {TensorType::q3_k, "q3_K", 256, 110},
    {TensorType::q4_k, "q4_K", 256, 144},
    {TensorType::q5_k, "q5_K", 256, 176},
    {TensorType::q6_k, "q6_K", 256, 210},
    {TensorType::q8_k, "q8_K", 256, 292},
    {TensorType::iq2_xxs, "iq2_xxs", 256, 66},
    {TensorType::iq2_xs, "iq2_xs", 256, 74},
    {TensorType::iq3_xxs, "iq3_xxs", 256, 98},
    {TensorType::iq1_s, "iq1_s", 256, 50},
    {TensorType::iq4_nl, "iq4_nl", 32, 18},
    {TensorType::iq3_s, "iq3_s", 256, 110},
    {TensorType::iq2_s, "iq2_s", 256, 82},
    {TensorType::iq4_xs, "iq4_xs", 256, 136},
    {TensorType::i8, "i8", 1, 1},
    {TensorType::i16, "i16", 1, 2},
    {TensorType::i32, "i32", 1, 4},
    {TensorType::i64, "i64", 1, 8},
    {TensorType::f64, "f64", 1, 8},
    {TensorType::iq1_m, "iq1_m", 256, 56},
    {TensorType::bf16, "bf16", 1, 2},
    {TensorType::tq1_0, "tq1_0", 256, 54},
    {TensorType::tq2_0, "tq2_0", 256, 66},
    {TensorType::mxfp4, "mxfp4", 32, 17},
    {TensorType::nvfp4, "nvfp4", 64, 36},
    {TensorType::q1_0, "q1_0", 128, 18},
    {TensorType::q2_0, "q2_0", 64, 18},
}};

bool equal_ignoring_case(std::string_view a, std::string_view b)
{
    auto lower = [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [&](char x, char y) { return lower(x) == lower(y); });
}

template <typename T> Value typed_array(ValueType element_type, std::span<const T> items)
{
    Array array{element_type, {}};
    array.items.reserve(items.size());
    for (const T& item : items) {
        array.items.emplace_back(item);
    }
    return Value(std::move(array));
}

} // namespace

std::optional<ValueType> value_type_from_id(uint32_t id)
{
    if (id >= k_value_type_count) {
        return std::nullopt;
    }
    return static_cast<ValueType>(id);
}

std::string_view value_type_name(ValueType type)
{
    const auto id = static_cast<uint32_t>(type);
    return id < k_value_type_count ? k_value_type_names[id] : std::string_view("unknown");
}

uint64_t scalar_size(ValueType type)
{
    const auto id = static_cast<uint32_t>(type);
    return id < k_value_type_count ? k_scalar_sizes[id] : 0;
}

std::optional<uint64_t> Value::as_uint() const
{
    return std::visit(
        [](const auto& v) -> std::optional<uint64_t> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                if constexpr (std::is_signed_v<T>) {
                    if (v < 0) {
                        return std::nullopt;
                    }
                }
                return static_cast<uint64_t>(v);
            } else {
                return std::nullopt;
            }
        },
        data);
}

std::optional<int64_t> Value::as_int() const
{
    return std::visit(
        [](const auto& v) -> std::optional<int64_t> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                if constexpr (std::is_same_v<T, uint64_t>) {
                    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
                        return std::nullopt;
                    }
                }
                return static_cast<int64_t>(v);
            } else {
                return std::nullopt;
            }
        },
        data);
}

std::optional<double> Value::as_float() const
{
    if (const auto* f = std::get_if<float>(&data)) {
        return static_cast<double>(*f);
    }
    if (const auto* d = std::get_if<double>(&data)) {
        return *d;
    }
    return std::nullopt;
}

std::optional<bool> Value::as_bool() const
{
    if (const auto* b = std::get_if<bool>(&data)) {
        return *b;
    }
    return std::nullopt;
}

const std::string* Value::as_string() const
{
    return std::get_if<std::string>(&data);
}

const Array* Value::as_array() const
{
    return std::get_if<Array>(&data);
}

bool operator==(const Value& a, const Value& b)
{
    if (a.data.index() != b.data.index()) {
        return false;
    }
    return std::visit(
        [&b](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            const T& y = std::get<T>(b.data);
            if constexpr (std::is_same_v<T, float>) {
                return std::bit_cast<uint32_t>(x) == std::bit_cast<uint32_t>(y);
            } else if constexpr (std::is_same_v<T, double>) {
                return std::bit_cast<uint64_t>(x) == std::bit_cast<uint64_t>(y);
            } else {
                return x == y;
            }
        },
        a.data);
}

bool operator==(const Array& a, const Array& b)
{
    return a.element_type == b.element_type && a.items == b.items;
}

Value string_array(std::span<const std::string> items)
{
    return typed_array(ValueType::string, items);
}

Value float32_array(std::span<const float> items)
{
    return typed_array(ValueType::float32, items);
}

Value int32_array(std::span<const int32_t> items)
{
    return typed_array(ValueType::int32, items);
}

const Value* find_value(std::span<const MetadataEntry> metadata, std::string_view key)
{
    for (const auto& entry : metadata) {
        if (entry.key == key) {
            return &entry.value;
        }
    }
    return nullptr;
}

std::span<const TensorTypeInfo> tensor_type_table()
{
    return k_tensor_types;
}

const TensorTypeInfo* find_tensor_type(uint32_t id)
{
    for (const auto& info : k_tensor_types) {
        if (static_cast<uint32_t>(info.type) == id) {
            return &info;
        }
    }
    return nullptr;
}

const TensorTypeInfo* find_tensor_type(std::string_view name)
{
    for (const auto& info : k_tensor_types) {
        if (equal_ignoring_case(info.name, name)) {
            return &info;
        }
    }
    return nullptr;
}

const TensorTypeInfo& tensor_type_info(TensorType type)
{
    const TensorTypeInfo* info = find_tensor_type(static_cast<uint32_t>(type));
    // Every enumerator has a table row; a miss means the two were edited apart.
    return info != nullptr ? *info : k_tensor_types[0];
}

Result<uint64_t> element_count(std::span<const uint64_t> shape)
{
    uint64_t count = 1;
    for (uint64_t dim : shape) {
        if (dim != 0 && count > std::numeric_limits<uint64_t>::max() / dim) {
            return fail("element count overflows 64 bits");
        }
        count *= dim;
    }
    return count;
}

Result<uint64_t> tensor_byte_size(TensorType type, std::span<const uint64_t> shape)
{
    const TensorTypeInfo& info = tensor_type_info(type);
    const uint64_t row = shape.empty() ? 1 : shape[0];
    if (row % info.block_size != 0) {
        return fail(fmt::format("row length {} is not a multiple of the {} block size {}", row,
                                info.name, info.block_size));
    }
    uint64_t bytes = row / info.block_size * info.block_bytes;
    for (size_t i = 1; i < shape.size(); ++i) {
        if (shape[i] != 0 && bytes > std::numeric_limits<uint64_t>::max() / shape[i]) {
            return fail("tensor byte size overflows 64 bits");
        }
        bytes *= shape[i];
    }
    return bytes;
}

} // namespace gpumod::gguf
