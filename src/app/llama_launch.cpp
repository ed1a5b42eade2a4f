#include "app/llama_launch.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "adapters/posix/clock.hpp"
#include "adapters/posix/net.hpp"

namespace gpumod::app {
namespace {

constexpr int k_port_attempts = 3;

enum class WaitOutcome
{
    healthy,
    exited,
    timed_out,
};

bool log_says_port_taken(const std::string& tail)
{
    return tail.find("Address already in use") != std::string::npos ||
           tail.find("couldn't bind") != std::string::npos;
}

} // namespace

RunningLlamaServer::RunningLlamaServer(posix::ChildProcess process, http::HttpClient client,
                                       int port, std::filesystem::path log_path,
                                       std::vector<std::string> argv,
                                       std::chrono::milliseconds startup_time)
    : m_process(std::move(process)), m_client(std::move(client)), m_port(port),
      m_log_path(std::move(log_path)), m_argv(std::move(argv)), m_startup_time(startup_time)
{
}

posix::ExitStatus RunningLlamaServer::stop(std::chrono::milliseconds grace)
{
    return m_process.stop(grace);
}

std::string log_tail(const std::filesystem::path& path, std::size_t max_bytes)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return "";
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    if (text.size() > max_bytes) {
        text = text.substr(text.size() - max_bytes);
        const auto newline = text.find('\n');
        if (newline != std::string::npos) {
            text = text.substr(newline + 1);
        }
    }
    return text;
}

Result<RunningLlamaServer> start_llama_server(const LlamaLaunchSpec& spec)
{
    std::string last_failure;
    for (int attempt = 0; attempt < k_port_attempts; ++attempt) {
        auto port = posix::find_free_loopback_port();
        if (!port) {
            return tl::unexpected(port.error().with_context("while starting llama-server"));
        }
        std::vector<std::string> argv{spec.server.string(), "-m", spec.model.string(), "--host",
                                      "127.0.0.1", "--port", std::to_string(*port)};
        argv.insert(argv.end(), spec.extra_args.begin(), spec.extra_args.end());

        posix::SpawnOptions options;
        options.argv = argv;
        options.stdout_target = posix::OutputTarget::file(spec.log_path);
        options.stderr_target = posix::OutputTarget::file(spec.log_path, true);
        const auto started = posix::monotonic_now();
        auto child = posix::spawn(options);
        if (!child) {
            return tl::unexpected(child.error().with_context(
                fmt::format("while starting llama-server '{}'", spec.server.string())));
        }
        auto client = http::HttpClient::create(fmt::format("http://127.0.0.1:{}", *port),
                                               http::Timeouts{std::chrono::milliseconds(1000),
                                                              std::chrono::milliseconds(600000),
                                                              std::chrono::milliseconds(10000)});
        if (!client) {
            return tl::unexpected(client.error());
        }

        WaitOutcome outcome = WaitOutcome::timed_out;
        std::optional<posix::ExitStatus> exit_status;
        const auto deadline = started + spec.startup_timeout;
        while (posix::monotonic_now() < deadline) {
            // 200 = ready; 503 = still loading the model; a transport error = not listening yet.
            auto health = client->get("/health");
            if (health && health->status == 200) {
                outcome = WaitOutcome::healthy;
                break;
            }
            exit_status = child->poll();
            if (exit_status) {
                outcome = WaitOutcome::exited;
                break;
            }
            posix::sleep_for(spec.health_poll_interval);
        }
        const auto startup_time = std::chrono::duration_cast<std::chrono::milliseconds>(
            posix::monotonic_now() - started);

        if (outcome == WaitOutcome::healthy) {
            return RunningLlamaServer(std::move(*child), std::move(*client), *port, spec.log_path,
                                      std::move(argv), startup_time);
        }
        if (outcome == WaitOutcome::timed_out) {
            child->stop(std::chrono::seconds(5));
            return fail(fmt::format(
                "llama-server did not become healthy within {} ms (GET /health on port {}); "
                "log {}:\n{}",
                spec.startup_timeout.count(), *port, spec.log_path.string(),
                log_tail(spec.log_path)));
        }
        const std::string tail = log_tail(spec.log_path);
        last_failure = fmt::format("llama-server {} during startup; log {}:\n{}",
                                   exit_status->describe(), spec.log_path.string(), tail);
        if (!log_says_port_taken(tail)) {
            return fail(last_failure);
        }
    }
    return fail(last_failure);
}

} // namespace gpumod::app
