#include "core/openai/chat_chunk_decoder.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "core/openai/chat_codec.hpp"
#include "core/openai/sse_decoder.hpp"

namespace gpumod::openai {
namespace {

// The fast path must give what the nlohmann path gives, for every input: the same chunk (doubles
// compared bit for bit, so -0.0 and +0.0 differ) or the same error message.

bool same_bits(double a, double b)
{
    return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

bool same_bits(const std::optional<double>& a, const std::optional<double>& b)
{
    return a.has_value() == b.has_value() && (!a || same_bits(*a, *b));
}

bool identical(const ChatChunk& a, const ChatChunk& b)
{
    if (!(a == b)) {
        return false;
    }
    if (!a.timings) {
        return true;
    }
    const Timings& x = *a.timings;
    const Timings& y = *b.timings;
    return same_bits(x.prompt_ms, y.prompt_ms) && same_bits(x.predicted_ms, y.predicted_ms) &&
           same_bits(x.prompt_per_second, y.prompt_per_second) &&
           same_bits(x.predicted_per_second, y.predicted_per_second);
}

/// Empty when both paths agree; else what differs.
std::string difference(ChatChunkDecoder& decoder, std::string_view payload)
{
    const auto fast = decoder.decode(payload);
    const auto reference = decode_chat_chunk_reference(payload);
    if (fast.has_value() != reference.has_value()) {
        return fmt::format("fast {} but reference {}",
                           fast ? "decoded" : "failed: " + fast.error().message,
                           reference ? "decoded" : "failed: " + reference.error().message);
    }
    if (!fast) {
        return fast.error().message == reference.error().message
                   ? std::string()
                   : fmt::format("messages differ: '{}' vs '{}'", fast.error().message,
                                 reference.error().message);
    }
    return identical(*fast, *reference) ? std::string() : "the chunks differ";
}

std::string read_fixture(const std::string& name)
{
    std::ifstream in(std::string(GPUMOD_FIXTURES_DIR) + "/llama-server/" + name, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// A chunk the fast path must decode itself (and agree with the reference on).
ChatChunk decode_on_fast_path(std::string_view payload)
{
    ChatChunkDecoder decoder;
    const auto fast = decoder.decode_fast(payload);
    EXPECT_TRUE(fast.has_value()) << "fell back: " << payload;
    EXPECT_EQ(difference(decoder, payload), "") << payload;
    return fast.value_or(ChatChunk{});
}

/// A payload the fast path must leave to the reference decoder (and agree with it).
void expect_fallback(std::string_view payload)
{
    ChatChunkDecoder decoder;
    EXPECT_FALSE(decoder.decode_fast(payload).has_value()) << payload;
    EXPECT_EQ(difference(decoder, payload), "") << payload;
    EXPECT_EQ(decoder.fallback_count(), 1U) << payload;
}

TEST(ChatChunkDecoder, RecordedLlamaServerStreamTakesOnlyTheFastPath)
{
    SseDecoder sse;
    ChatChunkDecoder decoder;
    std::size_t chunks = 0;
    for (const SseEvent& event : sse.feed(read_fixture("chat-stream.txt"))) {
        if (event.done) {
            continue;
        }
        EXPECT_EQ(difference(decoder, event.data), "") << event.data;
        ++chunks;
    }
    EXPECT_EQ(chunks, 10U);
    EXPECT_EQ(decoder.fallback_count(), 0U);
}

TEST(ChatChunkDecoder, ReadsContentReasoningAndFinishReason)
{
    const ChatChunk role = decode_on_fast_path(
        R"({"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1,"id":"c1","model":"m","object":"chat.completion.chunk"})");
    EXPECT_EQ(role.id, "c1");
    EXPECT_EQ(role.model, "m");
    EXPECT_EQ(role.content, "");
    EXPECT_FALSE(role.reasoning_content.has_value());
    EXPECT_FALSE(role.finish_reason.has_value());

    const ChatChunk thinking =
        decode_on_fast_path(R"({"choices":[{"delta":{"reasoning_content":"Let"}}]})");
    EXPECT_EQ(thinking.reasoning_content, "Let");
    EXPECT_EQ(thinking.id, "");

    const ChatChunk both = decode_on_fast_path(
        R"({"choices":[{"delta":{"content":"A","reasoning_content":null},"finish_reason":"stop"}]})");
    EXPECT_EQ(both.content, "A");
    EXPECT_FALSE(both.reasoning_content.has_value());
    EXPECT_EQ(both.finish_reason, "stop");

    const ChatChunk no_delta = decode_on_fast_path(R"({"choices":[{"delta":null}],"id":null})");
    EXPECT_EQ(no_delta.content, "");
    EXPECT_EQ(no_delta.id, "");
}

TEST(ChatChunkDecoder, UnescapesStringsAsTheReferenceDoes)
{
    const ChatChunk unicode = decode_on_fast_path(
        R"({"choices":[{"delta":{"content":"\u00e9\ud83d\ude00 \u4E2D\uDBFF\uDFFF raw é😀"}}]})");
    EXPECT_EQ(unicode.content, "é😀 中\xF4\x8F\xBF\xBF raw é😀");

    const ChatChunk escapes = decode_on_fast_path(
        R"({"choices":[{"delta":{"content":"a\"b\\c\nd\te\/f\r\b\f\u0000g"}}]})");
    EXPECT_EQ(escapes.content, std::string("a\"b\\c\nd\te/f\r\b\f\0g", 16));
}

