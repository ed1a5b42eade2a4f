#pragma once

// JSON <-> chat types for /v1/chat/completions. The only place that sees the wire JSON; errors
// name the JSON path that was wrong ("choices[0].message.content: expected string, got number").
// Unknown fields are ignored so newer servers keep working.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/base/error.hpp"
#include "core/openai/chat_types.hpp"

namespace gpumod::openai {

/// The request body. Never fails: invalid UTF-8 in strings is replaced by U+FFFD.
std::string encode_chat_request(const ChatRequest& request);

/// A non-streamed response body. Fails on invalid JSON, an error body, missing `choices`,
/// `choices[0].message` or `choices[0].finish_reason`, or any known field of the wrong type.
Result<ChatCompletion> decode_chat_completion(std::string_view body);

/// The payload of one SSE `data:` line of a streamed response (not "[DONE]", which the SSE
/// decoder flags). A chunk with `"choices":[]` (the usage chunk) is valid. An `{"error":...}`
/// payload, which llama-server sends when a stream fails midway, is returned as an Error.
/// Runs ChatChunkDecoder's fast path (chat_chunk_decoder.hpp); use one ChatChunkDecoder per
/// stream instead to reuse its buffers.
Result<ChatChunk> decode_chat_chunk(std::string_view payload);

/// decode_chat_chunk through nlohmann's DOM only: the reference whose results and error
/// messages the fast path reproduces, and its fallback for any input it does not handle.
Result<ChatChunk> decode_chat_chunk_reference(std::string_view payload);

/// The Error for a non-2xx response: the server's message and type when the body is an OpenAI
/// error (`{"error":{"code","message","type"}}`, or vLLM's flat `{"message","type","code"}`),
/// else the status and the start of the body.
Error decode_error_response(int http_status, std::string_view body);

/// Folds streamed chunks into the ChatCompletion a non-streamed request would have returned.
class ChatAccumulator
{
  public:
    /// Appends the chunk's deltas; takes id/model from the first chunk that has them, and
    /// finish_reason, usage and timings from whichever chunk carries them.
    void add(const ChatChunk& chunk);

    /// True once a chunk carried a finish_reason: the stream was not cut short.
    [[nodiscard]] bool finished() const { return !m_completion.finish_reason.empty(); }

    /// How many chunks were added.
    [[nodiscard]] std::size_t chunk_count() const { return m_chunk_count; }

    /// The reply so far.
    [[nodiscard]] const ChatCompletion& completion() const { return m_completion; }

  private:
    ChatCompletion m_completion;
    std::size_t m_chunk_count = 0;
};

} // namespace gpumod::openai
