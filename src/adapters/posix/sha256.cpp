#include "adapters/posix/sha256.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "adapters/posix/unique_fd.hpp"

namespace gpumod::posix {
namespace {

constexpr std::size_t k_chunk_bytes = std::size_t{1} << 20;

// One running digest; EVP contexts are heap objects that must be freed on every path.
class Digest
{
public:
    Digest() : m_ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free)
    {
        if (!m_ctx || EVP_DigestInit_ex(m_ctx.get(), EVP_sha256(), nullptr) != 1) {
            throw std::runtime_error("OpenSSL could not start a SHA-256 digest");
        }
    }

    void update(const void* data, std::size_t size)
    {
        if (size != 0 && EVP_DigestUpdate(m_ctx.get(), data, size) != 1) {
            throw std::runtime_error("OpenSSL SHA-256 update failed");
        }
    }

    std::string hex()
    {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int size = 0;
        if (EVP_DigestFinal_ex(m_ctx.get(), digest, &size) != 1) {
            throw std::runtime_error("OpenSSL SHA-256 finalisation failed");
        }
        static constexpr char k_digits[] = "0123456789abcdef";
        std::string out;
        out.reserve(std::size_t{size} * 2);
        for (unsigned int i = 0; i < size; ++i) {
            out += k_digits[digest[i] >> 4U];
            out += k_digits[digest[i] & 0x0FU];
        }
        return out;
    }

private:
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> m_ctx;
};

} // namespace

std::string sha256_hex(std::string_view bytes)
{
    Digest digest;
    digest.update(bytes.data(), bytes.size());
    return digest.hex();
}

Result<std::string> sha256_file(const std::filesystem::path& file)
{
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        const std::error_code ec(errno, std::generic_category());
        return fail(fmt::format("cannot open {} to hash it: {}", file.string(), ec.message()));
    }
    Digest digest;
    std::vector<char> buffer(k_chunk_bytes);
    for (;;) {
        const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            const std::error_code ec(errno, std::generic_category());
            return fail(fmt::format("cannot read {} to hash it: {}", file.string(), ec.message()));
        }
        if (got == 0) {
            break;
        }
        digest.update(buffer.data(), static_cast<std::size_t>(got));
    }
    return digest.hex();
}

} // namespace gpumod::posix