TEST(ChatChunkDecoder, ReadsTheUsageAndTimingsChunk)
{
    const ChatChunk last = decode_on_fast_path(
        R"({"choices":[],"created":1,"id":"chatcmpl-null-1","model":"null.gguf","system_fingerprint":"null-server","object":"chat.completion.chunk","usage":{"completion_tokens":638,"prompt_tokens":120,"total_tokens":758,"prompt_tokens_details":{"cached_tokens":0}},"timings":{"cache_n":0,"prompt_n":120,"prompt_ms":20.0,"prompt_per_token_ms":0.16666666666666666,"prompt_per_second":6000.0,"predicted_n":638,"predicted_ms":180,"predicted_per_token_ms":0.28213166144200624,"predicted_per_second":null}})");
    ASSERT_TRUE(last.usage.has_value());
    EXPECT_EQ(last.usage->completion_tokens, 638);
    EXPECT_EQ(last.usage->total_tokens, 758);
    EXPECT_EQ(last.usage->cached_tokens, 0);
    ASSERT_TRUE(last.timings.has_value());
    EXPECT_EQ(last.timings->prompt_n, 120);
    EXPECT_DOUBLE_EQ(last.timings->predicted_ms, 180.0);
    EXPECT_EQ(last.timings->prompt_per_second, 6000.0);
    EXPECT_FALSE(last.timings->predicted_per_second.has_value());
    EXPECT_FALSE(last.timings->draft_n.has_value());
}

TEST(ChatChunkDecoder, ReadsDraftCounts)
{
    const ChatChunk drafted = decode_on_fast_path(
        R"({"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"timings":{"cache_n":3,"prompt_n":9,"prompt_ms":1.5,"prompt_per_second":6000,"predicted_n":64,"predicted_ms":100.25,"predicted_per_second":638.4,"draft_n":48,"draft_n_accepted":40}})");
    ASSERT_TRUE(drafted.timings.has_value());
    EXPECT_EQ(drafted.timings->draft_n, 48);
    EXPECT_EQ(drafted.timings->draft_n_accepted, 40);
    EXPECT_EQ(drafted.timings->cache_n, 3);

    const ChatChunk null_drafts = decode_on_fast_path(
        R"({"choices":[],"timings":{"cache_n":0,"prompt_n":1,"prompt_ms":1,"prompt_per_second":null,"predicted_n":1,"predicted_ms":1,"predicted_per_second":1,"draft_n":null}})");
    ASSERT_TRUE(null_drafts.timings.has_value());
    EXPECT_FALSE(null_drafts.timings->draft_n.has_value());
}

