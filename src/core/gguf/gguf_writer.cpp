#include "core/gguf/gguf_writer.hpp"

#include <fmt/format.h>

#include <bit>
#include <unordered_set>

namespace gpumod::gguf {

namespace {

constexpr uint32_t k_version = 3;

// Explicit little-endian output, independent of the host's byte order.
class ByteSink
{
  public:
    void put_u8(uint8_t v) { m_bytes.push_back(v); }
    void put_u16(uint16_t v) { put_le(v, 2); }
    void put_u32(uint32_t v) { put_le(v, 4); }
    void put_u64(uint64_t v) { put_le(v, 8); }
    void put_string(std::string_view s)
    {
        put_u64(s.size());
        m_bytes.insert(m_bytes.end(), s.begin(), s.end());
    }
    void put_bytes(std::span<const uint8_t> bytes)
    {
        m_bytes.insert(m_bytes.end(), bytes.begin(), bytes.end());
    }
    void pad_to(uint64_t alignment)
    {
        while (m_bytes.size() % alignment != 0) {
            m_bytes.push_back(0);
        }
    }
    void reserve(size_t n) { m_bytes.reserve(n); }
    std::vector<uint8_t> take() { return std::move(m_bytes); }

  private:
    void put_le(uint64_t v, int n)
    {
        for (int i = 0; i < n; ++i) {
            m_bytes.push_back(static_cast<uint8_t>(v >> (8 * i)));
        }
    }
    std::vector<uint8_t> m_bytes;
};

Status check_value(const Value& value, const std::string& where)
{
    const Array* array = value.as_array();
    if (array == nullptr) {
        return {};
    }
    for (size_t i = 0; i < array->items.size(); ++i) {
        const Value& item = array->items[i];
        if (item.type() != array->element_type) {
            return fail(fmt::format("{}: array item #{} is {} but the array holds {}", where, i,
                                    value_type_name(item.type()),
                                    value_type_name(array->element_type)));
        }
        if (auto s = check_value(item, fmt::format("{} item #{}", where, i)); !s) {
            return s;
        }
    }
    return {};
}

void put_value(ByteSink& out, const Value& value)
{
    std::visit(
        [&out](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string>) {
                out.put_string(v);
            } else if constexpr (std::is_same_v<T, Array>) {
                out.put_u32(static_cast<uint32_t>(v.element_type));
                out.put_u64(v.items.size());
                for (const Value& item : v.items) {
                    put_value(out, item);
                }
            } else if constexpr (std::is_same_v<T, bool>) {
                out.put_u8(v ? 1 : 0);
            } else if constexpr (std::is_same_v<T, float>) {
                out.put_u32(std::bit_cast<uint32_t>(v));
            } else if constexpr (std::is_same_v<T, double>) {
                out.put_u64(std::bit_cast<uint64_t>(v));
            } else if constexpr (sizeof(T) == 1) {
                out.put_u8(static_cast<uint8_t>(v));
            } else if constexpr (sizeof(T) == 2) {
                out.put_u16(static_cast<uint16_t>(v));
            } else if constexpr (sizeof(T) == 4) {
                out.put_u32(static_cast<uint32_t>(v));
            } else {
                out.put_u64(static_cast<uint64_t>(v));
            }
        },
        value.data);
}

Result<uint32_t> alignment_of(const GgufModel& model)
{
    const Value* value = model.find("general.alignment");
    if (value == nullptr) {
        return k_default_alignment;
    }
    const auto* alignment = std::get_if<uint32_t>(&value->data);
    if (alignment == nullptr) {
        return fail(fmt::format("general.alignment must be uint32, not {}",
                                value_type_name(value->type())));
    }
    if (*alignment == 0 || !std::has_single_bit(*alignment)) {
        return fail(fmt::format("general.alignment {} is not a power of two", *alignment));
    }
    return *alignment;
}

uint64_t align_up(uint64_t n, uint64_t alignment)
{
    return (n + alignment - 1) / alignment * alignment;
}

} // namespace

