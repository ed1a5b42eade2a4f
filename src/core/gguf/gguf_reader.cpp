#include "core/gguf/gguf_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <limits>
#include <numeric>
#include <unordered_map>

namespace gpumod::gguf {

namespace {

// Nested arrays are legal GGUF but no model uses them; the limit keeps a hostile file from
// recursing the parser off the stack.
constexpr uint32_t k_max_array_depth = 16;
// Smallest possible metadata entry: key length (8) + empty key + type (4) + a uint8 value.
constexpr uint64_t k_min_entry_bytes = 13;
// Smallest possible tensor info: name length (8) + n_dims (4) + type (4) + offset (8).
constexpr uint64_t k_min_tensor_info_bytes = 24;
// Bytes of an array header (element type + length), the smallest an array item can take.
constexpr uint64_t k_array_header_bytes = 12;

// Why a parse stopped: corruption (message) or a prefix that ended early (need_more).
struct Failure
{
    std::string message;
    bool need_more = false;
    uint64_t at_least = 0;
};

template <typename T> using Parsed = tl::expected<T, Failure>;

uint64_t min_item_bytes(ValueType type)
{
    if (type == ValueType::string) {
        return 8;
    }
    if (type == ValueType::array) {
        return k_array_header_bytes;
    }
    return scalar_size(type);
}

class Parser
{
  public:
    Parser(std::span<const uint8_t> prefix, uint64_t file_size)
        : m_prefix(prefix.first(std::min<uint64_t>(prefix.size(), file_size))),
          m_file_size(file_size)
    {
    }

    Parsed<GgufHeader> run();

  private:
    [[nodiscard]] tl::unexpected<Failure> corrupt(uint64_t at, std::string_view problem) const
    {
        std::string items;
        for (uint64_t item : m_items) {
            items += fmt::format(" item #{}", item);
        }
        return tl::unexpected(Failure{
            fmt::format("gguf: at byte {}, {}{}: {}", at, m_where, items, problem), false, 0});
    }

    [[nodiscard]] uint64_t remaining() const { return m_file_size - m_pos; }

    // Checks that `n` bytes at the cursor exist in the file, then in the prefix.
    Parsed<void> need(uint64_t n, std::string_view field)
    {
        if (n > remaining()) {
            return corrupt(m_pos, fmt::format("{} needs {} bytes but only {} remain in the file",
                                              field, n, remaining()));
        }
        if (m_pos + n > m_prefix.size()) {
            return tl::unexpected(Failure{{}, true, m_pos + n});
        }
        return {};
    }

    template <typename T> Parsed<T> read_le(std::string_view field)
    {
        if (auto ok = need(sizeof(T), field); !ok) {
            return tl::unexpected(ok.error());
        }
        uint64_t v = 0;
        for (size_t i = 0; i < sizeof(T); ++i) {
            v |= static_cast<uint64_t>(m_prefix[m_pos + i]) << (8 * i);
        }
        m_pos += sizeof(T);
        return static_cast<T>(v);
    }

    Parsed<std::string> read_string(std::string_view field)
    {
        const uint64_t at = m_pos;
        // Formatting the field name costs more than reading the string (a vocabulary has
        // 250k of them), so the name is only built when the read can fail.
        const bool fits = remaining() >= sizeof(uint64_t) && m_pos + sizeof(uint64_t) <= m_prefix.size();
        auto length = fits ? read_le<uint64_t>(field)
                           : read_le<uint64_t>(fmt::format("{} length", field));
        if (!length) {
            return tl::unexpected(length.error());
        }
        if (*length > remaining()) {
            return corrupt(at, fmt::format("{} length {} exceeds the remaining {} bytes", field,
                                           *length, remaining()));
        }
        if (auto ok = need(*length, field); !ok) {
            return tl::unexpected(ok.error());
        }
        std::string s(reinterpret_cast<const char*>(m_prefix.data() + m_pos),
                      static_cast<size_t>(*length));
        m_pos += *length;
        return s;
    }

    Parsed<ValueType> read_value_type(std::string_view field)
    {
        const uint64_t at = m_pos;
        auto id = read_le<uint32_t>(field);
        if (!id) {
            return tl::unexpected(id.error());
        }
        auto type = value_type_from_id(*id);
        if (!type) {
            return corrupt(at, fmt::format("unknown {} {}", field, *id));
        }
        return *type;
    }

