#include "adapters/http/openai_client.hpp"

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

namespace gpumod::http {
namespace {

using ::testing::StartsWith;

/// httplib::Server on 127.0.0.1 and a port the kernel picked, listening on its own thread.
class TestServer
{
  public:
    explicit TestServer(const std::function<void(httplib::Server&)>& routes)
    {
        routes(m_server);
        m_port = m_server.bind_to_any_port("127.0.0.1");
        m_thread = std::jthread([this] { m_server.listen_after_bind(); });
        while (!m_server.is_running()) {
            std::this_thread::yield();
        }
    }
    ~TestServer() { m_server.stop(); }
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }

  private:
    httplib::Server m_server;
    int m_port = -1;
    std::jthread m_thread;
};

/// A server whose chat endpoint streams `events`, one write each, as llama-server does.
void stream_events(httplib::Server& server, std::vector<std::string> events)
{
    server.Post("/v1/chat/completions",
                [events](const httplib::Request&, httplib::Response& res) {
                    res.set_chunked_content_provider(
                        "text/event-stream", [events](std::size_t, httplib::DataSink& sink) {
                            for (const std::string& event : events) {
                                sink.write(event.data(), event.size());
                            }
                            sink.done();
                            return true;
                        });
                });
}

/// A server whose chat endpoint answers `status` with `body`.
void answer_with(httplib::Server& server, int status, std::string body)
{
    server.Post("/v1/chat/completions",
                [status, body](const httplib::Request&, httplib::Response& res) {
                    res.status = status;
                    res.set_content(body, "application/json");
                });
}

openai::ChatRequest say_hi()
{
    openai::ChatRequest request;
    request.messages = {{"user", "hi", std::nullopt}};
    return request;
}

HttpClient client_for(const TestServer& server)
{
    auto client = HttpClient::create(server.url());
    EXPECT_TRUE(client.has_value());
    return std::move(*client);
}

TEST(OpenAiClient, StreamFoldsChunksIntoTheReply)
{
    TestServer server([](httplib::Server& s) {
        stream_events(
            s, {R"(data: {"choices":[{"delta":{"role":"assistant","content":null}}],"id":"c1"})"
                "\n\n",
                R"(data: {"choices":[{"delta":{"reasoning_content":"hm"}}],"id":"c1"})"
                "\n\n",
                // Two events in one write, and one split across writes.
                R"(data: {"choices":[{"delta":{"content":"Hel"}}]})"
                "\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"l",
                "o\\u00e9\"}}]}\r\n\r\n",
                R"(data: {"choices":[{"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}})"
                "\n\n",
                "data: [DONE]\n\n"});
    });
    HttpClient client = client_for(server);
    auto exchange = chat_streaming(client, say_hi());
    ASSERT_TRUE(exchange.has_value()) << exchange.error().message;
    EXPECT_EQ(exchange->completion.id, "c1");
    EXPECT_EQ(exchange->completion.content, "Helloé");
    EXPECT_EQ(exchange->completion.reasoning_content, "hm");
    EXPECT_EQ(exchange->completion.finish_reason, "stop");
    ASSERT_TRUE(exchange->completion.usage.has_value());
    EXPECT_EQ(exchange->completion.usage->total_tokens, 5);
    EXPECT_EQ(exchange->chunks, 5U);
    EXPECT_TRUE(exchange->time_to_first_token.has_value());
}

TEST(OpenAiClient, ErrorChunkMidStreamIsTheServersMessage)
{
    TestServer server([](httplib::Server& s) {
        stream_events(s, {R"(data: {"choices":[{"delta":{"content":"a"}}]})"
                          "\n\n",
                          R"(data: {"error":{"code":500,"message":"slot died","type":"server_error"}})"
                          "\n\n"});
    });
    HttpClient client = client_for(server);
    StreamWatch watch;
    auto exchange = chat_streaming(client, say_hi(), watch);
    ASSERT_FALSE(exchange.has_value());
    EXPECT_EQ(exchange.error().message,
              fmt::format("streamed POST {}/v1/chat/completions: server reported an error: slot "
                          "died (server_error)",
                          server.url()));
    EXPECT_TRUE(watch.token_seen);
}

TEST(OpenAiClient, StreamedErrorStatusIsTheServersMessage)
{
    TestServer server([](httplib::Server& s) {
        answer_with(
            s, 400,
            R"({"error":{"code":400,"message":"context exceeded","type":"exceed_context_size_error"}})");
    });
    HttpClient client = client_for(server);
    StreamWatch watch;
    auto exchange = chat_streaming(client, say_hi(), watch);
    ASSERT_FALSE(exchange.has_value());
    EXPECT_EQ(exchange.error().message,
              fmt::format("streamed POST {}/v1/chat/completions: server returned HTTP 400: "
                          "context exceeded (exceed_context_size_error)",
                          server.url()));
    EXPECT_EQ(watch.http_status, 400);
}

TEST(OpenAiClient, OnlyTheFirst64KiBOfAnErrorBodyAreDecoded)
{
    // Cut at 64 KiB, this JSON no longer parses: the message shows the body's start instead.
    const std::string body = R"({"error":{"message":")" + std::string(70000, 'a') + R"("}})";
    TestServer server([&](httplib::Server& s) { answer_with(s, 500, body); });
    HttpClient client = client_for(server);
    auto exchange = chat_streaming(client, say_hi());
    ASSERT_FALSE(exchange.has_value());
    EXPECT_THAT(exchange.error().message,
                StartsWith(fmt::format("streamed POST {}/v1/chat/completions: server returned "
                                       "HTTP 500: {}",
                                       server.url(), body.substr(0, 200))));

    // Within the limit, the same body's message is read.
    const std::string small = R"({"error":{"message":"too big","type":"t"}})";
    TestServer small_server([&](httplib::Server& s) { answer_with(s, 500, small); });
    HttpClient small_client = client_for(small_server);
    auto small_exchange = chat_streaming(small_client, say_hi());
    ASSERT_FALSE(small_exchange.has_value());
    EXPECT_THAT(small_exchange.error().message, testing::EndsWith("HTTP 500: too big (t)"));
}

} // namespace
} // namespace gpumod::http