TEST(ChatChunkDecoder, ConvertsNumbersAsNlohmannDoes)
{
    // "-0" is an integer to nlohmann, so it becomes +0.0; "-0.0" stays negative.
    const ChatChunk zeros = decode_on_fast_path(
        R"({"choices":[],"timings":{"cache_n":-0,"prompt_n":0,"prompt_ms":-0,"prompt_per_second":-0.0,"predicted_n":0,"predicted_ms":9007199254740993,"predicted_per_second":1e-5}})");
    ASSERT_TRUE(zeros.timings.has_value());
    EXPECT_FALSE(std::signbit(zeros.timings->prompt_ms));
    EXPECT_TRUE(std::signbit(zeros.timings->prompt_per_second.value_or(0)));
    EXPECT_EQ(zeros.timings->predicted_ms, 9007199254740992.0);
}

TEST(ChatChunkDecoder, LongMantissasComeFromTheReferenceDecoder)
{
    // simdjson 3.0.1 reads these as 0; nlohmann as 0.30000000000000004 and 1.
    const std::string timings =
        R"({"choices":[],"timings":{"cache_n":0,"prompt_n":1,"prompt_ms":0.30000000000000004441,"prompt_per_second":1,"predicted_n":1,"predicted_ms":1.000000000000000000,"predicted_per_second":1}})";
    expect_fallback(timings);
    EXPECT_EQ(decode_chat_chunk(timings)->timings->prompt_ms, 0.30000000000000004);
    EXPECT_EQ(decode_chat_chunk(timings)->timings->predicted_ms, 1.0);
    expect_fallback(R"({"choices":[],"x":1.234567890123456789})");
    expect_fallback(R"({"choices":[],"x":1234567890123456789e-3})");
    // 18 digits are read on the fast path, and so are long integers.
    const ChatChunk eighteen = decode_on_fast_path(
        R"({"choices":[],"x":-0.12345678901234567e3,"y":18446744073709551615,"timings":{"cache_n":0,"prompt_n":1,"prompt_ms":0.12345678901234567,"prompt_per_second":1,"predicted_n":1,"predicted_ms":12345678901234567890,"predicted_per_second":1}})");
    ASSERT_TRUE(eighteen.timings.has_value());
    EXPECT_EQ(eighteen.timings->prompt_ms, 0.12345678901234567);
    EXPECT_EQ(eighteen.timings->predicted_ms, 12345678901234567890.0);
}

TEST(ChatChunkDecoder, ErrorsComeFromTheReferenceDecoder)
{
    expect_fallback(R"({"error":{"code":500,"message":"slot died","type":"server_error"}})");
    expect_fallback(R"({"object":"error","message":"bad","type":"BadRequestError","code":400})");
    expect_fallback(R"({"choices":[],"error":"plain"})");
    expect_fallback(R"({"choices":[{"delta":{"content":["x"]}}]})");
    expect_fallback(R"({"choices":{}})");
    expect_fallback(R"({"choices":[1]})");
    expect_fallback(R"({"id":"x"})");
    expect_fallback(R"([])");
    expect_fallback(R"("chunk")");
    expect_fallback("");
    expect_fallback(" ");
    expect_fallback(R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}})");
    expect_fallback(
        R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":null}})");
    expect_fallback(
        R"({"choices":[],"usage":{"prompt_tokens":1.0,"completion_tokens":2,"total_tokens":3}})");
    expect_fallback(
        R"({"choices":[],"usage":{"prompt_tokens":1E2,"completion_tokens":2,"total_tokens":3}})");
    expect_fallback(
        R"({"choices":[],"usage":{"prompt_tokens":9223372036854775808,"completion_tokens":2,"total_tokens":3}})");
    expect_fallback(
        R"({"choices":[],"timings":{"cache_n":0,"prompt_n":1,"prompt_ms":1,"predicted_n":1,"predicted_ms":1,"predicted_per_second":1}})");
    expect_fallback(
        R"({"choices":[],"timings":{"cache_n":0,"prompt_n":1,"prompt_ms":null,"prompt_per_second":1,"predicted_n":1,"predicted_ms":1,"predicted_per_second":1}})");
}

