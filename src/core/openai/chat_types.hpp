#pragma once

// Typed shapes of the OpenAI chat-completions API as llama-server and vLLM speak it, plus
// llama-server's `timings` extension. Plain values; chat_codec.hpp converts them to and from JSON.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gpumod::openai {

/// One turn of a conversation.
struct ChatMessage
{
    std::string role;    ///< "system", "user" or "assistant"
    std::string content; ///< the text; a null content in a response decodes as ""
    /// The model's thinking (llama-server splits it out of `<think>` tags); sent back with
    /// assistant turns when the chat template preserves reasoning.
    std::optional<std::string> reasoning_content;

    bool operator==(const ChatMessage&) const = default;
};

/// POST /v1/chat/completions. Unset optionals are left out of the JSON so the server's own
/// defaults apply (and the recorded request says exactly what was asked for).
struct ChatRequest
{
    std::vector<ChatMessage> messages;
    std::optional<std::string> model; ///< llama-server ignores it; vLLM requires it
    std::optional<std::int64_t> max_tokens;
    std::optional<double> temperature;
    std::optional<double> top_p;
    std::optional<std::int64_t> top_k; ///< llama-server and vLLM extension
    std::optional<double> min_p;       ///< llama-server and vLLM extension
    std::optional<double> presence_penalty;
    std::optional<double> repeat_penalty; ///< llama-server and vLLM extension
    std::optional<std::int64_t> seed;
    std::vector<std::string> stop; ///< stop strings; empty sends none
    bool stream = false;
    /// With `stream`: ask for a final chunk carrying usage (and llama-server's timings).
    bool include_usage = true;
    /// Sent as `chat_template_kwargs.enable_thinking` (Qwen-style templates).
    std::optional<bool> enable_thinking;

    bool operator==(const ChatRequest&) const = default;
};

/// Token counts as the server reports them.
struct Usage
{
    std::int64_t prompt_tokens = 0;
    std::int64_t completion_tokens = 0;
    std::int64_t total_tokens = 0;
    std::optional<std::int64_t> cached_tokens; ///< usage.prompt_tokens_details.cached_tokens

    bool operator==(const Usage&) const = default;
};

/// llama-server's per-request `timings` object (server-side measurements).
struct Timings
{
    std::int64_t cache_n = 0;  ///< prompt tokens reused from the KV cache
    std::int64_t prompt_n = 0; ///< prompt tokens evaluated
    double prompt_ms = 0;      ///< time spent evaluating them
    /// As the server computed it; nullopt when it sent null (it does for a zero duration).
    std::optional<double> prompt_per_second;
    std::int64_t predicted_n = 0; ///< tokens generated
    double predicted_ms = 0;
    std::optional<double> predicted_per_second;   ///< as prompt_per_second
    std::optional<std::int64_t> draft_n;          ///< speculative decoding: tokens drafted
    std::optional<std::int64_t> draft_n_accepted; ///< ... and accepted by the target model

    bool operator==(const Timings&) const = default;
};

/// A whole (non-streamed, or streamed and folded) reply; only choices[0] is kept.
struct ChatCompletion
{
    std::string id;
    std::string model;
    std::string content; ///< "" when the server sent null or nothing
    std::optional<std::string> reasoning_content;
    std::string finish_reason; ///< "stop", "length", ...; "" when the server sent none
    std::optional<Usage> usage;
    std::optional<Timings> timings; ///< llama-server only

    bool operator==(const ChatCompletion&) const = default;
};

/// One streamed `chat.completion.chunk`; only choices[0] is kept.
struct ChatChunk
{
    std::string id;
    std::string model;
    std::string content; ///< this chunk's piece of the content; often ""
    /// This chunk's piece of the reasoning, when the delta carried one.
    std::optional<std::string> reasoning_content;
    std::optional<std::string> finish_reason; ///< set on the chunk that ends the choice
    std::optional<Usage> usage;               ///< on the final chunk with include_usage
    std::optional<Timings> timings;           ///< llama-server, on the same final chunk

    bool operator==(const ChatChunk&) const = default;
};

} // namespace gpumod::openai
