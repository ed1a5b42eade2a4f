#pragma once

// Fast decoding of streamed `chat.completion.chunk` payloads, one per token. The common shape
// (what llama-server and vLLM send) is read with simdjson's On-Demand parser; anything else (an
// error object, a wrong type, a duplicate key, invalid JSON, an integer out of range...) goes to
// decode_chat_chunk_reference, the nlohmann path, so results and error messages are the same as
// that path's for every input. simdjson stays out of this header.

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "core/base/error.hpp"
#include "core/openai/chat_types.hpp"

namespace gpumod::openai {

/// Decodes the chunks of one stream, reusing its parser and input buffer from one chunk to the
/// next (no allocation per chunk once they have grown). Not thread-safe; one per stream.
class ChatChunkDecoder
{
  public:
    /// Allocates nothing yet; the first decode sizes the buffers.
    ChatChunkDecoder();
    ChatChunkDecoder(ChatChunkDecoder&&) noexcept;
    ChatChunkDecoder& operator=(ChatChunkDecoder&&) noexcept;
    ~ChatChunkDecoder();

    /// Same contract and results as decode_chat_chunk_reference (chat_codec.hpp), faster.
    Result<ChatChunk> decode(std::string_view payload);

    /// The fast path alone: the chunk, or nullopt when the payload needs the reference decoder
    /// (which then decides between a chunk and an error). For tests and benchmarks.
    std::optional<ChatChunk> decode_fast(std::string_view payload);

    /// How many decode() calls went to the reference decoder.
    [[nodiscard]] std::size_t fallback_count() const { return m_fallback_count; }

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
    std::size_t m_fallback_count = 0;
};

} // namespace gpumod::openai
