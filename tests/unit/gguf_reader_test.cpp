#include "core/gguf/gguf_reader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "core/gguf/gguf_writer.hpp"

namespace gpumod::gguf {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Builds GGUF bytes by hand, so tests can write exactly the corruption they need.
class Bytes
{
  public:
    Bytes& raw(std::string_view s)
    {
        m_b.insert(m_b.end(), s.begin(), s.end());
        return *this;
    }
    Bytes& u8(uint8_t v) { return le(v, 1); }
    Bytes& u32(uint32_t v) { return le(v, 4); }
    Bytes& u64(uint64_t v) { return le(v, 8); }
    Bytes& str(std::string_view s) { return u64(s.size()).raw(s); }
    Bytes& header(uint64_t tensors, uint64_t entries, uint32_t version = 3)
    {
        return raw("GGUF").u32(version).u64(tensors).u64(entries);
    }
    Bytes& pad(size_t alignment = 32)
    {
        while (m_b.size() % alignment != 0) {
            m_b.push_back(0);
        }
        return *this;
    }
    Bytes& zeros(size_t n)
    {
        m_b.insert(m_b.end(), n, 0);
        return *this;
    }
    [[nodiscard]] size_t size() const { return m_b.size(); }
    [[nodiscard]] const std::vector<uint8_t>& get() const { return m_b; }

  private:
    Bytes& le(uint64_t v, int n)
    {
        for (int i = 0; i < n; ++i) {
            m_b.push_back(static_cast<uint8_t>(v >> (8 * i)));
        }
        return *this;
    }
    std::vector<uint8_t> m_b;
};

std::string error_of(const std::vector<uint8_t>& bytes)
{
    auto r = read_gguf(bytes);
    return r ? std::string("no error") : r.error().message;
}

// A small but complete file: every value type, nested arrays, two tensors.
GgufModel small_model()
{
    GgufModel m;
    m.metadata = {
        {"general.architecture", Value("llama")},
        {"u8", Value(uint8_t{200})},
        {"i8", Value(int8_t{-5})},
        {"u16", Value(uint16_t{60000})},
        {"i16", Value(int16_t{-300})},
        {"u32", Value(uint32_t{4000000000U})},
        {"i32", Value(int32_t{-70000})},
        {"f32", Value(1.5F)},
        {"bool", Value(true)},
        {"u64", Value(uint64_t{1} << 40U)},
        {"i64", Value(int64_t{-1} << 40U)},
        {"f64", Value(2.25)},
        {"tokens", Value(Array{ValueType::string, {Value("a"), Value("bc")}})},
        {"nested",
         Value(Array{ValueType::array, {Value(Array{ValueType::uint8, {Value(uint8_t{1})}})}})},
    };
    const std::vector<float> values = {1, 2, 3, 4, 5, 6};
    m.tensors.push_back(f32_tensor("w", {3, 2}, values));
    m.tensors.push_back(f16_tensor("h", {2}, std::span<const float>(values).first(2)));
    return m;
}

std::vector<uint8_t> small_file()
{
    return *write_gguf(small_model());
}

TEST(GgufReader, ReadsBackEveryFieldOfAWrittenFile)
{
    const GgufModel model = small_model();
    const auto bytes = small_file();
    auto header = read_gguf(bytes);
    ASSERT_TRUE(header) << header.error().message;
    EXPECT_EQ(header->version, 3U);
    EXPECT_EQ(header->metadata, model.metadata);
    EXPECT_EQ(header->alignment, 32U);
    EXPECT_EQ(header->file_size, bytes.size());
    EXPECT_EQ(header->data_offset % 32, 0U);
    EXPECT_GE(header->data_offset, header->header_size);
    ASSERT_EQ(header->tensors.size(), 2U);
    EXPECT_EQ(header->tensors[0], (TensorInfo{"w", {3, 2}, TensorType::f32, 0, 24}));
    EXPECT_EQ(header->tensors[1], (TensorInfo{"h", {2}, TensorType::f16, 32, 4}));
    auto data = tensor_bytes(*header, header->tensors[1], bytes);
    ASSERT_TRUE(data);
    EXPECT_EQ(std::vector<uint8_t>(data->begin(), data->end()), model.tensors[1].data);
    ASSERT_NE(header->find("u32"), nullptr);
    EXPECT_EQ(header->find("u32")->as_uint(), 4000000000U);
    EXPECT_EQ(header->find("i8")->as_int(), -5);
    EXPECT_EQ(header->find("i8")->as_uint(), std::nullopt);
    EXPECT_EQ(*header->find("general.architecture")->as_string(), "llama");
    EXPECT_EQ(header->find("missing"), nullptr);
}

TEST(GgufReader, AcceptsVersion2)
{
    auto bytes = Bytes().header(0, 1, 2).str("k").u32(4).u32(9).get();
    auto header = read_gguf(bytes);
    ASSERT_TRUE(header) << header.error().message;
    EXPECT_EQ(header->version, 2U);
}

TEST(GgufReader, EveryTruncationOfAWholeFileIsAnOffsetNamingError)
{
    const auto bytes = small_file();
    auto full = read_gguf(bytes);
    ASSERT_TRUE(full);
    const TensorInfo& last = full->tensors.back();
    const uint64_t data_end = full->data_offset + last.offset + last.byte_size;
    for (size_t n = 0; n < bytes.size(); ++n) {
        const std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<long>(n));
        auto r = read_gguf(cut);
        if (n >= data_end) {
            EXPECT_TRUE(r) << "cut at " << n; // only trailing padding is missing
        } else {
            ASSERT_FALSE(r) << "cut at " << n;
            EXPECT_THAT(r.error().message, StartsWith("gguf: at byte ")) << "cut at " << n;
        }
    }
}

