#include "adapters/http/http_client.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

namespace gpumod::http {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

/// A latch the test opens to let a server handler go on. Handlers wait with a generous
/// deadline only so that a broken client fails the test instead of hanging it.
class Gate
{
  public:
    void open()
    {
        {
            std::lock_guard lock(m_mutex);
            m_open = true;
        }
        m_cv.notify_all();
    }

    /// True when opened, false on the safety deadline.
    bool wait()
    {
        std::unique_lock lock(m_mutex);
        return m_cv.wait_for(lock, 10s, [this] { return m_open; });
    }

  private:
    std::mutex m_mutex; ///< guards m_open
    std::condition_variable m_cv;
    bool m_open = false;
};

/// httplib::Server on 127.0.0.1 and a port the kernel picked, listening on its own thread.
class TestServer
{
  public:
    explicit TestServer(const std::function<void(httplib::Server&, Gate&)>& routes)
    {
        routes(m_server, m_gate);
        m_port = m_server.bind_to_any_port("127.0.0.1");
        m_thread = std::jthread([this] { m_server.listen_after_bind(); });
        // httplib 0.11 has no wait_until_ready(); the socket already accepts (it is bound and
        // listening), this only waits for the accept loop to start.
        while (!m_server.is_running()) {
            std::this_thread::yield();
        }
    }

    ~TestServer()
    {
        m_gate.open(); // a handler still waiting would block stop()
        m_server.stop();
    }

    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    [[nodiscard]] int port() const { return m_port; }
    [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
    Gate& gate() { return m_gate; }

  private:
    Gate m_gate;
    httplib::Server m_server;
    int m_port = -1;
    std::jthread m_thread;
};

HttpClient make_client(const std::string& url, Timeouts timeouts = {})
{
    auto client = HttpClient::create(url, timeouts);
    EXPECT_TRUE(client.has_value()) << (client ? "" : client.error().message);
    return std::move(*client);
}

// --- URL validation ---

std::string create_error(const std::string& url)
{
    auto client = HttpClient::create(url);
    EXPECT_FALSE(client.has_value()) << url;
    return client ? std::string() : client.error().message;
}

TEST(HttpClientUrl, AcceptsHostAndPortAndNormalizes)
{
    EXPECT_EQ(make_client("http://127.0.0.1:8080").base_url(), "http://127.0.0.1:8080");
    EXPECT_EQ(make_client("http://127.0.0.1:8080/").base_url(), "http://127.0.0.1:8080");
    EXPECT_EQ(make_client("HTTP://LocalHost:9").base_url(), "http://localhost:9");
    EXPECT_EQ(make_client("http://example.test").base_url(), "http://example.test:80");
    EXPECT_EQ(make_client("http://[::1]:8080").base_url(), "http://[::1]:8080");
}

TEST(HttpClientUrl, RejectsWhatItCannotServe)
{
    EXPECT_THAT(create_error("https://127.0.0.1:8443"), HasSubstr("https is not supported"));
    EXPECT_THAT(create_error("ftp://127.0.0.1:21"), HasSubstr("unsupported scheme 'ftp'"));
    EXPECT_THAT(create_error("127.0.0.1:8080"), HasSubstr("expected http://HOST[:PORT]"));
    EXPECT_THAT(create_error("http://127.0.0.1:8080/v1"), HasSubstr("('/v1') is not supported"));
    EXPECT_THAT(create_error("http://127.0.0.1:8080?x=1"), HasSubstr("is not supported"));
    EXPECT_THAT(create_error("http://:8080"), HasSubstr("missing host"));
    EXPECT_THAT(create_error("http://"), HasSubstr("missing host"));
    EXPECT_THAT(create_error("http://u:p@host:1"), HasSubstr("user info"));
    EXPECT_THAT(create_error("http://[::1:80"), HasSubstr("unterminated"));
    for (const char* url :
         {"http://h:0", "http://h:65536", "http://h:8o", "http://h:", "http://h:-1"}) {
        EXPECT_THAT(create_error(url), HasSubstr("is not a number from 1 to 65535")) << url;
    }
    EXPECT_THAT(create_error("https://x:1"), StartsWith("invalid server URL 'https://x:1': "));
}

// --- requests against a real local server ---

TEST(HttpClient, GetReturnsStatusBodyAndLowerCaseHeaders)
{
    TestServer server([](httplib::Server& s, Gate&) {
        s.Get("/health", [](const httplib::Request&, httplib::Response& res) {
            res.set_header("X-Gpumod-Test", "yes");
            res.set_content("{\"status\":\"ok\"}", "application/json");
        });
    });
    HttpClient client = make_client(server.url());
    auto response = client.get("/health");
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "{\"status\":\"ok\"}");
    EXPECT_EQ(response->headers["x-gpumod-test"], "yes");
    EXPECT_EQ(response->headers["content-type"], "application/json");
    EXPECT_EQ(response->headers.count("X-Gpumod-Test"), 0U);
}

TEST(HttpClient, PostJsonSendsBodyAndContentType)
{
    TestServer server([](httplib::Server& s, Gate&) {
        s.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
            res.set_content(req.get_header_value("Content-Type") + "|" + req.body, "text/plain");
        });
    });
    HttpClient client = make_client(server.url());
    const std::string body = R"({"messages":[{"role":"user","content":"h\u00e9llo"}]})";
    auto response = client.post_json("/echo", body);
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "application/json|" + body);

    // The same client serves another request.
    auto again = client.post_json("/echo", "{}");
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_EQ(again->body, "application/json|{}");
}

