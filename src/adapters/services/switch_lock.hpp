#pragma once

// Serializes mode switches (and isolation) across processes and shells: an exclusive flock on
// a lock file in the state directory. The kernel drops the lock when its holder dies, even by
// SIGKILL, so a crashed gpumod never leaves a stale lock behind.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>

#include "adapters/posix/unique_fd.hpp"
#include "core/base/error.hpp"

namespace gpumod::services {

class SwitchLock
{
  public:
    /// Takes the lock, waiting up to `timeout` for another holder. `on_wait` is called once
    /// with the holder's pid (when known) before waiting, so the CLI can say why it pauses.
    /// Fails when the file cannot be opened or the timeout passes.
    static Result<SwitchLock> acquire(const std::filesystem::path& path,
                                      std::chrono::milliseconds timeout,
                                      const std::function<void(std::optional<int>)>& on_wait = {});

    SwitchLock(SwitchLock&&) noexcept = default;
    SwitchLock& operator=(SwitchLock&&) noexcept = default;
    /// Releases the lock (closing the file releases the flock).
    ~SwitchLock() = default;

    /// How long acquire() waited.
    [[nodiscard]] std::chrono::microseconds waited() const { return m_waited; }

  private:
    SwitchLock(posix::UniqueFd fd, std::chrono::microseconds waited)
        : m_fd(std::move(fd)), m_waited(waited)
    {
    }
    posix::UniqueFd m_fd;
    std::chrono::microseconds m_waited{0};
};

} // namespace gpumod::services
