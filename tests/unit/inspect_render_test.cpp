#include "core/gguf/inspect_render.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace gpumod::gguf {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> numbered(std::size_t n)
{
    std::vector<std::string> items;
    for (std::size_t i = 0; i < n; ++i) {
        items.push_back(std::to_string(i));
    }
    return items;
}

TEST(InspectRender, EveryScalarTypeRendersAsItsValue)
{
    EXPECT_EQ(render_value("k", Value(uint8_t{7}), 8), "7");
    EXPECT_EQ(render_value("k", Value(int8_t{-5}), 8), "-5");
    EXPECT_EQ(render_value("k", Value(uint16_t{65535}), 8), "65535");
    EXPECT_EQ(render_value("k", Value(int16_t{-300}), 8), "-300");
    EXPECT_EQ(render_value("k", Value(uint32_t{4096}), 8), "4096");
    EXPECT_EQ(render_value("k", Value(int32_t{-1}), 8), "-1");
    EXPECT_EQ(render_value("k", Value(0.5F), 8), "0.5");
    EXPECT_EQ(render_value("k", Value(1e-6F), 8), "1e-06");
    EXPECT_EQ(render_value("k", Value(true), 8), "true");
    EXPECT_EQ(render_value("k", Value(false), 8), "false");
    EXPECT_EQ(render_value("k", Value("llama"), 8), "\"llama\"");
    EXPECT_EQ(render_value("k", Value(uint64_t{10000000000}), 8), "10000000000");
    EXPECT_EQ(render_value("k", Value(int64_t{-10000000000}), 8), "-10000000000");
    EXPECT_EQ(render_value("k", Value(0.25), 8), "0.25");
}

TEST(InspectRender, LongArraysAreSummarizedWithCountAndType)
{
    const auto items = numbered(248320);
    EXPECT_EQ(render_value("general.tags", string_array(items), 3),
              "[\"0\", \"1\", \"2\", … (248,320 items, string)]");
    const std::vector<int32_t> small{1, 2, 3};
    EXPECT_EQ(render_value("k", int32_array(small), 3), "[1, 2, 3]");
    EXPECT_EQ(render_value("k", int32_array(small), 0), "[… (3 items, int32)]");
    EXPECT_EQ(render_value("k", int32_array({}), 8), "[]");
}

TEST(InspectRender, NestedArraysAreSummarizedToo)
{
    const std::vector<int32_t> inner{1, 2, 3, 4};
    Array outer{ValueType::array, {int32_array(inner), int32_array(inner), int32_array(inner)}};
    EXPECT_EQ(render_value("k", Value(outer), 2),
              "[[1, 2, … (4 items, int32)], [1, 2, … (4 items, int32)], … (3 items, array)]");
    EXPECT_EQ(value_type_label(Value(outer)), "array[array[int32]]");
    EXPECT_EQ(value_type_label(Value(uint32_t{1})), "uint32");
}

TEST(InspectRender, TokenizerArraysAreNeverShownWhole)
{
    const auto tokens = numbered(1000);
    const Value vocab = string_array(tokens);
    const std::string shown = render_value("tokenizer.ggml.tokens", vocab, 1000000);
    EXPECT_THAT(shown, HasSubstr("\"63\", … (1,000 items, string)]"));
    EXPECT_THAT(shown, Not(HasSubstr("\"64\"")));
    EXPECT_EQ(shown_array_items("tokenizer.ggml.merges", *vocab.as_array(), 5), 5U);
    EXPECT_EQ(shown_array_items("general.tags", *vocab.as_array(), 1000000), 1000U);
}

TEST(InspectRender, StringsAreEscapedAndCut)
{
    EXPECT_EQ(quote_string("a\"b\\c\nd\te"), "\"a\\\"b\\\\c\\nd\\te\"");
    EXPECT_EQ(quote_string("Ġthe — ✓"), "\"Ġthe — ✓\"");
    EXPECT_EQ(quote_string(std::string("\x01\x7f", 2)), "\"\\x01\\x7f\"");
    // Invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong form.
    EXPECT_EQ(quote_string("\x80"), "\"\\x80\"");
    EXPECT_EQ(quote_string("\xe2\x82"), "\"\\xe2\\x82\"");
    EXPECT_EQ(quote_string("\xc0\xaf"), "\"\\xc0\\xaf\"");
    EXPECT_EQ(quote_string("\xed\xa0\x80"), "\"\\xed\\xa0\\x80\""); // a UTF-16 surrogate
    const std::string long_text(5000, 'x');
    EXPECT_EQ(quote_string(long_text, 4), "\"xxxx\"… (5,000 bytes)");
    EXPECT_EQ(quote_string("✓✓✓✓✓", 2), "\"✓✓\"… (15 bytes)");
    EXPECT_EQ(quote_string("abcd", 4), "\"abcd\"");
}

