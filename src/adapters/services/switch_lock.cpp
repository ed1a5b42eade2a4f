#include "adapters/services/switch_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>

#include "adapters/posix/clock.hpp"

namespace gpumod::services {
namespace {

/// How often a waiter retries; switches take seconds, so this costs nothing noticeable.
constexpr auto k_retry = std::chrono::milliseconds(10);

std::optional<int> read_holder(int fd)
{
    std::array<char, 32> buffer{};
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size() - 1, 0);
    if (n <= 0) {
        return std::nullopt;
    }
    int pid = 0;
    const auto [ptr, ec] = std::from_chars(buffer.data(), buffer.data() + n, pid);
    if (ec != std::errc() || pid <= 0) {
        return std::nullopt;
    }
    return pid;
}

} // namespace

Result<SwitchLock> SwitchLock::acquire(const std::filesystem::path& path,
                                       std::chrono::milliseconds timeout,
                                       const std::function<void(std::optional<int>)>& on_wait)
{
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    posix::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd.valid()) {
        return fail(fmt::format("cannot open the mode-switch lock '{}': {}", path.string(),
                                ::strerrordesc_np(errno)));
    }
    const auto started = posix::monotonic_now();
    const auto deadline = started + timeout;
    bool announced = false;
    for (;;) {
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
            break;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EWOULDBLOCK) {
            return fail(fmt::format("cannot lock '{}': {}", path.string(),
                                    ::strerrordesc_np(errno)));
        }
        if (!announced && on_wait) {
            on_wait(read_holder(fd.get()));
        }
        announced = true;
        if (posix::monotonic_now() >= deadline) {
            const auto holder = read_holder(fd.get());
            return fail(fmt::format(
                "another mode switch{} still holds '{}' after {} ms; wait for it to finish",
                holder ? fmt::format(" (pid {})", *holder) : std::string(), path.string(),
                timeout.count()));
        }
        posix::sleep_for(k_retry);
    }
    const auto waited =
        std::chrono::duration_cast<std::chrono::microseconds>(posix::monotonic_now() - started);
    // Who holds it, for the next waiter's message; the lock itself is the flock, not this text.
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(fd.get(), 0) == 0) {
        [[maybe_unused]] const ssize_t n = ::pwrite(fd.get(), pid.data(), pid.size(), 0);
    }
    return SwitchLock(std::move(fd), waited);
}

} // namespace gpumod::services
