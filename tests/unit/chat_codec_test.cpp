#include "core/openai/chat_codec.hpp"

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/openai/sse_decoder.hpp"

namespace gpumod::openai {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string read_fixture(const std::string& name)
{
    std::ifstream in(std::string(GPUMOD_FIXTURES_DIR) + "/llama-server/" + name, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

ChatCompletion decode_fixture(const std::string& name)
{
    const std::string body = read_fixture(name);
    EXPECT_FALSE(body.empty()) << name;
    auto completion = decode_chat_completion(body);
    EXPECT_TRUE(completion.has_value()) << (completion ? "" : completion.error().message);
    return completion.value_or(ChatCompletion{});
}

std::string decode_error(std::string_view body)
{
    auto completion = decode_chat_completion(body);
    EXPECT_FALSE(completion.has_value()) << body;
    return completion ? std::string() : completion.error().message;
}

// --- non-streamed responses, from real llama-server recordings ---

TEST(ChatCodec, DecodesReplyWithReasoningUsageAndTimings)
{
    const ChatCompletion c = decode_fixture("chat-chain.json");
    EXPECT_EQ(c.id, "chatcmpl-DYexDPVy9jhlLGNOFeiDSwmiChFlDbo7");
    EXPECT_EQ(c.model, "$WORK/tiny-chain.gguf");
    EXPECT_EQ(c.content, "Hello world!");
    EXPECT_EQ(c.reasoning_content, "Let me think.");
    EXPECT_EQ(c.finish_reason, "stop");
    ASSERT_TRUE(c.usage.has_value());
    EXPECT_EQ(c.usage->prompt_tokens, 12);
    EXPECT_EQ(c.usage->completion_tokens, 10);
    EXPECT_EQ(c.usage->total_tokens, 22);
    EXPECT_EQ(c.usage->cached_tokens, 0);
    ASSERT_TRUE(c.timings.has_value());
    EXPECT_EQ(c.timings->cache_n, 0);
    EXPECT_EQ(c.timings->prompt_n, 12);
    EXPECT_DOUBLE_EQ(c.timings->prompt_ms, 1.245);
    EXPECT_DOUBLE_EQ(c.timings->prompt_per_second.value_or(0), 9638.55421686747);
    EXPECT_EQ(c.timings->predicted_n, 10);
    EXPECT_DOUBLE_EQ(c.timings->predicted_ms, 1.424);
    EXPECT_DOUBLE_EQ(c.timings->predicted_per_second.value_or(0), 6320.224719101124);
    EXPECT_FALSE(c.timings->draft_n.has_value());
    EXPECT_FALSE(c.timings->draft_n_accepted.has_value());
}

TEST(ChatCodec, DecodesSpeculativeDraftCounts)
{
    const ChatCompletion c = decode_fixture("chat-spec-mtp.json");
    ASSERT_TRUE(c.timings.has_value());
    EXPECT_EQ(c.timings->draft_n, 9);
    EXPECT_EQ(c.timings->draft_n_accepted, 6);
    EXPECT_DOUBLE_EQ(c.timings->predicted_ms, 2477.015);
}

TEST(ChatCodec, DecodesLengthCutReplyWithEmptyContent)
{
    const ChatCompletion c = decode_fixture("chat-maxtokens3.json");
    EXPECT_EQ(c.finish_reason, "length");
    EXPECT_EQ(c.content, "");
    EXPECT_EQ(c.reasoning_content, "Let me");
    EXPECT_EQ(c.timings->predicted_n, 3);
    EXPECT_EQ(c.usage->cached_tokens, 11);
}

TEST(ChatCodec, ReplyWithoutReasoningHasNoReasoning)
{
    const ChatCompletion c = decode_fixture("chat-nothink.json");
    EXPECT_EQ(c.content, "Hello world!");
    EXPECT_FALSE(c.reasoning_content.has_value());
}

TEST(ChatCodec, KeepsControlCharactersAndNulFromRandomModel)
{
    const ChatCompletion c = decode_fixture("chat-random.json");
    EXPECT_THAT(c.content, StartsWith("r\t fI(\x7f#wHe say5\xEF\xBF\xBDh:"));
    EXPECT_NE(c.content.find(std::string("\0toV", 4)), std::string::npos);
    EXPECT_EQ(c.finish_reason, "length");
}

TEST(ChatCodec, NullContentAndFinishReasonDecodeAsEmpty)
{
    auto c = decode_chat_completion(
        R"({"choices":[{"message":{"role":"assistant","content":null},"finish_reason":null}]})");
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->content, "");
    EXPECT_EQ(c->finish_reason, "");
    EXPECT_FALSE(c->usage.has_value());
    EXPECT_FALSE(c->timings.has_value());
}

TEST(ChatCodec, IgnoresUnknownFields)
{
    auto c = decode_chat_completion(
        R"({"future":[1,2],"choices":[{"message":{"content":"x","tool_calls":[]},"finish_reason":"stop",)"
        R"("logprobs":{"a":1}}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"extra":"y"}})");
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->content, "x");
    EXPECT_EQ(c->usage->total_tokens, 3);
    EXPECT_FALSE(c->usage->cached_tokens.has_value());
}

TEST(ChatCodec, WrongTypesNameTheJsonPath)
{
    EXPECT_EQ(decode_error(R"({"choices":[{"message":{"content":5},"finish_reason":"stop"}]})"),
              "choices[0].message.content: expected string, got number");
    EXPECT_EQ(decode_error(R"({"choices":{}})"), "choices: expected array, got object");
    EXPECT_EQ(decode_error(R"({"choices":[3]})"), "choices[0]: expected object, got number");
    EXPECT_EQ(decode_error(R"({"choices":[{"message":"hi","finish_reason":"stop"}]})"),
              "choices[0].message: expected object, got string");
    EXPECT_EQ(decode_error(R"({"choices":[{"message":{},"finish_reason":"stop"}],"usage":)"
                           R"({"prompt_tokens":"1","completion_tokens":2,"total_tokens":3}})"),
              "usage.prompt_tokens: expected integer, got string");
    EXPECT_EQ(decode_error(R"({"choices":[{"message":{},"finish_reason":"stop"}],"usage":)"
                           R"({"prompt_tokens":1.5,"completion_tokens":2,"total_tokens":3}})"),
              "usage.prompt_tokens: expected integer, got number");
    EXPECT_EQ(decode_error(R"({"choices":[{"message":{},"finish_reason":"stop"}],"usage":)"
                           R"({"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,)"
                           R"("prompt_tokens_details":{"cached_tokens":true}}})"),
              "usage.prompt_tokens_details.cached_tokens: expected integer, got boolean");
    EXPECT_EQ(decode_error(R"({"id":7,"choices":[]})"), "id: expected string, got number");
    EXPECT_EQ(decode_error(R"([1])"), "(root): expected object, got array");
}