    Parsed<Value> read_value(ValueType type, uint32_t depth);
    Parsed<Value> read_array(uint32_t depth);
    // Fast paths of read_array: the number of items read before one that needs the checks
    // (and error messages) of read_value.
    uint64_t read_string_items(std::vector<Value>& items, uint64_t count);
    template <typename Raw, typename T>
    uint64_t read_scalar_items(std::vector<Value>& items, uint64_t count);
    Status check_alignment(GgufHeader& header) const;

    std::span<const uint8_t> m_prefix;
    uint64_t m_file_size;
    uint64_t m_pos = 0;
    std::string m_where = "header";
    std::vector<uint64_t> m_items; // path of array item indices, for error messages
};

Parsed<Value> Parser::read_value(ValueType type, uint32_t depth)
{
    switch (type) {
    case ValueType::uint8:
        return read_le<uint8_t>("uint8 value").map([](uint8_t v) { return Value(v); });
    case ValueType::int8:
        return read_le<uint8_t>("int8 value").map([](uint8_t v) {
            return Value(std::bit_cast<int8_t>(v));
        });
    case ValueType::uint16:
        return read_le<uint16_t>("uint16 value").map([](uint16_t v) { return Value(v); });
    case ValueType::int16:
        return read_le<uint16_t>("int16 value").map([](uint16_t v) {
            return Value(std::bit_cast<int16_t>(v));
        });
    case ValueType::uint32:
        return read_le<uint32_t>("uint32 value").map([](uint32_t v) { return Value(v); });
    case ValueType::int32:
        return read_le<uint32_t>("int32 value").map([](uint32_t v) {
            return Value(std::bit_cast<int32_t>(v));
        });
    case ValueType::float32:
        return read_le<uint32_t>("float32 value").map([](uint32_t v) {
            return Value(std::bit_cast<float>(v));
        });
    case ValueType::uint64:
        return read_le<uint64_t>("uint64 value").map([](uint64_t v) { return Value(v); });
    case ValueType::int64:
        return read_le<uint64_t>("int64 value").map([](uint64_t v) {
            return Value(std::bit_cast<int64_t>(v));
        });
    case ValueType::float64:
        return read_le<uint64_t>("float64 value").map([](uint64_t v) {
            return Value(std::bit_cast<double>(v));
        });
    case ValueType::boolean: {
        const uint64_t at = m_pos;
        auto b = read_le<uint8_t>("bool value");
        if (!b) {
            return tl::unexpected(b.error());
        }
        if (*b > 1) {
            return corrupt(at, fmt::format("bool value {} is neither 0 nor 1", *b));
        }
        return Value(*b == 1);
    }
    case ValueType::string:
        return read_string("string").map([](std::string s) { return Value(std::move(s)); });
    case ValueType::array:
        return read_array(depth + 1);
    }
    return corrupt(m_pos, "unknown value type"); // unreachable: types are validated on read
}

Parsed<Value> Parser::read_array(uint32_t depth)
{
    if (depth > k_max_array_depth) {
        return corrupt(m_pos, fmt::format("arrays nested deeper than {}", k_max_array_depth));
    }
    auto element_type = read_value_type("array element type");
    if (!element_type) {
        return tl::unexpected(element_type.error());
    }
    const uint64_t at = m_pos;
    auto length = read_le<uint64_t>("array length");
    if (!length) {
        return tl::unexpected(length.error());
    }
    const uint64_t min_bytes = min_item_bytes(*element_type);
    if (*length > remaining() / min_bytes) {
        return corrupt(at, fmt::format("array length {} exceeds the remaining {} bytes ({} items "
                                       "take at least {} bytes each)",
                                       *length, remaining(), value_type_name(*element_type),
                                       min_bytes));
    }
    // Allocate only for items whose minimum size is already in the prefix.
    if (auto ok = need(*length * min_bytes, "array items"); !ok) {
        return tl::unexpected(ok.error());
    }
    Array array{*element_type, {}};
    array.items.reserve(static_cast<size_t>(*length));
    m_items.push_back(0);
    // Vocabularies are arrays of 100k+ strings and numbers: those build their items in place
    // (no per-item Value and expected temporaries, ~2x faster); the generic path below
    // handles the rest, and every failure, with the same messages.
    uint64_t i = 0;
    switch (*element_type) {
    case ValueType::string:
        i = read_string_items(array.items, *length);
        break;
    case ValueType::int32:
        i = read_scalar_items<uint32_t, int32_t>(array.items, *length);
        break;
    case ValueType::uint32:
        i = read_scalar_items<uint32_t, uint32_t>(array.items, *length);
        break;
    case ValueType::float32:
        i = read_scalar_items<uint32_t, float>(array.items, *length);
        break;
    default:
        break;
    }
    for (; i < *length; ++i) {
        m_items.back() = i;
        auto item = read_value(*element_type, depth);
        if (!item) {
            return tl::unexpected(item.error());
        }
        array.items.push_back(std::move(*item));
    }
    m_items.pop_back();
    return Value(std::move(array));
}

uint64_t Parser::read_string_items(std::vector<Value>& items, uint64_t count)
{
    const uint8_t* data = m_prefix.data();
    const uint64_t prefix_size = m_prefix.size();
    uint64_t i = 0;
    for (; i < count; ++i) {
        // Stop at the first string that is not wholly in the prefix and the file: the generic
        // path reads it again and reports why.
        if (m_pos + sizeof(uint64_t) > prefix_size || sizeof(uint64_t) > remaining()) {
            break;
        }
        uint64_t length = 0;
        for (size_t b = 0; b < sizeof(uint64_t); ++b) {
            length |= static_cast<uint64_t>(data[m_pos + b]) << (8 * b);
        }
        const uint64_t start = m_pos + sizeof(uint64_t);
        if (length > m_file_size - start || length > prefix_size - start) {
            break;
        }
        items.emplace_back().data.emplace<std::string>(
            reinterpret_cast<const char*>(data + start), static_cast<size_t>(length));
        m_pos = start + length;
    }
    return i;
}

template <typename Raw, typename T> uint64_t Parser::read_scalar_items(std::vector<Value>& items, uint64_t count)
{
    // The caller checked that count items of this size are in the prefix and the file.
    const uint8_t* data = m_prefix.data();
    for (uint64_t i = 0; i < count; ++i) {
        Raw raw = 0;
        for (size_t b = 0; b < sizeof(Raw); ++b) {
            raw |= static_cast<Raw>(static_cast<Raw>(data[m_pos + b]) << (8 * b));
        }
        items.emplace_back(std::bit_cast<T>(raw));
        m_pos += sizeof(Raw);
    }
    return count;
}

Parsed<GgufHeader> Parser::run()
{
    GgufHeader header;
    header.file_size = m_file_size;

    if (auto ok = need(4, "magic"); !ok) {
        return tl::unexpected(ok.error());
    }
    if (!std::equal(m_prefix.begin(), m_prefix.begin() + 4, "GGUF")) {
        return corrupt(0, fmt::format("not a GGUF file: magic is {:02x} {:02x} {:02x} {:02x}, "
                                      "expected \"GGUF\"",
                                      m_prefix[0], m_prefix[1], m_prefix[2], m_prefix[3]));
    }
    m_pos = 4;
    auto version = read_le<uint32_t>("version");
    if (!version) {
        return tl::unexpected(version.error());
    }
    if (*version != 2 && *version != 3) {
        const uint32_t v = *version;
        const uint32_t swapped =
            (v >> 24) | ((v >> 8) & 0xFF00U) | ((v << 8) & 0xFF0000U) | (v << 24);
        if (swapped == 2 || swapped == 3) {
            return corrupt(4, fmt::format("big-endian GGUF (version {} byte-swapped) is not "
                                          "supported",
                                          swapped));
        }
        return corrupt(4, fmt::format("unsupported GGUF version {} (supported: 2, 3)", *version));
    }
    header.version = *version;

    const uint64_t counts_at = m_pos;
    auto tensor_count = read_le<uint64_t>("tensor count");
    if (!tensor_count) {
        return tl::unexpected(tensor_count.error());
    }
    auto entry_count = read_le<uint64_t>("metadata count");
    if (!entry_count) {
        return tl::unexpected(entry_count.error());
    }
    if (*tensor_count > remaining() / k_min_tensor_info_bytes) {
        return corrupt(counts_at, fmt::format("tensor count {} exceeds what the remaining {} bytes "
                                              "can hold",
                                              *tensor_count, remaining()));
    }
    if (*entry_count > remaining() / k_min_entry_bytes) {
        return corrupt(counts_at + 8, fmt::format("metadata count {} exceeds what the remaining {} "
                                                  "bytes can hold",
                                                  *entry_count, remaining()));
    }

    std::unordered_map<std::string, uint64_t> key_index;
    std::vector<uint64_t> value_at; // where each entry's value starts, for later errors
    const auto prefix_left = static_cast<uint64_t>(m_prefix.size()) - m_pos;
    header.metadata.reserve(
        static_cast<size_t>(std::min(*entry_count, prefix_left / k_min_entry_bytes)));
    for (uint64_t i = 0; i < *entry_count; ++i) {
        m_where = fmt::format("metadata key #{}", i);
        const uint64_t key_at = m_pos;
        auto key = read_string("key");
        if (!key) {
            return tl::unexpected(key.error());
        }
        m_where = fmt::format("metadata key #{} '{}'", i, *key);
        if (auto [it, inserted] = key_index.emplace(*key, i); !inserted) {
            return corrupt(key_at,
                           fmt::format("duplicate key (first defined as key #{})", it->second));
        }
        auto type = read_value_type("value type");
        if (!type) {
            return tl::unexpected(type.error());
        }
        value_at.push_back(m_pos);
        auto value = read_value(*type, 0);
        if (!value) {
            return tl::unexpected(value.error());
        }
        header.metadata.push_back(MetadataEntry{std::move(*key), std::move(*value)});
    }

    if (auto it = key_index.find("general.alignment"); it != key_index.end()) {
        const Value& value = header.metadata[static_cast<size_t>(it->second)].value;
        m_where = fmt::format("metadata key #{} 'general.alignment'", it->second);
        const auto* alignment = std::get_if<uint32_t>(&value.data);
        if (alignment == nullptr) {
            return corrupt(
                value_at[static_cast<size_t>(it->second)],
                fmt::format("alignment must be uint32, not {}", value_type_name(value.type())));
        }
        if (*alignment == 0 || !std::has_single_bit(*alignment)) {
            return corrupt(value_at[static_cast<size_t>(it->second)],
                           fmt::format("alignment {} is not a power of two", *alignment));
        }
        header.alignment = *alignment;
    }

    std::unordered_map<std::string, uint64_t> name_index;
    std::vector<uint64_t> offset_at; // where each tensor's offset field is, for later errors
    header.tensors.reserve(static_cast<size_t>(
        std::min(*tensor_count, (m_prefix.size() - m_pos) / k_min_tensor_info_bytes)));
    for (uint64_t i = 0; i < *tensor_count; ++i) {
        m_where = fmt::format("tensor #{}", i);
        const uint64_t name_at = m_pos;
        auto name = read_string("name");
        if (!name) {
            return tl::unexpected(name.error());
        }
        m_where = fmt::format("tensor #{} '{}'", i, *name);
        if (auto [it, inserted] = name_index.emplace(*name, i); !inserted) {
            return corrupt(name_at, fmt::format("duplicate tensor name (first used by tensor #{})",
                                                it->second));
        }
        const uint64_t dims_at = m_pos;
        auto n_dims = read_le<uint32_t>("dimension count");
        if (!n_dims) {
            return tl::unexpected(n_dims.error());
        }
        if (*n_dims > k_max_dims) {
            return corrupt(
                dims_at, fmt::format("{} dimensions, at most {} are allowed", *n_dims, k_max_dims));
        }
        TensorInfo info;
        info.name = std::move(*name);
        for (uint32_t d = 0; d < *n_dims; ++d) {
            const uint64_t dim_at = m_pos;
            auto dim = read_le<uint64_t>("dimension");
            if (!dim) {
                return tl::unexpected(dim.error());
            }
            if (*dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
                return corrupt(dim_at, fmt::format("dimension #{} is {}, beyond int64", d, *dim));
            }
            info.shape.push_back(*dim);
        }
        const uint64_t type_at = m_pos;
        auto type_id = read_le<uint32_t>("tensor type");
        if (!type_id) {
            return tl::unexpected(type_id.error());
        }
        const TensorTypeInfo* type = find_tensor_type(*type_id);
        if (type == nullptr) {
            return corrupt(type_at, fmt::format("unknown tensor type {}", *type_id));
        }
        info.type = type->type;
        auto size = tensor_byte_size(info.type, info.shape);
        if (!size) {
            return corrupt(dims_at, size.error().message);
        }
        info.byte_size = *size;
        offset_at.push_back(m_pos);
        auto offset = read_le<uint64_t>("data offset");
        if (!offset) {
            return tl::unexpected(offset.error());
        }
        if (*offset % header.alignment != 0) {
            return corrupt(offset_at.back(), fmt::format("data offset {} is not a multiple of the "
                                                         "alignment {}",
                                                         *offset, header.alignment));
        }
        info.offset = *offset;
        header.tensors.push_back(std::move(info));
    }

    header.header_size = m_pos;
    header.data_offset = (m_pos + header.alignment - 1) / header.alignment * header.alignment;
    if (header.tensors.empty()) {
        return header;
    }
    m_items.clear();
    if (header.data_offset > m_file_size) {
        m_where = "tensor data";
        return corrupt(m_pos, fmt::format("data section would start at byte {}, past the end of "
                                          "the file ({} bytes)",
                                          header.data_offset, m_file_size));
    }
    const uint64_t data_size = m_file_size - header.data_offset;
    for (size_t i = 0; i < header.tensors.size(); ++i) {
        const TensorInfo& t = header.tensors[i];
        if (t.offset > data_size || t.byte_size > data_size - t.offset) {
            m_where = fmt::format("tensor #{} '{}'", i, t.name);
            return corrupt(offset_at[i],
                           fmt::format("data [{}, +{}) extends past the end of the file ({} bytes)",
                                       header.data_offset + t.offset, t.byte_size, m_file_size));
        }
    }
    std::vector<size_t> order(header.tensors.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return header.tensors[a].offset < header.tensors[b].offset;
    });
    for (size_t k = 1; k < order.size(); ++k) {
        const TensorInfo& prev = header.tensors[order[k - 1]];
        const TensorInfo& next = header.tensors[order[k]];
        if (prev.offset + prev.byte_size > next.offset) {
            m_where = fmt::format("tensor #{} '{}'", order[k], next.name);
            return corrupt(offset_at[order[k]],
                           fmt::format("data at offset {} overlaps tensor #{} '{}' at offset {} "
                                       "({} bytes)",
                                       next.offset, order[k - 1], prev.name, prev.offset,
                                       prev.byte_size));
        }
    }
    return header;
}

} // namespace