TEST(HttpClient, ErrorStatusesAreResponsesNotErrors)
{
    TestServer server([](httplib::Server& s, Gate&) {
        s.Post("/v1/chat/completions", [](const httplib::Request&, httplib::Response& res) {
            res.status = 400;
            res.set_content(
                R"({"error":{"code":400,"message":"bad","type":"invalid_request_error"}})",
                "application/json");
        });
        s.Get("/boom", [](const httplib::Request&, httplib::Response& res) {
            res.status = 503;
            res.set_content("Loading model", "text/plain");
        });
    });
    HttpClient client = make_client(server.url());
    auto bad_request = client.post_json("/v1/chat/completions", "{}");
    ASSERT_TRUE(bad_request.has_value()) << bad_request.error().message;
    EXPECT_EQ(bad_request->status, 400);
    EXPECT_THAT(bad_request->body, HasSubstr("invalid_request_error"));

    auto unavailable = client.get("/boom");
    ASSERT_TRUE(unavailable.has_value());
    EXPECT_EQ(unavailable->status, 503);
    EXPECT_EQ(unavailable->body, "Loading model");

    auto missing = client.get("/nothing-here");
    ASSERT_TRUE(missing.has_value());
    EXPECT_EQ(missing->status, 404);
}

TEST(HttpClient, StreamingSinkGetsChunksBeforeTheResponseCompletes)
{
    std::atomic<bool> last_chunk_sent{false};
    std::atomic<bool> request_was_json{false};
    TestServer server([&](httplib::Server& s, Gate& gate) {
        s.Post("/v1/chat/completions", [&](const httplib::Request& req, httplib::Response& res) {
            request_was_json = req.get_header_value("Content-Type") == "application/json" &&
                               req.body == "{\"stream\":true}";
            res.set_chunked_content_provider(
                "text/event-stream", [&](std::size_t, httplib::DataSink& sink) {
                    const std::string first = "data: {\"n\":1}\n\n";
                    sink.write(first.data(), first.size());
                    // Hold the rest until the client has seen the first chunk.
                    gate.wait();
                    last_chunk_sent = true;
                    const std::string last = "data: {\"n\":2}\n\ndata: [DONE]\n\n";
                    sink.write(last.data(), last.size());
                    sink.done();
                    return true;
                });
        });
    });
    HttpClient client = make_client(server.url());
    std::string received;
    std::size_t sink_calls = 0;
    bool first_arrived_while_held = false;
    auto response = client.post_json_streaming("/v1/chat/completions", "{\"stream\":true}",
                                               [&](std::string_view chunk) {
                                                   if (sink_calls++ == 0) {
                                                       first_arrived_while_held = !last_chunk_sent;
                                                       server.gate().open();
                                                   }
                                                   received.append(chunk);
                                                   return true;
                                               });
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "") << "a 2xx body goes only to the sink";
    EXPECT_EQ(response->headers["content-type"], "text/event-stream");
    EXPECT_TRUE(request_was_json);
    EXPECT_TRUE(first_arrived_while_held);
    EXPECT_GE(sink_calls, 2U);
    EXPECT_EQ(received, "data: {\"n\":1}\n\ndata: {\"n\":2}\n\ndata: [DONE]\n\n");
}

TEST(HttpClient, StreamingErrorStatusBodyReachesSinkAndResponse)
{
    const std::string error_body =
        R"({"error":{"code":400,"message":"context exceeded","type":"exceed_context_size_error"}})";
    TestServer server([&](httplib::Server& s, Gate&) {
        s.Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
            res.status = 400;
            res.set_content(error_body, "application/json");
        });
    });
    HttpClient client = make_client(server.url());
    std::string seen_by_sink;
    auto response =
        client.post_json_streaming("/v1/chat/completions", "{}", [&](std::string_view chunk) {
            seen_by_sink.append(chunk);
            return true;
        });
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->status, 400);
    EXPECT_EQ(response->body, error_body);
    EXPECT_EQ(seen_by_sink, error_body);
}

