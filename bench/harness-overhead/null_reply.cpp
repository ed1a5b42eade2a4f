#include "null_reply.hpp"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

namespace null_reply {
namespace {

using Json = nlohmann::json;

Json usage_json(const Answer& answer)
{
    return Json{{"completion_tokens", answer.completion_tokens()},
                {"prompt_tokens", answer.prompt_tokens},
                {"total_tokens", answer.prompt_tokens + answer.completion_tokens()},
                {"prompt_tokens_details", {{"cached_tokens", 0}}}};
}

/// llama-server's timings object; the latency is split 10% prompt, 90% generation.
Json timings_json(const Answer& answer)
{
    const double prompt_ms = answer.latency_ms * 0.1;
    const double predicted_ms = answer.latency_ms * 0.9;
    const auto prompt_n = static_cast<double>(answer.prompt_tokens);
    const auto predicted_n = static_cast<double>(answer.completion_tokens());
    auto per_second = [](double n, double ms) -> Json {
        return ms > 0 ? Json(n * 1000.0 / ms) : Json(nullptr);
    };
    auto per_token = [](double n, double ms) -> Json { return n > 0 ? Json(ms / n) : Json(0.0); };
    return Json{{"cache_n", 0},
                {"prompt_n", answer.prompt_tokens},
                {"prompt_ms", prompt_ms},
                {"prompt_per_token_ms", per_token(prompt_n, prompt_ms)},
                {"prompt_per_second", per_second(prompt_n, prompt_ms)},
                {"predicted_n", answer.completion_tokens()},
                {"predicted_ms", predicted_ms},
                {"predicted_per_token_ms", per_token(predicted_n, predicted_ms)},
                {"predicted_per_second", per_second(predicted_n, predicted_ms)}};
}

Json chunk_json(const Answer& answer, Json choices)
{
    return Json{{"choices", std::move(choices)},
                {"created", answer.created},
                {"id", answer.id},
                {"model", k_model},
                {"system_fingerprint", k_build},
                {"object", "chat.completion.chunk"}};
}

Json delta_choice(Json delta, Json finish_reason = nullptr)
{
    return Json::array({Json{
        {"finish_reason", std::move(finish_reason)}, {"index", 0}, {"delta", std::move(delta)}}});
}

} // namespace

/// Splits `text` into pieces of about `bytes` bytes, never inside a UTF-8 sequence: the
/// "tokens" streamed one per chunk.
std::vector<std::string> split_pieces(const std::string& text, std::size_t bytes)
{
    std::vector<std::string> pieces;
    std::size_t at = 0;
    while (at < text.size()) {
        std::size_t end = std::min(text.size(), at + bytes);
        while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0U) == 0x80U) {
            ++end;
        }
        pieces.push_back(text.substr(at, end - at));
        at = end;
    }
    return pieces;
}

/// The SSE events of a streamed answer, in llama-server's order: role, reasoning deltas,
/// content deltas, the finish chunk, the usage chunk (with timings), [DONE].
std::vector<std::string> stream_events(const Answer& answer, bool include_usage)
{
    std::vector<std::string> events;
    auto add = [&events](const Json& chunk) { events.push_back("data: " + chunk.dump() + "\n\n"); };
    add(chunk_json(answer, delta_choice(Json{{"role", "assistant"}, {"content", nullptr}})));
    for (const auto& piece : answer.reasoning) {
        add(chunk_json(answer, delta_choice(Json{{"reasoning_content", piece}})));
    }
    for (const auto& piece : answer.content) {
        add(chunk_json(answer, delta_choice(Json{{"content", piece}})));
    }
    Json finish = chunk_json(answer, delta_choice(Json::object(), answer.finish_reason));
    if (!include_usage) {
        finish["timings"] = timings_json(answer); // llama-server still sends its timings
    }
    add(finish);
    if (include_usage) {
        Json usage = chunk_json(answer, Json::array());
        usage["usage"] = usage_json(answer);
        usage["timings"] = timings_json(answer);
        add(usage);
    }
    events.emplace_back("data: [DONE]\n\n");
    return events;
}

std::string completion_body(const Answer& answer)
{
    Json message{{"role", "assistant"}, {"content", ""}};
    std::string content;
    for (const auto& piece : answer.content) {
        content += piece;
    }
    message["content"] = content;
    if (!answer.reasoning.empty()) {
        std::string reasoning;
        for (const auto& piece : answer.reasoning) {
            reasoning += piece;
        }
        message["reasoning_content"] = reasoning;
    }
    const Json body{{"choices", Json::array({Json{{"finish_reason", answer.finish_reason},
                                                  {"index", 0},
                                                  {"message", message}}})},
                    {"created", answer.created},
                    {"model", k_model},
                    {"system_fingerprint", k_build},
                    {"object", "chat.completion"},
                    {"usage", usage_json(answer)},
                    {"id", answer.id},
                    {"timings", timings_json(answer)}};
    return body.dump();
}

} // namespace null_reply
