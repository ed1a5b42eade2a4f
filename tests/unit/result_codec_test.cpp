#include "core/bench/result_codec.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace gpumod::bench {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::ordered_json;

AttemptRecord full_attempt(int iteration, std::string level)
{
    AttemptRecord a;
    a.iteration = iteration;
    a.level = std::move(level);
    a.seed = std::numeric_limits<std::int64_t>::min();
    a.outcome = Outcome::test_failures;
    a.detail = "3 passed, 1 failed, 0 errors, 0 skipped of 4";
    a.points = 0;
    a.points_possible = 15;
    a.tests = TestCounts{4, 1, 0, 0};
    a.finish_reason = "stop";
    a.code_source = "fenced";
    a.files = {GradedFile{"solution.py", "named", 1234}, GradedFile{"util.py", "only", 0}};
    a.content =
        std::string("Here:\n```python\nprint(\"h\\u00e9\")\n```\t\xc3\xa9 \xf0\x9f\x9a\x80 ") +
        std::string(1, '\0') + "end";
    a.reasoning = "<think>let me think</think>";
    a.messages_sent = 5;
    a.retries = 2;
    a.started_at_ms = 1'750'000'000'123;
    a.metrics.prompt_tokens = 812;
    a.metrics.completion_tokens = 31'337;
    a.metrics.cached_prompt_tokens = 0;
    a.metrics.ttft_ms = 0.1;
    a.metrics.request_ms = 1.0 / 3.0;
    a.metrics.server_prompt_ms = 5e-324;
    a.metrics.server_predicted_ms = 6.02214076e23;
    a.metrics.server_tokens_per_s = 123456.789012345678;
    a.metrics.client_tokens_per_s = 42.0;
    a.metrics.draft_n = 9'000'000'000;
    a.metrics.draft_n_accepted = 7;
    a.metrics.vram_peak_mib = 81559.25;
    a.metrics.validation_ms = 2.2250738585072014e-308;
    return a;
}

RunRecord full_run()
{
    RunRecord run;
    run.id = "20250611-120000-qwen36";
    run.status = RunStatus::interrupted;
    run.created_at_ms = 1'750'000'000'000;
    run.updated_at_ms = 1'750'000'999'999;
    run.finished_at_ms = 1'750'001'000'000;
    run.note = "interrupted by SIGINT";
    RunConfig& c = run.config;
    c.kind = RunKind::smoke;
    c.suite = "coding";
    c.suite_dir = "suites/coding";
    c.suite_version = 3;
    c.suite_hash = "ab12";
    c.level_ids = {"L1"};
    c.iterations = 7;
    c.sampler = Sampler{"thinking-coding", 0.6, 0.95, 20, 0.0, 1.5, 1.05, true};
    c.max_tokens = 65536;
    c.reasoning_budget = 0;
    c.request_timeout_s = 1200;
    c.conversation = ConversationPolicy::carry;
    c.concurrency = 4;
    c.seed = std::numeric_limits<std::uint64_t>::max();
    c.infra_retries = 5;
    c.base_url = "http://127.0.0.1:7103";
    c.service = "qwen36";
    c.model = "qwen3.6-35b";
    c.isolate = true;
    run.server = ServerFacts{"b11669-Debian", "/models/q.gguf",
                             65536,           4,
                             "ff00",          {"llama-server", "-m", "/models/q.gguf"}};
    run.model = ModelFacts{"q.gguf",    std::numeric_limits<std::int64_t>::max(),
                           "deadbeef",  34'660'610'688,
                           "IQ4_XS",    "qwen35moe",
                           "Qwen3.6",   "Qwen3.6",
                           std::nullopt, "35B-A3B"};
    run.environment = EnvironmentFacts{
        "0.1.0",  "abc1234", "host", {"NVIDIA H100 (81559 MiB)", "NVIDIA H100 (81559 MiB)"},
        "550.54", 1234.5,    "bwrap"};
    run.attempts = {full_attempt(1, "L1"), full_attempt(2, "L1")};
    run.attempts[1].seed = std::numeric_limits<std::int64_t>::max();
    run.attempts[1].outcome = Outcome::pass;
    run.attempts[1].tests.reset();
    run.attempts[1].metrics = AttemptMetrics{};
    return run;
}

std::string decode_error(std::string_view text)
{
    auto run = decode_result_file(text);
    EXPECT_FALSE(run.has_value()) << text;
    return run ? std::string() : run.error().message;
}

/// The full run's file, edited by `edit`.
std::string edited(const std::function<void(json&)>& edit, const RunRecord& run = full_run())
{
    json file = json::parse(encode_result_file(run));
    edit(file);
    return file.dump();
}

