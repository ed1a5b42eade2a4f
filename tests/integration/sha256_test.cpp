// SHA-256 through libcrypto: known vectors, and a file hashed in chunks equals the whole.

#include "adapters/posix/sha256.hpp"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/temp_dir.hpp"

namespace gpumod::posix {
namespace {

using ::testing::HasSubstr;

TEST(Sha256, KnownVectors)
{
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, FileSpanningSeveralChunksMatchesInMemoryHash)
{
    testing::TempDir dir;
    const auto path = dir.path() / "model.bin";
    // Just over two 1 MiB chunks, with a pattern so that chunk order matters.
    std::string bytes;
    bytes.reserve((2U << 20U) + 123U);
    for (std::size_t i = 0; i < (2U << 20U) + 123U; ++i) {
        bytes += static_cast<char>((i * 7U + i / 4096U) & 0xFFU);
    }
    std::ofstream(path, std::ios::binary) << bytes;
    const auto hash = sha256_file(path);
    ASSERT_TRUE(hash.has_value()) << hash.error().message;
    EXPECT_EQ(*hash, sha256_hex(bytes));

    const auto small = dir.path() / "abc.txt";
    std::ofstream(small, std::ios::binary) << "abc";
    EXPECT_EQ(sha256_file(small).value_or(""), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, MissingFileNamesIt)
{
    testing::TempDir dir;
    const auto hash = sha256_file(dir.path() / "nope.gguf");
    ASSERT_FALSE(hash.has_value());
    EXPECT_THAT(hash.error().message, HasSubstr("nope.gguf"));
    EXPECT_THAT(hash.error().message, HasSubstr("No such file"));
}

} // namespace
} // namespace gpumod::posix