TEST(InspectRender, NumbersAndSizesAreReadable)
{
    EXPECT_EQ(group_digits(0), "0");
    EXPECT_EQ(group_digits(999), "999");
    EXPECT_EQ(group_digits(1000), "1,000");
    EXPECT_EQ(group_digits(1234567), "1,234,567");
    EXPECT_EQ(group_digits(UINT64_MAX), "18,446,744,073,709,551,615");
    EXPECT_EQ(format_bytes(512), "512 bytes");
    EXPECT_EQ(format_bytes(1572864), "1.50 MiB (1,572,864 bytes)");
    EXPECT_EQ(format_bytes(uint64_t{20} << 30U), "20.00 GiB (21,474,836,480 bytes)");
    const std::vector<uint64_t> shape{4096, 151936};
    EXPECT_EQ(format_shape(shape), "[4096, 151936]");
    EXPECT_EQ(format_shape({}), "[]");
}

TensorInfo tensor(std::string name, TensorType type, std::vector<uint64_t> shape, uint64_t offset)
{
    TensorInfo t;
    t.name = std::move(name);
    t.type = type;
    t.shape = std::move(shape);
    t.byte_size = *tensor_byte_size(t.type, t.shape);
    t.offset = offset;
    return t;
}

TEST(InspectRender, TensorTypeTotalsAreLargestFirst)
{
    std::vector<TensorInfo> tensors{
        tensor("norm", TensorType::f32, {64}, 0),
        tensor("w1", TensorType::q8_0, {64, 64}, 256),
        tensor("w2", TensorType::q8_0, {64, 64}, 4608),
        tensor("emb", TensorType::f16, {64, 10}, 8960),
    };
    auto totals = tensor_type_totals(tensors);
    ASSERT_EQ(totals.size(), 3U);
    EXPECT_EQ(totals[0].type, TensorType::q8_0);
    EXPECT_EQ(totals[0].count, 2U);
    EXPECT_EQ(totals[0].elements, 8192U);
    EXPECT_EQ(totals[0].bytes, 2U * 4352U);
    EXPECT_EQ(totals[1].type, TensorType::f16);
    EXPECT_EQ(totals[1].bytes, 1280U);
    EXPECT_EQ(totals[2].type, TensorType::f32);
    EXPECT_EQ(totals[2].bytes, 256U);
}

ModelView small_model(uint64_t file_size)
{
    GgufHeader h;
    h.metadata.push_back({"general.architecture", Value("llama")});
    h.metadata.push_back({"llama.block_count", Value(uint32_t{2})});
    const auto tokens = numbered(100);
    h.metadata.push_back({"tokenizer.ggml.tokens", string_array(tokens)});
    h.tensors.push_back(tensor("token_embd.weight", TensorType::f16, {64, 100}, 0));
    h.tensors.push_back(tensor("blk.0.attn_norm.weight", TensorType::f32, {64}, 12800));
    h.header_size = 1000;
    h.data_offset = 1024;
    h.file_size = file_size;
    std::vector<ShardHeader> shards{{"model.gguf", h}};
    return *merge_shards(shards);
}

TEST(InspectRender, HeaderOnlyNoteSaysWhatIsMissing)
{
    const uint64_t full = 1024 + 12800 + 256;
    EXPECT_EQ(header_only_note(small_model(full)), "");
    EXPECT_EQ(header_only_note(small_model(1000)), "header only: tensor data absent");
    EXPECT_EQ(header_only_note(small_model(1024)), "header only: tensor data absent");
    EXPECT_EQ(header_only_note(small_model(1024 + 100)),
              "header only: tensor data truncated (100 of 13,056 bytes present)");
}

