// Writes the committed seed corpus of gguf_reader_fuzz (fuzz/corpus/gguf_reader/): small
// valid files from the GGUF writer, header-only and truncated variants, a split shard, the
// headers of the tiny llama and qwen35+MTP models, and a few non-GGUF inputs.
//   make_seed_corpus DIR

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "core/gguf/gguf_reader.hpp"
#include "core/gguf/gguf_writer.hpp"
#include "core/gguf/tiny_model.hpp"

namespace {

using namespace gpumod::gguf;

bool write_file(const std::filesystem::path& path, std::span<const uint8_t> bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return out.good();
}

GgufModel every_type_model()
{
    GgufModel m;
    m.metadata.push_back({"general.architecture", Value("fuzz")});
    m.metadata.push_back({"general.alignment", Value(uint32_t{64})});
    m.metadata.push_back({"t.u8", Value(uint8_t{200})});
    m.metadata.push_back({"t.i8", Value(int8_t{-100})});
    m.metadata.push_back({"t.u16", Value(uint16_t{60000})});
    m.metadata.push_back({"t.i16", Value(int16_t{-30000})});
    m.metadata.push_back({"t.u32", Value(uint32_t{4000000000U})});
    m.metadata.push_back({"t.i32", Value(int32_t{-2000000000})});
    m.metadata.push_back({"t.f32", Value(0.5F)});
    m.metadata.push_back({"t.bool", Value(true)});
    m.metadata.push_back({"t.str", Value("h\xc3\xa9llo\n")});
    m.metadata.push_back({"t.u64", Value(uint64_t{1} << 40U)});
    m.metadata.push_back({"t.i64", Value(int64_t{-1})});
    m.metadata.push_back({"t.f64", Value(2.5)});
    const std::vector<std::string> words{"a", "bb", "ccc"};
    const std::vector<int32_t> ints{1, -2, 3};
    m.metadata.push_back({"t.arr_str", string_array(words)});
    m.metadata.push_back({"t.arr_i32", int32_array(ints)});
    Array nested{ValueType::array, {int32_array(ints), int32_array(ints)}};
    m.metadata.push_back({"t.arr_arr", Value(nested)});
    return m;
}

GgufModel small_tensor_model()
{
    GgufModel m;
    m.metadata.push_back({"general.architecture", Value("llama")});
    m.metadata.push_back({"llama.block_count", Value(uint32_t{1})});
    m.metadata.push_back({"llama.embedding_length", Value(uint32_t{32})});
    m.metadata.push_back({"llama.attention.head_count", Value(uint32_t{2})});
    m.metadata.push_back({"llama.context_length", Value(uint32_t{256})});
    const std::vector<float> values(32 * 8, 0.25F);
    m.tensors.push_back(f32_tensor("output_norm.weight", {32}, std::span(values).first(32)));
    m.tensors.push_back(f16_tensor("token_embd.weight", {32, 8}, values));
    TensorData q8{"blk.0.attn_q.weight", {32, 32}, TensorType::q8_0, {}};
    q8.data.assign(*tensor_byte_size(q8.type, q8.shape), 1);
    m.tensors.push_back(std::move(q8));
    TensorData q4k{"blk.0.ffn_up.weight", {256, 2}, TensorType::q4_k, {}};
    q4k.data.assign(*tensor_byte_size(q4k.type, q4k.shape), 2);
    m.tensors.push_back(std::move(q4k));
    return m;
}

std::vector<uint8_t> header_only(const std::vector<uint8_t>& bytes)
{
    auto header = read_gguf(bytes);
    if (!header) {
        return bytes;
    }
    return {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header->header_size)};
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::cerr << "usage: make_seed_corpus DIR\n";
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    bool ok = true;
    auto put = [&](const std::string& name, std::span<const uint8_t> bytes) {
        ok = write_file(dir / name, bytes) && ok;
    };

    const auto every_type = write_gguf(every_type_model());
    const auto small = write_gguf(small_tensor_model());
    if (!every_type || !small) {
        std::cerr << "make_seed_corpus: the writer failed\n";
        return 1;
    }
    put("every_type.gguf", *every_type);
    put("small_tensors.gguf", *small);
    put("small_tensors_header_only.gguf", header_only(*small));
    const auto small_header = header_only(*small);
    put("small_tensors_cut_in_tensor_infos.gguf",
        std::span(small_header).first(small_header.size() - 20));
    put("every_type_cut_in_metadata.gguf", std::span(*every_type).first(every_type->size() / 2));

    GgufModel shard = small_tensor_model();
    shard.metadata = {{"split.no", Value(uint16_t{1})},
                      {"split.count", Value(uint16_t{2})},
                      {"split.tensors.count", Value(int32_t{8})}};
    const auto shard_bytes = write_gguf(shard);
    if (shard_bytes) {
        put("split_shard_2_of_2.gguf", header_only(*shard_bytes));
    }

    auto llama = make_scripted_model({}, {});
    auto qwen35 = make_mtp_model({}, {});
    if (!llama || !qwen35) {
        std::cerr << "make_seed_corpus: the tiny models failed\n";
        return 1;
    }
    const auto llama_bytes = write_gguf(llama->model);
    const auto qwen35_bytes = write_gguf(qwen35->model);
    if (!llama_bytes || !qwen35_bytes) {
        std::cerr << "make_seed_corpus: the writer failed on a tiny model\n";
        return 1;
    }
    put("llama_tiny_header_only.gguf", header_only(*llama_bytes));
    put("qwen35_mtp_tiny_header_only.gguf", header_only(*qwen35_bytes));

    const std::string text = "this is not a GGUF file\n";
    put("not_gguf.txt", std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    std::vector<uint8_t> big_endian(every_type->begin(), every_type->begin() + 24);
    std::swap(big_endian[4], big_endian[7]);
    std::swap(big_endian[5], big_endian[6]);
    put("big_endian_version.gguf", big_endian);
    return ok ? 0 : 1;
}
