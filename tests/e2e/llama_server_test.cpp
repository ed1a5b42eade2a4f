// gpumod's process adapter and HTTP client against the real llama-server on tiny models that
// gpumod generates. Nothing here is faked.

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "adapters/http/openai_client.hpp"
#include "adapters/posix/process.hpp"
#include "support/llama_fixture.hpp"
#include "support/temp_dir.hpp"

namespace gpumod::testing {
namespace {

using namespace std::chrono_literals;

openai::ChatRequest say_hello(std::int64_t max_tokens = 200)
{
    openai::ChatRequest request;
    request.messages.push_back({"user", "Say hello", std::nullopt});
    request.max_tokens = max_tokens;
    return request;
}

class LlamaServerE2e : public ::testing::Test
{
protected:
    void SetUp() override
    {
        if (!llama_server_for_tests()) {
            GTEST_SKIP() << "no llama-server: run scripts/setup-llama-server or set "
                            "GPUMOD_LLAMA_SERVER";
        }
    }
    TempDir m_dir;
};

TEST_F(LlamaServerE2e, ScriptedModelRepliesWithItsTextAndReasoningAndTimings)
{
    auto model = make_model(m_dir.path(), "scripted.gguf",
                            {"--kind", "scripted", "--reasoning", "First, I consider the question.",
                             "--reply", "The answer is 42, not 41."});
    ASSERT_TRUE(model.has_value()) << model.error().message;
    auto server = start_server(m_dir.path(), *model, {"-np", "1"});
    ASSERT_TRUE(server.has_value()) << server.error().message;
    const int pgid = server->pid();

    auto exchange = http::chat(server->client(), say_hello());
    ASSERT_TRUE(exchange.has_value()) << exchange.error().message;
    const auto& c = exchange->completion;
    EXPECT_EQ(c.content, "The answer is 42, not 41.");
    ASSERT_TRUE(c.reasoning_content.has_value());
    EXPECT_EQ(*c.reasoning_content, "First, I consider the question.");
    EXPECT_EQ(c.finish_reason, "stop");
    ASSERT_TRUE(c.timings.has_value());
    EXPECT_GT(c.timings->prompt_n + c.timings->cache_n, 0);
    EXPECT_GT(c.timings->predicted_n, 0);
    ASSERT_TRUE(c.usage.has_value());
    EXPECT_EQ(c.usage->completion_tokens, c.timings->predicted_n);

    // The same reply streamed, with a measured time to first token.
    auto streamed = http::chat_streaming(server->client(), say_hello());
    ASSERT_TRUE(streamed.has_value()) << streamed.error().message;
    EXPECT_EQ(streamed->completion.content, c.content);
    EXPECT_EQ(streamed->completion.reasoning_content, c.reasoning_content);
    ASSERT_TRUE(streamed->time_to_first_token.has_value());
    EXPECT_LE(*streamed->time_to_first_token, streamed->total_time);
    EXPECT_GT(streamed->chunks, 2U);

    auto status = server->stop();
    EXPECT_TRUE(status.exited) << status.describe();
    EXPECT_FALSE(posix::process_group_alive(pgid)) << "llama-server's process group outlived stop()";
}

TEST_F(LlamaServerE2e, ThinkingDisabledPerRequestLeavesOnlyTheReply)
{
    auto model = make_model(m_dir.path(), "scripted.gguf", {"--kind", "scripted"});
    ASSERT_TRUE(model.has_value()) << model.error().message;
    auto server = start_server(m_dir.path(), *model, {"-np", "1"});
    ASSERT_TRUE(server.has_value()) << server.error().message;
    auto request = say_hello();
    request.enable_thinking = false;
    auto exchange = http::chat(server->client(), request);
    ASSERT_TRUE(exchange.has_value()) << exchange.error().message;
    EXPECT_EQ(exchange->completion.content, "Hello world!");
    EXPECT_FALSE(exchange->completion.reasoning_content.has_value() &&
                 !exchange->completion.reasoning_content->empty());
}

TEST_F(LlamaServerE2e, MtpModelUnderDraftMtpReportsDraftCounts)
{
    auto model = make_model(m_dir.path(), "mtp.gguf", {"--kind", "mtp"});
    ASSERT_TRUE(model.has_value()) << model.error().message;
    auto server = start_server(m_dir.path(), *model,
                               {"--spec-type", "draft-mtp", "-np", "1", "--spec-draft-n-max", "3"});
    ASSERT_TRUE(server.has_value()) << server.error().message;
    auto exchange = http::chat(server->client(), say_hello());
    ASSERT_TRUE(exchange.has_value()) << exchange.error().message;
    const auto& c = exchange->completion;
    EXPECT_EQ(c.content, "Hello world!");
    ASSERT_TRUE(c.timings.has_value());
    ASSERT_TRUE(c.timings->draft_n.has_value()) << "no draft_n: MTP speculation did not run";
    ASSERT_TRUE(c.timings->draft_n_accepted.has_value());
    EXPECT_GT(*c.timings->draft_n, 0);
    EXPECT_LE(*c.timings->draft_n_accepted, *c.timings->draft_n);
    EXPECT_GT(*c.timings->draft_n_accepted, 0) << "the MTP head drafts the same chain";
}

const char* const k_program_reasoning =
    "The task wants an LRU cache. I will use an OrderedDict, move keys to the end on access, "
    "and evict from the front when full. Edge case: capacity 0 stores nothing.";

const char* const k_program = R"(Here is the implementation:

```python
from collections import OrderedDict


class LRUCache:
    """Least-recently-used cache with a fixed capacity."""

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity!r}")
        self.capacity = capacity
        self._data: "OrderedDict[str, object]" = OrderedDict()

    def get(self, key, default=None):
        if key not in self._data:
            return default
        self._data.move_to_end(key)
        return self._data[key]

    def put(self, key, value) -> None:
        if self.capacity == 0:
            return
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.capacity:
            self._data.popitem(last=False)


def describe(cache: LRUCache) -> str:
    return "\\".join(f'{k}="{v}"' for k, v in cache._data.items())
```

Tabs	and "quotes" survive too.)";

TEST_F(LlamaServerE2e, LongScriptedProgramRoundTripsExactlyThroughGrammar)
{
    auto server = start_scripted_by_grammar(m_dir.path(), k_program_reasoning, k_program);
    ASSERT_TRUE(server.has_value()) << server.error().message;
    auto exchange = http::chat(server->client(), say_hello(4096));
    ASSERT_TRUE(exchange.has_value()) << exchange.error().message;
    const auto& c = exchange->completion;
    EXPECT_EQ(c.content, k_program);
    ASSERT_TRUE(c.reasoning_content.has_value());
    EXPECT_EQ(*c.reasoning_content, k_program_reasoning);
    EXPECT_EQ(c.finish_reason, "stop");
    ASSERT_TRUE(c.timings.has_value());
    EXPECT_GE(c.timings->predicted_n, 300) << "the program should be a few hundred tokens";

    auto streamed = http::chat_streaming(server->client(), say_hello(4096));
    ASSERT_TRUE(streamed.has_value()) << streamed.error().message;
    EXPECT_EQ(streamed->completion.content, k_program);
    EXPECT_EQ(streamed->completion.reasoning_content, c.reasoning_content);
}

TEST_F(LlamaServerE2e, ReplyCutShortByMaxTokensReportsLength)
{
    auto server = start_scripted_by_grammar(m_dir.path(), k_program_reasoning, k_program);
    ASSERT_TRUE(server.has_value()) << server.error().message;
    auto exchange = http::chat(server->client(), say_hello(40));
    ASSERT_TRUE(exchange.has_value()) << exchange.error().message;
    const auto& c = exchange->completion;
    EXPECT_EQ(c.finish_reason, "length");
    ASSERT_TRUE(c.timings.has_value());
    EXPECT_EQ(c.timings->predicted_n, 40);
    const std::string produced = c.reasoning_content.value_or("") + c.content;
    EXPECT_LT(produced.size(), std::string(k_program_reasoning).size() + std::string(k_program).size());
}

TEST_F(LlamaServerE2e, ServerThatFailsToLoadIsReportedWithItsLog)
{
    const auto bogus = m_dir.path() / "not-a-model.gguf";
    std::ofstream(bogus) << "GGUF but not really a model";
    auto server = start_server(m_dir.path(), bogus, {});
    ASSERT_FALSE(server.has_value());
    EXPECT_THAT(server.error().message, ::testing::HasSubstr("during startup"));
    EXPECT_THAT(server.error().message, ::testing::HasSubstr("log"));
}

} // namespace
} // namespace gpumod::testing
