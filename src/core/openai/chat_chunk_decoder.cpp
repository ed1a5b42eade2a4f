#include "core/openai/chat_chunk_decoder.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "core/openai/chat_codec.hpp"

namespace gpumod::openai {
namespace {

namespace od = simdjson::ondemand;

// Every reader here returns false for "not handled": the caller then gives the whole payload to
// the reference decoder, which produces the chunk or the error message. A reader therefore never
// has to get an unusual input right, only the inputs it accepts, and those must be valid JSON as
// nlohmann reads it. That is why values the chunk does not use are walked (skip_value) instead of
// being skipped by simdjson, which checks only their brackets, and why a key the chunk uses may
// appear once per object (nlohmann keeps the last of duplicates, a single pass sees the first).

constexpr auto k_ok = simdjson::SUCCESS;

// A chunk nests four levels deep; the walk is recursive, so it stops well before the stack does.
constexpr int k_max_depth = 32;

/// Which of an object's keys of interest were seen, to refuse duplicates.
class SeenKeys
{
  public:
    /// False when `key` (a small index) was seen before.
    bool first_time(unsigned key)
    {
        const std::uint32_t bit = std::uint32_t{1} << key;
        if ((m_seen & bit) != 0) {
            return false;
        }
        m_seen |= bit;
        return true;
    }

    [[nodiscard]] bool seen(unsigned key) const { return (m_seen & (std::uint32_t{1} << key)) != 0; }

