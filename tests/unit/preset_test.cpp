#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/config/mode.hpp"
#include "core/config/preset.hpp"

namespace gpumod::config {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

Preset llama_preset()
{
    Preset p;
    p.id = "qwen";
    p.name = "Qwen";
    p.port = 7103;
    p.model_path = "/m/q.gguf";
    p.source_file = "/cfg/qwen.yaml";
    p.positions = {{"id", {1, 5}}, {"port", {3, 7}}, {"llamacpp.flash_attn", {9, 15}},
                   {"llamacpp.extra_args[1]", {12, 7}}};
    return p;
}

std::string messages(const std::vector<ConfigProblem>& problems)
{
    std::string all;
    for (const auto& p : problems) {
        all += p.format() + "\n";
    }
    return all;
}

TEST(ConfigProblem, FormatsFileLineColumnLikeACompiler)
{
    EXPECT_EQ((ConfigProblem{"a.yaml", {3, 7}, "bad"}).format(), "a.yaml:3:7: bad");
    EXPECT_EQ((ConfigProblem{"a.yaml", {}, "bad"}).format(), "a.yaml: bad");
    EXPECT_EQ(to_error({{"a.yaml", {1, 2}, "x"}, {"b.yaml", {3, 4}, "y"}}).message,
              "a.yaml:1:2: x\nb.yaml:3:4: y");
}

TEST(Preset, ValidIds)
{
    EXPECT_TRUE(is_valid_id("qwen36-35b-a3b.mtp_q4"));
    EXPECT_TRUE(is_valid_id("7b"));
    EXPECT_FALSE(is_valid_id(""));
    EXPECT_FALSE(is_valid_id("-x"));
    EXPECT_FALSE(is_valid_id("Qwen"));
    EXPECT_FALSE(is_valid_id("a b"));
    EXPECT_FALSE(is_valid_id(std::string(65, 'a')));
}

TEST(Preset, DriverNamesRoundTrip)
{
    for (auto d : {ServiceDriver::llamacpp, ServiceDriver::vllm, ServiceDriver::command}) {
        EXPECT_EQ(parse_driver(driver_name(d)), d);
    }
    EXPECT_EQ(parse_driver("systemd"), std::nullopt);
}

TEST(Preset, GpuLayersText)
{
    EXPECT_EQ(gpu_layers_text({GpuLayers::Kind::all, 0}), "all");
    EXPECT_EQ(gpu_layers_text({GpuLayers::Kind::automatic, 0}), "auto");
    EXPECT_EQ(gpu_layers_text({GpuLayers::Kind::count, 33}), "33");
}

TEST(ValidatePreset, AMinimalLlamaPresetIsValid)
{
    EXPECT_THAT(validate_preset(llama_preset()), IsEmpty());
}

TEST(ValidatePreset, LlamaNeedsModelAndPort)
{
    auto p = llama_preset();
    p.model_path.reset();
    p.port = 0;
    const auto all = messages(validate_preset(p));
    EXPECT_THAT(all, HasSubstr("model_path"));
    EXPECT_THAT(all, HasSubstr("needs a 'port'"));
}

TEST(ValidatePreset, QuantizedVCacheWithFlashAttentionOffIsRefusedAtTheFlashAttnLine)
{
    auto p = llama_preset();
    p.llamacpp.cache_type_v = "q8_0";
    p.llamacpp.flash_attn = FlashAttn::off;
    const auto problems = validate_preset(p);
    ASSERT_EQ(problems.size(), 1U);
    EXPECT_EQ(problems[0].position.line, 9);
    EXPECT_THAT(problems[0].message, HasSubstr("flash"));
    p.llamacpp.flash_attn = FlashAttn::automatic;
    EXPECT_THAT(validate_preset(p), IsEmpty());
    p.llamacpp.cache_type_v = "f16";
    p.llamacpp.flash_attn = FlashAttn::off;
    EXPECT_THAT(validate_preset(p), IsEmpty());
}

TEST(ValidatePreset, UnknownCacheAndSpecTypesListTheAllowedOnes)
{
    auto p = llama_preset();
    p.llamacpp.cache_type_k = "q9_9";
    p.llamacpp.speculative.type = "draft-mtp,draft-magic";
    const auto all = messages(validate_preset(p));
    EXPECT_THAT(all, HasSubstr("unknown cache type 'q9_9'"));
    EXPECT_THAT(all, HasSubstr("q8_0"));
    EXPECT_THAT(all, HasSubstr("unknown speculative type 'draft-magic'"));
    EXPECT_THAT(all, ::testing::Not(HasSubstr("'draft-mtp'")));
}

TEST(ValidatePreset, DraftSimpleNeedsADraftModel)
{
    auto p = llama_preset();
    p.llamacpp.speculative.type = "draft-simple";
    EXPECT_THAT(messages(validate_preset(p)), HasSubstr("draft_model"));
    p.llamacpp.speculative.draft_model = "/m/draft.gguf";
    EXPECT_THAT(validate_preset(p), IsEmpty());
}

TEST(ValidatePreset, RangesOfNumbers)
{
    auto p = llama_preset();
    p.llamacpp.parallel = 0;
    p.llamacpp.threads = 0;
    p.llamacpp.reasoning_budget = -2;
    p.llamacpp.speculative.n_max = 0;
    p.llamacpp.n_cpu_moe = -1;
    EXPECT_EQ(validate_preset(p).size(), 5U);
    p = llama_preset();
    p.llamacpp.parallel = -1;
    p.llamacpp.reasoning_budget = -1;
    p.llamacpp.n_cpu_moe = 0;
    EXPECT_THAT(validate_preset(p), IsEmpty());
}

TEST(ValidatePreset, ExtraArgsMustNotSetHostPortOrModel)
{
    auto p = llama_preset();
    p.llamacpp.extra_args = {"--jinja", "--port=9000"};
    const auto problems = validate_preset(p);
    ASSERT_EQ(problems.size(), 1U);
    EXPECT_EQ(problems[0].position.line, 12);
    EXPECT_THAT(problems[0].message, HasSubstr("'--port'"));
}

TEST(ValidatePreset, ExtraArgsMayNotRepeatATypedOptionButMayCarryItWhenUnset)
{
    auto p = llama_preset();
    p.llamacpp.extra_args = {"-c", "4096"};
    EXPECT_THAT(validate_preset(p), IsEmpty());
    p.llamacpp.ctx = 8192;
    EXPECT_THAT(messages(validate_preset(p)), HasSubstr("repeats 'ctx'"));
    p = llama_preset();
    p.llamacpp.speculative.draft_model = "/m/d.gguf";
    p.llamacpp.extra_args = {"--model-draft", "/m/other.gguf"};
    EXPECT_THAT(messages(validate_preset(p)), HasSubstr("speculative.draft_model"));
}

TEST(ValidatePreset, VllmNeedsAModelAndAFraction)
{
    Preset p;
    p.id = "embed";
    p.driver = ServiceDriver::vllm;
    p.port = 8200;
    p.vllm.gpu_memory_utilization = 1.5;
    const auto all = messages(validate_preset(p));
    EXPECT_THAT(all, HasSubstr("vllm.model"));
    EXPECT_THAT(all, HasSubstr("gpu_memory_utilization"));
    p.vllm.model = "Qwen/Qwen3-Embedding-0.6B";
    p.vllm.gpu_memory_utilization = 0.085;
    EXPECT_THAT(validate_preset(p), IsEmpty());
}

TEST(ValidatePreset, CommandNeedsArgvAndAPortOnlyForAHealthCheck)
{
    Preset p;
    p.id = "tool";
    p.driver = ServiceDriver::command;
    EXPECT_THAT(messages(validate_preset(p)), HasSubstr("command.argv"));
    p.command.argv = {"/usr/bin/sleep", "100"};
    EXPECT_THAT(validate_preset(p), IsEmpty());
    p.health_path = "/ready";
    EXPECT_THAT(messages(validate_preset(p)), HasSubstr("port"));
    p.port = 9000;
    EXPECT_THAT(validate_preset(p), IsEmpty());
    p.health_path = "ready";
    EXPECT_THAT(messages(validate_preset(p)), HasSubstr("start with '/'"));
}

TEST(ValidatePreset, BadIdHostAndEnvNames)
{
    auto p = llama_preset();
    p.id = "Bad Id";
    p.host = "";
    p.env = {{"OK_1", "x"}, {"1BAD", "y"}};
    const auto problems = validate_preset(p);
    ASSERT_EQ(problems.size(), 3U);
    EXPECT_EQ(problems[0].position.line, 1); // the id's line
}

TEST(ClosestMatch, SuggestsTyposOnly)
{
    const std::vector<std::string> keys{"ctx", "parallel", "cache_type_k", "flash_attn"};
    EXPECT_EQ(closest_match("paralel", keys), "parallel");
    EXPECT_EQ(closest_match("flash_atn", keys), "flash_attn");
    EXPECT_EQ(closest_match("ctkx", keys), "ctx");  // one deletion
    EXPECT_EQ(closest_match("prallel", keys), "parallel");
    EXPECT_EQ(closest_match("chta", {"chat", "coder"}), "chat"); // a swap is one edit
    EXPECT_EQ(closest_match("temperature", keys), std::nullopt);
    EXPECT_EQ(closest_match("x", {}), std::nullopt);
}

TEST(ValidateMode, ReferencesDuplicatesAndPortClashes)
{
    auto a = llama_preset();
    a.id = "chat";
    auto b = llama_preset();
    b.id = "coder";
    b.port = 7104;
    auto c = llama_preset();
    c.id = "other";
    const std::map<std::string, const Preset*> presets{{"chat", &a}, {"coder", &b}, {"other", &c}};

    Mode mode;
    mode.id = "demo";
    mode.source_file = "/cfg/demo.yaml";
    mode.services = {"chat", "coder"};
    EXPECT_THAT(validate_mode(mode, presets), IsEmpty());

    mode.services = {"chat", "codr", "chat", "other"};
    mode.positions = {{"services[1]", {4, 5}}, {"services[2]", {5, 5}}, {"services[3]", {6, 5}}};
    const auto problems = validate_mode(mode, presets);
    ASSERT_EQ(problems.size(), 3U);
    EXPECT_EQ(problems[0].format(), "/cfg/demo.yaml:4:5: unknown service 'codr' (did you mean 'coder'?)");
    EXPECT_EQ(problems[1].position.line, 5);
    EXPECT_THAT(problems[1].message, HasSubstr("listed twice"));
    EXPECT_THAT(problems[2].message, HasSubstr("127.0.0.1:7103"));
}

TEST(ValidateMode, AnEmptyModeIsValidButItsIdIsChecked)
{
    Mode mode;
    mode.id = "blank";
    EXPECT_THAT(validate_mode(mode, {}), IsEmpty());
    mode.id = "Blank!";
    EXPECT_EQ(validate_mode(mode, {}).size(), 1U);
}

} // namespace
} // namespace gpumod::config
