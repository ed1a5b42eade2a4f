// A stand-in for llama-server that does no inference: every chat completion waits a fixed
// latency and answers a fixed reply, in llama-server's wire format (streamed chunks, usage,
// timings, `data: [DONE]`). bench/harness-overhead measures gpumod against it: whatever a
// request takes beyond the server-side time this program logs is gpumod's own overhead.
//
//   null_server [--port 0] [--latency-ms 200] [--reply-file F] [--reasoning-file F]
//               [--threads 8] [--log FILE] [--chars-per-token 4]
//
// Prints "listening on 127.0.0.1:PORT" once bound. With --log, one JSON line per completion:
//   {"id":"chatcmpl-null-1","seed":42,"stream":true,"arrival_ns":...,"completion_ns":...,
//    "server_ns":...}
// arrival_ns is taken when the handler starts (request read and parsed), completion_ns just before
// the body's last bytes are handed to the socket (so work on both ends of the wire counts as
// gpumod's, never the server's); both on CLOCK_MONOTONIC (steady_clock), the clock gpumod times
// requests with. The line is written after the response, so it may appear a moment after the
// client has its answer.

#include "null_reply.hpp"

#include <httplib.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>

namespace {

using Json = nlohmann::json;

struct Options
{
    std::string host = "127.0.0.1";
    int port = 0;
    int latency_ms = 200;
    std::string reply_file;
    std::string reasoning_file;
    std::size_t threads = 8;
    std::string log_file;
    std::size_t chars_per_token = 4;
    std::int64_t n_ctx = 32768;
};

using null_reply::Answer;
using null_reply::k_build;
using null_reply::k_model;

std::int64_t to_ns(std::chrono::steady_clock::time_point time)
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

std::int64_t monotonic_ns()
{
    return to_ns(std::chrono::steady_clock::now());
}

std::optional<std::string> read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Appends one JSON object per line to the log; lines are whole even with parallel requests.
class RequestLog
{
  public:
    explicit RequestLog(const std::string& path)
    {
        if (!path.empty()) {
            m_file = std::fopen(path.c_str(), "w");
        }
    }
    RequestLog(const RequestLog&) = delete;
    RequestLog& operator=(const RequestLog&) = delete;
    ~RequestLog()
    {
        if (m_file != nullptr) {
            std::fclose(m_file);
        }
    }
    [[nodiscard]] bool failed(const std::string& path) const
    {
        return !path.empty() && m_file == nullptr;
    }
    void write(const Json& line)
    {
        if (m_file == nullptr) {
            return;
        }
        const std::string text = line.dump() + "\n";
        const std::lock_guard lock(m_mutex);
        std::fwrite(text.data(), 1, text.size(), m_file);
        std::fflush(m_file);
    }

  private:
    std::mutex m_mutex;
    std::FILE* m_file = nullptr;
};

void send_error(httplib::Response& res, int status, const std::string& message)
{
    res.status = status;
    res.set_content(
        Json{{"error", {{"code", status}, {"message", message}, {"type", "invalid_request_error"}}}}
            .dump(),
        "application/json; charset=utf-8");
}

/// A rough, deterministic prompt size: a quarter of the message text's bytes, at least 1.
std::int64_t estimate_prompt_tokens(const Json& request)
{
    std::size_t bytes = 0;
    for (const auto& message : request.value("messages", Json::array())) {
        if (message.contains("content") && message["content"].is_string()) {
            bytes += message["content"].get_ref<const std::string&>().size();
        }
    }
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(bytes / 4));
}

class NullServer
{
  public:
    NullServer(const Options& options, std::vector<std::string> reasoning,
               std::vector<std::string> content)
        : m_options(options), m_reasoning(std::move(reasoning)), m_content(std::move(content)),
          m_log(options.log_file)
    {
    }

    [[nodiscard]] bool log_failed() const { return m_log.failed(m_options.log_file); }

