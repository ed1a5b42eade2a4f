#pragma once

// RAII for file descriptors, so every early return closes what was opened.

#include <unistd.h>

#include <utility>

namespace gpumod::posix {

/// Owns one file descriptor; closes it on destruction. Move-only.
class UniqueFd
{
  public:
    UniqueFd() = default;
    /// Takes ownership of `fd` (a negative value means "none").
    explicit UniqueFd(int fd) : m_fd(fd) {}
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    UniqueFd(UniqueFd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept
    {
        if (this != &other) {
            reset(std::exchange(other.m_fd, -1));
        }
        return *this;
    }
    ~UniqueFd() { reset(); }

    /// The descriptor, still owned; -1 when none.
    [[nodiscard]] int get() const { return m_fd; }
    /// True when a descriptor is owned.
    [[nodiscard]] bool valid() const { return m_fd >= 0; }
    /// Closes the owned descriptor (errors from close are not actionable here) and takes `fd`.
    void reset(int fd = -1)
    {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
        m_fd = fd;
    }
    /// Gives up ownership without closing.
    [[nodiscard]] int release() { return std::exchange(m_fd, -1); }

  private:
    int m_fd = -1;
};

} // namespace gpumod::posix
