// Process group liveness from /proc; part of the process adapter (process.hpp).

#include "adapters/posix/process.hpp"
#include "adapters/posix/unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <string_view>

namespace gpumod::posix {
namespace {

/// Fields of /proc/<pid>/stat that decide group membership.
struct ProcStat
{
    char state = '?';
    long pgrp = 0;
};

std::optional<ProcStat> read_proc_stat(const std::string& pid_name)
{
    const std::string path = fmt::format("/proc/{}/stat", pid_name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        return std::nullopt; // gone meanwhile
    }
    std::array<char, 1024> buffer{};
    ssize_t n = 0;
    do {
        n = ::read(fd.get(), buffer.data(), buffer.size() - 1);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        return std::nullopt;
    }
    const std::string_view text(buffer.data(), static_cast<std::size_t>(n));
    // "pid (comm) S ppid pgrp ...": comm may contain anything, so parse after the last ')'.
    const auto close = text.rfind(')');
    if (close == std::string_view::npos) {
        return std::nullopt;
    }
    ProcStat stat;
    long ppid = 0;
    const std::string rest(text.substr(close + 1));
    if (std::sscanf(rest.c_str(), " %c %ld %ld", &stat.state, &ppid, &stat.pgrp) != 3) {
        return std::nullopt;
    }
    return stat;
}

} // namespace

bool process_group_alive(int pgid)
{
    if (pgid <= 0) {
        return false; // kill(0) or kill(-1) would mean "our group" or "everyone"
    }
    if (::kill(-pgid, 0) != 0 && errno == ESRCH) {
        return false;
    }
    // kill() also counts zombies, and a zombie re-parented to a container's PID 1 may never
    // be reaped; scan /proc for a member that still runs.
    std::error_code ec;
    std::filesystem::directory_iterator it("/proc", ec);
    for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.empty() ||
            !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            continue;
        }
        const auto stat = read_proc_stat(name);
        if (stat && stat->pgrp == pgid && stat->state != 'Z' && stat->state != 'X') {
            return true;
        }
    }
    // Without a readable /proc, kill() above is all we know: something is in the group.
    return static_cast<bool>(ec);
}

} // namespace gpumod::posix