    void install(httplib::Server& server)
    {
        const std::size_t threads = m_options.threads;
        server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
        // Hundreds of small chunk writes per reply: with Nagle's algorithm each one after the
        // first waits for the client's (delayed, up to 40 ms) ACK, which would be measured as
        // server time.
        server.set_tcp_nodelay(true);
        server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(R"({"status":"ok"})", "application/json; charset=utf-8");
        });
        server.Get("/props", [this](const httplib::Request&, httplib::Response& res) {
            const Json props{{"build_info", k_build},
                             {"model_path", k_model},
                             {"model_alias", k_model},
                             {"total_slots", m_options.threads},
                             {"default_generation_settings", {{"n_ctx", m_options.n_ctx}}}};
            res.set_content(props.dump(), "application/json; charset=utf-8");
        });
        server.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
            const Json models{
                {"object", "list"},
                {"data", Json::array({Json{{"id", k_model},
                                           {"object", "model"},
                                           {"owned_by", k_build},
                                           {"meta", {{"n_ctx_train", m_options.n_ctx}}}}})}};
            res.set_content(models.dump(), "application/json; charset=utf-8");
        });
        server.Post("/v1/chat/completions", [this](const httplib::Request& req,
                                                   httplib::Response& res) { chat(req, res); });
    }

  private:
    void chat(const httplib::Request& req, httplib::Response& res)
    {
        const auto arrived = std::chrono::steady_clock::now();
        const std::int64_t arrival = to_ns(arrived);
        const Json request = Json::parse(req.body, nullptr, false);
        if (request.is_discarded() || !request.is_object() || !request.contains("messages")) {
            send_error(res, 400, "expected a JSON object with \"messages\"");
            return;
        }
        auto answer = std::make_shared<Answer>();
        answer->id = fmt::format("chatcmpl-null-{}", m_next_id++);
        answer->created = static_cast<std::int64_t>(std::time(nullptr));
        answer->reasoning = m_reasoning;
        answer->content = m_content;
        answer->finish_reason = "stop";
        answer->prompt_tokens = estimate_prompt_tokens(request);
        answer->latency_ms = m_options.latency_ms;
        // max_tokens cuts the reply as a real server would (finish_reason "length").
        const auto max_tokens = request.value("max_tokens", std::int64_t{-1});
        if (max_tokens >= 0 && answer->completion_tokens() > max_tokens) {
            auto budget = static_cast<std::size_t>(max_tokens);
            answer->reasoning.resize(std::min(budget, answer->reasoning.size()));
            budget -= answer->reasoning.size();
            answer->content.resize(std::min(budget, answer->content.size()));
            answer->finish_reason = "length";
        }
        const bool stream = request.value("stream", false);
        bool include_usage = false;
        if (const auto options = request.find("stream_options");
            options != request.end() && options->is_object()) {
            include_usage = options->value("include_usage", false);
        }

        // Encoded before waiting, and the wait ends `latency` after arrival: the reply starts
        // on time however long encoding a long reply takes.
        std::shared_ptr<std::vector<std::string>> events;
        std::shared_ptr<std::string> body;
        if (stream) {
            events =
                std::make_shared<std::vector<std::string>>(
                null_reply::stream_events(*answer, include_usage));
        } else {
            body = std::make_shared<std::string>(null_reply::completion_body(*answer));
        }
        std::this_thread::sleep_until(arrived + std::chrono::milliseconds(m_options.latency_ms));

        // Called with the time taken just before the body's last bytes go to the socket, so
        // the client can never finish before the server says it did.
        // The request's seed (null when it sent none) lets a benchmark join this line with the
        // client's record of the same attempt.
        Json seed = request.contains("seed") ? request["seed"] : Json(nullptr);
        auto finished = [this, answer, arrival, stream,
                         seed = std::move(seed)](std::int64_t completion) {
            m_log.write(Json{{"id", answer->id},
                             {"seed", seed},
                             {"stream", stream},
                             {"arrival_ns", arrival},
                             {"completion_ns", completion},
                             {"server_ns", completion - arrival}});
        };
        if (stream) {
            res.set_chunked_content_provider(
                "text/event-stream", [events, finished](std::size_t, httplib::DataSink& sink) {
                    for (const auto& event : *events) {
                        if (!sink.write(event.data(), event.size())) {
                            return false; // client went away
                        }
                    }
                    const std::int64_t completion = monotonic_ns();
                    sink.done(); // the terminating empty chunk
                    finished(completion);
                    return true;
                });
            return;
        }
        res.set_content_provider(
            body->size(), "application/json; charset=utf-8",
            [body, finished](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                const std::int64_t completion = monotonic_ns();
                if (!sink.write(body->data() + offset, length)) {
                    return false;
                }
                if (offset + length == body->size()) {
                    finished(completion);
                }
                return true;
            });
    }

    Options m_options;
    std::vector<std::string> m_reasoning;
    std::vector<std::string> m_content;
    RequestLog m_log;
    std::atomic<std::uint64_t> m_next_id{1};
};

} // namespace

