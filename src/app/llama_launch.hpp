#pragma once

// Starting a real llama-server as a supervised child: own process group, log to a file,
// ready when GET /health answers 200. Used by `gpumod dev smoke` and the end-to-end tests;
// services (issue #4) build on it.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "adapters/http/http_client.hpp"
#include "adapters/posix/process.hpp"
#include "core/base/error.hpp"

namespace gpumod::app {

struct LlamaLaunchSpec
{
    std::filesystem::path server;         ///< llama-server executable (or wrapper)
    std::filesystem::path model;          ///< GGUF passed as -m
    std::vector<std::string> extra_args;  ///< appended after -m/--host/--port
    std::filesystem::path log_path;       ///< stdout+stderr of the server go here
    std::chrono::milliseconds startup_timeout{60000};
    std::chrono::milliseconds health_poll_interval{50};
};

class RunningLlamaServer
{
public:
    RunningLlamaServer(posix::ChildProcess process, http::HttpClient client, int port,
                       std::filesystem::path log_path, std::vector<std::string> argv,
                       std::chrono::milliseconds startup_time);

    [[nodiscard]] int port() const { return m_port; }
    [[nodiscard]] int pid() const { return m_process.pid(); }
    /// The argv the server was started with (for records and error messages).
    [[nodiscard]] const std::vector<std::string>& argv() const { return m_argv; }
    /// Time from spawn to the first 200 from /health.
    [[nodiscard]] std::chrono::milliseconds startup_time() const { return m_startup_time; }
    [[nodiscard]] const std::filesystem::path& log_path() const { return m_log_path; }
    http::HttpClient& client() { return m_client; }
    posix::ChildProcess& process() { return m_process; }

    /// TERM to the server's process group, KILL after `grace`; returns how it ended.
    posix::ExitStatus stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

private:
    posix::ChildProcess m_process;
    http::HttpClient m_client;
    int m_port;
    std::filesystem::path m_log_path;
    std::vector<std::string> m_argv;
    std::chrono::milliseconds m_startup_time;
};

/// Starts llama-server on a free 127.0.0.1 port and waits until it is healthy. Fails with
/// the server's last log lines when it exits early or misses the startup deadline (the
/// process group is stopped then); retries with another port when the port was taken.
Result<RunningLlamaServer> start_llama_server(const LlamaLaunchSpec& spec);

/// The last `max_bytes` of a log file, starting at a line boundary ("" when unreadable).
std::string log_tail(const std::filesystem::path& path, std::size_t max_bytes = 4000);

} // namespace gpumod::app
