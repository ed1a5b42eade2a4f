// The null server, started as a process and talked to through gpumod's own HTTP and OpenAI
// client: what it streams must decode to exactly its reply, usage and timings, and it must
// answer concurrent requests in parallel (the harness-overhead benchmark depends on both).

#include "adapters/http/http_client.hpp"
#include "adapters/http/openai_client.hpp"
#include "adapters/posix/process.hpp"
#include "support/temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace gpumod {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

/// Pieces of 4 bytes, as the server streams an ASCII text (its default --chars-per-token).
std::int64_t ascii_pieces(const std::string& text)
{
    return static_cast<std::int64_t>((text.size() + 3) / 4);
}

void write_file(const fs::path& path, const std::string& text)
{
    std::ofstream out(path, std::ios::binary);
    out << text;
}

/// A running null_server on a free port; stopped (SIGTERM) when destroyed.
class NullServer
{
  public:
    NullServer(const fs::path& dir, const std::string& reply, const std::string& reasoning,
               int latency_ms, int threads, std::vector<std::string> extra = {})
        : m_log(dir / "requests.jsonl")
    {
        write_file(dir / "reply.txt", reply);
        posix::SpawnOptions options;
        options.argv = {GPUMOD_NULL_SERVER,
                        "--port",
                        "0",
                        "--latency-ms",
                        std::to_string(latency_ms),
                        "--threads",
                        std::to_string(threads),
                        "--reply-file",
                        (dir / "reply.txt").string(),
                        "--log",
                        m_log.string()};
        if (!reasoning.empty()) {
            write_file(dir / "reasoning.txt", reasoning);
            options.argv.emplace_back("--reasoning-file");
            options.argv.push_back((dir / "reasoning.txt").string());
        }
        options.argv.insert(options.argv.end(), extra.begin(), extra.end());
        options.stdout_target = posix::OutputTarget::pipe();
        auto child = posix::spawn(options);
        if (!child) {
            throw std::runtime_error(child.error().message);
        }
        m_child.emplace(std::move(*child));

        std::string out;
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (out.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
            out += m_child->read_stdout(100ms);
        }
        const std::string prefix = "listening on 127.0.0.1:";
        if (out.rfind(prefix, 0) != 0) {
            throw std::runtime_error("null_server did not say it listens: " + out);
        }
        m_base_url = "http://127.0.0.1:" + std::to_string(std::stoi(out.substr(prefix.size())));
    }

    [[nodiscard]] const std::string& base_url() const { return m_base_url; }

    [[nodiscard]] http::HttpClient client() const
    {
        auto client = http::HttpClient::create(m_base_url);
        if (!client) {
            throw std::runtime_error(client.error().message);
        }
        return std::move(*client);
    }

    /// The request log's lines, parsed, once there are `expected` of them (the server writes a
    /// line just after the response, so it may lag the client by a moment); what is there
    /// after 5 s otherwise.
    [[nodiscard]] std::vector<nlohmann::json> log_lines(std::size_t expected) const
    {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (true) {
            std::vector<nlohmann::json> lines;
            std::ifstream in(m_log);
            for (std::string line; std::getline(in, line);) {
                lines.push_back(nlohmann::json::parse(line));
            }
            if (lines.size() >= expected || std::chrono::steady_clock::now() > deadline) {
                return lines;
            }
            std::this_thread::sleep_for(5ms);
        }
    }

    /// SIGTERM; the server must exit cleanly (status 0).
    posix::ExitStatus stop() { return m_child->stop(5s); }

  private:
    fs::path m_log;
    std::optional<posix::ChildProcess> m_child;
    std::string m_base_url;
};

openai::ChatRequest user_request(const std::string& text)
{
    openai::ChatRequest request;
    request.messages = {openai::ChatMessage{"user", text, std::nullopt}};
    return request;
}

const std::string k_reply = "```python\nclass Queue:\n    pass\n```\n";
const std::string k_reasoning = "Let me think.";

