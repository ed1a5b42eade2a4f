#pragma once

// Chat completions against an OpenAI-compatible server (llama-server, vLLM) through
// gpumod's HTTP client: request encoding, error bodies, SSE streams folded into one reply.

#include <atomic>
#include <chrono>
#include <optional>

#include "adapters/http/http_client.hpp"
#include "core/base/error.hpp"
#include "core/openai/chat_types.hpp"

namespace gpumod::http {

/// A reply and what the client measured about it (monotonic clock).
struct ChatExchange
{
    openai::ChatCompletion completion;
    std::chrono::microseconds total_time{0};
    /// Streaming only: time from sending the request to the first content or reasoning
    /// token (not to the role-only first chunk).
    std::optional<std::chrono::microseconds> time_to_first_token;
    std::size_t chunks = 0; ///< streaming only: chunks received
};

/// POST /v1/chat/completions without streaming (the request's `stream` flag is ignored).
/// A non-2xx answer is an Error carrying the server's message.
Result<ChatExchange> chat(HttpClient& client, openai::ChatRequest request);

/// Lets a caller stop a stream early and learn, when it fails, whether any token had arrived
/// (a request that failed before its first token is safe to retry; one that failed after is not).
struct StreamWatch
{
    const std::atomic<bool>* cancel = nullptr; ///< set to true to abort the transfer
    /// Abort the transfer once this time passes (checked as bytes arrive; the client's read
    /// timeout bounds a silent server).
    std::optional<std::chrono::steady_clock::time_point> deadline;
    bool token_seen = false;                   ///< out: a content or reasoning token arrived
    bool cancelled = false;                    ///< out: the transfer stopped because of `cancel`
    bool deadline_passed = false;              ///< out: it stopped because of `deadline`
    std::optional<int> http_status;            ///< out: the status of an HTTP error answer
};

/// POST /v1/chat/completions with `stream: true`, folding chunks as they arrive. Fails when
/// the stream ends before a chunk with a finish_reason (cut short), or carries an error.
Result<ChatExchange> chat_streaming(HttpClient& client, openai::ChatRequest request);

/// As above, watched: `watch.cancel` aborts the transfer (an Error), and `watch` reports what
/// had arrived by then.
Result<ChatExchange> chat_streaming(HttpClient& client, openai::ChatRequest request,
                                    StreamWatch& watch);

} // namespace gpumod::http