TEST(HttpClient, SinkReturningFalseAbortsTheStream)
{
    TestServer server([](httplib::Server& s, Gate& gate) {
        s.Post("/stream", [&gate](const httplib::Request&, httplib::Response& res) {
            res.set_chunked_content_provider(
                "text/event-stream", [&gate](std::size_t, httplib::DataSink& sink) {
                    const std::string event = "data: x\n\n";
                    const bool written = sink.write(event.data(), event.size());
                    gate.wait(); // never ends the stream on its own
                    return written;
                });
        });
    });
    HttpClient client = make_client(server.url());
    std::size_t sink_calls = 0;
    auto response = client.post_json_streaming("/stream", "{}", [&](std::string_view) {
        ++sink_calls;
        return false;
    });
    ASSERT_FALSE(response.has_value());
    EXPECT_EQ(sink_calls, 1U);
    EXPECT_EQ(response.error().message,
              fmt::format("POST {}/stream: aborted by caller (httplib: Canceled)", server.url()));
}

TEST(HttpClient, ReadTimeoutFiresWhenTheServerStalls)
{
    TestServer server([](httplib::Server& s, Gate& gate) {
        s.Get("/stall", [&gate](const httplib::Request&, httplib::Response& res) {
            gate.wait(); // until the test ends, far beyond the client's read timeout
            res.set_content("late", "text/plain");
        });
    });
    Timeouts timeouts;
    timeouts.read = 300ms;
    HttpClient client = make_client(server.url(), timeouts);
    auto response = client.get("/stall");
    ASSERT_FALSE(response.has_value());
    EXPECT_EQ(
        response.error().message,
        fmt::format("GET {}/stall: read failed: no data for 300 ms or the connection was closed "
                    "(httplib: Read)",
                    server.url()));
}

TEST(HttpClient, ReadTimeoutFiresWhenAStreamStallsMidway)
{
    TestServer server([](httplib::Server& s, Gate& gate) {
        s.Post("/stream", [&gate](const httplib::Request&, httplib::Response& res) {
            res.set_chunked_content_provider("text/event-stream",
                                             [&gate](std::size_t, httplib::DataSink& sink) {
                                                 const std::string event = "data: x\n\n";
                                                 sink.write(event.data(), event.size());
                                                 gate.wait();
                                                 return false;
                                             });
        });
    });
    Timeouts timeouts;
    timeouts.read = 300ms;
    HttpClient client = make_client(server.url(), timeouts);
    std::string received;
    auto response = client.post_json_streaming("/stream", "{}", [&](std::string_view chunk) {
        received.append(chunk);
        return true;
    });
    ASSERT_FALSE(response.has_value());
    EXPECT_EQ(received, "data: x\n\n");
    EXPECT_THAT(response.error().message, EndsWith("(httplib: Read)"));
}

/// A socket bound to a loopback port but not listening: connecting to it is refused, and the
/// port stays ours for the whole test.
class ClosedPort
{
  public:
    ClosedPort()
    {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = 0;
        socklen_t length = sizeof(address);
        // The sockets API takes sockaddr_in through a sockaddr pointer.
        auto* generic = reinterpret_cast<sockaddr*>(&address);
        if (m_fd >= 0 && ::bind(m_fd, generic, length) == 0 &&
            ::getsockname(m_fd, generic, &length) == 0) {
            m_port = ntohs(address.sin_port);
        }
    }
    ~ClosedPort()
    {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
    }
    ClosedPort(const ClosedPort&) = delete;
    ClosedPort& operator=(const ClosedPort&) = delete;

    [[nodiscard]] int port() const { return m_port; }

  private:
    int m_fd = -1;
    int m_port = 0;
};

TEST(HttpClient, ConnectionRefusedNamesTheUrl)
{
    ClosedPort closed;
    ASSERT_GT(closed.port(), 0);
    const std::string url = "http://127.0.0.1:" + std::to_string(closed.port());
    HttpClient client = make_client(url);

    auto post = client.post_json("/v1/chat/completions", "{}");
    ASSERT_FALSE(post.has_value());
    EXPECT_EQ(
        post.error().message,
        "POST " + url +
            "/v1/chat/completions: connection refused or host unreachable (httplib: Connection)");

    auto get = client.get("/health");
    ASSERT_FALSE(get.has_value());
    EXPECT_THAT(get.error().message, StartsWith("GET " + url + "/health: connection refused"));

    auto stream = client.post_json_streaming("/v1/chat/completions", "{}",
                                             [](std::string_view) { return true; });
    ASSERT_FALSE(stream.has_value());
    EXPECT_THAT(stream.error().message,
                StartsWith("POST " + url + "/v1/chat/completions: connection refused"));
}

TEST(HttpClient, MovedClientKeepsWorking)
{
    TestServer server([](httplib::Server& s, Gate&) {
        s.Get("/x", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("y", "text/plain");
        });
    });
    HttpClient first = make_client(server.url());
    HttpClient second = std::move(first);
    auto response = second.get("/x");
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->body, "y");
    EXPECT_EQ(second.base_url(), server.url());
}

} // namespace
} // namespace gpumod::http
