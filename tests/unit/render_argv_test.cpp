#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/config/render_argv.hpp"

namespace gpumod::config {
namespace {

using ::testing::ElementsAre;

Preset minimal()
{
    Preset p;
    p.id = "tiny";
    p.port = 7201;
    p.model_path = "/m/tiny.gguf";
    return p;
}

TEST(RenderArgv, MinimalLlamaPresetEmitsOnlyModelHostAndPort)
{
    EXPECT_THAT(render_argv(minimal()),
                ElementsAre("llama-server", "-m", "/m/tiny.gguf", "--host", "127.0.0.1", "--port", "7201"));
}

TEST(RenderArgv, EveryTypedOptionInItsDocumentedOrder)
{
    auto p = minimal();
    p.host = "0.0.0.0";
    auto& o = p.llamacpp;
    o.ctx = 131072;
    o.parallel = 1;
    o.cache_type_k = "q8_0";
    o.cache_type_v = "q8_0";
    o.flash_attn = FlashAttn::on;
    o.n_gpu_layers = GpuLayers{GpuLayers::Kind::all, 0};
    o.n_cpu_moe = 4;
    o.speculative.type = "draft-mtp";
    o.speculative.n_max = 2;
    o.speculative.draft_model = "/m/draft.gguf";
    o.mmproj = "/m/mmproj.gguf";
    o.chat_template_kwargs = R"({"enable_thinking":true})";
    o.reasoning_budget = 0;
    o.threads = 16;
    o.extra_args = {"--jinja", "--temp", "0.6"};
    RenderPrograms programs;
    programs.llama_server = "/opt/llama/bin/llama-server";
    EXPECT_THAT(render_argv(p, programs),
                ElementsAre("/opt/llama/bin/llama-server", "-m", "/m/tiny.gguf", "--host", "0.0.0.0",
                            "--port", "7201", "-c", "131072", "-np", "1", "-ctk", "q8_0", "-ctv", "q8_0",
                            "-fa", "on", "-ngl", "all", "--n-cpu-moe", "4", "--spec-type", "draft-mtp",
                            "--spec-draft-n-max", "2", "-md", "/m/draft.gguf", "--mmproj",
                            "/m/mmproj.gguf", "--chat-template-kwargs", R"({"enable_thinking":true})",
                            "--reasoning-budget", "0", "-t", "16", "--jinja", "--temp", "0.6"));
}

TEST(RenderArgv, FlashAttentionAlwaysCarriesItsValue)
{
    auto p = minimal();
    p.llamacpp.flash_attn = FlashAttn::automatic;
    p.llamacpp.n_gpu_layers = GpuLayers{GpuLayers::Kind::count, 0};
    const auto argv = render_argv(p);
    EXPECT_THAT(std::vector<std::string>(argv.begin() + 7, argv.end()), ElementsAre("-fa", "auto", "-ngl", "0"));
}

TEST(RenderArgv, Vllm)
{
    Preset p;
    p.id = "embed";
    p.driver = ServiceDriver::vllm;
    p.port = 8200;
    p.vllm.model = "Qwen/Qwen3-Embedding-0.6B";
    p.vllm.gpu_memory_utilization = 0.085;
    p.vllm.max_model_len = 4096;
    p.vllm.max_num_seqs = 8;
    p.vllm.dtype = "bfloat16";
    p.vllm.enforce_eager = true;
    p.vllm.enable_sleep_mode = true;
    p.vllm.extra_args = {"--task", "embed"};
    EXPECT_THAT(render_argv(p),
                ElementsAre("vllm", "serve", "Qwen/Qwen3-Embedding-0.6B", "--host", "127.0.0.1", "--port",
                            "8200", "--gpu-memory-utilization", "0.085", "--max-model-len", "4096",
                            "--max-num-seqs", "8", "--dtype", "bfloat16", "--enforce-eager",
                            "--enable-sleep-mode", "--task", "embed"));
    p.vllm = VllmOptions{};
    p.vllm.model = "m";
    EXPECT_THAT(render_argv(p), ElementsAre("vllm", "serve", "m", "--host", "127.0.0.1", "--port", "8200"));
}

TEST(RenderArgv, CommandIsRunAsWritten)
{
    Preset p;
    p.id = "tool";
    p.driver = ServiceDriver::command;
    p.command.argv = {"/usr/bin/python3", "-m", "http.server", "9000"};
    EXPECT_EQ(render_argv(p), p.command.argv);
}

TEST(ToServiceSpec, CarriesEverythingTheSupervisorNeeds)
{
    auto p = minimal();
    p.name = "Tiny";
    p.env = {{"GGML_CUDA_NO_PINNED", "1"}};
    p.startup_timeout_s = 30;
    p.vram_budget_mb = 22000;
    p.source_file = "/cfg/tiny.yaml";
    const auto spec = to_service_spec(p);
    EXPECT_EQ(spec.id, "tiny");
    EXPECT_EQ(spec.name, "Tiny");
    EXPECT_EQ(spec.driver, ServiceDriver::llamacpp);
    EXPECT_EQ(spec.argv, render_argv(p));
    EXPECT_EQ(spec.env, p.env);
    EXPECT_EQ(spec.host, "127.0.0.1");
    EXPECT_EQ(spec.port, 7201);
    EXPECT_EQ(spec.health_path, "/health");
    EXPECT_EQ(spec.startup_timeout, std::chrono::seconds(30));
    EXPECT_EQ(spec.model_path, std::filesystem::path("/m/tiny.gguf"));
    EXPECT_EQ(spec.vram_budget_bytes, 22000ULL * 1024 * 1024);
    EXPECT_EQ(spec.source_file, "/cfg/tiny.yaml");
    EXPECT_FALSE(spec.sleep_mode);
}

TEST(ToServiceSpec, DriverDefaultsForHealthAndSleep)
{
    Preset cmd;
    cmd.id = "tool";
    cmd.driver = ServiceDriver::command;
    cmd.command.argv = {"x"};
    EXPECT_EQ(to_service_spec(cmd).health_path, "");
    cmd.health_path = "/ready";
    EXPECT_EQ(to_service_spec(cmd).health_path, "/ready");

    Preset vllm;
    vllm.id = "v";
    vllm.driver = ServiceDriver::vllm;
    vllm.vllm.model = "m";
    vllm.vllm.enable_sleep_mode = true;
    auto spec = to_service_spec(vllm);
    EXPECT_TRUE(spec.sleep_mode);
    EXPECT_EQ(spec.env.at("VLLM_SERVER_DEV_MODE"), "1");
    vllm.env = {{"VLLM_SERVER_DEV_MODE", "0"}};
    EXPECT_EQ(to_service_spec(vllm).env.at("VLLM_SERVER_DEV_MODE"), "0");
}

TEST(FormatCommandLine, QuotesOnlyWhatTheShellWouldSplitOrInterpret)
{
    EXPECT_EQ(format_command_line({"llama-server", "-m", "/m/a.gguf", "--port", "7201"}),
              "llama-server -m /m/a.gguf --port 7201");
    EXPECT_EQ(format_command_line({"x", R"({"enable_thinking":true})", "a b", "", "it's", "$HOME"}),
              R"(x '{"enable_thinking":true}' 'a b' '' 'it'\''s' '$HOME')");
}

} // namespace
} // namespace gpumod::config