Result<std::vector<uint8_t>> write_gguf(const GgufModel& model)
{
    auto alignment = alignment_of(model);
    if (!alignment) {
        return tl::unexpected(alignment.error().with_context("gguf writer"));
    }

    std::unordered_set<std::string_view> keys;
    for (size_t i = 0; i < model.metadata.size(); ++i) {
        const MetadataEntry& entry = model.metadata[i];
        const std::string where = fmt::format("gguf writer: metadata key #{} '{}'", i, entry.key);
        if (!keys.insert(entry.key).second) {
            return fail(where + ": duplicate key");
        }
        if (auto s = check_value(entry.value, where); !s) {
            return tl::unexpected(s.error());
        }
    }

    std::unordered_set<std::string_view> names;
    std::vector<uint64_t> offsets;
    uint64_t data_size = 0;
    for (size_t i = 0; i < model.tensors.size(); ++i) {
        const TensorData& t = model.tensors[i];
        const std::string where = fmt::format("gguf writer: tensor #{} '{}'", i, t.name);
        if (!names.insert(t.name).second) {
            return fail(where + ": duplicate tensor name");
        }
        if (t.name.size() > k_max_tensor_name) {
            return fail(fmt::format("{}: name is {} bytes, ggml allows at most {}", where,
                                    t.name.size(), k_max_tensor_name));
        }
        if (t.shape.size() > k_max_dims) {
            return fail(fmt::format("{}: {} dimensions, ggml allows at most {}", where,
                                    t.shape.size(), k_max_dims));
        }
        auto bytes = tensor_byte_size(t.type, t.shape);
        if (!bytes) {
            return tl::unexpected(bytes.error().with_context(where));
        }
        if (*bytes != t.data.size()) {
            return fail(fmt::format("{}: shape needs {} bytes of {} but {} were given", where,
                                    *bytes, tensor_type_info(t.type).name, t.data.size()));
        }
        offsets.push_back(data_size);
        data_size = align_up(data_size + *bytes, *alignment);
    }

    ByteSink out;
    out.reserve(data_size + 4096);
    out.put_bytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("GGUF"), 4));
    out.put_u32(k_version);
    out.put_u64(model.tensors.size());
    out.put_u64(model.metadata.size());
    for (const MetadataEntry& entry : model.metadata) {
        out.put_string(entry.key);
        out.put_u32(static_cast<uint32_t>(entry.value.type()));
        put_value(out, entry.value);
    }
    for (size_t i = 0; i < model.tensors.size(); ++i) {
        const TensorData& t = model.tensors[i];
        out.put_string(t.name);
        out.put_u32(static_cast<uint32_t>(t.shape.size()));
        for (uint64_t dim : t.shape) {
            out.put_u64(dim);
        }
        out.put_u32(static_cast<uint32_t>(t.type));
        out.put_u64(offsets[i]);
    }
    out.pad_to(*alignment);
    for (const TensorData& t : model.tensors) {
        out.put_bytes(t.data);
        out.pad_to(*alignment);
    }
    return out.take();
}

TensorData f32_tensor(std::string name, std::vector<uint64_t> shape, std::span<const float> values)
{
    TensorData t{std::move(name), std::move(shape), TensorType::f32, {}};
    t.data.reserve(values.size() * 4);
    for (float v : values) {
        const auto bits = std::bit_cast<uint32_t>(v);
        for (int i = 0; i < 4; ++i) {
            t.data.push_back(static_cast<uint8_t>(bits >> (8 * i)));
        }
    }
    return t;
}

TensorData f16_tensor(std::string name, std::vector<uint64_t> shape, std::span<const float> values)
{
    TensorData t{std::move(name), std::move(shape), TensorType::f16, {}};
    t.data.reserve(values.size() * 2);
    for (float v : values) {
        const uint16_t bits = float_to_half(v);
        t.data.push_back(static_cast<uint8_t>(bits));
        t.data.push_back(static_cast<uint8_t>(bits >> 8));
    }
    return t;
}

uint16_t float_to_half(float value)
{
    const auto x = std::bit_cast<uint32_t>(value);
    const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000U);
    const uint32_t exponent = (x >> 23) & 0xFFU;
    uint32_t mantissa = x & 0x7FFFFFU;
    if (exponent == 0xFF) {
        // Keep NaN a NaN (quiet bit set) and infinity an infinity.
        return static_cast<uint16_t>(sign | 0x7C00U |
                                     (mantissa != 0 ? 0x200U | (mantissa >> 13) : 0U));
    }
    const int half_exponent = static_cast<int>(exponent) - 127 + 15;
    if (half_exponent >= 31) {
        return static_cast<uint16_t>(sign | 0x7C00U);
    }
    if (half_exponent <= 0) {
        if (half_exponent < -10) {
            return sign; // below half the smallest subnormal: rounds to zero
        }
        mantissa |= 0x800000U;
        const auto shift = static_cast<uint32_t>(14 - half_exponent);
        uint32_t half = mantissa >> shift;
        const uint32_t rest = mantissa & ((1U << shift) - 1U);
        const uint32_t halfway = 1U << (shift - 1U);
        if (rest > halfway || (rest == halfway && (half & 1U) != 0)) {
            ++half;
        }
        return static_cast<uint16_t>(sign | half);
    }
    uint32_t half = (static_cast<uint32_t>(half_exponent) << 10) | (mantissa >> 13);
    const uint32_t rest = mantissa & 0x1FFFU;
    if (rest > 0x1000U || (rest == 0x1000U && (half & 1U) != 0)) {
        ++half; // a carry into the exponent is the correct rounding, up to infinity
    }
    return static_cast<uint16_t>(sign | half);
}

float half_to_float(uint16_t bits)
{
    const uint32_t sign = (static_cast<uint32_t>(bits) & 0x8000U) << 16;
    const uint32_t exponent = (bits >> 10) & 0x1FU;
    uint32_t mantissa = bits & 0x3FFU;
    if (exponent == 0x1F) {
        return std::bit_cast<float>(sign | 0x7F800000U | (mantissa << 13));
    }
    if (exponent == 0) {
        if (mantissa == 0) {
            return std::bit_cast<float>(sign);
        }
        // Subnormal half: normalise into a float exponent.
        uint32_t e = 127 - 15 + 1;
        while ((mantissa & 0x400U) == 0) {
            mantissa <<= 1;
            --e;
        }
        mantissa &= 0x3FFU;
        return std::bit_cast<float>(sign | (e << 23) | (mantissa << 13));
    }
    return std::bit_cast<float>(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
}

} // namespace gpumod::gguf