void erase_nulls(json& value)
{
    if (value.is_object()) {
        for (auto it = value.begin(); it != value.end();) {
            if (it->is_null()) {
                it = value.erase(it);
            } else {
                erase_nulls(*it);
                ++it;
            }
        }
    } else if (value.is_array()) {
        for (auto& item : value) {
            erase_nulls(item);
        }
    }
}

TEST(ResultCodec, FullyPopulatedRunRoundTripsExactly)
{
    const RunRecord run = full_run();
    const std::string text = encode_result_file(run);
    auto decoded = decode_result_file(text);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(*decoded, run);
    EXPECT_EQ(decoded->attempts[0].content, run.attempts[0].content); // the NUL survived
    EXPECT_EQ(encode_result_file(*decoded), text);
    EXPECT_THAT(text, HasSubstr("18446744073709551615"));
    EXPECT_THAT(text, HasSubstr("-9223372036854775808"));
}

TEST(ResultCodec, MinimalRunRoundTripsExactly)
{
    const RunRecord run;
    auto decoded = decode_result_file(encode_result_file(run));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(*decoded, run);
    EXPECT_FALSE(decoded->finished_at_ms.has_value());
    EXPECT_FALSE(decoded->config.service.has_value());
    EXPECT_FALSE(decoded->config.sampler.enable_thinking.has_value());
}

TEST(ResultCodec, OptionalMembersMayBeAbsentInsteadOfNull)
{
    RunRecord run = full_run();
    run.finished_at_ms.reset();
    run.config.sampler = Sampler{"non-thinking", {}, {}, {}, {}, {}, {}, {}};
    run.config.service.reset();
    run.model.size_bytes.reset();
    run.attempts[1].tests.reset();
    json file = json::parse(encode_result_file(run));
    erase_nulls(file);
    ASSERT_FALSE(file.contains("finished_at_ms"));
    ASSERT_FALSE(file["attempts"][1].contains("tests"));
    auto decoded = decode_result_file(file.dump());
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(*decoded, run);
}