TEST(ChatCodec, WrongTimingsFieldsNameTheJsonPath)
{
    std::string body = read_fixture("chat-chain.json");
    const std::string good = R"("prompt_ms": 1.245)";
    body.replace(body.find(good), good.size(), R"("prompt_ms": "fast")");
    EXPECT_EQ(decode_error(body), "timings.prompt_ms: expected number, got string");

    EXPECT_EQ(decode_error(
                  R"({"choices":[{"message":{},"finish_reason":"stop"}],"timings":{"cache_n":0}})"),
              "timings.prompt_n: missing");
}

TEST(ChatCodec, MissingRequiredFieldsAreNamed)
{
    EXPECT_EQ(decode_error(R"({"id":"x"})"), "choices: missing");
    EXPECT_EQ(decode_error(R"({"choices":[]})"),
              "choices: expected at least one choice, got an empty array");
    EXPECT_EQ(decode_error(R"({"choices":[{"finish_reason":"stop"}]})"),
              "choices[0].message: missing");
    EXPECT_EQ(decode_error(R"({"choices":[{"message":{"content":"x"}}]})"),
              "choices[0].finish_reason: missing");
}

TEST(ChatCodec, InvalidJsonSaysWhere)
{
    const std::string message = decode_error(R"({"choices": [)");
    EXPECT_THAT(message, StartsWith("invalid JSON: "));
    EXPECT_THAT(message, HasSubstr("column"));
    EXPECT_THAT(message, ::testing::Not(HasSubstr("[json.exception")));
}