TEST(GgufReader, EveryShortPrefixAsksForMoreBytesAndGrowingPrefixesReachTheHeader)
{
    const auto bytes = small_file();
    auto full = read_gguf(bytes);
    ASSERT_TRUE(full);
    for (size_t n = 0; n <= bytes.size(); ++n) {
        auto r = read_gguf_prefix(std::span<const uint8_t>(bytes).first(n), bytes.size());
        ASSERT_TRUE(r) << "prefix " << n << ": " << r.error().message;
        if (n < full->header_size) {
            ASSERT_TRUE(std::holds_alternative<NeedMoreBytes>(*r)) << "prefix " << n;
            const uint64_t want = std::get<NeedMoreBytes>(*r).at_least;
            EXPECT_GT(want, n);
            EXPECT_LE(want, full->header_size);
        } else {
            ASSERT_TRUE(std::holds_alternative<GgufHeader>(*r)) << "prefix " << n;
            EXPECT_EQ(std::get<GgufHeader>(*r).metadata, full->metadata);
            EXPECT_EQ(std::get<GgufHeader>(*r).tensors, full->tensors);
        }
    }
    // Following the requests from an empty prefix ends at the header, in a few steps.
    uint64_t have = 0;
    int steps = 0;
    for (;; ++steps) {
        auto r = read_gguf_prefix(std::span<const uint8_t>(bytes).first(have), bytes.size());
        ASSERT_TRUE(r);
        if (std::holds_alternative<GgufHeader>(*r)) {
            break;
        }
        have = std::get<NeedMoreBytes>(*r).at_least;
    }
    EXPECT_EQ(have, full->header_size);
    EXPECT_LT(steps, 200);
}

TEST(GgufReader, ShortPrefixOfACorruptFileIsStillCorruption)
{
    // The array claims more bytes than the whole file has: no prefix can fix that.
    auto bytes =
        Bytes().header(0, 1).str("k").u32(9).u32(0).u64(uint64_t{1} << 60U).zeros(800).get();
    auto r = read_gguf_prefix(std::span<const uint8_t>(bytes).first(49), bytes.size());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message,
              "gguf: at byte 41, metadata key #0 'k': array length 1152921504606846976 exceeds the "
              "remaining 800 bytes (uint8 items take at least 1 bytes each)");
}