TEST(InspectRender, TextSummaryShowsHeaderMetadataAndTotals)
{
    const std::string text = render_inspect_text(small_model(1000), {false, 3});
    EXPECT_THAT(text, HasSubstr("model.gguf\n"));
    EXPECT_THAT(text, HasSubstr("GGUF version 3, alignment 32"));
    EXPECT_THAT(text, HasSubstr("file size    1000 bytes"));
    EXPECT_THAT(text, HasSubstr("tensor data  header only: tensor data absent"));
    EXPECT_THAT(text, HasSubstr("metadata (3 keys)"));
    EXPECT_THAT(text, HasSubstr("general.architecture   string         \"llama\""));
    EXPECT_THAT(text, HasSubstr("llama.block_count      uint32         2\n"));
    EXPECT_THAT(text, HasSubstr("tokenizer.ggml.tokens  array[string]  [\"0\", \"1\", \"2\", … "
                                "(100 items, string)]"));
    EXPECT_THAT(text, HasSubstr("tensors (2, 6,464 parameters, 12.75 KiB (13,056 bytes))"));
    EXPECT_THAT(text, HasSubstr("f16         1     6,400  12,800  98.0%"));
    EXPECT_THAT(text, HasSubstr("--tensors lists every tensor"));
    EXPECT_THAT(text, Not(HasSubstr("blk.0.attn_norm.weight")));
    EXPECT_THAT(text, Not(HasSubstr("shards")));
}

TEST(InspectRender, TensorTableListsEveryTensorInAlignedColumns)
{
    const std::string text =
        render_inspect_text(small_model(1024 + 12800 + 256), {true, 8}, "architecture\n  x\n");
    EXPECT_THAT(text, HasSubstr("tensor data  present"));
    EXPECT_THAT(text, HasSubstr("#  name                    type  shape       bytes  offset\n"));
    EXPECT_THAT(text, HasSubstr("0  token_embd.weight       f16   [64, 100]  12,800       0\n"));
    EXPECT_THAT(text, HasSubstr("1  blk.0.attn_norm.weight  f32   [64]          256  12,800\n"));
    EXPECT_TRUE(text.ends_with("\narchitecture\n  x\n")) << text;
}

TEST(InspectRender, SplitModelsListTheirShards)
{
    GgufHeader a;
    a.metadata = {{"split.no", Value(uint16_t{0})}, {"split.count", Value(uint16_t{2})}};
    a.tensors.push_back(tensor("a", TensorType::f32, {8}, 0));
    a.header_size = 90;
    a.data_offset = 96;
    a.file_size = 96 + 32;
    GgufHeader b = a;
    b.metadata[0].value = Value(uint16_t{1});
    b.tensors[0].name = "b";
    b.file_size = 96;
    std::vector<ShardHeader> shards{{"m-00001-of-00002.gguf", a}, {"m-00002-of-00002.gguf", b}};
    auto view = merge_shards(shards);
    ASSERT_TRUE(view.has_value()) << view.error().message;
    const std::string text = render_inspect_text(*view, {true, 8});
    EXPECT_THAT(text, HasSubstr("shards (2)"));
    EXPECT_THAT(text, HasSubstr("1  m-00001-of-00002.gguf    128      90        1  present\n"));
    EXPECT_THAT(text, HasSubstr("2  m-00002-of-00002.gguf     96      90        1  absent\n"));
    EXPECT_THAT(text, HasSubstr("  shard\n"));
    EXPECT_THAT(text, HasSubstr("1  b     f32   [8]       32       0      2\n"));
    EXPECT_THAT(text, HasSubstr("header only: tensor data truncated (32 of 64 bytes present)"));
}

TEST(InspectRender, HostileNamesAreEscaped)
{
    ModelView view = small_model(1000);
    view.header.metadata.push_back({"bad\nkey", Value("\xff")});
    const std::string text = render_inspect_text(view, {false, 8});
    EXPECT_THAT(text, HasSubstr("\"bad\\nkey\""));
    EXPECT_THAT(text, HasSubstr("\"\\xff\""));
}

} // namespace
} // namespace gpumod::gguf