TEST(ResultCodec, ModelFactsWrittenBeforeTheGgufMembersStillRead)
{
    json file = json::parse(encode_result_file(full_run()));
    EXPECT_EQ(file["model"]["parameters"], 34'660'610'688);
    EXPECT_EQ(file["model"]["quantization"], "IQ4_XS");
    for (const char* key : {"parameters", "quantization", "architecture", "name", "basename",
                            "finetune", "size_label"}) {
        file["model"].erase(key);
    }
    auto decoded = decode_result_file(file.dump());
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(decoded->model.file_name, "q.gguf");
    EXPECT_FALSE(decoded->model.parameters.has_value());
    EXPECT_FALSE(decoded->model.quantization.has_value());
    EXPECT_FALSE(decoded->model.basename.has_value());
}

TEST(ResultCodec, FileIsPrettyPrintedWithMembersInAFixedOrder)
{
    const std::string text = encode_result_file(full_run(), R"({"score": 12.5, "a": 1})");
    EXPECT_THAT(text, StartsWith("{\n  \"schema\": \"gpumod.bench.result/1\",\n  \"id\": "
                                 "\"20250611-120000-qwen36\",\n  \"status\": \"interrupted\",\n"));
    EXPECT_EQ(text.back(), '\n');
    std::size_t previous = 0;
    for (const char* key :
         {"\"created_at_ms\"", "\"updated_at_ms\"", "\"finished_at_ms\"", "\"note\"", "\"config\"",
          "\"server\"", "\"model\"", "\"environment\"", "\"summary\"", "\"attempts\""}) {
        const std::size_t at = text.find(std::string("\n  ") + key);
        ASSERT_NE(at, std::string::npos) << key;
        EXPECT_GT(at, previous) << key;
        previous = at;
    }
    // The summary keeps its own member order and is not part of the record.
    EXPECT_THAT(text, HasSubstr("\"summary\": {\n    \"score\": 12.5,\n    \"a\": 1\n  }"));
    auto decoded = decode_result_file(text);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(*decoded, full_run());
}

TEST(ResultCodec, NoSummaryMemberWhenNoneIsGiven)
{
    EXPECT_THAT(encode_result_file(full_run()), ::testing::Not(HasSubstr("\"summary\"")));
}

TEST(ResultCodec, SummaryThatIsNotJsonIsRecordedAsAnError)
{
    const json file = json::parse(encode_result_file(full_run(), "{not json"));
    ASSERT_TRUE(file["summary"].is_object());
    EXPECT_THAT(file["summary"]["error"].get<std::string>(), HasSubstr("invalid JSON"));
    EXPECT_EQ(file["attempts"].size(), 2U);
}

TEST(ResultCodec, NonFiniteDoublesAreWrittenAsNull)
{
    RunRecord run;
    AttemptRecord attempt;
    attempt.metrics.ttft_ms = std::numeric_limits<double>::quiet_NaN();
    attempt.metrics.request_ms = std::numeric_limits<double>::infinity();
    run.attempts.push_back(attempt);
    const std::string text = encode_result_file(run);
    auto decoded = decode_result_file(text);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_FALSE(decoded->attempts[0].metrics.ttft_ms.has_value());
    EXPECT_TRUE(std::isnan(decoded->attempts[0].metrics.request_ms));
}

TEST(ResultCodec, UnknownMembersAreIgnored)
{
    const std::string text = edited([](json& file) {
        file["future"] = {1, 2};
        file["attempts"][0]["extra"] = "x";
    });
    auto decoded = decode_result_file(text);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
    EXPECT_EQ(*decoded, full_run());
}

TEST(ResultCodec, MissingMembersAreNamedByPath)
{
    RunRecord run = full_run();
    for (int i = 3; i <= 4; ++i) {
        run.attempts.push_back(full_attempt(i, "L1"));
    }
    EXPECT_EQ(decode_error(edited([](json& f) { f["attempts"][3].erase("outcome"); }, run)),
              "attempts[3].outcome: missing");
    EXPECT_EQ(decode_error(edited([](json& f) { f["config"].erase("level_ids"); })),
              "config.level_ids: missing");
    EXPECT_EQ(decode_error(edited([](json& f) { f["config"]["sampler"].erase("name"); })),
              "config.sampler.name: missing");
    EXPECT_EQ(decode_error(edited([](json& f) { f.erase("environment"); })),
              "environment: missing");
    EXPECT_EQ(
        decode_error(edited([](json& f) { f["attempts"][1]["metrics"].erase("request_ms"); })),
        "attempts[1].metrics.request_ms: missing");
    EXPECT_EQ(decode_error(edited([](json& f) { f["attempts"][0]["files"][1].erase("bytes"); })),
              "attempts[0].files[1].bytes: missing");
    EXPECT_EQ(decode_error(edited([](json& f) { f.erase("attempts"); })), "attempts: missing");
}

TEST(ResultCodec, WrongTypesNameThePathAndTheExpectedType)
{
    EXPECT_EQ(decode_error(edited([](json& f) { f["attempts"][1]["points"] = "15"; })),
              "attempts[1].points: expected integer, got string");
    EXPECT_EQ(decode_error(edited([](json& f) { f["config"]["sampler"]["top_k"] = 1.5; })),
              "config.sampler.top_k: expected integer, got number");
    EXPECT_EQ(decode_error(edited([](json& f) { f["config"]["isolate"] = 1; })),
              "config.isolate: expected boolean, got number");
    EXPECT_EQ(decode_error(edited([](json& f) { f["server"]["argv"][2] = 7; })),
              "server.argv[2]: expected string, got number");
    EXPECT_EQ(decode_error(edited([](json& f) { f["attempts"][0]["tests"] = json::array(); })),
              "attempts[0].tests: expected object, got array");
    EXPECT_EQ(decode_error(edited([](json& f) { f["attempts"] = json::object(); })),
              "attempts: expected array, got object");
    EXPECT_EQ(decode_error(edited([](json& f) { f["attempts"][1] = 3; })),
              "attempts[1]: expected object, got number");
    EXPECT_EQ(decode_error(edited([](json& f) { f["note"] = nullptr; })),
              "note: expected string, got null");
    EXPECT_EQ(decode_error(edited([](json& f) { f["model"]["size_bytes"] = "big"; })),
              "model.size_bytes: expected integer, got string");
}

TEST(ResultCodec, OutOfRangeIntegersAndUnknownNamesAreErrors)
{
    EXPECT_THAT(decode_error(edited([](json& f) { f["attempts"][0]["iteration"] = 1LL << 40; })),
                StartsWith("attempts[0].iteration: 1099511627776 is out of range"));
    EXPECT_THAT(decode_error(edited([](json& f) { f["config"]["seed"] = -1; })),
                StartsWith("config.seed: -1 is out of range"));
    EXPECT_THAT(decode_error(edited([](json& f) {
                    f["attempts"][0]["seed"] = std::numeric_limits<std::uint64_t>::max();
                })),
                StartsWith("attempts[0].seed: 18446744073709551615 is out of range"));
    EXPECT_EQ(decode_error(edited([](json& f) { f["status"] = "done"; })),
              "status: unknown value 'done' (expected running, interrupted, aborted or complete)");
    EXPECT_THAT(decode_error(edited([](json& f) { f["attempts"][1]["outcome"] = "win"; })),
                StartsWith("attempts[1].outcome: unknown value 'win'"));
    EXPECT_EQ(decode_error(edited([](json& f) { f["config"]["conversation"] = "keep"; })),
              "config.conversation: unknown value 'keep' (expected fresh or carry)");
}

TEST(ResultCodec, SchemaMustBeTheOneThisBuildWrites)
{
    EXPECT_THAT(decode_error(edited([](json& f) { f["schema"] = "gpumod.bench.result/2"; })),
                StartsWith("schema: 'gpumod.bench.result/2' is not a result format"));
    EXPECT_THAT(decode_error(edited([](json& f) { f.erase("schema"); })),
                StartsWith("schema: missing"));
    EXPECT_THAT(decode_error(edited([](json& f) { f["schema"] = 1; })),
                StartsWith("schema: expected string, got number"));
    EXPECT_THAT(decode_error("[1, 2]"), StartsWith("(root): expected object, got array"));
    EXPECT_THAT(decode_error("{\"schema\": "), StartsWith("invalid JSON"));
}

TEST(ResultCodec, PartsRoundTripOnTheirOwn)
{
    const RunRecord run = full_run();
    auto config = decode_run_config(encode_run_config(run.config));
    ASSERT_TRUE(config.has_value()) << config.error().message;
    EXPECT_EQ(*config, run.config);

    for (const auto& attempt : run.attempts) {
        const std::string text = encode_attempt(attempt);
        EXPECT_EQ(text.find('\n'), std::string::npos) << "compact: one line";
        auto decoded = decode_attempt(text);
        ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
        EXPECT_EQ(*decoded, attempt);
    }

    RunRecord facts;
    ASSERT_TRUE(decode_run_facts(encode_run_facts(run), facts).has_value());
    EXPECT_EQ(facts.server, run.server);
    EXPECT_EQ(facts.model, run.model);
    EXPECT_EQ(facts.environment, run.environment);
    EXPECT_TRUE(facts.attempts.empty());
}

TEST(ResultCodec, PartErrorsNamePathsFromTheirOwnRoot)
{
    auto attempt = decode_attempt(R"({"iteration": 1})");
    ASSERT_FALSE(attempt.has_value());
    EXPECT_EQ(attempt.error().message, "level: missing");

    auto config = decode_run_config(R"({"kind": "run", "suite": 5})");
    ASSERT_FALSE(config.has_value());
    EXPECT_EQ(config.error().message, "suite: expected string, got number");

    RunRecord run = full_run();
    const RunRecord before = run;
    auto status = decode_run_facts(R"({"server": {}, "model": {}})", run);
    ASSERT_FALSE(status.has_value());
    EXPECT_EQ(status.error().message, "server.build: missing");
    EXPECT_EQ(run, before) << "a failed decode leaves the record untouched";
}

TEST(RunTypes, NamesAreStableAndParseBack)
{
    EXPECT_EQ(to_string(ConversationPolicy::fresh), "fresh");
    EXPECT_EQ(to_string(ConversationPolicy::carry), "carry");
    EXPECT_EQ(to_string(RunKind::run), "run");
    EXPECT_EQ(to_string(RunKind::smoke), "smoke");
    EXPECT_EQ(to_string(RunStatus::running), "running");
    EXPECT_EQ(to_string(RunStatus::interrupted), "interrupted");
    EXPECT_EQ(to_string(RunStatus::aborted), "aborted");
    EXPECT_EQ(to_string(RunStatus::complete), "complete");
    for (auto policy : {ConversationPolicy::fresh, ConversationPolicy::carry}) {
        EXPECT_EQ(parse_conversation_policy(to_string(policy)), policy);
    }
    for (auto kind : {RunKind::run, RunKind::smoke}) {
        EXPECT_EQ(parse_run_kind(to_string(kind)), kind);
    }
    for (auto status :
         {RunStatus::running, RunStatus::interrupted, RunStatus::aborted, RunStatus::complete}) {
        EXPECT_EQ(parse_run_status(to_string(status)), status);
    }
    EXPECT_FALSE(parse_run_status("Complete").has_value());
    EXPECT_FALSE(parse_run_kind("").has_value());
    EXPECT_FALSE(parse_conversation_policy("fresh ").has_value());
}

} // namespace
} // namespace gpumod::bench
