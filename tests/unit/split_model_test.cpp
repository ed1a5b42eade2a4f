#include "core/gguf/split_model.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace gpumod::gguf {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(SplitName, ParsesLlamaCppShardNames)
{
    auto name = parse_split_name("Qwen3.6-35B-A3B-Q4_K_M-00002-of-00003.gguf");
    ASSERT_TRUE(name.has_value());
    EXPECT_EQ(name->prefix, "Qwen3.6-35B-A3B-Q4_K_M");
    EXPECT_EQ(name->number, 2U);
    EXPECT_EQ(name->count, 3U);
}

TEST(SplitName, RejectsNamesThatAreNotShards)
{
    for (const char* bad : {"model.gguf", "-00001-of-00002.gguf", "m-00001-of-00002.bin",
                            "m-1-of-2.gguf", "m-00000-of-00002.gguf", "m-00003-of-00002.gguf",
                            "m-0000a-of-00002.gguf", "m_00001-of-00002.gguf",
                            "m-00001_of-00002.gguf", "m-000001-of-00002.gguf"}) {
        EXPECT_FALSE(parse_split_name(bad).has_value()) << bad;
    }
}

TEST(SplitName, SiblingsRoundTripThroughTheParser)
{
    const SplitName name{"dir-like.name", 2, 3};
    EXPECT_THAT(split_sibling_names(name),
                ElementsAre("dir-like.name-00001-of-00003.gguf", "dir-like.name-00002-of-00003.gguf",
                            "dir-like.name-00003-of-00003.gguf"));
    for (const std::string& sibling : split_sibling_names(name)) {
        auto parsed = parse_split_name(sibling);
        ASSERT_TRUE(parsed.has_value());
        EXPECT_EQ(parsed->prefix, name.prefix);
        EXPECT_EQ(parsed->count, 3U);
    }
}

GgufHeader shard_header(std::vector<std::string> tensor_names, std::optional<uint16_t> no,
                        std::optional<uint16_t> count, std::optional<int32_t> total)
{
    GgufHeader h;
    if (no) {
        h.metadata.push_back({std::string(k_split_no_key), Value(*no)});
    }
    if (count) {
        h.metadata.push_back({std::string(k_split_count_key), Value(*count)});
    }
    if (total) {
        h.metadata.push_back({std::string(k_split_tensors_count_key), Value(*total)});
    }
    h.header_size = 100;
    h.data_offset = 128;
    uint64_t offset = 0;
    for (auto& name : tensor_names) {
        TensorInfo t;
        t.name = std::move(name);
        t.shape = {8};
        t.type = TensorType::f32;
        t.byte_size = 32;
        t.offset = offset;
        offset += 32;
        h.tensors.push_back(std::move(t));
    }
    h.file_size = h.data_offset + offset;
    return h;
}

TEST(SplitInfo, PlainFileIsShardOneOfOne)
{
    auto info = split_info(shard_header({"a"}, std::nullopt, std::nullopt, std::nullopt));
    ASSERT_TRUE(info.has_value()) << info.error().message;
    EXPECT_EQ(info->number, 1U);
    EXPECT_EQ(info->count, 1U);
    EXPECT_FALSE(info->tensors.has_value());
}

TEST(SplitInfo, MetadataNumbersShardsFromZero)
{
    auto info = split_info(shard_header({"a"}, 2, 3, 7));
    ASSERT_TRUE(info.has_value()) << info.error().message;
    EXPECT_EQ(info->number, 3U);
    EXPECT_EQ(info->count, 3U);
    EXPECT_EQ(info->tensors, 7U);
}

TEST(SplitInfo, RejectsImpossibleOrMistypedKeys)
{
    EXPECT_FALSE(split_info(shard_header({}, 3, 3, std::nullopt)).has_value());
    EXPECT_FALSE(split_info(shard_header({}, 0, 0, std::nullopt)).has_value());
    EXPECT_FALSE(split_info(shard_header({}, 0, std::nullopt, std::nullopt)).has_value());
    GgufHeader h = shard_header({}, std::nullopt, std::nullopt, std::nullopt);
    h.metadata.push_back({"split.count", Value("three")});
    auto info = split_info(h);
    ASSERT_FALSE(info.has_value());
    EXPECT_THAT(info.error().message, HasSubstr("split.count"));
    EXPECT_THAT(info.error().message, HasSubstr("string"));
    GgufHeader negative = shard_header({}, std::nullopt, std::nullopt, std::nullopt);
    negative.metadata.push_back({"split.tensors.count", Value(int32_t{-1})});
    EXPECT_FALSE(split_info(negative).has_value());
}

