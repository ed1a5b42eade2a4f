#include "adapters/gguf/gguf_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "adapters/posix/atomic_file.hpp"
#include "core/gguf/gguf_writer.hpp"
#include "core/gguf/tiny_model.hpp"

namespace gpumod::gguf {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace fs = std::filesystem;

class GgufFile : public ::testing::Test
{
  protected:
    GgufFile()
    {
        std::string pattern = (fs::temp_directory_path() / "gpumod-gguf-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        m_dir = pattern;
    }
    ~GgufFile() override
    {
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
    fs::path write(const std::string& name, std::span<const uint8_t> bytes)
    {
        const auto path = m_dir / name;
        EXPECT_TRUE(posix::write_file_atomically(path, bytes));
        return path;
    }
    fs::path m_dir;
};

TEST_F(GgufFile, ReadsTheHeaderOfAWrittenTinyModel)
{
    auto tiny = make_scripted_model({}, {});
    ASSERT_TRUE(tiny);
    auto bytes = write_gguf(tiny->model);
    ASSERT_TRUE(bytes);
    const auto path = write("tiny.gguf", *bytes);
    auto header = read_gguf_file_header(path);
    ASSERT_TRUE(header) << header.error().message;
    EXPECT_EQ(header->metadata, tiny->model.metadata);
    EXPECT_EQ(header->file_size, bytes->size());
    EXPECT_EQ(header->tensors.size(), tiny->model.tensors.size());
    EXPECT_EQ(header->tensors, read_gguf(*bytes)->tensors);
}

TEST_F(GgufFile, GrowsThePrefixForHeadersLargerThanTheFirstRead)
{
    GgufModel model;
    model.metadata.push_back({"big", Value(std::string(3 << 20, 'x'))});
    model.metadata.push_back({"after", Value(uint32_t{7})});
    const std::vector<float> one = {1.0F};
    model.tensors.push_back(f32_tensor("t", {1}, one));
    const auto path = write("big.gguf", *write_gguf(model));
    auto header = read_gguf_file_header(path);
    ASSERT_TRUE(header) << header.error().message;
    EXPECT_EQ(header->find("after")->as_uint(), 7U);
    auto capped = read_gguf_file_header(path, 1 << 20);
    ASSERT_FALSE(capped);
    EXPECT_THAT(capped.error().message, HasSubstr("the GGUF header needs more than 1048576 bytes"));
}

TEST_F(GgufFile, ReadsOnlyTheHeaderOfAHugeSparseFile)
{
    // Write a model whose second tensor has 8 elements, then patch its ne[0] to 2^30 and
    // extend the file with a hole: a 4 GiB tensor that is never read.
    GgufModel model;
    model.metadata.push_back({"general.architecture", Value("llama")});
    model.tensors.push_back(f32_tensor("small", {1}, std::vector<float>{1.0F}));
    model.tensors.push_back(f32_tensor("huge", {8}, std::vector<float>(8, 0.0F)));
    const auto bytes = *write_gguf(model);
    const auto parsed = *read_gguf(bytes);
    std::vector<uint8_t> head(bytes.begin(), bytes.begin() + static_cast<long>(parsed.data_offset));
    const std::string name = "huge";
    const auto at = std::search(head.begin(), head.end(), name.begin(), name.end());
    ASSERT_NE(at, head.end());
    const auto ne0 = static_cast<size_t>(at - head.begin()) + name.size() + 4; // after n_dims
    const uint64_t elements = uint64_t{1} << 30U;
    for (size_t i = 0; i < 8; ++i) {
        head[ne0 + i] = static_cast<uint8_t>(elements >> (8 * i));
    }
    const auto path = write("sparse.gguf", head);
    fs::resize_file(path, parsed.data_offset + parsed.tensors[1].offset + elements * 4);

    auto header = read_gguf_file_header(path);
    ASSERT_TRUE(header) << header.error().message;
    ASSERT_EQ(header->tensors.size(), 2U);
    EXPECT_EQ(header->tensors[1].shape, (std::vector<uint64_t>{elements}));
    EXPECT_EQ(header->tensors[1].byte_size, uint64_t{4} << 30U);
    EXPECT_EQ(header->file_size, fs::file_size(path));
}

TEST_F(GgufFile, CorruptFileErrorNamesThePathAndOffset)
{
    auto bytes = *write_gguf(make_random_model({})->model);
    bytes.resize(bytes.size() / 2);
    const auto path = write("cut.gguf", bytes);
    auto r = read_gguf_file_header(path);
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message, StartsWith("'" + path.string() + "': gguf: at byte "));
    EXPECT_THAT(r.error().message, HasSubstr("extends past the end of the file"));
}

TEST_F(GgufFile, MissingFileAndDirectoryAreErrors)
{
    auto missing = read_gguf_file_header(m_dir / "nope.gguf");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message,
              "cannot open '" + (m_dir / "nope.gguf").string() + "': No such file or directory");
    auto dir = read_gguf_file_header(m_dir);
    ASSERT_FALSE(dir);
    EXPECT_THAT(dir.error().message, HasSubstr("is not a regular file"));
    const auto empty = write("empty.gguf", {});
    auto e = read_gguf_file_header(empty);
    ASSERT_FALSE(e);
    EXPECT_THAT(e.error().message, HasSubstr("magic needs 4 bytes but only 0 remain"));
}

} // namespace
} // namespace gpumod::gguf
