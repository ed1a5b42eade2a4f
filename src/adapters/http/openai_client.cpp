#include "adapters/http/openai_client.hpp"

#include <fmt/format.h>

#include "adapters/posix/clock.hpp"
#include "core/openai/chat_chunk_decoder.hpp"
#include "core/openai/chat_codec.hpp"
#include "core/openai/sse_decoder.hpp"

namespace gpumod::http {
namespace {

constexpr const char* k_chat_path = "/v1/chat/completions";
/// How much of a non-2xx streamed answer is decoded as the error (a proxy may send a big page).
constexpr std::size_t k_max_error_body = 65536;

std::chrono::microseconds since(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration_cast<std::chrono::microseconds>(posix::monotonic_now() - start);
}

} // namespace

Result<ChatExchange> chat(HttpClient& client, openai::ChatRequest request)
{
    request.stream = false;
    const auto start = posix::monotonic_now();
    auto response = client.post_json(k_chat_path, openai::encode_chat_request(request));
    if (!response) {
        return tl::unexpected(response.error());
    }
    ChatExchange exchange;
    exchange.total_time = since(start);
    if (response->status < 200 || response->status >= 300) {
        return tl::unexpected(openai::decode_error_response(response->status, response->body)
                                  .with_context(fmt::format("POST {}{}", client.base_url(),
                                                            k_chat_path)));
    }
    auto completion = openai::decode_chat_completion(response->body);
    if (!completion) {
        return tl::unexpected(completion.error().with_context(
            fmt::format("reply of {}{}", client.base_url(), k_chat_path)));
    }
    exchange.completion = std::move(*completion);
    return exchange;
}

Result<ChatExchange> chat_streaming(HttpClient& client, openai::ChatRequest request)
{
    StreamWatch watch;
    return chat_streaming(client, std::move(request), watch);
}

Result<ChatExchange> chat_streaming(HttpClient& client, openai::ChatRequest request,
                                    StreamWatch& watch)
{
    request.stream = true;
    openai::SseDecoder decoder;
    openai::ChatChunkDecoder chunk_decoder; // one per stream: its buffers are reused per chunk
    openai::ChatAccumulator accumulator;
    std::optional<Error> stream_error;
    ChatExchange exchange;
    bool saw_done = false;
    const auto start = posix::monotonic_now();

    auto sink = [&](std::string_view bytes) {
        if (watch.cancel != nullptr && watch.cancel->load()) {
            watch.cancelled = true;
            return false;
        }
        if (watch.deadline && posix::monotonic_now() > *watch.deadline) {
            watch.deadline_passed = true;
            return false;
        }
        while (const openai::SseEvent* event = decoder.next(bytes)) {
            if (event->done) {
                saw_done = true;
                continue;
            }
            auto chunk = chunk_decoder.decode(event->data);
            if (!chunk) {
                stream_error = chunk.error();
                return false;
            }
            const bool has_token = !chunk->content.empty() ||
                                   (chunk->reasoning_content && !chunk->reasoning_content->empty());
            if (has_token && !exchange.time_to_first_token) {
                exchange.time_to_first_token = since(start);
                watch.token_seen = true;
            }
            accumulator.add(*chunk);
        }
        return true;
    };
    auto response = client.post_json_streaming(k_chat_path, openai::encode_chat_request(request),
                                               sink);
    exchange.total_time = since(start);
    const std::string where = fmt::format("streamed POST {}{}", client.base_url(), k_chat_path);
    if (stream_error) {
        return tl::unexpected(stream_error->with_context(where));
    }
    if (!response) {
        if (watch.cancelled) {
            return fail(fmt::format("{}: cancelled after {} chunks", where,
                                    accumulator.chunk_count()));
        }
        if (watch.deadline_passed) {
            return fail(fmt::format("{}: the reply took longer than the request timeout ({} "
                                    "chunks received)",
                                    where, accumulator.chunk_count()));
        }
        return tl::unexpected(response.error());
    }
    if (response->status < 200 || response->status >= 300) {
        watch.http_status = response->status;
        // The client kept the whole non-2xx body (the sink saw it too); its start is enough.
        const std::string_view error_body =
            std::string_view(response->body).substr(0, k_max_error_body);
        return tl::unexpected(
            openai::decode_error_response(response->status, error_body).with_context(where));
    }
    if (!accumulator.finished()) {
        return fail(fmt::format("{}: the stream ended after {} chunks without a finish_reason{}",
                                where, accumulator.chunk_count(),
                                saw_done ? " (it did send [DONE])" : ""));
    }
    exchange.completion = accumulator.completion();
    exchange.chunks = accumulator.chunk_count();
    return exchange;
}

} // namespace gpumod::http
