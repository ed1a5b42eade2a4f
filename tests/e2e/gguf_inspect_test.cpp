// `gpumod gguf inspect` driven like a user drives it, on models written by `gpumod dev
// make-model` and on split, header-only and broken files written here with the GGUF writer.

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/gguf/gguf_reader.hpp"
#include "core/gguf/gguf_writer.hpp"
#include "core/gguf/tiny_model.hpp"
#include "support/run_gpumod.hpp"
#include "support/temp_dir.hpp"

namespace gpumod::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::vector<uint8_t> read_all(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const std::filesystem::path& path, std::span<const uint8_t> bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << path;
}

std::filesystem::path make_model(const TempDir& dir, const std::string& kind)
{
    auto path = dir.path() / (kind + ".gguf");
    auto r = run_gpumod({"dev", "make-model", path.string(), "--kind", kind});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return path;
}

TEST(GgufInspect, TextShowsHeaderMetadataAndTensorTotals)
{
    TempDir dir;
    const auto path = make_model(dir, "scripted");
    auto r = run_gpumod({"gguf", "inspect", path.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, StartsWith(path.string() + "\n"));
    EXPECT_THAT(r.out, HasSubstr("GGUF version 3, alignment 32"));
    EXPECT_THAT(r.out, HasSubstr("tensor data  present"));
    EXPECT_THAT(r.out, HasSubstr("general.architecture"));
    EXPECT_THAT(r.out, HasSubstr("\"llama\""));
    EXPECT_THAT(r.out, HasSubstr("tokenizer.ggml.tokens"));
    EXPECT_THAT(r.out, HasSubstr("items, string)]"));
    EXPECT_THAT(r.out, HasSubstr("--tensors lists every tensor"));
    EXPECT_THAT(r.out, Not(HasSubstr("blk.0.attn_q.weight")));
    EXPECT_THAT(r.out, HasSubstr("architecture: llama\n"));
    EXPECT_THAT(r.out, HasSubstr("0-1 (2)  attention      4         2         32/32"));
    EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(GgufInspect, JsonMatchesTheFileExactly)
{
    TempDir dir;
    const auto path = make_model(dir, "mtp");
    const auto bytes = read_all(path);
    auto header = gguf::read_gguf(bytes);
    ASSERT_TRUE(header.has_value()) << header.error().message;

    auto r = run_gpumod({"gguf", "inspect", path.string(), "--json", "--tensors",
                         "--max-array-items", "3"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("file"), path.string());
    EXPECT_EQ(j.at("version"), 3);
    EXPECT_EQ(j.at("alignment"), header->alignment);
    EXPECT_EQ(j.at("file_bytes"), bytes.size());
    EXPECT_EQ(j.at("header_bytes"), header->header_size);
    EXPECT_EQ(j.at("header_only"), false);
    ASSERT_EQ(j.at("shards").size(), 1U);
    EXPECT_EQ(j.at("metadata").size(), header->metadata.size());
    EXPECT_EQ(j.at("metadata").at("general.architecture"), "qwen35");
    const auto& tokens = j.at("metadata").at("tokenizer.ggml.tokens");
    EXPECT_EQ(tokens.at("type"), "string");
    EXPECT_EQ(tokens.at("count"), header->find("tokenizer.ggml.tokens")->as_array()->items.size());
    ASSERT_EQ(tokens.at("items").size(), 3U);
    EXPECT_EQ(tokens.at("items")[0],
              *header->find("tokenizer.ggml.tokens")->as_array()->items[0].as_string());
    EXPECT_EQ(j.at("tensor_count"), header->tensors.size());
    ASSERT_EQ(j.at("tensors").size(), header->tensors.size());
    uint64_t total = 0;
    for (size_t i = 0; i < header->tensors.size(); ++i) {
        const auto& t = j.at("tensors")[i];
        EXPECT_EQ(t.at("name"), header->tensors[i].name);
        EXPECT_EQ(t.at("offset"), header->tensors[i].offset);
        EXPECT_EQ(t.at("bytes"), header->tensors[i].byte_size);
        EXPECT_EQ(t.at("shape"), nlohmann::json(header->tensors[i].shape));
        EXPECT_EQ(t.at("shard"), 1);
        total += header->tensors[i].byte_size;
    }
    uint64_t by_type = 0;
    for (const auto& [type, sums] : j.at("tensor_types").items()) {
        EXPECT_NE(gguf::find_tensor_type(std::string_view(type)), nullptr) << type;
        by_type += sums.at("bytes").get<uint64_t>();
    }
    EXPECT_EQ(by_type, total);

    const auto& arch = j.at("architecture");
    EXPECT_EQ(arch.at("name"), "qwen35");
    EXPECT_EQ(arch.at("layers"), 2);
    EXPECT_EQ(arch.at("nextn_layers"), 1);
    ASSERT_EQ(arch.at("per_layer").size(), 3U);
    EXPECT_EQ(arch.at("per_layer")[0].at("kind"), "recurrent");
    EXPECT_EQ(arch.at("per_layer")[1].at("kind"), "attention");
    EXPECT_EQ(arch.at("per_layer")[2].at("kind"), "nextn");
    EXPECT_EQ(arch.at("per_layer")[1].at("kv_heads"), 2);
    EXPECT_EQ(arch.at("tensor_bytes"), total);
}

TEST(GgufInspect, TensorsFlagListsEveryTensor)
{
    TempDir dir;
    const auto path = make_model(dir, "scripted");
    auto header = gguf::read_gguf(read_all(path));
    ASSERT_TRUE(header.has_value());
    auto r = run_gpumod({"gguf", "inspect", path.string(), "--tensors"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("name"));
    EXPECT_THAT(r.out, HasSubstr("offset"));
    for (const auto& t : header->tensors) {
        EXPECT_THAT(r.out, HasSubstr(t.name));
    }
}

TEST(GgufInspect, HeaderOnlyFileIsAcceptedWithANote)
{
    TempDir dir;
    const auto path = make_model(dir, "scripted");
    auto bytes = read_all(path);
    auto header = gguf::read_gguf(bytes);
    ASSERT_TRUE(header.has_value());
    const auto header_only = dir.path() / "header-only.gguf";
    write_all(header_only, std::span(bytes).first(static_cast<size_t>(header->header_size)));

    auto r = run_gpumod({"gguf", "inspect", header_only.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("header only: tensor data absent"));

    auto j = run_gpumod({"gguf", "inspect", header_only.string(), "--json"});
    ASSERT_EQ(j.exit_code, 0) << j.err;
    auto parsed = nlohmann::json::parse(j.out);
    EXPECT_EQ(parsed.at("header_only"), true);
    EXPECT_EQ(parsed.at("tensor_count"), header->tensors.size());

    // Part of the data present: still planned from the header, and said so.
    const auto truncated = dir.path() / "truncated.gguf";
    write_all(truncated, std::span(bytes).first(static_cast<size_t>(header->data_offset) + 100));
    auto t = run_gpumod({"gguf", "inspect", truncated.string()});
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_THAT(t.out, HasSubstr("header only: tensor data truncated (100 of"));
}

// Writes the tiny model as llama.cpp's gguf-split would: metadata in shard 1, split keys in
// every shard, tensors spread over three files.
std::vector<std::filesystem::path> write_split(const TempDir& dir, const std::string& prefix)
{
    auto tiny = gguf::make_scripted_model({}, {});
    EXPECT_TRUE(tiny.has_value());
    const auto& tensors = tiny->model.tensors;
    const size_t n = tensors.size();
    const std::vector<std::pair<size_t, size_t>> ranges{{0, n / 3}, {n / 3, n / 2}, {n / 2, n}};
    std::vector<std::filesystem::path> paths;
    for (uint16_t i = 0; i < 3; ++i) {
        gguf::GgufModel shard;
        if (i == 0) {
            shard.metadata = tiny->model.metadata;
        }
        shard.metadata.push_back({"split.no", gguf::Value(i)});
        shard.metadata.push_back({"split.count", gguf::Value(uint16_t{3})});
        shard.metadata.push_back({"split.tensors.count", gguf::Value(static_cast<int32_t>(n))});
        for (size_t k = ranges[i].first; k < ranges[i].second; ++k) {
            shard.tensors.push_back(tensors[k]);
        }
        auto bytes = gguf::write_gguf(shard);
        EXPECT_TRUE(bytes.has_value());
        paths.push_back(dir.path() / fmt::format("{}-{:05}-of-00003.gguf", prefix, i + 1));
        write_all(paths.back(), *bytes);
    }
    return paths;
}

TEST(GgufInspect, AnyShardOfASplitModelShowsTheWholeModel)
{
    TempDir dir;
    const auto paths = write_split(dir, "tiny");
    auto tiny = gguf::make_scripted_model({}, {});
    ASSERT_TRUE(tiny.has_value());
    for (const auto& path : paths) {
        auto r = run_gpumod({"gguf", "inspect", path.string(), "--json", "--tensors"});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        auto j = nlohmann::json::parse(r.out);
        ASSERT_EQ(j.at("shards").size(), 3U);
        EXPECT_EQ(j.at("shards")[0].at("file"), paths[0].string());
        EXPECT_EQ(j.at("shards")[2].at("file"), paths[2].string());
        EXPECT_EQ(j.at("metadata").at("general.architecture"), "llama");
        ASSERT_EQ(j.at("tensors").size(), tiny->model.tensors.size());
        EXPECT_EQ(j.at("tensors").front().at("shard"), 1);
        EXPECT_EQ(j.at("tensors").back().at("shard"), 3);
        EXPECT_EQ(j.at("tensors").back().at("name"), tiny->model.tensors.back().name);
        uint64_t sum = 0;
        for (const auto& p : paths) {
            sum += std::filesystem::file_size(p);
        }
        EXPECT_EQ(j.at("file_bytes"), sum);
    }
    auto text = run_gpumod({"gguf", "inspect", paths[1].string()});
    ASSERT_EQ(text.exit_code, 0) << text.err;
    EXPECT_THAT(text.out, HasSubstr("shards (3)"));
    EXPECT_THAT(text.out, HasSubstr("tiny-00003-of-00003.gguf"));
}

TEST(GgufInspect, MissingShardIsNamed)
{
    TempDir dir;
    const auto paths = write_split(dir, "tiny");
    std::filesystem::remove(paths[2]);
    auto r = run_gpumod({"gguf", "inspect", paths[0].string()});
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_THAT(r.err, HasSubstr(paths[2].string()));
    EXPECT_THAT(r.err, HasSubstr("missing"));
    EXPECT_TRUE(r.out.empty());
}

TEST(GgufInspect, ShardWithWrongSplitMetadataIsRejected)
{
    TempDir dir;
    const auto paths = write_split(dir, "tiny");
    std::filesystem::copy_file(paths[0], paths[1], std::filesystem::copy_options::overwrite_existing);
    auto r = run_gpumod({"gguf", "inspect", paths[0].string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr(paths[1].string()));
    EXPECT_THAT(r.err, HasSubstr("shard 1 of 3, expected shard 2 of 3"));
}

TEST(GgufInspect, BadInputIsAClearErrorNamingTheFile)
{
    TempDir dir;
    const auto not_gguf = dir.path() / "notes.gguf";
    const std::string text = "hello, this is not a model\n";
    write_all(not_gguf, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    auto r = run_gpumod({"gguf", "inspect", not_gguf.string()});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.err, HasSubstr(not_gguf.string()));
    EXPECT_THAT(r.err, HasSubstr("not a GGUF file"));
    EXPECT_TRUE(r.out.empty());

    // Cut inside the metadata: the reader names the byte offset.
    const auto path = make_model(dir, "scripted");
    auto bytes = read_all(path);
    const auto cut = dir.path() / "cut.gguf";
    write_all(cut, std::span(bytes).first(200));
    auto c = run_gpumod({"gguf", "inspect", cut.string()});
    EXPECT_EQ(c.exit_code, 2);
    EXPECT_THAT(c.err, HasSubstr(cut.string()));
    EXPECT_THAT(c.err, HasSubstr("at byte"));

    // A hostile count: the tensor count claims more tensors than the file could hold.
    auto hostile = bytes;
    for (size_t i = 8; i < 16; ++i) {
        hostile[i] = 0xFF;
    }
    hostile[15] = 0x0F;
    const auto huge = dir.path() / "huge.gguf";
    write_all(huge, hostile);
    auto h = run_gpumod({"gguf", "inspect", huge.string()});
    EXPECT_EQ(h.exit_code, 2);
    EXPECT_THAT(h.err, HasSubstr("tensor count"));

    auto missing = run_gpumod({"gguf", "inspect", (dir.path() / "absent.gguf").string()});
    EXPECT_EQ(missing.exit_code, 3);
    EXPECT_THAT(missing.err, HasSubstr("absent.gguf"));
}

} // namespace
} // namespace gpumod::testing
