#pragma once

// The replies null_server sends, in llama-server's wire format (streamed chunks, usage, timings,
// `data: [DONE]`). Shared by the server and the chunk-decode micro-benchmark, so the benchmark
// decodes exactly the bytes the server streams.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace null_reply {

constexpr const char* k_model = "null.gguf";
constexpr const char* k_build = "null-server";

/// Splits `text` into pieces of about `bytes` bytes, never inside a UTF-8 sequence: the
/// "tokens" streamed one per chunk.
std::vector<std::string> split_pieces(const std::string& text, std::size_t bytes);

/// What one request is answered with, after max_tokens.
struct Answer
{
    std::string id;
    std::int64_t created = 0;
    std::vector<std::string> reasoning;
    std::vector<std::string> content;
    std::string finish_reason;
    std::int64_t prompt_tokens = 0;
    double latency_ms = 0;

    [[nodiscard]] std::int64_t completion_tokens() const
    {
        return static_cast<std::int64_t>(reasoning.size() + content.size());
    }
};

/// The SSE events of a streamed answer, in llama-server's order: role, reasoning deltas,
/// content deltas, the finish chunk, the usage chunk (with timings), [DONE].
std::vector<std::string> stream_events(const Answer& answer, bool include_usage);

/// The body of a non-streamed answer (`chat.completion`).
std::string completion_body(const Answer& answer);

} // namespace null_reply
