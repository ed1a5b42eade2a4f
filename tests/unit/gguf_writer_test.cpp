#include "core/gguf/gguf_writer.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "core/gguf/gguf_reader.hpp"

namespace gpumod::gguf {
namespace {

uint64_t le_at(const std::vector<uint8_t>& b, size_t at, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
        v |= static_cast<uint64_t>(b.at(at + i)) << (8 * i);
    }
    return v;
}

TEST(GgufWriter, EmptyModelIsMagicVersionAndZeroCounts)
{
    auto bytes = write_gguf(GgufModel{});
    ASSERT_TRUE(bytes) << bytes.error().message;
    ASSERT_EQ(bytes->size(), 32U); // 24 header bytes padded to the 32-byte alignment
    EXPECT_EQ(std::string(bytes->begin(), bytes->begin() + 4), "GGUF");
    EXPECT_EQ(le_at(*bytes, 4, 4), 3U);
    EXPECT_EQ(le_at(*bytes, 8, 8), 0U);  // tensors
    EXPECT_EQ(le_at(*bytes, 16, 8), 0U); // metadata
}

TEST(GgufWriter, EncodesAMetadataEntryLittleEndian)
{
    GgufModel model;
    model.metadata.push_back({"ab", Value(uint32_t{0x01020304})});
    auto bytes = write_gguf(model);
    ASSERT_TRUE(bytes);
    EXPECT_EQ(le_at(*bytes, 16, 8), 1U);
    EXPECT_EQ(le_at(*bytes, 24, 8), 2U); // key length
    EXPECT_EQ((*bytes)[32], 'a');
    EXPECT_EQ((*bytes)[33], 'b');
    EXPECT_EQ(le_at(*bytes, 34, 4), 4U); // uint32 type id
    const std::vector<uint8_t> value(bytes->begin() + 38, bytes->begin() + 42);
    EXPECT_EQ(value, (std::vector<uint8_t>{0x04, 0x03, 0x02, 0x01}));
}

TEST(GgufWriter, EncodesArraysWithElementTypeAndLength)
{
    GgufModel model;
    const std::vector<int32_t> items = {-1, 7};
    model.metadata.push_back({"k", int32_array(items)});
    auto bytes = write_gguf(model);
    ASSERT_TRUE(bytes);
    // key: 8 + 1 bytes at 24, then type (array) at 33, element type at 37, length at 41.
    EXPECT_EQ(le_at(*bytes, 33, 4), 9U);
    EXPECT_EQ(le_at(*bytes, 37, 4), 5U);
    EXPECT_EQ(le_at(*bytes, 41, 8), 2U);
    EXPECT_EQ(le_at(*bytes, 49, 4), 0xFFFFFFFFU);
    EXPECT_EQ(le_at(*bytes, 53, 4), 7U);
}

TEST(GgufWriter, AlignsEveryTensorToTheDefaultAlignment)
{
    GgufModel model;
    const std::vector<float> three = {1.0F, 2.0F, 3.0F};
    model.tensors.push_back(f32_tensor("a", {3}, three));
    model.tensors.push_back(f32_tensor("b", {3}, three));
    auto bytes = write_gguf(model);
    ASSERT_TRUE(bytes);
    auto header = read_gguf(*bytes);
    ASSERT_TRUE(header) << header.error().message;
    EXPECT_EQ(header->alignment, 32U);
    EXPECT_EQ(header->data_offset % 32, 0U);
    EXPECT_EQ(header->tensors[0].offset, 0U);
    EXPECT_EQ(header->tensors[1].offset, 32U); // 12 bytes padded to 32
    EXPECT_EQ(bytes->size(), header->data_offset + 64);
    auto data = tensor_bytes(*header, header->tensors[1], *bytes);
    ASSERT_TRUE(data);
    EXPECT_EQ(
        std::bit_cast<float>(static_cast<uint32_t>(le_at(*bytes, header->data_offset + 32 + 8, 4))),
        3.0F);
}

TEST(GgufWriter, HonoursGeneralAlignment)
{
    GgufModel model;
    model.metadata.push_back({"general.alignment", Value(uint32_t{64})});
    const std::vector<float> one = {1.0F};
    model.tensors.push_back(f32_tensor("a", {1}, one));
    model.tensors.push_back(f32_tensor("b", {1}, one));
    auto bytes = write_gguf(model);
    ASSERT_TRUE(bytes);
    auto header = read_gguf(*bytes);
    ASSERT_TRUE(header);
    EXPECT_EQ(header->alignment, 64U);
    EXPECT_EQ(header->data_offset % 64, 0U);
    EXPECT_EQ(header->tensors[1].offset, 64U);
}

TEST(GgufWriter, RejectsInvalidModelsNamingTheEntry)
{
    const std::vector<float> four = {1, 2, 3, 4};
    auto error_of = [](const GgufModel& m) {
        auto r = write_gguf(m);
        return r ? std::string("no error") : r.error().message;
    };
    {
        GgufModel m;
        m.metadata = {{"a", Value(uint8_t{1})}, {"a", Value(uint8_t{2})}};
        EXPECT_EQ(error_of(m), "gguf writer: metadata key #1 'a': duplicate key");
    }
    {
        GgufModel m;
        m.metadata = {
            {"arr", Value(Array{ValueType::int32, {Value(int32_t{1}), Value(uint8_t{2})}})}};
        EXPECT_EQ(error_of(m), "gguf writer: metadata key #0 'arr': array item #1 is uint8 but the "
                               "array holds int32");
    }
    {
        GgufModel m;
        m.metadata = {{"general.alignment", Value(uint32_t{48})}};
        EXPECT_EQ(error_of(m), "gguf writer: general.alignment 48 is not a power of two");
    }
    {
        GgufModel m;
        m.metadata = {{"general.alignment", Value(uint64_t{32})}};
        EXPECT_EQ(error_of(m), "gguf writer: general.alignment must be uint32, not uint64");
    }
    {
        GgufModel m;
        m.tensors = {f32_tensor("t", {4}, four), f32_tensor("t", {4}, four)};
        EXPECT_EQ(error_of(m), "gguf writer: tensor #1 't': duplicate tensor name");
    }
    {
        GgufModel m;
        m.tensors = {f32_tensor("t", {5}, four)};
        EXPECT_EQ(error_of(m),
                  "gguf writer: tensor #0 't': shape needs 20 bytes of f32 but 16 were given");
    }
    {
        GgufModel m;
        m.tensors = {f32_tensor("t", {1, 1, 1, 1, 4}, four)};
        EXPECT_EQ(error_of(m), "gguf writer: tensor #0 't': 5 dimensions, ggml allows at most 4");
    }
    {
        GgufModel m;
        m.tensors = {f32_tensor(std::string(64, 'n'), {4}, four)};
        EXPECT_NE(error_of(m).find("name is 64 bytes, ggml allows at most 63"), std::string::npos);
    }
    {
        GgufModel m;
        m.tensors = {TensorData{"q", {16}, TensorType::q8_0, std::vector<uint8_t>(34)}};
        EXPECT_EQ(error_of(m), "gguf writer: tensor #0 'q': row length 16 is not a multiple of the "
                               "q8_0 block size 32");
    }
}

TEST(GgufWriter, WritesQuantizedTensorsOfTheRightSize)
{
    GgufModel m;
    m.tensors = {TensorData{"q", {64, 2}, TensorType::q8_0, std::vector<uint8_t>(4 * 34, 7)}};
    auto bytes = write_gguf(m);
    ASSERT_TRUE(bytes) << bytes.error().message;
    auto header = read_gguf(*bytes);
    ASSERT_TRUE(header);
    EXPECT_EQ(header->tensors[0].byte_size, 136U);
    EXPECT_EQ(header->tensors[0].type, TensorType::q8_0);
}

TEST(GgufWriter, HalfConversionOfKnownValues)
{
    EXPECT_EQ(float_to_half(0.0F), 0x0000);
    EXPECT_EQ(float_to_half(-0.0F), 0x8000);
    EXPECT_EQ(float_to_half(1.0F), 0x3C00);
    EXPECT_EQ(float_to_half(-2.0F), 0xC000);
    EXPECT_EQ(float_to_half(0.1F), 0x2E66);
    EXPECT_EQ(float_to_half(65504.0F), 0x7BFF); // largest finite half
    EXPECT_EQ(float_to_half(65520.0F), 0x7C00); // rounds up to infinity
    EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7C00);
    EXPECT_EQ(float_to_half(std::ldexp(1.0F, -24)), 0x0001); // smallest subnormal
    EXPECT_EQ(float_to_half(std::ldexp(1.0F, -25)), 0x0000); // tie to even: zero
    EXPECT_EQ(float_to_half(std::ldexp(1.5F, -25)), 0x0001); // above the tie
    EXPECT_EQ(float_to_half(1e-10F), 0x0000);
    EXPECT_EQ(float_to_half(2049.0F), 0x6800); // tie to even: 2048
    EXPECT_EQ(float_to_half(2051.0F), 0x6802); // tie to even: 2052
    EXPECT_EQ(float_to_half(std::numeric_limits<float>::quiet_NaN()) & 0x7C00, 0x7C00);
    EXPECT_NE(float_to_half(std::numeric_limits<float>::quiet_NaN()) & 0x03FF, 0);
}

TEST(GgufWriter, EveryHalfRoundTripsThroughFloat)
{
    for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
        const auto half = static_cast<uint16_t>(bits);
        const float f = half_to_float(half);
        const bool is_nan = (half & 0x7C00) == 0x7C00 && (half & 0x03FF) != 0;
        if (is_nan) {
            EXPECT_TRUE(std::isnan(f)) << bits;
        } else {
            EXPECT_EQ(float_to_half(f), half) << bits;
        }
    }
}

TEST(GgufWriter, F16TensorStoresHalfBits)
{
    const std::vector<float> values = {1.0F, -2.0F};
    auto t = f16_tensor("h", {2}, values);
    EXPECT_EQ(t.type, TensorType::f16);
    EXPECT_EQ(t.data, (std::vector<uint8_t>{0x00, 0x3C, 0x00, 0xC0}));
}

} // namespace
} // namespace gpumod::gguf