TEST(NullServer, StreamedReplyDecodesExactlyThroughGpumodsClient)
{
    testing::TempDir dir;
    NullServer server(dir.path(), k_reply, k_reasoning, 200, 4);
    auto client = server.client();
    auto request = user_request("Write a FIFO queue, please."); // 27 bytes
    request.seed = 4242;

    auto exchange = http::chat_streaming(client, request);
    ASSERT_TRUE(exchange) << exchange.error().message;
    const auto& reply = exchange->completion;
    EXPECT_EQ(reply.content, k_reply);
    EXPECT_EQ(reply.reasoning_content, k_reasoning);
    EXPECT_EQ(reply.finish_reason, "stop");
    EXPECT_EQ(reply.model, "null.gguf");
    EXPECT_THAT(reply.id, HasSubstr("chatcmpl-null-"));

    const std::int64_t completion_tokens = ascii_pieces(k_reply) + ascii_pieces(k_reasoning);
    ASSERT_TRUE(reply.usage);
    EXPECT_EQ(reply.usage->prompt_tokens, 27 / 4);
    EXPECT_EQ(reply.usage->completion_tokens, completion_tokens);
    EXPECT_EQ(reply.usage->total_tokens, 27 / 4 + completion_tokens);
    EXPECT_EQ(reply.usage->cached_tokens, 0);
    ASSERT_TRUE(reply.timings);
    EXPECT_EQ(reply.timings->prompt_n, 27 / 4);
    EXPECT_DOUBLE_EQ(reply.timings->prompt_ms, 20.0);
    EXPECT_EQ(reply.timings->predicted_n, completion_tokens);
    EXPECT_DOUBLE_EQ(reply.timings->predicted_ms, 180.0);
    ASSERT_TRUE(reply.timings->predicted_per_second);
    EXPECT_DOUBLE_EQ(*reply.timings->predicted_per_second,
                     static_cast<double>(completion_tokens) * 1000.0 / 180.0);
    EXPECT_FALSE(reply.timings->draft_n);

    // role chunk, one chunk per piece, finish chunk, usage chunk
    EXPECT_EQ(exchange->chunks, static_cast<std::size_t>(completion_tokens) + 3);
    ASSERT_TRUE(exchange->time_to_first_token);
    EXPECT_GE(*exchange->time_to_first_token, 200ms);
    EXPECT_GE(exchange->total_time, 200ms);

    // The server's own time covers the latency and fits inside what the client measured.
    const auto lines = server.log_lines(1);
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_EQ(lines[0]["id"], reply.id);
    EXPECT_EQ(lines[0]["stream"], true);
    EXPECT_EQ(lines[0]["seed"], 4242); // the join key for the benchmark
    const auto server_ns = lines[0]["server_ns"].get<std::int64_t>();
    EXPECT_EQ(server_ns, lines[0]["completion_ns"].get<std::int64_t>() -
                             lines[0]["arrival_ns"].get<std::int64_t>());
    EXPECT_GE(server_ns, 200'000'000);
    EXPECT_LE(server_ns, std::chrono::nanoseconds(exchange->total_time).count());

    const auto status = server.stop();
    EXPECT_TRUE(status.exited) << status.describe();
    EXPECT_EQ(status.code, 0);
}

