#pragma once

// Services that outlive the gpumod command that started them. Unlike posix::spawn (children
// that die with their handle), a detached service gets its own session (setsid: its own
// process group, no controlling terminal, so no SIGHUP when the shell closes) and no
// parent-death signal. What identifies it afterwards is pid + start time, read from /proc.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/base/error.hpp"

namespace gpumod::services {

struct DetachedSpawn
{
    std::vector<std::string> argv; ///< argv[0] is looked up on PATH when it has no '/'
    std::map<std::string, std::string> env_overrides; ///< on top of gpumod's environment
    std::filesystem::path log_path; ///< stdout and stderr, appended (O_APPEND)
};

/// A started service: pid (= process group = session id) and its /proc start time.
struct DetachedProcess
{
    int pid = 0;
    uint64_t start_time_ticks = 0;
};

/// Starts a detached process. Fails with the program name and errno text when it cannot be
/// executed (reported through a close-on-exec pipe; the failed child is reaped).
Result<DetachedProcess> spawn_detached(const DetachedSpawn& spawn);

/// /proc/PID/stat start time of a live (non-zombie) process; nullopt when gone or a zombie.
std::optional<uint64_t> read_start_time(int pid);

/// True when `pid` is alive, not a zombie, and started at `start_time_ticks` (not a reuse).
bool process_matches(int pid, uint64_t start_time_ticks);

/// Reaps `pid` if it is an ended child of this process (a service this process started);
/// returns its exit description ("exited with code 1"), or nullopt when it is not our ended
/// child. Never blocks.
std::optional<std::string> reap_if_our_child(int pid);

/// How stop_group ended the group.
struct GroupStop
{
    bool was_alive = false;
    bool killed = false; ///< SIGKILL was needed after the grace period
    std::chrono::microseconds took{0};
};

/// TERM to process group `pgid`, waits up to `grace`, then KILL; returns once no member is
/// left (bounded: a process in D state may outlast it, then `still_alive` stays true in the
/// error). `leader_start_ticks` guards against signalling a reused pid.
Result<GroupStop> stop_group(int pgid, uint64_t leader_start_ticks, std::chrono::milliseconds grace);

/// True when nothing listens on host:port: binds it (SO_REUSEADDR, as llama-server does) and
/// closes it again. An error for a host that is not an IPv4/IPv6 address or "localhost".
Result<bool> port_available(const std::string& host, uint16_t port);

} // namespace gpumod::services
