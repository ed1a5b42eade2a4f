#pragma once

// HTTP/1.1 client for OpenAI-compatible servers (llama-server, vLLM), over cpp-httplib.
// Every call has explicit connect and read timeouts: cpp-httplib's default 5 s read timeout
// would cut long completions.
//
// Threads: an HttpClient serves one request at a time; use one client per thread (they are
// cheap: each request opens its own connection, so nothing is shared between clients).

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/base/error.hpp"

namespace gpumod::http {

/// Per-call limits. read and write bound each wait for the socket (the longest silence), not
/// the whole request: a stream that keeps sending tokens never times out.
struct Timeouts
{
    std::chrono::milliseconds connect{2000}; ///< TCP connect
    std::chrono::milliseconds read{600000};  ///< longest wait for the next response bytes
    std::chrono::milliseconds write{10000};  ///< longest wait to send request bytes
};

/// What a call got back: any HTTP status, 4xx and 5xx included, is a Response.
struct Response
{
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers; ///< lower-case names
};

/// Called with each chunk of the body as it arrives (arbitrary fragments, not SSE events);
/// return false to abort the transfer.
using ChunkSink = std::function<bool(std::string_view chunk)>;

class HttpClient
{
  public:
    /// `base_url` like "http://127.0.0.1:8080" or "http://[::1]:8080" (port defaults to 80; a
    /// lone trailing "/" is allowed). Fails for https, other schemes, user info, a path, query or
    /// fragment, a missing host or a bad port. Connects to nothing yet.
    static Result<HttpClient> create(const std::string& base_url, Timeouts timeouts = {});

    /// Movable, not copyable; a moved-from client may only be destroyed or assigned to.
    HttpClient(HttpClient&&) noexcept;
    HttpClient& operator=(HttpClient&&) noexcept;
    ~HttpClient();

    /// GET; a transport failure (refused, timeout) is an Error, any HTTP status is a Response.
    /// Errors read "GET <url>: <what happened> (httplib: <error name>)".
    Result<Response> get(const std::string& path);

    /// POST with a JSON body.
    Result<Response> post_json(const std::string& path, const std::string& json_body);

    /// POST with a JSON body, handing the body to `sink` chunk by chunk (for SSE streams) while
    /// the response is still arriving. The returned Response carries the HTTP status and headers;
    /// its body is empty for a 2xx status, and for any other status holds the whole body too
    /// (which the sink also saw), so callers can decode the error without buffering.
    /// When the sink returns false the call stops reading and fails with an Error reading
    /// "POST <url>: aborted by caller (httplib: Canceled)"; the caller knows why it did that.
    Result<Response> post_json_streaming(const std::string& path, const std::string& json_body,
                                         const ChunkSink& sink);

    /// The normalized base URL, "http://host:port" (no trailing slash).
    [[nodiscard]] const std::string& base_url() const;

  private:
    struct Impl;
    explicit HttpClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace gpumod::http