TEST(GgufReader, RejectsBadMagicAndVersions)
{
    EXPECT_EQ(error_of(Bytes().raw("GGML").u32(3).u64(0).u64(0).get()),
              "gguf: at byte 0, header: not a GGUF file: magic is 47 47 4d 4c, expected \"GGUF\"");
    EXPECT_EQ(error_of(Bytes().header(0, 0, 1).get()),
              "gguf: at byte 4, header: unsupported GGUF version 1 (supported: 2, 3)");
    EXPECT_EQ(error_of(Bytes().header(0, 0, 0x03000000).get()),
              "gguf: at byte 4, header: big-endian GGUF (version 3 byte-swapped) is not supported");
    EXPECT_EQ(error_of(Bytes().raw("GG").get()),
              "gguf: at byte 0, header: magic needs 4 bytes but only 2 remain in the file");
}

TEST(GgufReader, RejectsAbsurdCounts)
{
    EXPECT_EQ(
        error_of(Bytes().header(uint64_t{1} << 62U, 0).get()),
        "gguf: at byte 8, header: tensor count 4611686018427387904 exceeds what the remaining "
        "0 bytes can hold");
    EXPECT_EQ(
        error_of(Bytes().header(0, 5).zeros(20).get()),
        "gguf: at byte 16, header: metadata count 5 exceeds what the remaining 20 bytes can hold");
}

TEST(GgufReader, RejectsBadMetadataNamingKeyAndOffset)
{
    // Key #1 is named in the message once its name has been read.
    EXPECT_EQ(
        error_of(
            Bytes().header(0, 2).str("a").u32(0).u8(1).str("tokenizer.ggml.tokens").u32(13).get()),
        "gguf: at byte 67, metadata key #1 'tokenizer.ggml.tokens': unknown value type 13");
    EXPECT_EQ(error_of(Bytes().header(0, 1).u64(1000).raw("k").zeros(20).get()),
              "gguf: at byte 24, metadata key #0: key length 1000 exceeds the remaining 21 bytes");
    EXPECT_EQ(
        error_of(Bytes().header(0, 1).str("s").u32(8).u64(50).raw("abc").get()),
        "gguf: at byte 37, metadata key #0 's': string length 50 exceeds the remaining 3 bytes");
    EXPECT_EQ(error_of(Bytes().header(0, 1).str("b").u32(7).u8(2).get()),
              "gguf: at byte 37, metadata key #0 'b': bool value 2 is neither 0 nor 1");
    EXPECT_EQ(error_of(Bytes().header(0, 1).str("a").u32(9).u32(77).u64(0).get()),
              "gguf: at byte 37, metadata key #0 'a': unknown array element type 77");
    EXPECT_EQ(error_of(Bytes().header(0, 1).str("a").u32(9).u32(8).u64(2).str("x").u64(9).get()),
              "gguf: at byte 58, metadata key #0 'a' item #1: string length 9 exceeds the "
              "remaining 0 bytes");
    EXPECT_EQ(error_of(Bytes().header(0, 2).str("d").u32(4).u32(1).str("d").u32(4).u32(2).get()),
              "gguf: at byte 41, metadata key #1 'd': duplicate key (first defined as key #0)");
    EXPECT_EQ(error_of(Bytes().header(0, 1).str("general.alignment").u32(4).u32(24).get()),
              "gguf: at byte 53, metadata key #0 'general.alignment': alignment 24 is not a power "
              "of two");
    EXPECT_EQ(error_of(Bytes().header(0, 1).str("general.alignment").u32(10).u64(32).get()),
              "gguf: at byte 53, metadata key #0 'general.alignment': alignment must be uint32, "
              "not uint64");
}