TEST(MergeShards, MergesTensorsInShardOrderWithMetadataFromShardOne)
{
    std::vector<ShardHeader> shards;
    auto first = shard_header({"a", "b"}, 0, 3, 5);
    first.metadata.push_back({"general.architecture", Value("llama")});
    shards.push_back({"m-00001-of-00003.gguf", first});
    shards.push_back({"m-00002-of-00003.gguf", shard_header({"c"}, 1, 3, 5)});
    shards.push_back({"m-00003-of-00003.gguf", shard_header({"d", "e"}, 2, 3, 5)});
    auto view = merge_shards(shards);
    ASSERT_TRUE(view.has_value()) << view.error().message;
    EXPECT_TRUE(view->is_split());
    EXPECT_FALSE(view->header_only());
    ASSERT_EQ(view->header.tensors.size(), 5U);
    std::vector<std::string> names;
    for (const auto& t : view->header.tensors) {
        names.push_back(t.name);
    }
    EXPECT_THAT(names, ElementsAre("a", "b", "c", "d", "e"));
    EXPECT_THAT(view->tensor_shard, ElementsAre(0U, 0U, 1U, 2U, 2U));
    ASSERT_NE(view->header.find("general.architecture"), nullptr);
    EXPECT_EQ(view->header.file_size, 3 * 128U + 5 * 32U);
    EXPECT_EQ(view->header.header_size, 300U);
    ASSERT_EQ(view->shards.size(), 3U);
    EXPECT_EQ(view->shards[2].name, "m-00003-of-00003.gguf");
    EXPECT_EQ(view->shards[2].tensor_count, 2U);
    EXPECT_EQ(view->shards[2].data_end, 128U + 64U);
}

TEST(MergeShards, OnePlainFileIsAModel)
{
    std::vector<ShardHeader> shards{{"m.gguf", shard_header({"a"}, std::nullopt, std::nullopt,
                                                            std::nullopt)}};
    auto view = merge_shards(shards);
    ASSERT_TRUE(view.has_value()) << view.error().message;
    EXPECT_FALSE(view->is_split());
    EXPECT_EQ(view->header.tensors.size(), 1U);
}

TEST(MergeShards, RejectsShardsOutOfPlace)
{
    std::vector<ShardHeader> shards;
    shards.push_back({"one", shard_header({"a"}, 0, 2, 2)});
    shards.push_back({"two", shard_header({"b"}, 0, 2, 2)});
    auto view = merge_shards(shards);
    ASSERT_FALSE(view.has_value());
    EXPECT_THAT(view.error().message, HasSubstr("'two'"));
    EXPECT_THAT(view.error().message, HasSubstr("shard 1 of 2, expected shard 2 of 2"));
}

TEST(MergeShards, RejectsAWrongCount)
{
    std::vector<ShardHeader> shards;
    shards.push_back({"one", shard_header({"a"}, 0, 3, 2)});
    shards.push_back({"two", shard_header({"b"}, 1, 3, 2)});
    auto view = merge_shards(shards);
    ASSERT_FALSE(view.has_value());
    EXPECT_THAT(view.error().message, HasSubstr("of 3, expected shard 1 of 2"));
}

TEST(MergeShards, RejectsATensorCountThatDisagrees)
{
    std::vector<ShardHeader> shards;
    shards.push_back({"one", shard_header({"a"}, 0, 2, 3)});
    shards.push_back({"two", shard_header({"b"}, 1, 2, 3)});
    auto view = merge_shards(shards);
    ASSERT_FALSE(view.has_value());
    EXPECT_THAT(view.error().message, HasSubstr("split.tensors.count is 3"));
    EXPECT_THAT(view.error().message, HasSubstr("hold 2 tensors"));
}

TEST(MergeShards, RejectsATensorInTwoShards)
{
    std::vector<ShardHeader> shards;
    shards.push_back({"one", shard_header({"a", "x"}, 0, 2, 3)});
    shards.push_back({"two", shard_header({"x"}, 1, 2, 3)});
    auto view = merge_shards(shards);
    ASSERT_FALSE(view.has_value());
    EXPECT_THAT(view.error().message, HasSubstr("tensor 'x' appears in both 'one' and 'two'"));
}

TEST(HeaderOnly, DataPastTheEndOfTheFileMakesAHeaderOnlyShard)
{
    GgufHeader h = shard_header({"a", "b"}, std::nullopt, std::nullopt, std::nullopt);
    EXPECT_EQ(tensor_data_end(h), 128U + 64U);
    EXPECT_FALSE(is_header_only(h));
    h.file_size = 128 + 40;
    EXPECT_TRUE(is_header_only(h));
    h.file_size = 100;
    EXPECT_TRUE(is_header_only(h));
    std::vector<ShardHeader> shards{{"m.gguf", h}};
    auto view = merge_shards(shards);
    ASSERT_TRUE(view.has_value());
    EXPECT_TRUE(view->header_only());
}

TEST(HeaderOnly, AFileWithoutTensorsIsNeverHeaderOnly)
{
    GgufHeader h = shard_header({}, std::nullopt, std::nullopt, std::nullopt);
    h.file_size = 10;
    EXPECT_FALSE(is_header_only(h));
}

TEST(HeaderOnly, HugeOffsetsSaturateInsteadOfWrapping)
{
    GgufHeader h = shard_header({"a"}, std::nullopt, std::nullopt, std::nullopt);
    h.tensors[0].offset = UINT64_MAX - 64;
    h.tensors[0].byte_size = 1024;
    EXPECT_EQ(tensor_data_end(h), UINT64_MAX);
    EXPECT_TRUE(is_header_only(h));
}

} // namespace
} // namespace gpumod::gguf
