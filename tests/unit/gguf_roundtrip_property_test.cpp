#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <bit>
#include <set>

#include "core/gguf/gguf_reader.hpp"
#include "core/gguf/gguf_writer.hpp"

namespace gpumod::gguf {
namespace {

// Draws a value of `type`; arrays nest up to `depth` more levels. Floats are drawn as raw
// bits so NaNs, infinities and subnormals are covered too.
Value draw_value(ValueType type, int depth)
{
    switch (type) {
    case ValueType::uint8:
        return Value(*rc::gen::arbitrary<uint8_t>());
    case ValueType::int8:
        return Value(*rc::gen::arbitrary<int8_t>());
    case ValueType::uint16:
        return Value(*rc::gen::arbitrary<uint16_t>());
    case ValueType::int16:
        return Value(*rc::gen::arbitrary<int16_t>());
    case ValueType::uint32:
        return Value(*rc::gen::arbitrary<uint32_t>());
    case ValueType::int32:
        return Value(*rc::gen::arbitrary<int32_t>());
    case ValueType::float32:
        return Value(std::bit_cast<float>(*rc::gen::arbitrary<uint32_t>()));
    case ValueType::boolean:
        return Value(*rc::gen::arbitrary<bool>());
    case ValueType::string:
        return Value(*rc::gen::arbitrary<std::string>());
    case ValueType::uint64:
        return Value(*rc::gen::arbitrary<uint64_t>());
    case ValueType::int64:
        return Value(*rc::gen::arbitrary<int64_t>());
    case ValueType::float64:
        return Value(std::bit_cast<double>(*rc::gen::arbitrary<uint64_t>()));
    case ValueType::array: {
        const int max_type = depth > 0 ? 12 : 11; // no deeper nesting at the bottom
        auto element_type = static_cast<ValueType>(*rc::gen::inRange(0, max_type + 1));
        if (depth <= 0 && element_type == ValueType::array) {
            element_type = ValueType::float64;
        }
        Array array{element_type, {}};
        const int length = *rc::gen::inRange(0, 6);
        for (int i = 0; i < length; ++i) {
            array.items.push_back(draw_value(element_type, depth - 1));
        }
        return Value(std::move(array));
    }
    }
    return Value(uint8_t{0});
}

TensorData draw_tensor(const std::string& name)
{
    static const std::vector<TensorType> types = {TensorType::f32,  TensorType::f16,
                                                  TensorType::bf16, TensorType::q8_0,
                                                  TensorType::q4_k, TensorType::i8};
    const TensorType type = *rc::gen::elementOf(types);
    const TensorTypeInfo& info = tensor_type_info(type);
    const auto n_dims = *rc::gen::inRange<size_t>(1, 5);
    std::vector<uint64_t> shape;
    shape.push_back(info.block_size * *rc::gen::inRange<uint64_t>(0, 4));
    for (size_t d = 1; d < n_dims; ++d) {
        shape.push_back(*rc::gen::inRange<uint64_t>(1, 4));
    }
    const uint64_t size = *tensor_byte_size(type, shape);
    auto data = *rc::gen::container<std::vector<uint8_t>>(static_cast<size_t>(size),
                                                          rc::gen::arbitrary<uint8_t>());
    return TensorData{name, std::move(shape), type, std::move(data)};
}

RC_GTEST_PROP(GgufRoundTrip, WriteThenReadGivesTheSameModel, ())
{
    GgufModel model;
    const uint32_t alignment = *rc::gen::element<uint32_t>(1U, 8U, 32U, 64U, 4096U);
    if (alignment != k_default_alignment || *rc::gen::arbitrary<bool>()) {
        model.metadata.push_back({"general.alignment", Value(alignment)});
    }
    const int entries = *rc::gen::inRange(0, 16);
    for (int i = 0; i < entries; ++i) {
        const auto type = static_cast<ValueType>(*rc::gen::inRange(0, 13));
        // Keys are arbitrary bytes made unique by their index.
        model.metadata.push_back(
            {std::to_string(i) + *rc::gen::arbitrary<std::string>(), draw_value(type, 2)});
    }
    const int tensors = *rc::gen::inRange(0, 6);
    for (int i = 0; i < tensors; ++i) {
        model.tensors.push_back(draw_tensor("t" + std::to_string(i)));
    }

    auto bytes = write_gguf(model);
    RC_ASSERT(bytes.has_value());
    auto header = read_gguf(*bytes);
    RC_ASSERT(header.has_value());
    RC_ASSERT(header->metadata == model.metadata);
    RC_ASSERT(header->alignment == alignment);
    RC_ASSERT(header->data_offset % alignment == 0);
    RC_ASSERT(header->tensors.size() == model.tensors.size());
    for (size_t i = 0; i < model.tensors.size(); ++i) {
        const TensorInfo& info = header->tensors[i];
        const TensorData& written = model.tensors[i];
        RC_ASSERT(info.name == written.name);
        RC_ASSERT(info.shape == written.shape);
        RC_ASSERT(info.type == written.type);
        RC_ASSERT(info.byte_size == written.data.size());
        RC_ASSERT(info.offset % alignment == 0);
        auto data = tensor_bytes(*header, info, *bytes);
        RC_ASSERT(data.has_value());
        RC_ASSERT(std::vector<uint8_t>(data->begin(), data->end()) == written.data);
    }

    // The header alone (no tensor data) parses to the same header.
    auto prefix = read_gguf_prefix(std::span<const uint8_t>(*bytes).first(header->header_size),
                                   bytes->size());
    RC_ASSERT(prefix.has_value());
    RC_ASSERT(std::holds_alternative<GgufHeader>(*prefix));
    RC_ASSERT(std::get<GgufHeader>(*prefix).metadata == model.metadata);
    RC_ASSERT(std::get<GgufHeader>(*prefix).tensors == header->tensors);
}

RC_GTEST_PROP(GgufRoundTrip, ArbitraryBytesNeverCrashTheReader, ())
{
    // Start from a valid file and overwrite a random stretch with random bytes.
    GgufModel model;
    model.metadata.push_back({"k", draw_value(ValueType::array, 1)});
    model.tensors.push_back(draw_tensor("t"));
    auto bytes = *write_gguf(model);
    const auto at = *rc::gen::inRange<size_t>(0, bytes.size());
    const auto noise = *rc::gen::arbitrary<std::vector<uint8_t>>();
    for (size_t i = 0; i < noise.size() && at + i < bytes.size(); ++i) {
        bytes[at + i] = noise[i];
    }
    auto header = read_gguf(bytes);
    if (!header) {
        RC_ASSERT(header.error().message.rfind("gguf: at byte ", 0) == 0);
    }
}

} // namespace
} // namespace gpumod::gguf