TEST(GgufReader, RejectsArraysNestedTooDeep)
{
    Bytes b;
    b.header(0, 1).str("n").u32(9);
    for (int i = 0; i < 40; ++i) {
        b.u32(9).u64(1);
    }
    b.u32(0).u64(0);
    EXPECT_THAT(error_of(b.get()), HasSubstr("arrays nested deeper than 16"));
}

// One tensor info after a header with no metadata: name, dims, type, offset.
Bytes one_tensor(std::string_view name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset)
{
    Bytes b;
    b.header(1, 0).str(name).u32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) {
        b.u64(d);
    }
    b.u32(type).u64(offset);
    return b;
}

TEST(GgufReader, RejectsBadTensorInfos)
{
    EXPECT_EQ(error_of(one_tensor("t", {1, 1, 1, 1, 1}, 0, 0).pad().zeros(32).get()),
              "gguf: at byte 33, tensor #0 't': 5 dimensions, at most 4 are allowed");
    EXPECT_EQ(error_of(one_tensor("t", {4}, 31, 0).pad().zeros(32).get()),
              "gguf: at byte 45, tensor #0 't': unknown tensor type 31");
    EXPECT_EQ(
        error_of(one_tensor("t", {4}, 0, 16).pad().zeros(64).get()),
        "gguf: at byte 49, tensor #0 't': data offset 16 is not a multiple of the alignment 32");
    EXPECT_EQ(error_of(one_tensor("t", {16}, 8, 0).pad().zeros(64).get()),
              "gguf: at byte 33, tensor #0 't': row length 16 is not a multiple of the q8_0 block "
              "size 32");
    EXPECT_EQ(error_of(one_tensor("t", {uint64_t{1} << 63U}, 0, 0).pad().get()),
              "gguf: at byte 37, tensor #0 't': dimension #0 is 9223372036854775808, beyond int64");
    EXPECT_EQ(error_of(one_tensor("t", {64}, 0, 0).pad().zeros(100).get()),
              "gguf: at byte 49, tensor #0 't': data [64, +256) extends past the end of the file "
              "(164 bytes)");
    EXPECT_EQ(
        error_of(one_tensor("t", {64}, 0, uint64_t{1} << 62U).pad().zeros(100).get()),
        "gguf: at byte 49, tensor #0 't': data [4611686018427387968, +256) extends past the end "
        "of the file (164 bytes)");
}

TEST(GgufReader, RejectsOverlappingAndDuplicateTensors)
{
    Bytes b;
    b.header(2, 0).str("a").u32(1).u64(16).u32(0).u64(32).str("b").u32(1).u64(16).u32(0).u64(0);
    b.pad().zeros(128);
    EXPECT_EQ(error_of(b.get()),
              "gguf: at byte 49, tensor #0 'a': data at offset 32 overlaps tensor "
              "#1 'b' at offset 0 (64 bytes)");
    Bytes d;
    d.header(2, 0).str("a").u32(1).u64(8).u32(0).u64(0).str("a").u32(1).u64(8).u32(0).u64(32);
    d.pad().zeros(64);
    EXPECT_EQ(error_of(d.get()),
              "gguf: at byte 57, tensor #1 'a': duplicate tensor name (first used "
              "by tensor #0)");
}

TEST(GgufReader, RandomByteFlipsNeverCrash)
{
    const auto original = small_file();
    std::mt19937_64 rng(12345); // the engine's sequence is fixed by the standard
    int rejected = 0;
    for (int round = 0; round < 3000; ++round) {
        auto bytes = original;
        const int flips = 1 + static_cast<int>(rng() % 4);
        for (int f = 0; f < flips; ++f) {
            const auto at = static_cast<size_t>(rng() % bytes.size());
            bytes[at] = static_cast<uint8_t>(bytes[at] ^ (1U << (rng() % 8)));
        }
        auto r = read_gguf(bytes);
        if (!r) {
            ++rejected;
            EXPECT_THAT(r.error().message, StartsWith("gguf: at byte "));
        }
        // Every prefix request stays within the file.
        auto p =
            read_gguf_prefix(std::span<const uint8_t>(bytes).first(bytes.size() / 2), bytes.size());
        if (p && std::holds_alternative<NeedMoreBytes>(*p)) {
            EXPECT_LE(std::get<NeedMoreBytes>(*p).at_least, bytes.size());
        }
    }
    // Flips in the tensor data are harmless; most others are caught.
    EXPECT_GT(rejected, 500);
}