int main(int argc, char** argv)
{
    Options options;
    CLI::App cli{"null_server: a llama-server stand-in with a fixed latency and a fixed reply"};
    cli.add_option("--host", options.host, "address to bind")->capture_default_str();
    cli.add_option("--port", options.port, "port; 0 picks a free one")->capture_default_str();
    cli.add_option("--latency-ms", options.latency_ms, "wait before each completion answers")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    cli.add_option("--reply-file", options.reply_file, "the content of every reply")
        ->check(CLI::ExistingFile);
    cli.add_option("--reasoning-file", options.reasoning_file,
                   "reasoning_content of every reply (none by default)")
        ->check(CLI::ExistingFile);
    cli.add_option("--threads", options.threads, "requests served in parallel")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cli.add_option("--log", options.log_file, "one JSON line per completed request");
    cli.add_option("--chars-per-token", options.chars_per_token, "bytes per streamed piece")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    cli.add_option("--n-ctx", options.n_ctx, "context size /props reports")->capture_default_str();
    CLI11_PARSE(cli, argc, argv);

    std::string reply = "Hello world!";
    if (!options.reply_file.empty()) {
        auto text = read_file(options.reply_file);
        if (!text) {
            std::cerr << "null_server: cannot read " << options.reply_file << "\n";
            return 1;
        }
        reply = std::move(*text);
    }
    std::string reasoning;
    if (!options.reasoning_file.empty()) {
        auto text = read_file(options.reasoning_file);
        if (!text) {
            std::cerr << "null_server: cannot read " << options.reasoning_file << "\n";
            return 1;
        }
        reasoning = std::move(*text);
    }

    // SIGINT/SIGTERM end the server cleanly: blocked here (inherited by every thread) and
    // taken by one thread with sigwait, which stops the accept loop.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    NullServer handler(options, null_reply::split_pieces(reasoning, options.chars_per_token),
                       null_reply::split_pieces(reply, options.chars_per_token));
    if (handler.log_failed()) {
        std::cerr << "null_server: cannot write the log " << options.log_file << "\n";
        return 1;
    }
    httplib::Server server;
    handler.install(server);

    int port = options.port;
    if (port == 0) {
        port = server.bind_to_any_port(options.host);
    } else if (!server.bind_to_port(options.host, port)) {
        port = -1;
    }
    if (port < 0) {
        std::cerr << "null_server: cannot bind " << options.host << ":" << options.port << "\n";
        return 1;
    }

    std::jthread signal_thread([&server, signals] {
        int received = 0;
        sigwait(&signals, &received);
        server.stop();
    });
    std::cout << "listening on " << options.host << ":" << port << std::endl;
    const bool clean = server.listen_after_bind();
    // The accept loop ended on its own: wake the signal thread so it can be joined.
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    return clean ? 0 : 1;
}