TEST(ChatCodec, ErrorBodyInAReplyIsTheServersMessage)
{
    EXPECT_EQ(decode_error(
                  R"({"error":{"code":400,"message":"bad thing","type":"invalid_request_error"}})"),
              "server reported an error: bad thing (invalid_request_error)");
}

// --- error responses ---

TEST(ChatCodec, ErrorResponseCarriesStatusMessageAndType)
{
    EXPECT_EQ(
        decode_error_response(
            400,
            R"({"error":{"code":400,"message":"the request exceeds the context","type":"exceed_context_size_error"}})")
            .message,
        "server returned HTTP 400: the request exceeds the context (exceed_context_size_error)");
    // vLLM's flat shape.
    EXPECT_EQ(
        decode_error_response(
            404, R"({"object":"error","message":"no model x","type":"NotFoundError","code":404})")
            .message,
        "server returned HTTP 404: no model x (NotFoundError)");
    EXPECT_EQ(decode_error_response(500, R"({"error":"plain text"})").message,
              "server returned HTTP 500: plain text");
}

TEST(ChatCodec, ErrorResponseWithoutJsonShowsTheBodyStart)
{
    EXPECT_EQ(decode_error_response(502, "Bad Gateway").message,
              "server returned HTTP 502: Bad Gateway");
    EXPECT_EQ(decode_error_response(503, "").message,
              "server returned HTTP 503 with an empty body");
    const std::string long_body(1000, 'x');
    const std::string message = decode_error_response(500, long_body).message;
    EXPECT_LT(message.size(), 300U);
    EXPECT_THAT(message, testing::EndsWith("..."));
}

// --- streamed chunks ---

TEST(ChatCodec, DecodesDeltaChunks)
{
    auto first = decode_chat_chunk(
        R"({"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"id":"c1","model":"m"})");
    ASSERT_TRUE(first.has_value()) << first.error().message;
    EXPECT_EQ(first->id, "c1");
    EXPECT_EQ(first->content, "");
    EXPECT_FALSE(first->reasoning_content.has_value());
    EXPECT_FALSE(first->finish_reason.has_value());

    auto reasoning = decode_chat_chunk(R"({"choices":[{"delta":{"reasoning_content":"Let"}}]})");
    ASSERT_TRUE(reasoning.has_value());
    EXPECT_EQ(reasoning->reasoning_content, "Let");

    auto last =
        decode_chat_chunk(R"({"choices":[{"finish_reason":"stop","delta":{}}],"usage":null})");
    ASSERT_TRUE(last.has_value()) << last.error().message;
    EXPECT_EQ(last->finish_reason, "stop");
    EXPECT_FALSE(last->usage.has_value());
}

TEST(ChatCodec, ChunkErrorsNameTheJsonPath)
{
    auto bad = decode_chat_chunk(R"({"choices":[{"delta":{"content":["x"]}}]})");
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().message, "choices[0].delta.content: expected string, got array");

    auto error =
        decode_chat_chunk(R"({"error":{"code":500,"message":"slot died","type":"server_error"}})");
    ASSERT_FALSE(error.has_value());
    EXPECT_EQ(error.error().message, "server reported an error: slot died (server_error)");
}

