#pragma once

// HTTP/1.1 client for OpenAI-compatible servers (llama-server, vLLM), over cpp-httplib.
// Every call has explicit connect and read timeouts: cpp-httplib's default 5 s read timeout
// would cut long completions.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/base/error.hpp"

namespace gpumod::http {

struct Timeouts
{
    std::chrono::milliseconds connect{2000};
    std::chrono::milliseconds read{600000};
    std::chrono::milliseconds write{10000};
};

struct Response
{
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers; ///< lower-case names
};

/// Called with each chunk of the body as it arrives; return false to abort the transfer.
using ChunkSink = std::function<bool(std::string_view chunk)>;

class HttpClient
{
public:
    /// `base_url` like "http://127.0.0.1:8080" (no path). https is not supported.
    static Result<HttpClient> create(const std::string& base_url, Timeouts timeouts = {});

    HttpClient(HttpClient&&) noexcept;
    HttpClient& operator=(HttpClient&&) noexcept;
    ~HttpClient();

    /// GET; a transport failure (refused, timeout) is an Error, any HTTP status is a Response.
    Result<Response> get(const std::string& path);

    /// POST with a JSON body.
    Result<Response> post_json(const std::string& path, const std::string& json_body);

    /// POST with a JSON body, handing the body to `sink` chunk by chunk (for SSE streams).
    /// The returned Response has an empty body; its status is the HTTP status.
    Result<Response> post_json_streaming(const std::string& path, const std::string& json_body,
                                         const ChunkSink& sink);

    [[nodiscard]] const std::string& base_url() const;

private:
    struct Impl;
    explicit HttpClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace gpumod::http