TEST(ChatChunkDecoder, InvalidJsonComesFromTheReferenceDecoder)
{
    expect_fallback(R"({"choices":[]})"
                    " x");
    expect_fallback(R"({"choices":[]}{})");
    expect_fallback(R"({"choices":[],})");
    expect_fallback(R"({"choices":[] "id":"a"})");
    expect_fallback(R"({"choices":[],"x":[1,2})");
    expect_fallback(R"({"choices":[],"x":tru})");
    expect_fallback(R"({"choices":[],"x":nulll})");
    expect_fallback(R"({"choices":[],"x":01})");
    expect_fallback(R"({"choices":[],"x":1.})");
    expect_fallback(R"({"choices":[],"x":1e400})");
    expect_fallback(R"({"choices":[],"x":"\x"})");
    expect_fallback(R"({"choices":[],"x":"\udc00"})");
    expect_fallback(R"({"choices":[],"x":"\ud800"})");
    expect_fallback(R"({"choices":[],"x":"\ud800\u0041"})");
    expect_fallback("{\"choices\":[],\"x\":\"a\nb\"}");
    expect_fallback("{\"choices\":[],\"x\":\"\xff\"}");
    expect_fallback("{\"choices\":[],\"x\":\"\xed\xa0\x80\"}");
    expect_fallback("\xEF\xBB\xBF{\"choices\":[]}");
    expect_fallback(std::string("{\"choices\":[]}\0", 15));
    expect_fallback(R"({"choices":[],"x":)" + std::string(5000, '[') + std::string(5000, ']') +
                    "}");
    expect_fallback(R"({1:2,"choices":[]})");
}

TEST(ChatChunkDecoder, DuplicateAndEscapedKeysComeFromTheReferenceDecoder)
{
    // nlohmann keeps the last of duplicate keys.
    expect_fallback(R"({"choices":[],"id":"a","id":"b"})");
    expect_fallback(R"({"choices":[{"delta":{"content":"a","content":"b"}}]})");
    expect_fallback(R"({"choices":[],"choices":[{"delta":{"content":"b"}}]})");
    expect_fallback(R"({"choices":[],"error":null,"error":{"message":"late"}})");
    // An escaped key is the same key once unescaped: read, not skipped.
    const ChatChunk escaped = decode_on_fast_path(R"({"choices":[{"delta":{"cont\u0065nt":"b"}}]})");
    EXPECT_EQ(escaped.content, "b");
    // Unknown keys may repeat; only the keys the chunk reads must be unique.
    const ChatChunk repeated = decode_on_fast_path(
        R"({"choices":[{"index":0,"index":1,"delta":{"x":1,"x":2}}],"created":1,"created":2})");
    EXPECT_EQ(repeated.content, "");
}

TEST(ChatChunkDecoder, ReusedDecoderForgetsTheLastChunk)
{
    ChatChunkDecoder decoder;
    const std::string long_chunk =
        R"({"choices":[{"delta":{"content":")" + std::string(3000, 'x') +
        R"(","reasoning_content":"r"},"finish_reason":"stop"}],"id":"long","usage":null})";
    EXPECT_EQ(difference(decoder, long_chunk), "");
    const auto short_chunk = decoder.decode(R"({"choices":[{"delta":{"content":"y"}}]})");
    ASSERT_TRUE(short_chunk.has_value());
    EXPECT_EQ(short_chunk->content, "y");
    EXPECT_EQ(short_chunk->id, "");
    EXPECT_FALSE(short_chunk->reasoning_content.has_value());
    EXPECT_FALSE(short_chunk->finish_reason.has_value());
    // A payload cut short after a long one must not read the long one's bytes.
    EXPECT_EQ(difference(decoder, R"({"choices":[{"delta":{"content":"xxxx)"), "");
    EXPECT_EQ(decoder.fallback_count(), 1U);

    ChatChunkDecoder moved = std::move(decoder);
    EXPECT_EQ(difference(moved, R"({"choices":[]})"), "");
}