  private:
    std::uint32_t m_seen = 0;
};

bool is_null_literal(od::value& node)
{
    bool null = false;
    return node.is_null().get(null) == k_ok && null;
}

bool type_of(od::value& node, od::json_type& type)
{
    return node.type().get(type) == k_ok;
}

/// True for a non-integer number literal with more than 18 mantissa digits (leading zeros
/// included). simdjson 3.0.1 (Debian 12) misreads most of those in get_number():
/// "1.000000000000000000" comes back as 0. Up to 18 digits it agrees with strtod (checked on
/// 400,000 random literals); integers are exact or an error. A server writes at most 17
/// significant digits, so these go to the reference decoder rather than being worked around.
bool has_long_fraction(od::value& node)
{
    int digits = 0;
    bool integer = true;
    for (const char c : node.raw_json_token()) {
        if (c >= '0' && c <= '9') {
            ++digits;
        } else if (c == '.') {
            integer = false;
        } else if (c == 'e' || c == 'E') {
            integer = false;
            break; // exponent digits do not count
        } else if (c != '-') {
            break; // the end of the token
        }
    }
    return !integer && digits > 18;
}

/// Reads a value the chunk does not use, checking it as nlohmann's parser would: every key and
/// string unescaped, every number and literal parsed.
bool skip_value(od::value node, int depth)
{
    od::json_type type{};
    if (depth > k_max_depth || !type_of(node, type)) {
        return false;
    }
    switch (type) {
    case od::json_type::object: {
        od::object object;
        if (node.get_object().get(object) != k_ok) {
            return false;
        }
        for (auto field : object) {
            std::string_view key;
            od::value member;
            if (field.unescaped_key().get(key) != k_ok || field.value().get(member) != k_ok ||
                !skip_value(member, depth + 1)) {
                return false;
            }
        }
        return true;
    }
    case od::json_type::array: {
        od::array array;
        if (node.get_array().get(array) != k_ok) {
            return false;
        }
        for (auto element : array) {
            od::value item;
            if (element.get(item) != k_ok || !skip_value(item, depth + 1)) {
                return false;
            }
        }
        return true;
    }
    case od::json_type::string: {
        std::string_view text;
        return node.get_string().get(text) == k_ok;
    }
    case od::json_type::number: {
        od::number number;
        return !has_long_fraction(node) && node.get_number().get(number) == k_ok;
    }
    case od::json_type::boolean: {
        bool flag = false;
        return node.get_bool().get(flag) == k_ok;
    }
    case od::json_type::null:
        return is_null_literal(node);
    }
    return false;
}

/// A string, or null (nullopt). Other types are the reference decoder's to report.
bool read_nullable_string(od::value& node, std::optional<std::string>& out)
{
    od::json_type type{};
    if (!type_of(node, type)) {
        return false;
    }
    if (type == od::json_type::null) {
        out.reset();
        return is_null_literal(node);
    }
    std::string_view text;
    if (type != od::json_type::string || node.get_string().get(text) != k_ok) {
        return false;
    }
    out.emplace(text);
    return true;
}

/// An integer in int64 range, as nlohmann's is_number_integer plus the range check: "1.0",
/// "1e2" and integers past INT64_MAX are not.
bool read_integer(od::value& node, std::int64_t& out)
{
    return node.get_int64().get(out) == k_ok;
}

bool read_nullable_integer(od::value& node, std::optional<std::int64_t>& out)
{
    od::json_type type{};
    if (!type_of(node, type)) {
        return false;
    }
    if (type == od::json_type::null) {
        out.reset();
        return is_null_literal(node);
    }
    std::int64_t value = 0;
    if (!read_integer(node, value)) {
        return false;
    }
    out = value;
    return true;
}

/// Any number as a double, converted the way nlohmann's get<double>() does: an integer literal
/// is read as an integer first (so "-0" gives +0.0, as it does there).
bool read_number(od::value& node, double& out)
{
    od::number number;
    if (has_long_fraction(node) || node.get_number().get(number) != k_ok) {
        return false;
    }
    switch (number.get_number_type()) {
    case od::number_type::signed_integer:
        out = static_cast<double>(number.get_int64());
        return true;
    case od::number_type::unsigned_integer:
        out = static_cast<double>(number.get_uint64());
        return true;
    case od::number_type::floating_point_number:
        out = number.get_double();
        return true;
    }
    return false;
}

bool read_nullable_number(od::value& node, std::optional<double>& out)
{
    od::json_type type{};
    if (!type_of(node, type)) {
        return false;
    }
    if (type == od::json_type::null) {
        out.reset();
        return is_null_literal(node);
    }
    double value = 0;
    if (!read_number(node, value)) {
        return false;
    }
    out = value;
    return true;
}

/// The object's fields, or false when `node` is not an object.
bool open_object(od::value& node, od::object& object)
{
    return node.get_object().get(object) == k_ok;
}

/// choices[0].delta: null, or an object with content and reasoning_content.
bool decode_delta(od::value& node, ChatChunk& chunk, int depth)
{
    od::json_type type{};
    if (!type_of(node, type)) {
        return false;
    }
    if (type == od::json_type::null) {
        return is_null_literal(node);
    }
    od::object object;
    if (type != od::json_type::object || !open_object(node, object)) {
        return false;
    }
    enum : unsigned { content, reasoning_content };
    SeenKeys seen;
    for (auto field : object) {
        std::string_view key;
        od::value member;
        if (field.unescaped_key().get(key) != k_ok || field.value().get(member) != k_ok) {
            return false;
        }
        bool handled = false;
        if (key == "content") {
            std::optional<std::string> text;
            handled = seen.first_time(content) && read_nullable_string(member, text);
            chunk.content = std::move(text).value_or("");
        } else if (key == "reasoning_content") {
            handled = seen.first_time(reasoning_content) &&
                      read_nullable_string(member, chunk.reasoning_content);
        } else {
            handled = skip_value(member, depth + 1);
        }
        if (!handled) {
            return false;
        }
    }
    return true;
}

/// choices[0]: an object with delta and finish_reason.
bool decode_choice(od::value& node, ChatChunk& chunk, int depth)
{
    od::object object;
    if (!open_object(node, object)) {
        return false;
    }
    enum : unsigned { delta, finish_reason };
    SeenKeys seen;
    for (auto field : object) {
        std::string_view key;
        od::value member;
        if (field.unescaped_key().get(key) != k_ok || field.value().get(member) != k_ok) {
            return false;
        }
        bool handled = false;
        if (key == "delta") {
            handled = seen.first_time(delta) && decode_delta(member, chunk, depth + 1);
        } else if (key == "finish_reason") {
            handled = seen.first_time(finish_reason) &&
                      read_nullable_string(member, chunk.finish_reason);
        } else {
            handled = skip_value(member, depth + 1);
        }
        if (!handled) {
            return false;
        }
    }
    return true;
}

/// `choices`: an array whose first element, if any, is the choice; the rest are only checked.
bool decode_choices(od::value& node, ChatChunk& chunk, int depth)
{
    od::array array;
    if (node.get_array().get(array) != k_ok) {
        return false;
    }
    bool first = true;
    for (auto element : array) {
        od::value item;
        if (element.get(item) != k_ok) {
            return false;
        }
        const bool handled =
            first ? decode_choice(item, chunk, depth + 1) : skip_value(item, depth + 1);
        if (!handled) {
            return false;
        }
        first = false;
    }
    return true;
}

/// usage.prompt_tokens_details: null, or an object with cached_tokens.
bool decode_prompt_details(od::value& node, Usage& usage, int depth)
{
    od::json_type type{};
    if (!type_of(node, type)) {
        return false;
    }
    if (type == od::json_type::null) {
        return is_null_literal(node);
    }
    od::object object;
    if (type != od::json_type::object || !open_object(node, object)) {
        return false;
    }
    SeenKeys seen;
    for (auto field : object) {
        std::string_view key;
        od::value member;
        if (field.unescaped_key().get(key) != k_ok || field.value().get(member) != k_ok) {
            return false;
        }
        const bool handled = key == "cached_tokens"
                                 ? seen.first_time(0) &&
                                       read_nullable_integer(member, usage.cached_tokens)
                                 : skip_value(member, depth + 1);
        if (!handled) {
            return false;
        }
    }
    return true;
}

/// `usage`: null, or an object with the three token counts (all required).
bool decode_usage(od::value& node, std::optional<Usage>& out, int depth)
{
    od::json_type type{};
    if (!type_of(node, type)) {
        return false;
    }
    if (type == od::json_type::null) {
        return is_null_literal(node);
    }
    od::object object;
    if (type != od::json_type::object || !open_object(node, object)) {
        return false;
    }
    enum : unsigned { prompt, completion, total, details };
    Usage usage;
    SeenKeys seen;
    for (auto field : object) {
        std::string_view key;
        od::value member;
        if (field.unescaped_key().get(key) != k_ok || field.value().get(member) != k_ok) {
            return false;
        }
        bool handled = false;
        if (key == "prompt_tokens") {
            handled = seen.first_time(prompt) && read_integer(member, usage.prompt_tokens);
        } else if (key == "completion_tokens") {
            handled = seen.first_time(completion) && read_integer(member, usage.completion_tokens);
        } else if (key == "total_tokens") {
            handled = seen.first_time(total) && read_integer(member, usage.total_tokens);
        } else if (key == "prompt_tokens_details") {
            handled = seen.first_time(details) && decode_prompt_details(member, usage, depth + 1);
        } else {
            handled = skip_value(member, depth + 1);
        }
        if (!handled) {
            return false;
        }
    }
    if (!seen.seen(prompt) || !seen.seen(completion) || !seen.seen(total)) {
        return false;
    }
    out = usage;
    return true;
}

/// llama-server's `timings`: null, or an object with its counts and times.
bool decode_timings(od::value& node, std::optional<Timings>& out, int depth)
{
    od::json_type type{};
    if (!type_of(node, type)) {
        return false;
    }
    if (type == od::json_type::null) {
        return is_null_literal(node);
    }
    od::object object;
    if (type != od::json_type::object || !open_object(node, object)) {
        return false;
    }
    // The first seven are required (the per-second ones may be null), the drafts optional.
    enum : unsigned {
        cache_n,
        prompt_n,
        predicted_n,
        prompt_ms,
        predicted_ms,
        prompt_per_second,
        predicted_per_second,
        draft_n,
        draft_n_accepted,
    };
    Timings timings;
    SeenKeys seen;
    for (auto field : object) {
        std::string_view key;
        od::value member;
        if (field.unescaped_key().get(key) != k_ok || field.value().get(member) != k_ok) {
            return false;
        }
        bool handled = false;
        if (key == "cache_n") {
            handled = seen.first_time(cache_n) && read_integer(member, timings.cache_n);
        } else if (key == "prompt_n") {
            handled = seen.first_time(prompt_n) && read_integer(member, timings.prompt_n);
        } else if (key == "predicted_n") {
            handled = seen.first_time(predicted_n) && read_integer(member, timings.predicted_n);
        } else if (key == "prompt_ms") {
            handled = seen.first_time(prompt_ms) && read_number(member, timings.prompt_ms);
        } else if (key == "predicted_ms") {
            handled = seen.first_time(predicted_ms) && read_number(member, timings.predicted_ms);
        } else if (key == "prompt_per_second") {
            handled = seen.first_time(prompt_per_second) &&
                      read_nullable_number(member, timings.prompt_per_second);
        } else if (key == "predicted_per_second") {
            handled = seen.first_time(predicted_per_second) &&
                      read_nullable_number(member, timings.predicted_per_second);
        } else if (key == "draft_n") {
            handled = seen.first_time(draft_n) && read_nullable_integer(member, timings.draft_n);
        } else if (key == "draft_n_accepted") {
            handled = seen.first_time(draft_n_accepted) &&
                      read_nullable_integer(member, timings.draft_n_accepted);
        } else {
            handled = skip_value(member, depth + 1);
        }
        if (!handled) {
            return false;
        }
    }
    for (unsigned required = cache_n; required <= predicted_per_second; ++required) {
        if (!seen.seen(required)) {
            return false;
        }
    }
    out = timings;
    return true;
}

/// The whole chunk: a root object with `choices`, no error, and nothing after it.
bool decode_root(od::document& document, ChatChunk& chunk)
{
    od::object root;
    if (document.get_object().get(root) != k_ok) {
        return false;
    }
    enum : unsigned { id, model, choices, usage, timings, error, object };
    constexpr int depth = 1;
    SeenKeys seen;
    for (auto field : root) {
        std::string_view key;
        od::value member;
        if (field.unescaped_key().get(key) != k_ok || field.value().get(member) != k_ok) {
            return false;
        }
        bool handled = false;
        if (key == "id" || key == "model") {
            std::optional<std::string> text;
            const bool is_id = key == "id";
            handled = seen.first_time(is_id ? id : model) && read_nullable_string(member, text);
            (is_id ? chunk.id : chunk.model) = std::move(text).value_or("");
        } else if (key == "choices") {
            handled = seen.first_time(choices) && decode_choices(member, chunk, depth);
        } else if (key == "usage") {
            handled = seen.first_time(usage) && decode_usage(member, chunk.usage, depth);
        } else if (key == "timings") {
            handled = seen.first_time(timings) && decode_timings(member, chunk.timings, depth);
        } else if (key == "error") {
            // A non-null error is a failed stream: the reference decoder words it.
            handled = seen.first_time(error) && is_null_literal(member);
        } else if (key == "object") {
            // vLLM's flat errors say "object":"error"; any other value is only checked.
            od::json_type type{};
            std::string_view text;
            handled = seen.first_time(object) && type_of(member, type) &&
                      (type == od::json_type::string
                           ? member.get_string().get(text) == k_ok && text != "error"
                           : skip_value(member, depth));
        } else {
            handled = skip_value(member, depth);
        }
        if (!handled) {
            return false;
        }
    }
    if (!seen.seen(choices)) {
        return false;
    }
    // Trailing bytes after the object make the payload invalid JSON.
    return document.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

} // namespace

struct ChatChunkDecoder::Impl
{
    od::parser parser;
    /// The payload plus simdjson's padding (it reads up to SIMDJSON_PADDING bytes past the end).
    std::vector<char> buffer;
};

ChatChunkDecoder::ChatChunkDecoder() : m_impl(std::make_unique<Impl>()) {}
ChatChunkDecoder::ChatChunkDecoder(ChatChunkDecoder&&) noexcept = default;
ChatChunkDecoder& ChatChunkDecoder::operator=(ChatChunkDecoder&&) noexcept = default;
ChatChunkDecoder::~ChatChunkDecoder() = default;

std::optional<ChatChunk> ChatChunkDecoder::decode_fast(std::string_view payload)
{
    if (payload.empty()) {
        return std::nullopt;
    }
    if (!m_impl) {
        m_impl = std::make_unique<Impl>(); // a moved-from decoder is usable again
    }
    // Copied into a buffer kept between chunks: a chunk is a few hundred bytes, so the copy costs
    // less than allocating a simdjson::padded_string for each (bench/harness-overhead/results-
    // chunk-decode.md has both).
    std::vector<char>& buffer = m_impl->buffer;
    const std::size_t padded_size = payload.size() + simdjson::SIMDJSON_PADDING;
    if (buffer.size() < padded_size) {
        buffer.resize(padded_size);
    }
    std::memcpy(buffer.data(), payload.data(), payload.size());
    std::memset(buffer.data() + payload.size(), 0, simdjson::SIMDJSON_PADDING);

    od::document document;
    if (m_impl->parser.iterate(buffer.data(), payload.size(), buffer.size()).get(document) !=
        k_ok) {
        return std::nullopt;
    }
    ChatChunk chunk;
    if (!decode_root(document, chunk)) {
        return std::nullopt;
    }
    return chunk;
}

Result<ChatChunk> ChatChunkDecoder::decode(std::string_view payload)
{
    if (auto chunk = decode_fast(payload)) {
        return std::move(*chunk);
    }
    ++m_fallback_count;
    return decode_chat_chunk_reference(payload);
}

} // namespace gpumod::openai
