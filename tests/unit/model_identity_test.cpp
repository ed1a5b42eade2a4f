// Model identity from a GGUF header and quantization tags from file names.

#include "core/gguf/model_identity.hpp"

#include <gtest/gtest.h>

namespace gpumod::gguf {
namespace {

TensorInfo tensor(std::string name, std::vector<uint64_t> shape, TensorType type,
                  uint64_t byte_size)
{
    TensorInfo info;
    info.name = std::move(name);
    info.shape = std::move(shape);
    info.type = type;
    info.byte_size = byte_size;
    return info;
}

TEST(ModelIdentity, FileTypeNamesFollowLlamaCpp)
{
    EXPECT_EQ(file_type_name(0), "F32");
    EXPECT_EQ(file_type_name(13), "Q3_K_L");
    EXPECT_EQ(file_type_name(15), "Q4_K_M");
    EXPECT_EQ(file_type_name(30), "IQ4_XS");
    EXPECT_EQ(file_type_name(32), "BF16");
    EXPECT_EQ(file_type_name(38), "MXFP4_MOE");
    EXPECT_FALSE(file_type_name(4).has_value()); // retired by llama.cpp
    EXPECT_FALSE(file_type_name(1024).has_value());
}

TEST(ModelIdentity, HeaderGivesParametersQuantizationAndNames)
{
    GgufHeader header;
    header.metadata = {
        {"general.architecture", Value("qwen3")}, {"general.name", Value("Qwen3 8B Instruct")},
        {"general.basename", Value("Qwen3")},     {"general.finetune", Value("Instruct")},
        {"general.size_label", Value("8B")},      {"general.file_type", Value(uint32_t{15})}};
    header.tensors = {tensor("token_embd.weight", {4096, 1000}, TensorType::q6_k, 3'360'000),
                      tensor("blk.0.attn_q.weight", {4096, 4096}, TensorType::q4_k, 9'437'184),
                      tensor("output_norm.weight", {4096}, TensorType::f32, 16'384)};
    const auto identity = identify_model(header);
    EXPECT_EQ(identity.parameters, 4096U * 1000U + 4096U * 4096U + 4096U);
    EXPECT_EQ(identity.quantization, "Q4_K_M");
    EXPECT_EQ(identity.architecture, "qwen3");
    EXPECT_EQ(identity.name, "Qwen3 8B Instruct");
    EXPECT_EQ(identity.basename, "Qwen3");
    EXPECT_EQ(identity.finetune, "Instruct");
    EXPECT_EQ(identity.size_label, "8B");
}

TEST(ModelIdentity, WithoutAKnownFileTypeTheDominantTensorTypeIsNamed)
{
    GgufHeader header;
    header.metadata = {{"general.file_type", Value(uint32_t{1024})}}; // "guessed"
    header.tensors = {tensor("a", {256, 64}, TensorType::q8_0, 17'408),
                      tensor("b", {32}, TensorType::f32, 128)};
    const auto identity = identify_model(header);
    EXPECT_EQ(identity.quantization, "mostly q8_0");
    EXPECT_FALSE(identity.name.has_value());
    EXPECT_EQ(identity.parameters, 256U * 64U + 32U);
}

TEST(ModelIdentity, QuantizationTagsComeFromFileNames)
{
    EXPECT_EQ(quantization_from_file_name("Qwen3.6-35B-A3B-MTP-UD-IQ4_XS.gguf"), "UD-IQ4_XS");
    EXPECT_EQ(quantization_from_file_name("/models/llama-3.1-8b-instruct.Q4_K_M.gguf"), "Q4_K_M");
    EXPECT_EQ(quantization_from_file_name("gemma-3-27b-it-q8_0.gguf"), "Q8_0");
    EXPECT_EQ(quantization_from_file_name("model-F16.gguf"), "F16");
    EXPECT_EQ(quantization_from_file_name("Big-Q3_K_L-00001-of-00003.gguf"), "Q3_K_L");
    EXPECT_EQ(quantization_from_file_name("gpt-oss-20b-MXFP4.gguf"), "MXFP4");
    EXPECT_FALSE(quantization_from_file_name("Qwen3-8B.gguf").has_value());
    EXPECT_FALSE(quantization_from_file_name("tiny.gguf").has_value());
    EXPECT_FALSE(quantization_from_file_name("").has_value());
}

} // namespace
} // namespace gpumod::gguf