TEST(ChatCodec, FoldedStreamMatchesTheNonStreamedReply)
{
    SseDecoder decoder;
    ChatAccumulator accumulator;
    bool done = false;
    for (const SseEvent& event : decoder.feed(read_fixture("chat-stream.txt"))) {
        ASSERT_FALSE(done) << "event after [DONE]";
        if (event.done) {
            done = true;
            continue;
        }
        auto chunk = decode_chat_chunk(event.data);
        ASSERT_TRUE(chunk.has_value()) << chunk.error().message;
        accumulator.add(*chunk);
    }
    EXPECT_TRUE(done);
    EXPECT_TRUE(accumulator.finished());
    EXPECT_EQ(accumulator.chunk_count(), 10U);

    const ChatCompletion folded = accumulator.completion();
    const ChatCompletion whole = decode_fixture("chat-chain.json");
    EXPECT_EQ(folded.id, "chatcmpl-Tuc75T85n6J5rXLtJWJlKEOU3JzsDeF7");
    EXPECT_EQ(folded.model, whole.model);
    EXPECT_EQ(folded.content, whole.content);
    EXPECT_EQ(folded.reasoning_content, whole.reasoning_content);
    EXPECT_EQ(folded.finish_reason, whole.finish_reason);
    ASSERT_TRUE(folded.usage.has_value());
    EXPECT_EQ(folded.usage->prompt_tokens, whole.usage->prompt_tokens);
    EXPECT_EQ(folded.usage->completion_tokens, whole.usage->completion_tokens);
    EXPECT_EQ(folded.usage->total_tokens, whole.usage->total_tokens);
    EXPECT_EQ(folded.usage->cached_tokens, 11); // the stream ran second and hit the cache
    ASSERT_TRUE(folded.timings.has_value());
    EXPECT_EQ(folded.timings->predicted_n, 10);
    EXPECT_DOUBLE_EQ(folded.timings->predicted_ms, 1.222);
}

TEST(ChatCodec, AccumulatorWithoutFinishReasonIsNotFinished)
{
    ChatAccumulator accumulator;
    ChatChunk chunk;
    chunk.content = "Hel";
    accumulator.add(chunk);
    chunk.content = "lo";
    accumulator.add(chunk);
    EXPECT_FALSE(accumulator.finished());
    EXPECT_EQ(accumulator.completion().content, "Hello");
    EXPECT_FALSE(accumulator.completion().reasoning_content.has_value());
    EXPECT_EQ(accumulator.chunk_count(), 2U);
}

// --- requests ---

TEST(ChatCodec, EncodesOnlyWhatWasSet)
{
    ChatRequest request;
    request.messages = {{"user", "Say hello", std::nullopt}};
    EXPECT_EQ(encode_chat_request(request),
              R"({"messages":[{"content":"Say hello","role":"user"}],"stream":false})");
}

TEST(ChatCodec, EncodesEveryField)
{
    ChatRequest request;
    request.messages = {{"system", "Be brief.", std::nullopt},
                        {"assistant", "Hi \"there\"\n", std::string("Let me think.")}};
    request.model = "qwen";
    request.max_tokens = 32;
    request.temperature = 0.5;
    request.top_p = 0.25;
    request.top_k = 40;
    request.min_p = 0.125;
    request.seed = 42;
    request.stop = {"</s>"};
    request.stream = true;
    request.enable_thinking = false;
    EXPECT_EQ(
        encode_chat_request(request),
        R"({"chat_template_kwargs":{"enable_thinking":false},"max_tokens":32,)"
        R"("messages":[{"content":"Be brief.","role":"system"},)"
        R"({"content":"Hi \"there\"\n","reasoning_content":"Let me think.","role":"assistant"}],)"
        R"("min_p":0.125,"model":"qwen","seed":42,"stop":["</s>"],"stream":true,)"
        R"("stream_options":{"include_usage":true},"temperature":0.5,"top_k":40,"top_p":0.25})");

    request.include_usage = false;
    EXPECT_EQ(encode_chat_request(request).find("stream_options"), std::string::npos);
}

TEST(ChatCodec, EncodingReplacesInvalidUtf8InsteadOfThrowing)
{
    ChatRequest request;
    request.messages = {{"user",
                         "a\xFF"
                         "b",
                         std::nullopt}};
    EXPECT_EQ(encode_chat_request(request), "{\"messages\":[{\"content\":\"a\xEF\xBF\xBD"
                                            "b\",\"role\":\"user\"}],\"stream\":false}");
}

} // namespace
} // namespace gpumod::openai