TEST(NullServer, NonStreamedReplyAndMaxTokens)
{
    testing::TempDir dir;
    NullServer server(dir.path(), k_reply, k_reasoning, 10, 2);
    auto client = server.client();

    auto whole = http::chat(client, user_request("hi"));
    ASSERT_TRUE(whole) << whole.error().message;
    EXPECT_EQ(whole->completion.content, k_reply);
    EXPECT_EQ(whole->completion.reasoning_content, k_reasoning);
    EXPECT_EQ(whole->completion.finish_reason, "stop");
    ASSERT_TRUE(whole->completion.usage);
    EXPECT_EQ(whole->completion.usage->prompt_tokens, 1); // never 0
    ASSERT_TRUE(whole->completion.timings);
    EXPECT_EQ(whole->completion.timings->predicted_n,
              ascii_pieces(k_reply) + ascii_pieces(k_reasoning));

    // A budget that ends inside the reasoning: cut there, finish_reason "length".
    auto request = user_request("hi");
    request.max_tokens = 2;
    auto cut = http::chat_streaming(client, request);
    ASSERT_TRUE(cut) << cut.error().message;
    EXPECT_EQ(cut->completion.finish_reason, "length");
    EXPECT_EQ(cut->completion.reasoning_content, "Let me t");
    EXPECT_EQ(cut->completion.content, "");
    ASSERT_TRUE(cut->completion.usage);
    EXPECT_EQ(cut->completion.usage->completion_tokens, 2);

    EXPECT_EQ(server.log_lines(2).size(), 2U);
}

TEST(NullServer, MultiByteTextIsNeverSplitInsideACharacter)
{
    testing::TempDir dir;
    const std::string reply = "Grüße, 世界! 🚀 done";
    NullServer server(dir.path(), reply, "", 0, 1, {"--chars-per-token", "1"});
    auto client = server.client();
    auto exchange = http::chat_streaming(client, user_request("unicode"));
    ASSERT_TRUE(exchange) << exchange.error().message;
    EXPECT_EQ(exchange->completion.content, reply);
    EXPECT_FALSE(exchange->completion.reasoning_content);
    ASSERT_TRUE(exchange->completion.usage);
    // One piece per code point: 17 of them.
    EXPECT_EQ(exchange->completion.usage->completion_tokens, 17);
}

TEST(NullServer, HealthPropsAndModels)
{
    testing::TempDir dir;
    NullServer server(dir.path(), k_reply, "", 0, 3);
    auto client = server.client();

    auto health = client.get("/health");
    ASSERT_TRUE(health) << health.error().message;
    EXPECT_EQ(health->status, 200);
    EXPECT_EQ(nlohmann::json::parse(health->body), nlohmann::json({{"status", "ok"}}));

    auto props = client.get("/props");
    ASSERT_TRUE(props) << props.error().message;
    const auto json = nlohmann::json::parse(props->body);
    EXPECT_EQ(json["build_info"], "null-server");
    EXPECT_EQ(json["model_path"], "null.gguf");
    EXPECT_EQ(json["total_slots"], 3);
    EXPECT_EQ(json["default_generation_settings"]["n_ctx"], 32768);

    auto models = client.get("/v1/models");
    ASSERT_TRUE(models) << models.error().message;
    EXPECT_EQ(nlohmann::json::parse(models->body)["data"][0]["id"], "null.gguf");

    auto bad = client.post_json("/v1/chat/completions", "{not json");
    ASSERT_TRUE(bad) << bad.error().message;
    EXPECT_EQ(bad->status, 400);
    EXPECT_THAT(bad->body, HasSubstr("messages"));
}

TEST(NullServer, FourConcurrentRequestsRunInParallel)
{
    testing::TempDir dir;
    NullServer server(dir.path(), k_reply, k_reasoning, 200, 4);
    std::vector<std::optional<Result<http::ChatExchange>>> results(4);
    const auto start = std::chrono::steady_clock::now();
    {
        std::vector<std::jthread> clients;
        for (auto& result : results) {
            clients.emplace_back([&server, &result] {
                auto client = server.client();
                result = http::chat_streaming(client, user_request("in parallel"));
            });
        }
    }
    const auto wall = std::chrono::steady_clock::now() - start;
    for (const auto& result : results) {
        ASSERT_TRUE(result && *result) << (result ? (*result).error().message : "no result");
        EXPECT_EQ((*result)->completion.content, k_reply);
        EXPECT_GE((*result)->total_time, 200ms);
    }
    // Serially this would take 800 ms; in parallel one latency plus a little.
    EXPECT_LT(wall, 500ms);
    EXPECT_EQ(server.log_lines(4).size(), 4U);
}

} // namespace
} // namespace gpumod