TEST(ChatChunkDecoder, FreeFunctionTakesTheFastPath)
{
    auto chunk = decode_chat_chunk(R"({"choices":[{"delta":{"content":"Hi"}}]})");
    ASSERT_TRUE(chunk.has_value());
    EXPECT_EQ(chunk->content, "Hi");
    auto error = decode_chat_chunk(R"({"error":{"message":"slot died","type":"server_error"}})");
    ASSERT_FALSE(error.has_value());
    EXPECT_EQ(error.error().message, "server reported an error: slot died (server_error)");
}

// --- properties: random chunks, written by hand so escapes, key order and spacing vary ---

/// A code point a model might emit: ASCII (quotes, backslashes and control characters
/// included), then 2-, 3- and 4-byte UTF-8. Never a surrogate.
rc::Gen<std::uint32_t> code_point()
{
    return rc::gen::weightedOneOf<std::uint32_t>(
        {{6, rc::gen::inRange<std::uint32_t>(0x20, 0x7F)},
         {2, rc::gen::elementOf(std::vector<std::uint32_t>{'"', '\\', '/', '\n', '\t', '\r', '\b',
                                                          '\f', 0, 0x1F, 0x7F})},
         {1, rc::gen::inRange<std::uint32_t>(0, 0x20)},
         {1, rc::gen::inRange<std::uint32_t>(0x80, 0x800)},
         {1, rc::gen::inRange<std::uint32_t>(0x800, 0xD800)},
         {1, rc::gen::inRange<std::uint32_t>(0xE000, 0x10000)},
         {2, rc::gen::inRange<std::uint32_t>(0x10000, 0x110000)}});
}