Result<PrefixParse> read_gguf_prefix(std::span<const uint8_t> prefix, uint64_t file_size)
{
    auto parsed = Parser(prefix, file_size).run();
    if (!parsed) {
        if (parsed.error().need_more) {
            return PrefixParse(NeedMoreBytes{parsed.error().at_least});
        }
        return fail(std::move(parsed.error().message));
    }
    return PrefixParse(std::move(*parsed));
}

Result<GgufHeader> read_gguf(std::span<const uint8_t> file)
{
    auto parsed = read_gguf_prefix(file, file.size());
    if (!parsed) {
        return tl::unexpected(parsed.error());
    }
    if (auto* header = std::get_if<GgufHeader>(&*parsed)) {
        return std::move(*header);
    }
    // With the whole file at hand every shortfall is reported as corruption instead.
    return fail("gguf: internal error: whole file reported as a short prefix");
}

Result<std::span<const uint8_t>> tensor_bytes(const GgufHeader& header, const TensorInfo& tensor,
                                              std::span<const uint8_t> file)
{
    const uint64_t start = header.data_offset + tensor.offset;
    if (start > file.size() || tensor.byte_size > file.size() - start) {
        return fail(fmt::format("gguf: tensor '{}' data [{}, +{}) is outside the {} bytes given",
                                tensor.name, start, tensor.byte_size, file.size()));
    }
    return file.subspan(static_cast<size_t>(start), static_cast<size_t>(tensor.byte_size));
}

} // namespace gpumod::gguf