TEST(GgufReader, TensorBytesChecksBounds)
{
    const auto bytes = small_file();
    auto header = read_gguf(bytes);
    ASSERT_TRUE(header);
    auto cut = std::span<const uint8_t>(bytes).first(header->data_offset + 10);
    auto r = tensor_bytes(*header, header->tensors[0], cut);
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message, HasSubstr("tensor 'w' data"));
}

TEST(GgufTypes, TensorTypeTableIsConsistent)
{
    std::set<uint32_t> ids;
    for (const auto& info : tensor_type_table()) {
        EXPECT_TRUE(ids.insert(static_cast<uint32_t>(info.type)).second) << info.name;
        EXPECT_GT(info.block_size, 0U);
        EXPECT_GT(info.block_bytes, 0U);
        EXPECT_EQ(find_tensor_type(static_cast<uint32_t>(info.type)), &info);
        EXPECT_EQ(find_tensor_type(info.name), &info);
    }
    EXPECT_EQ(find_tensor_type(uint32_t{4}), nullptr); // Q4_2, removed from ggml
    EXPECT_EQ(find_tensor_type(uint32_t{31}), nullptr);
    EXPECT_EQ(find_tensor_type("Q4_K")->type, TensorType::q4_k);
    EXPECT_EQ(find_tensor_type("BF16")->block_bytes, 2U);
    EXPECT_EQ(find_tensor_type("q4_k_m"), nullptr); // a file type, not a tensor type
}

TEST(GgufTypes, TensorByteSizes)
{
    const std::vector<uint64_t> square = {4096, 4096};
    EXPECT_EQ(tensor_byte_size(TensorType::f32, square), uint64_t{4096} * 4096 * 4);
    EXPECT_EQ(tensor_byte_size(TensorType::q8_0, square), uint64_t{4096} / 32 * 34 * 4096);
    EXPECT_EQ(tensor_byte_size(TensorType::q4_k, square), uint64_t{4096} / 256 * 144 * 4096);
    EXPECT_EQ(tensor_byte_size(TensorType::mxfp4, square), uint64_t{4096} / 32 * 17 * 4096);
    EXPECT_EQ(tensor_byte_size(TensorType::iq2_xxs, square), uint64_t{4096} / 256 * 66 * 4096);
    const std::vector<uint64_t> odd = {100, 3};
    EXPECT_FALSE(tensor_byte_size(TensorType::q4_0, odd));
    const std::vector<uint64_t> huge = {uint64_t{1} << 40U, uint64_t{1} << 40U};
    EXPECT_FALSE(tensor_byte_size(TensorType::f32, huge));
    EXPECT_EQ(element_count(square), uint64_t{4096} * 4096);
    EXPECT_FALSE(element_count(huge));
}

TEST(GgufTypes, ValueTypeNamesAndSizes)
{
    EXPECT_EQ(value_type_name(ValueType::boolean), "bool");
    EXPECT_EQ(value_type_name(ValueType::float64), "float64");
    EXPECT_EQ(scalar_size(ValueType::uint16), 2U);
    EXPECT_EQ(scalar_size(ValueType::string), 0U);
    EXPECT_EQ(value_type_from_id(12), ValueType::float64);
    EXPECT_EQ(value_type_from_id(13), std::nullopt);
    EXPECT_EQ(Value(uint64_t{5}).as_int(), 5);
    EXPECT_EQ(Value(~uint64_t{0}).as_int(), std::nullopt);
    EXPECT_EQ(Value(2.5F).as_float(), 2.5);
    EXPECT_EQ(Value(true).as_uint(), std::nullopt);
}

} // namespace
} // namespace gpumod::gguf