namespace gpumod::gguf {
namespace {

TEST(InspectArchitecture, RangesAreCompact)
{
    const std::vector<uint32_t> every_fourth{3, 7, 11, 15};
    EXPECT_EQ(format_ranges(every_fourth), "3, 7, 11, 15");
    const std::vector<uint32_t> runs{0, 1, 2, 4, 5, 6, 8};
    EXPECT_EQ(format_ranges(runs), "0-2, 4-6, 8");
    EXPECT_EQ(format_ranges(runs, 2), "0-2, 4-6, …");
    EXPECT_EQ(format_ranges({}), "");
}

TEST(InspectArchitecture, LayerKindsNameWhatHoldsState)
{
    LayerGeometry attention;
    EXPECT_EQ(layer_kind(attention), "attention");
    LayerGeometry swa;
    swa.swa = true;
    EXPECT_EQ(layer_kind(swa), "attention (SWA)");
    LayerGeometry recurrent;
    recurrent.attention = false;
    recurrent.recurrent = true;
    EXPECT_EQ(layer_kind(recurrent), "recurrent");
    LayerGeometry nextn;
    nextn.nextn = true;
    EXPECT_EQ(layer_kind(nextn), "nextn");
    LayerGeometry none;
    none.attention = false;
    EXPECT_EQ(layer_kind(none), "none");
}

TEST(InspectArchitecture, SectionGroupsLayersAndListsAssumptions)
{
    ModelArchitecture a;
    a.name = "qwen35moe";
    a.known = true;
    a.n_layer_all = 5;
    a.n_layer = 4;
    a.n_nextn = 1;
    a.n_embd = 2048;
    a.n_vocab = 248320;
    a.context_length = 262144;
    a.n_expert = 256;
    a.n_expert_used = 8;
    a.expert_ff = 512;
    a.ssm = {4, 4096, 128, 16, 32};
    a.tensor_bytes = 2048;
    for (uint32_t il = 0; il < 5; ++il) {
        LayerGeometry l;
        l.nextn = il == 4;
        l.recurrent = !l.nextn && (il + 1) % 4 != 0;
        l.attention = !l.recurrent;
        if (l.attention) {
            l.n_head = 16;
            l.n_head_kv = 2;
            l.head_dim_k = 256;
            l.head_dim_v = 256;
        }
        a.layers.push_back(l);
    }
    a.assumptions.push_back("something was assumed");
    const std::string text = render_architecture_text(a);
    EXPECT_THAT(text, ::testing::StartsWith("architecture: qwen35moe\n"));
    EXPECT_THAT(text, HasSubstr("  layers           4 + 1 nextn/MTP\n"));
    EXPECT_THAT(text, HasSubstr("  vocabulary       248,320\n"));
    EXPECT_THAT(text, HasSubstr("  context          262,144 (training)\n"));
    EXPECT_THAT(text, HasSubstr("  sliding window   none\n"));
    EXPECT_THAT(text, HasSubstr("  experts          256, 8 used per token, expert FFN 512\n"));
    EXPECT_THAT(text, HasSubstr("  weights          2.00 KiB (2,048 bytes); token_embd 0 bytes, "
                                "output 0 bytes\n"));
    EXPECT_THAT(text, HasSubstr("conv kernel 4, inner 4096, state 128, groups 16, heads 32"));
    EXPECT_THAT(text, HasSubstr("  layers   kind       heads  KV heads  head dim K/V  FFN\n"));
    EXPECT_THAT(text, HasSubstr("  0-2 (3)  recurrent      -         -             -    -\n"));
    EXPECT_THAT(text, HasSubstr("  3 (1)    attention     16         2       256/256    -\n"));
    EXPECT_THAT(text, HasSubstr("  4 (1)    nextn         16         2       256/256    -\n"));
    EXPECT_THAT(text, HasSubstr("  assumed: something was assumed\n"));

    const std::string failed = render_architecture_text(Result<ModelArchitecture>(
        tl::unexpected(Error{"llama.block_count is missing"})));
    EXPECT_EQ(failed, "architecture: not derived: llama.block_count is missing\n");
}

TEST(InspectArchitecture, ImplausibleBlockCountsAreRefusedBeforeDeriving)
{
    GgufHeader h;
    h.metadata.push_back({"general.architecture", Value("llama")});
    h.metadata.push_back({"llama.block_count", Value(uint32_t{4000000000U})});
    h.metadata.push_back({"llama.embedding_length", Value(uint32_t{64})});
    auto derived = inspect_architecture(h);
    ASSERT_FALSE(derived.has_value());
    EXPECT_THAT(derived.error().message, HasSubstr("block_count 4000000000"));
}

} // namespace
} // namespace gpumod::gguf
