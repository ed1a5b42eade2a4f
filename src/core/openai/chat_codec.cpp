#include "core/openai/chat_codec.hpp"

#include "core/openai/chat_chunk_decoder.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace gpumod::openai {
namespace {

using nlohmann::json;

// Error bodies can be whole HTML pages from a proxy; a user needs only the start.
constexpr std::size_t k_max_body_excerpt = 200;

std::string join_path(std::string_view parent, std::string_view key)
{
    return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

tl::unexpected<Error> type_error(std::string_view path, std::string_view expected, const json& got)
{
    return fail(fmt::format("{}: expected {}, got {}", path, expected, got.type_name()));
}

tl::unexpected<Error> missing(std::string_view path)
{
    return fail(fmt::format("{}: missing", path));
}

const json* find(const json& object, std::string_view key)
{
    const auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
}

Result<json> parse(std::string_view text)
{
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        // Drop nlohmann's "[json.exception.parse_error.101] " tag; the rest says where and why.
        std::string_view what = e.what();
        if (const auto tag_end = what.find("] "); tag_end != std::string_view::npos) {
            what.remove_prefix(tag_end + 2);
        }
        return fail(fmt::format("invalid JSON: {}", what));
    }
}

/// Absent or null: nullopt.
Result<std::optional<std::string>> optional_string(const json& object, std::string_view path,
                                                   std::string_view key)
{
    const json* value = find(object, key);
    if (value == nullptr || value->is_null()) {
        return std::nullopt;
    }
    if (!value->is_string()) {
        return type_error(join_path(path, key), "string", *value);
    }
    return value->get<std::string>();
}

Result<std::optional<std::int64_t>> optional_integer(const json& object, std::string_view path,
                                                     std::string_view key)
{
    const json* value = find(object, key);
    if (value == nullptr || value->is_null()) {
        return std::nullopt;
    }
    if (!value->is_number_integer()) {
        return type_error(join_path(path, key), "integer", *value);
    }
    if (value->is_number_unsigned() &&
        value->get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return fail(fmt::format("{}: integer out of range", join_path(path, key)));
    }
    return value->get<std::int64_t>();
}

Result<std::int64_t> required_integer(const json& object, std::string_view path,
                                      std::string_view key)
{
    if (find(object, key) == nullptr) {
        return missing(join_path(path, key));
    }
    auto value = optional_integer(object, path, key);
    if (!value) {
        return tl::unexpected(value.error());
    }
    if (!*value) {
        return type_error(join_path(path, key), "integer", json(nullptr));
    }
    return **value;
}

/// Present and a number, or present and null (nullopt).
Result<std::optional<double>> nullable_number(const json& object, std::string_view path,
                                              std::string_view key)
{
    const json* value = find(object, key);
    if (value == nullptr) {
        return missing(join_path(path, key));
    }
    if (value->is_null()) {
        return std::nullopt;
    }
    if (!value->is_number()) {
        return type_error(join_path(path, key), "number", *value);
    }
    return value->get<double>();
}

Result<double> required_number(const json& object, std::string_view path, std::string_view key)
{
    auto value = nullable_number(object, path, key);
    if (!value) {
        return tl::unexpected(value.error());
    }
    if (!*value) {
        return type_error(join_path(path, key), "number", json(nullptr));
    }
    return **value;
}

/// Absent or null: nullptr.
Result<const json*> optional_object(const json& object, std::string_view path, std::string_view key)
{
    const json* value = find(object, key);
    if (value == nullptr || value->is_null()) {
        return nullptr;
    }
    if (!value->is_object()) {
        return type_error(join_path(path, key), "object", *value);
    }
    return value;
}

Result<const json*> required_object(const json& object, std::string_view path, std::string_view key)
{
    const json* value = find(object, key);
    if (value == nullptr) {
        return missing(join_path(path, key));
    }
    if (!value->is_object()) {
        return type_error(join_path(path, key), "object", *value);
    }
    return value;
}

Result<Usage> decode_usage(const json& object, std::string_view path)
{
    Usage usage;
    auto prompt = required_integer(object, path, "prompt_tokens");
    if (!prompt) {
        return tl::unexpected(prompt.error());
    }
    auto completion = required_integer(object, path, "completion_tokens");
    if (!completion) {
        return tl::unexpected(completion.error());
    }
    auto total = required_integer(object, path, "total_tokens");
    if (!total) {
        return tl::unexpected(total.error());
    }
    usage.prompt_tokens = *prompt;
    usage.completion_tokens = *completion;
    usage.total_tokens = *total;

    const std::string details_path = join_path(path, "prompt_tokens_details");
    auto details = optional_object(object, path, "prompt_tokens_details");
    if (!details) {
        return tl::unexpected(details.error());
    }
    if (*details != nullptr) {
        auto cached = optional_integer(**details, details_path, "cached_tokens");
        if (!cached) {
            return tl::unexpected(cached.error());
        }
        usage.cached_tokens = *cached;
    }
    return usage;
}

Result<Timings> decode_timings(const json& object, std::string_view path)
{
    Timings timings;
    for (auto [key, field] :
         {std::pair{"cache_n", &Timings::cache_n}, std::pair{"prompt_n", &Timings::prompt_n},
          std::pair{"predicted_n", &Timings::predicted_n}}) {
        auto value = required_integer(object, path, key);
        if (!value) {
            return tl::unexpected(value.error());
        }
        timings.*field = *value;
    }
    for (auto [key, field] : {std::pair{"prompt_ms", &Timings::prompt_ms},
                              std::pair{"predicted_ms", &Timings::predicted_ms}}) {
        auto value = required_number(object, path, key);
        if (!value) {
            return tl::unexpected(value.error());
        }
        timings.*field = *value;
    }
    for (auto [key, field] : {std::pair{"prompt_per_second", &Timings::prompt_per_second},
                              std::pair{"predicted_per_second", &Timings::predicted_per_second}}) {
        auto value = nullable_number(object, path, key);
        if (!value) {
            return tl::unexpected(value.error());
        }
        timings.*field = *value;
    }
    for (auto [key, field] : {std::pair{"draft_n", &Timings::draft_n},
                              std::pair{"draft_n_accepted", &Timings::draft_n_accepted}}) {
        auto value = optional_integer(object, path, key);
        if (!value) {
            return tl::unexpected(value.error());
        }
        timings.*field = *value;
    }
    return timings;
}

/// usage and timings sit at the top level of both full responses and the final stream chunk.
Status decode_usage_and_timings(const json& root, std::optional<Usage>& usage,
                                std::optional<Timings>& timings)
{
    auto usage_object = optional_object(root, "", "usage");
    if (!usage_object) {
        return tl::unexpected(usage_object.error());
    }
    if (*usage_object != nullptr) {
        auto decoded = decode_usage(**usage_object, "usage");
        if (!decoded) {
            return tl::unexpected(decoded.error());
        }
        usage = *decoded;
    }
    auto timings_object = optional_object(root, "", "timings");
    if (!timings_object) {
        return tl::unexpected(timings_object.error());
    }
    if (*timings_object != nullptr) {
        auto decoded = decode_timings(**timings_object, "timings");
        if (!decoded) {
            return tl::unexpected(decoded.error());
        }
        timings = *decoded;
    }
    return {};
}

/// id and model are informative; a server that leaves them out still gave a usable reply.
Status decode_id_and_model(const json& root, std::string& id, std::string& model)
{
    auto id_value = optional_string(root, "", "id");
    if (!id_value) {
        return tl::unexpected(id_value.error());
    }
    auto model_value = optional_string(root, "", "model");
    if (!model_value) {
        return tl::unexpected(model_value.error());
    }
    id = id_value->value_or("");
    model = model_value->value_or("");
    return {};
}

/// `choices` as an array; required in both shapes.
Result<const json*> decode_choices(const json& root)
{
    const json* choices = find(root, "choices");
    if (choices == nullptr) {
        return missing("choices");
    }
    if (!choices->is_array()) {
        return type_error("choices", "array", *choices);
    }
    if (!choices->empty() && !(*choices)[0].is_object()) {
        return type_error("choices[0]", "object", (*choices)[0]);
    }
    return choices;
}

/// "message (type)" from an OpenAI error object, or the object's JSON when it has no message.
std::string describe_error_object(const json& error)
{
    if (error.is_string()) {
        return error.get<std::string>();
    }
    if (!error.is_object()) {
        return error.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    const json* message = find(error, "message");
    const json* type = find(error, "type");
    std::string text = message != nullptr && message->is_string()
                           ? message->get<std::string>()
                           : error.dump(-1, ' ', false, json::error_handler_t::replace);
    if (type != nullptr && type->is_string() && !type->get<std::string>().empty()) {
        text += fmt::format(" ({})", type->get<std::string>());
    }
    return text;
}

/// The OpenAI error inside a parsed body: llama-server nests it under "error", vLLM puts
/// "message" at the top level next to "object":"error".
std::optional<std::string> find_error(const json& root)
{
    if (!root.is_object()) {
        return std::nullopt;
    }
    if (const json* error = find(root, "error"); error != nullptr && !error->is_null()) {
        return describe_error_object(*error);
    }
    const json* object = find(root, "object");
    if (object != nullptr && *object == "error") {
        return describe_error_object(root);
    }
    return std::nullopt;
}

Result<json> parse_object(std::string_view text)
{
    auto root = parse(text);
    if (!root) {
        return root;
    }
    if (!root->is_object()) {
        return type_error("(root)", "object", *root);
    }
    if (auto error = find_error(*root)) {
        return fail(fmt::format("server reported an error: {}", *error));
    }
    return root;
}

} // namespace

std::string encode_chat_request(const ChatRequest& request)
{
    json body = json::object();
    json messages = json::array();
    for (const ChatMessage& message : request.messages) {
        json entry = {{"role", message.role}, {"content", message.content}};
        if (message.reasoning_content) {
            entry["reasoning_content"] = *message.reasoning_content;
        }
        messages.push_back(std::move(entry));
    }
    body["messages"] = std::move(messages);
    if (request.model) {
        body["model"] = *request.model;
    }
    if (request.max_tokens) {
        body["max_tokens"] = *request.max_tokens;
    }
    if (request.temperature) {
        body["temperature"] = *request.temperature;
    }
    if (request.top_p) {
        body["top_p"] = *request.top_p;
    }
    if (request.top_k) {
        body["top_k"] = *request.top_k;
    }
    if (request.min_p) {
        body["min_p"] = *request.min_p;
    }
    if (request.presence_penalty) {
        body["presence_penalty"] = *request.presence_penalty;
    }
    if (request.repeat_penalty) {
        body["repeat_penalty"] = *request.repeat_penalty;
    }
    if (request.seed) {
        body["seed"] = *request.seed;
    }
    if (!request.stop.empty()) {
        body["stop"] = request.stop;
    }
    body["stream"] = request.stream;
    if (request.stream && request.include_usage) {
        body["stream_options"] = {{"include_usage", true}};
    }
    if (request.enable_thinking) {
        body["chat_template_kwargs"] = {{"enable_thinking", *request.enable_thinking}};
    }
    // replace: a prompt with broken UTF-8 (e.g. from a file) must not throw here.
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<ChatCompletion> decode_chat_completion(std::string_view body)
{
    auto root = parse_object(body);
    if (!root) {
        return tl::unexpected(root.error());
    }
    ChatCompletion completion;
    if (auto status = decode_id_and_model(*root, completion.id, completion.model); !status) {
        return tl::unexpected(status.error());
    }
    auto choices = decode_choices(*root);
    if (!choices) {
        return tl::unexpected(choices.error());
    }
    if ((*choices)->empty()) {
        return fail("choices: expected at least one choice, got an empty array");
    }
    const json& choice = (**choices)[0];
    const std::string choice_path = "choices[0]";

    auto message = required_object(choice, choice_path, "message");
    if (!message) {
        return tl::unexpected(message.error());
    }
    const std::string message_path = join_path(choice_path, "message");
    auto content = optional_string(**message, message_path, "content");
    if (!content) {
        return tl::unexpected(content.error());
    }
    completion.content = content->value_or("");
    auto reasoning = optional_string(**message, message_path, "reasoning_content");
    if (!reasoning) {
        return tl::unexpected(reasoning.error());
    }
    completion.reasoning_content = *reasoning;

    if (find(choice, "finish_reason") == nullptr) {
        return missing(join_path(choice_path, "finish_reason"));
    }
    auto finish_reason = optional_string(choice, choice_path, "finish_reason");
    if (!finish_reason) {
        return tl::unexpected(finish_reason.error());
    }
    completion.finish_reason = finish_reason->value_or("");

    if (auto status = decode_usage_and_timings(*root, completion.usage, completion.timings);
        !status) {
        return tl::unexpected(status.error());
    }
    return completion;
}

Result<ChatChunk> decode_chat_chunk(std::string_view payload)
{
    ChatChunkDecoder decoder;
    return decoder.decode(payload);
}

Result<ChatChunk> decode_chat_chunk_reference(std::string_view payload)
{
    auto root = parse_object(payload);
    if (!root) {
        return tl::unexpected(root.error());
    }
    ChatChunk chunk;
    if (auto status = decode_id_and_model(*root, chunk.id, chunk.model); !status) {
        return tl::unexpected(status.error());
    }
    auto choices = decode_choices(*root);
    if (!choices) {
        return tl::unexpected(choices.error());
    }
    if (!(*choices)->empty()) {
        const json& choice = (**choices)[0];
        const std::string choice_path = "choices[0]";
        auto delta = optional_object(choice, choice_path, "delta");
        if (!delta) {
            return tl::unexpected(delta.error());
        }
        if (*delta != nullptr) {
            const std::string delta_path = join_path(choice_path, "delta");
            auto content = optional_string(**delta, delta_path, "content");
            if (!content) {
                return tl::unexpected(content.error());
            }
            chunk.content = content->value_or("");
            auto reasoning = optional_string(**delta, delta_path, "reasoning_content");
            if (!reasoning) {
                return tl::unexpected(reasoning.error());
            }
            chunk.reasoning_content = *reasoning;
        }
        auto finish_reason = optional_string(choice, choice_path, "finish_reason");
        if (!finish_reason) {
            return tl::unexpected(finish_reason.error());
        }
        chunk.finish_reason = *finish_reason;
    }
    if (auto status = decode_usage_and_timings(*root, chunk.usage, chunk.timings); !status) {
        return tl::unexpected(status.error());
    }
    return chunk;
}

Error decode_error_response(int http_status, std::string_view body)
{
    const std::string prefix = fmt::format("server returned HTTP {}", http_status);
    if (auto root = parse(body)) {
        if (auto error = find_error(*root)) {
            return Error{fmt::format("{}: {}", prefix, *error)};
        }
    }
    if (body.empty()) {
        return Error{prefix + " with an empty body"};
    }
    if (body.size() > k_max_body_excerpt) {
        return Error{fmt::format("{}: {}...", prefix, body.substr(0, k_max_body_excerpt))};
    }
    return Error{fmt::format("{}: {}", prefix, body)};
}

void ChatAccumulator::add(const ChatChunk& chunk)
{
    ++m_chunk_count;
    if (m_completion.id.empty()) {
        m_completion.id = chunk.id;
    }
    if (m_completion.model.empty()) {
        m_completion.model = chunk.model;
    }
    m_completion.content += chunk.content;
    if (chunk.reasoning_content) {
        if (!m_completion.reasoning_content) {
            m_completion.reasoning_content.emplace();
        }
        *m_completion.reasoning_content += *chunk.reasoning_content;
    }
    if (chunk.finish_reason && !chunk.finish_reason->empty()) {
        m_completion.finish_reason = *chunk.finish_reason;
    }
    if (chunk.usage) {
        m_completion.usage = chunk.usage;
    }
    if (chunk.timings) {
        m_completion.timings = chunk.timings;
    }
}

} // namespace gpumod::openai