void append_utf8(std::string& out, std::uint32_t cp)
{
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

/// "\uXXXX" in upper or lower case hex.
std::string u_escape(std::uint32_t unit, bool upper)
{
    return upper ? fmt::format("\\u{:04X}", unit) : fmt::format("\\u{:04x}", unit);
}

/// A JSON string literal for `text`, each code point written raw (where JSON allows), as a
/// short escape or as \u escapes (a surrogate pair above the BMP).
std::string json_string(const std::vector<std::uint32_t>& text)
{
    std::string out = "\"";
    for (std::uint32_t cp : text) {
        const bool must_escape = cp < 0x20 || cp == '"' || cp == '\\';
        const int style = *rc::gen::inRange(0, 3); // 0 raw, 1 short escape, 2 \u
        const bool upper = *rc::gen::arbitrary<bool>();
        const char* short_escape = nullptr;
        switch (cp) {
        case '"': short_escape = "\\\""; break;
        case '\\': short_escape = "\\\\"; break;
        case '/': short_escape = "\\/"; break;
        case '\n': short_escape = "\\n"; break;
        case '\t': short_escape = "\\t"; break;
        case '\r': short_escape = "\\r"; break;
        case '\b': short_escape = "\\b"; break;
        case '\f': short_escape = "\\f"; break;
        default: break;
        }
        if (style == 1 && short_escape != nullptr) {
            out += short_escape;
        } else if (style == 0 && !must_escape) {
            append_utf8(out, cp);
        } else if (cp >= 0x10000) {
            const std::uint32_t v = cp - 0x10000;
            out += u_escape(0xD800 + (v >> 10), upper);
            out += u_escape(0xDC00 + (v & 0x3FF), upper);
        } else {
            out += u_escape(cp, upper);
        }
    }
    return out + "\"";
}

std::string draw_string_literal()
{
    return json_string(*rc::gen::resize(24, rc::gen::container<std::vector<std::uint32_t>>(
                                                  code_point())));
}

/// Whitespace JSON allows between tokens (mostly none, as servers send).
std::string space()
{
    return *rc::gen::weightedOneOf<std::string>(
        {{8, rc::gen::just(std::string())},
         {1, rc::gen::element<std::string>(" ", "\n", "\t", "\r\n  ", " \t ")}});
}

/// An integer literal: small, near the int64 limits, or "-0".
std::string integer_literal()
{
    return *rc::gen::weightedOneOf<std::string>(
        {{6, rc::gen::map(rc::gen::inRange<std::int64_t>(0, 100000),
                          [](std::int64_t n) { return std::to_string(n); })},
         {2, rc::gen::map(rc::gen::arbitrary<std::int64_t>(),
                          [](std::int64_t n) { return std::to_string(n); })},
         {1, rc::gen::element<std::string>("-0", "9223372036854775807",
                                           "-9223372036854775808")}});
}

/// Past uint64: nlohmann reads it as a double, simdjson refuses it (so the fast path falls back).
constexpr std::string_view k_big_integer = "123456789012345678901234567890";
/// More than 18 mantissa digits, which simdjson 3.0.1 misreads: the fast path falls back.
constexpr std::string_view k_long_mantissa = "0.30000000000000004441";

/// True when the payload holds a number the fast path leaves to the reference decoder: past
/// uint64, or a fraction with more than 18 digits.
bool has_exotic_number(const std::string& payload)
{
    if (payload.find(k_big_integer) != std::string::npos) {
        return true;
    }
    int digits = 0;
    bool fraction = false;
    for (char c : payload) {
        if (c >= '0' && c <= '9') {
            ++digits;
        } else if (c == '.') {
            fraction = true;
        } else {
            if ((fraction || c == 'e' || c == 'E') && digits > 18) {
                return true;
            }
            digits = 0;
            fraction = false;
        }
    }
    return false;
}

/// 15 to 25 digits with a point or an exponent: around simdjson's 18-digit limit.
std::string long_mantissa_literal()
{
    std::string digits = *rc::gen::container<std::string>(
        *rc::gen::inRange<std::size_t>(15, 26), rc::gen::inRange('0', static_cast<char>('9' + 1)));
    digits[0] = *rc::gen::inRange('1', static_cast<char>('9' + 1)); // no leading zero
    const std::string sign = *rc::gen::element<std::string>("", "-");
    if (*rc::gen::arbitrary<bool>()) {
        return fmt::format("{}{}e{}", sign, digits, *rc::gen::inRange(-40, 40));
    }
    const auto point = *rc::gen::inRange<std::size_t>(1, digits.size());
    return sign + digits.substr(0, point) + "." + digits.substr(point);
}

/// A number literal as servers and people write them: integers, decimals, exponents, long
/// mantissas, subnormals, negative zero.
std::string number_literal()
{
    return *rc::gen::weightedOneOf<std::string>(
        {{3, rc::gen::just(integer_literal())},
         {3, rc::gen::map(rc::gen::arbitrary<double>(),
                          [](double x) {
                              return std::isfinite(x) ? fmt::format("{}", x) : std::string("1.5");
                          })},
         {2, rc::gen::map(rc::gen::pair(rc::gen::inRange<std::int64_t>(-999999, 999999),
                                        rc::gen::inRange(-330, 309)),
                          [](const std::pair<std::int64_t, int>& p) {
                              return fmt::format("{}e{}", p.first, p.second);
                          })},
         {1, rc::gen::exec(long_mantissa_literal)},
         {1, rc::gen::element<std::string>("-0.0", "0.1", "1E+2", "2.5e-3", "18446744073709551615",
                                           std::string(k_big_integer),
                                           std::string(k_long_mantissa), "4.9e-324",
                                           "2.2250738585072011e-308",
                                           "1.7976931348623157e308")}});
}

std::string nullable(const std::string& value)
{
    return *rc::gen::weightedOneOf<std::string>(
        {{5, rc::gen::just(value)}, {1, rc::gen::just(std::string("null"))}});
}

/// Any JSON value, nested a little: what servers add that the chunk does not read.
std::string any_value(int depth)
{
    const int kind = *rc::gen::inRange(0, depth > 0 ? 7 : 5);
    switch (kind) {
    case 0: return draw_string_literal();
    case 1: return number_literal();
    case 2: return *rc::gen::element<std::string>("true", "false");
    case 3: return "null";
    case 4: return integer_literal();
    case 5: {
        std::string out = "[" + space();
        const int n = *rc::gen::inRange(0, 3);
        for (int i = 0; i < n; ++i) {
            out += (i > 0 ? "," + space() : "") + any_value(depth - 1) + space();
        }
        return out + "]";
    }
    default: {
        std::string out = "{" + space();
        const int n = *rc::gen::inRange(0, 3);
        for (int i = 0; i < n; ++i) {
            out += (i > 0 ? "," + space() : "") + draw_string_literal() + space() + ":" + space() +
                   any_value(depth - 1);
        }
        return out + "}";
    }
    }
}

/// An object from fields (key, value text), in a random order, with random spacing.
std::string object_of(std::vector<std::pair<std::string, std::string>> fields)
{
    if (!fields.empty()) {
        // A random permutation: servers order keys as their JSON library does.
        for (std::size_t i = fields.size() - 1; i > 0; --i) {
            std::swap(fields[i], fields[*rc::gen::inRange<std::size_t>(0, i + 1)]);
        }
    }
    std::string out = "{" + space();
    for (std::size_t i = 0; i < fields.size(); ++i) {
        out += (i > 0 ? "," + space() : "") + "\"" + fields[i].first + "\"" + space() + ":" +
               space() + fields[i].second + space();
    }
    return out + "}";
}

/// Sometimes adds a field the chunk does not read.
void maybe_unknown(std::vector<std::pair<std::string, std::string>>& fields)
{
    if (*rc::gen::inRange(0, 3) == 0) {
        fields.emplace_back(*rc::gen::element<std::string>("index", "role", "x", "logprobs",
                                                           "tool_calls", "prompt_per_token_ms"),
                            any_value(2));
    }
}

std::string draw_delta()
{
    std::vector<std::pair<std::string, std::string>> fields;
    if (*rc::gen::arbitrary<bool>()) {
        fields.emplace_back("content", nullable(draw_string_literal()));
    }
    if (*rc::gen::inRange(0, 3) == 0) {
        fields.emplace_back("reasoning_content", nullable(draw_string_literal()));
    }
    if (*rc::gen::inRange(0, 4) == 0) {
        fields.emplace_back("role", "\"assistant\"");
    }
    maybe_unknown(fields);
    return object_of(fields);
}

std::string draw_choices()
{
    if (*rc::gen::inRange(0, 4) == 0) {
        return "[" + space() + "]";
    }
    std::vector<std::pair<std::string, std::string>> choice;
    if (*rc::gen::inRange(0, 6) != 0) {
        choice.emplace_back("delta", nullable(draw_delta()));
    }
    if (*rc::gen::arbitrary<bool>()) {
        choice.emplace_back("finish_reason",
                            nullable(*rc::gen::weightedOneOf<std::string>(
                                {{3, rc::gen::element<std::string>("\"stop\"", "\"length\"")},
                                 {1, rc::gen::exec(draw_string_literal)}})));
    }
    choice.emplace_back("index", "0");
    maybe_unknown(choice);
    std::string out = "[" + space() + object_of(choice);
    if (*rc::gen::inRange(0, 8) == 0) {
        out += "," + any_value(2); // later choices are only checked
    }
    return out + space() + "]";
}

std::string draw_usage()
{
    std::vector<std::pair<std::string, std::string>> fields = {
        {"prompt_tokens", integer_literal()},
        {"completion_tokens", integer_literal()},
        {"total_tokens", integer_literal()}};
    if (*rc::gen::arbitrary<bool>()) {
        std::vector<std::pair<std::string, std::string>> details;
        if (*rc::gen::arbitrary<bool>()) {
            details.emplace_back("cached_tokens", nullable(integer_literal()));
        }
        fields.emplace_back("prompt_tokens_details", nullable(object_of(details)));
    }
    maybe_unknown(fields);
    return object_of(fields);
}

std::string draw_timings()
{
    std::vector<std::pair<std::string, std::string>> fields = {
        {"cache_n", integer_literal()},
        {"prompt_n", integer_literal()},
        {"predicted_n", integer_literal()},
        {"prompt_ms", number_literal()},
        {"predicted_ms", number_literal()},
        {"prompt_per_second", nullable(number_literal())},
        {"predicted_per_second", nullable(number_literal())},
        {"prompt_per_token_ms", number_literal()},
        {"predicted_per_token_ms", number_literal()}};
    if (*rc::gen::arbitrary<bool>()) {
        fields.emplace_back("draft_n", nullable(integer_literal()));
        fields.emplace_back("draft_n_accepted", nullable(integer_literal()));
    }
    maybe_unknown(fields);
    return object_of(fields);
}

/// A chunk as llama-server or vLLM might send it, or now and then an error.
std::string draw_chunk()
{
    std::vector<std::pair<std::string, std::string>> fields;
    fields.emplace_back("choices", draw_choices());
    for (const char* key : {"id", "model"}) {
        if (*rc::gen::inRange(0, 5) != 0) {
            fields.emplace_back(key, nullable(draw_string_literal()));
        }
    }
    fields.emplace_back("created", integer_literal());
    fields.emplace_back("object", *rc::gen::weightedOneOf<std::string>(
                                      {{8, rc::gen::just(std::string("\"chat.completion.chunk\""))},
                                       {1, rc::gen::just(std::string("\"error\""))}}));
    if (*rc::gen::inRange(0, 3) == 0) {
        fields.emplace_back("usage", nullable(draw_usage()));
    }
    if (*rc::gen::inRange(0, 3) == 0) {
        fields.emplace_back("timings", nullable(draw_timings()));
    }
    if (*rc::gen::inRange(0, 10) == 0) {
        fields.emplace_back("error",
                            nullable(R"({"code":500,"message":)" + draw_string_literal() + "}"));
    }
    maybe_unknown(fields);
    return space() + object_of(fields) + space();
}

RC_GTEST_PROP(ChatChunkDecoderProperty, AgreesWithTheReferenceOnRandomChunks, ())
{
    const std::string payload = draw_chunk();
    RC_LOG() << "payload: " << payload << "\n";
    ChatChunkDecoder decoder;
    RC_ASSERT(difference(decoder, payload) == "");
    // Every chunk without an error reads on the fast path, or the speed-up would be lost.
    const bool is_error = !decode_chat_chunk_reference(payload).has_value();
    RC_TAG(is_error ? "error" : "chunk");
    if (!is_error && !has_exotic_number(payload)) {
        RC_ASSERT(decoder.fallback_count() == 0U);
    }
}

RC_GTEST_PROP(ChatChunkDecoderProperty, AgreesWithTheReferenceOnDamagedChunks, ())
{
    std::string payload = draw_chunk();
    const int edits = *rc::gen::inRange(1, 4);
    for (int i = 0; i < edits && !payload.empty(); ++i) {
        const auto at = *rc::gen::inRange<std::size_t>(0, payload.size());
        const char byte = *rc::gen::element<char>('{', '}', '[', ']', '"', ',', ':', '\\', ' ',
                                                  '0', '-', '.', 'e', 'u', 'n', '\0', '\n',
                                                  '\xFF', '\xC3', '\xED');
        switch (*rc::gen::inRange(0, 3)) {
        case 0: payload.erase(at, 1); break;
        case 1: payload.insert(at, 1, byte); break;
        default: payload[at] = byte; break;
        }
    }
    RC_LOG() << "payload: " << payload << "\n";
    ChatChunkDecoder decoder;
    RC_ASSERT(difference(decoder, payload) == "");
    // Both must be common, or one side of the boundary goes untested.
    RC_TAG(decoder.fallback_count() == 0 ? "fast path" : "reference");
}

RC_GTEST_PROP(ChatChunkDecoderProperty, OneDecoderForAWholeStreamAgreesChunkByChunk, ())
{
    const auto count = *rc::gen::inRange(1, 12);
    ChatChunkDecoder decoder;
    for (int i = 0; i < count; ++i) {
        const std::string payload = draw_chunk();
        RC_LOG() << "payload " << i << ": " << payload << "\n";
        RC_ASSERT(difference(decoder, payload) == "");
    }
}

} // namespace
} // namespace gpumod::openai
