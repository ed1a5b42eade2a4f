// Preset and mode files on disk -> typed structs, and every kind of mistake reported as
// file:line:column.

#include "adapters/config/yaml_loader.hpp"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../support/temp_dir.hpp"

namespace gpumod::config {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class YamlLoader : public ::testing::Test
{
protected:
    fs::path write(const fs::path& relative, const std::string& text)
    {
        const auto path = m_dir.path() / relative;
        fs::create_directories(path.parent_path());
        std::ofstream(path) << text;
        return path;
    }

    // The single problem loading `text` as a preset gives, formatted.
    std::string preset_problem(const std::string& text, const std::string& name = "p.yaml")
    {
        const auto file = write(name, text);
        auto r = load_preset_file(file, m_env);
        EXPECT_FALSE(r.has_value());
        if (r.has_value()) {
            return "";
        }
        EXPECT_EQ(r.error().size(), 1U) << to_error(r.error()).message;
        return r.error().front().format();
    }

    std::string at(const std::string& name, int line, int column) const
    {
        return (m_dir.path() / name).string() + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    }

    testing::TempDir m_dir;
    EnvMap m_env{{"HOME", "/home/ana"}, {"MODELS", "/srv/models"}};
};

constexpr const char* k_full_preset = R"(id: qwen36-mtp
name: Qwen3.6 35B-A3B MTP
driver: llamacpp
host: 127.0.0.1
port: 7103
model_path: $MODELS/Qwen3.6-35B-A3B-MTP.gguf
llamacpp:
  ctx: 131072
  parallel: 1
  cache_type_k: q8_0
  cache_type_v: q8_0
  flash_attn: on
  n_gpu_layers: all
  n_cpu_moe: 2
  speculative:
    type: draft-mtp
    n_max: 2
    draft_model: drafts/d.gguf
  chat_template_kwargs: {enable_thinking: true, budget: 3, label: "7"}
  reasoning_budget: -1
  threads: 16
  extra_args: [--jinja, --temp, "0.6", --slot-save-path, "${HOME}/slots"]
env:
  GGML_CUDA_NO_PINNED: 1
  CACHE: ${XDG_CACHE_HOME:-$HOME/.cache}
startup_timeout_s: 300
health_path: /health
vram_budget_mb: 22000
)";

TEST_F(YamlLoader, ReadsEveryKeyOfAFullPreset)
{
    const auto file = write("qwen.yaml", k_full_preset);
    auto r = load_preset_file(file, m_env);
    ASSERT_TRUE(r.has_value()) << to_error(r.error()).message;
    const Preset& p = *r;
    EXPECT_EQ(p.id, "qwen36-mtp");
    EXPECT_EQ(p.name, "Qwen3.6 35B-A3B MTP");
    EXPECT_EQ(p.driver, ServiceDriver::llamacpp);
    EXPECT_EQ(p.port, 7103);
    EXPECT_EQ(p.model_path, fs::path("/srv/models/Qwen3.6-35B-A3B-MTP.gguf"));
    const auto& o = p.llamacpp;
    EXPECT_EQ(o.ctx, 131072U);
    EXPECT_EQ(o.parallel, 1);
    EXPECT_EQ(o.cache_type_k, "q8_0");
    EXPECT_EQ(o.cache_type_v, "q8_0");
    EXPECT_EQ(o.flash_attn, FlashAttn::on);
    EXPECT_EQ(o.n_gpu_layers, (GpuLayers{GpuLayers::Kind::all, 0}));
    EXPECT_EQ(o.n_cpu_moe, 2);
    EXPECT_EQ(o.speculative.type, "draft-mtp");
    EXPECT_EQ(o.speculative.n_max, 2);
    // Relative paths are relative to the preset file's directory.
    EXPECT_EQ(o.speculative.draft_model, m_dir.path() / "drafts/d.gguf");
    // Plain YAML scalars keep their JSON types; quoted ones stay text.
    EXPECT_EQ(o.chat_template_kwargs, R"({"budget":3,"enable_thinking":true,"label":"7"})");
    EXPECT_EQ(o.reasoning_budget, -1);
    EXPECT_EQ(o.threads, 16);
    EXPECT_THAT(o.extra_args, ElementsAre("--jinja", "--temp", "0.6", "--slot-save-path", "/home/ana/slots"));
    EXPECT_EQ(p.env.at("GGML_CUDA_NO_PINNED"), "1");
    EXPECT_EQ(p.env.at("CACHE"), "/home/ana/.cache");
    EXPECT_EQ(p.startup_timeout_s, 300U);
    EXPECT_EQ(p.health_path, "/health");
    EXPECT_EQ(p.vram_budget_mb, 22000U);
    EXPECT_EQ(p.source_file, file);
    EXPECT_EQ(p.position_of("model_path").line, 6);
    EXPECT_EQ(p.position_of("model_path").column, 13);
    EXPECT_EQ(p.position_of("llamacpp.extra_args[4]").line, 22);
}

TEST_F(YamlLoader, DefaultsWhenKeysAreLeftOut)
{
    const auto file = write("tiny.yaml", "id: tiny\nport: 7201\nmodel_path: ~/m/tiny.gguf\nllamacpp:\nenv:\n");
    auto r = load_preset_file(file, m_env);
    ASSERT_TRUE(r.has_value()) << to_error(r.error()).message;
    EXPECT_EQ(r->name, "tiny");
    EXPECT_EQ(r->driver, ServiceDriver::llamacpp);
    EXPECT_EQ(r->host, "127.0.0.1");
    EXPECT_EQ(r->model_path, fs::path("/home/ana/m/tiny.gguf"));
    EXPECT_EQ(r->startup_timeout_s, 120U);
    EXPECT_FALSE(r->health_path);
    EXPECT_FALSE(r->llamacpp.ctx);
    EXPECT_FALSE(r->llamacpp.flash_attn);
}

TEST_F(YamlLoader, UnknownKeyIsNamedWithItsPositionAndALikelyCorrection)
{
    EXPECT_EQ(preset_problem("id: a\nport: 1\nmodel_path: /m\nllamacpp:\n  ctx: 1\n  paralel: 2\n"),
              at("p.yaml", 6, 3) + "unknown key 'llamacpp.paralel' (did you mean 'parallel'?)");
    EXPECT_THAT(preset_problem("id: a\nport: 1\nmodel_path: /m\nctx: 4096\n"),
                HasSubstr(at("p.yaml", 4, 1) + "unknown key 'ctx' (llama-server options go under 'llamacpp:')"));
    EXPECT_THAT(preset_problem("id: a\nport: 1\nmodel_path: /m\nwhatever: 1\n"),
                HasSubstr("known keys: id, name"));
}

TEST_F(YamlLoader, WrongTypesNameTheKeyAndTheValue)
{
    EXPECT_EQ(preset_problem("id: a\nport: seventy\nmodel_path: /m\n"),
              at("p.yaml", 2, 7) + "'port' must be a whole number, got 'seventy'");
    EXPECT_EQ(preset_problem("id: a\nport: 70000\nmodel_path: /m\n"),
              at("p.yaml", 2, 7) + "'port' must be between 1 and 65535, got 70000");
    EXPECT_EQ(preset_problem("id: a\nport: 1\nmodel_path: [a, b]\n"),
              at("p.yaml", 3, 1) + "'model_path' must be a text value, got a list");
    EXPECT_EQ(preset_problem("id: a\nport: 1\nmodel_path: /m\nllamacpp:\n  extra_args: --jinja\n"),
              at("p.yaml", 5, 15) + "'llamacpp.extra_args' must be a list of text values such as "
                                    "[--jinja], got '--jinja'");
    EXPECT_EQ(preset_problem("id: a\nport: 1\nmodel_path: /m\nllamacpp:\n  flash_attn: maybe\n"),
              at("p.yaml", 5, 15) + "'llamacpp.flash_attn' must be on, off or auto, got 'maybe'");
    EXPECT_EQ(preset_problem("id: a\nport: 1\nmodel_path: /m\nllamacpp: 3\n"),
              at("p.yaml", 4, 11) + "'llamacpp' must be a mapping of keys, got '3'");
    EXPECT_EQ(preset_problem("id: a\nport: 1\nmodel_path: /m\nllamacpp:\n  n_gpu_layers: most\n"),
              at("p.yaml", 5, 17) + "'llamacpp.n_gpu_layers' must be a layer count >= 0, 'all' (or -1) or "
                                    "'auto', got 'most'");
}

TEST_F(YamlLoader, MissingRequiredKeyAndSemanticProblemsArePositioned)
{
    EXPECT_EQ(preset_problem("name: x\nport: 1\nmodel_path: /m\n"), at("p.yaml", 1, 1) + "missing required key 'id'");
    EXPECT_THAT(preset_problem("id: a\nmodel_path: /m\n"), HasSubstr(at("p.yaml", 1, 5) + "driver llamacpp needs a 'port'"));
    EXPECT_THAT(preset_problem("id: a\nport: 1\nmodel_path: /m\nllamacpp:\n  extra_args: [--jinja, --port, '2']\n"),
                HasSubstr(at("p.yaml", 5, 25) + "extra_args must not contain '--port'"));
    EXPECT_THAT(preset_problem("id: a\nport: 1\nmodel_path: /m\nllamacpp:\n  extra_args: ['--temp 0.6']\n"),
                HasSubstr(at("p.yaml", 5, 16) + "'--temp 0.6' holds a space"));
}

TEST_F(YamlLoader, SectionOfAnotherDriverIsRefused)
{
    EXPECT_EQ(preset_problem("id: a\nport: 1\nmodel_path: /m\nvllm:\n  model: x\n"),
              at("p.yaml", 4, 1) + "section 'vllm' is for driver vllm, but this preset's driver is llamacpp");
}

TEST_F(YamlLoader, RepeatedKeyIsAProblem)
{
    EXPECT_EQ(preset_problem("id: a\nport: 1\nport: 2\nmodel_path: /m\n"),
              at("p.yaml", 3, 1) + "key 'port' appears twice (first at line 2)");
}

TEST_F(YamlLoader, UndefinedVariableIsNamedAtItsValue)
{
    EXPECT_THAT(preset_problem("id: a\nport: 1\nmodel_path: $NOPE/m.gguf\n"),
                HasSubstr(at("p.yaml", 3, 13) + "in 'model_path': undefined variable 'NOPE'"));
    EXPECT_THAT(preset_problem("id: a\nport: 1\nmodel_path: /m\nenv:\n  X: $GONE\n"),
                HasSubstr(at("p.yaml", 5, 6) + "in 'env.X': undefined variable 'GONE'"));
    // $$ is a literal dollar sign.
    const auto file = write("d.yaml", "id: a\nport: 1\nmodel_path: /m\nllamacpp:\n  extra_args: [--grammar, 'root ::= \"$$\"']\n");
    auto r = load_preset_file(file, m_env);
    ASSERT_TRUE(r.has_value()) << to_error(r.error()).message;
    EXPECT_EQ(r->llamacpp.extra_args[1], "root ::= \"$\"");
}

TEST_F(YamlLoader, SyntaxErrorsEmptyFilesAndNonMappings)
{
    EXPECT_EQ(preset_problem("id: a\nport: [1,\n"), at("p.yaml", 3, 1) + "YAML syntax error: end of sequence flow not found");
    EXPECT_THAT(preset_problem(""), HasSubstr("the file is empty"));
    EXPECT_EQ(preset_problem("- a\n- b\n"), at("p.yaml", 1, 1) + "expected a mapping of keys, got a list");
    auto r = load_preset_file(m_dir.path() / "missing.yaml", m_env);
    ASSERT_FALSE(r.has_value());
    EXPECT_THAT(r.error().front().format(), HasSubstr("missing.yaml: cannot read"));
}

TEST_F(YamlLoader, SeveralProblemsInOneFileAreAllReported)
{
    const auto file = write("many.yaml", "id: a\nport: x\nmodel_path: /m\nllamacpp:\n  ctx: big\n  bogus: 1\n");
    auto r = load_preset_file(file, m_env);
    ASSERT_FALSE(r.has_value());
    ASSERT_EQ(r.error().size(), 3U) << to_error(r.error()).message;
    // In file order, whatever order the keys are visited in.
    EXPECT_EQ(r.error()[0].position.line, 2);
    EXPECT_EQ(r.error()[1].position.line, 5);
    EXPECT_EQ(r.error()[2].position.line, 6);
}

TEST_F(YamlLoader, ChatTemplateKwargsAsJsonText)
{
    const auto file = write("k.yaml", "id: a\nport: 1\nmodel_path: /m\nllamacpp:\n  chat_template_kwargs: '{\"preserve_thinking\": true}'\n");
    auto r = load_preset_file(file, m_env);
    ASSERT_TRUE(r.has_value()) << to_error(r.error()).message;
    EXPECT_EQ(r->llamacpp.chat_template_kwargs, R"({"preserve_thinking":true})");
    EXPECT_THAT(preset_problem("id: a\nport: 1\nmodel_path: /m\nllamacpp:\n  chat_template_kwargs: '[1]'\n"),
                HasSubstr("must be a mapping"));
}

TEST_F(YamlLoader, VllmAndCommandPresets)
{
    const auto vllm = write("v.yaml", "id: embed\ndriver: vllm\nport: 8200\nvllm:\n  model: Qwen/Qwen3-Embedding-0.6B\n"
                                      "  gpu_memory_utilization: 0.085\n  max_model_len: 4096\n  enforce_eager: true\n"
                                      "  enable_sleep_mode: yes\n  tensor_parallel_size: 2\n");
    auto v = load_preset_file(vllm, m_env);
    ASSERT_TRUE(v.has_value()) << to_error(v.error()).message;
    EXPECT_EQ(v->driver, ServiceDriver::vllm);
    EXPECT_DOUBLE_EQ(v->vllm.gpu_memory_utilization.value_or(0), 0.085);
    EXPECT_EQ(v->vllm.max_model_len, 4096U);
    EXPECT_TRUE(v->vllm.enforce_eager);
    EXPECT_TRUE(v->vllm.enable_sleep_mode);
    EXPECT_EQ(v->vllm.tensor_parallel_size, 2U);
    EXPECT_EQ(preset_problem("id: e\ndriver: vllm\nport: 1\nvllm:\n  gpu_memory_utilization: 0.5\n"),
              at("p.yaml", 4, 1) + "missing required key 'vllm.model'");

    const auto cmd = write("c.yaml", "id: tool\ndriver: command\ncommand:\n  argv: [$HOME/bin/tool, --serve]\n");
    auto c = load_preset_file(cmd, m_env);
    ASSERT_TRUE(c.has_value()) << to_error(c.error()).message;
    EXPECT_THAT(c->command.argv, ElementsAre("/home/ana/bin/tool", "--serve"));
    EXPECT_EQ(preset_problem("id: a\ndriver: docker\n"), at("p.yaml", 2, 9) + "unknown driver 'docker' (one of: llamacpp, vllm, command)");
}

TEST_F(YamlLoader, ModelFilesAreCheckedAtTheirLines)
{
    write("models/real.gguf", "GGUF");
    const auto file = write("m.yaml", "id: a\nport: 1\nmodel_path: models/real.gguf\nllamacpp:\n  speculative:\n"
                                      "    type: draft-simple\n    draft_model: models/none.gguf\n  mmproj: models\n");
    auto r = load_preset_file(file, m_env);
    ASSERT_TRUE(r.has_value()) << to_error(r.error()).message;
    const auto problems = check_model_files(*r);
    ASSERT_EQ(problems.size(), 2U);
    EXPECT_EQ(problems[0].format(), at("m.yaml", 7, 18) + "llamacpp.speculative.draft_model: model file "
                                                         "not found: " +
                                        (m_dir.path() / "models/none.gguf").string());
    EXPECT_THAT(problems[1].format(), HasSubstr(at("m.yaml", 8, 11) + "llamacpp.mmproj: model path is not a regular file"));
}

TEST_F(YamlLoader, ModeFiles)
{
    const auto file = write("demo.yaml", "id: demo\nname: Demo\ndescription: two tiny models\nservices:\n  - tiny-chat\n  - tiny-coder\n");
    auto r = load_mode_file(file);
    ASSERT_TRUE(r.has_value()) << to_error(r.error()).message;
    EXPECT_EQ(r->id, "demo");
    EXPECT_EQ(r->description, "two tiny models");
    EXPECT_THAT(r->services, ElementsAre("tiny-chat", "tiny-coder"));
    EXPECT_EQ(r->position_of("services[1]").line, 6);

    const auto blank = write("blank.yaml", "id: blank\nservices: []\n");
    ASSERT_TRUE(load_mode_file(blank).has_value());
    const auto bad = write("bad.yaml", "id: x\nservices:\n  - a\n  - {b: 1}\nsevices: []\n");
    auto b = load_mode_file(bad);
    ASSERT_FALSE(b.has_value());
    EXPECT_EQ(to_error(b.error()).message,
              at("bad.yaml", 4, 5) + "'services[1]' must be a text value, got a mapping\n" + at("bad.yaml", 5, 1) +
                  "unknown key 'sevices' (did you mean 'services'?)");
}

TEST_F(YamlLoader, RenderedModeReadsBackTheSame)
{
    Mode mode;
    mode.id = "mine";
    mode.name = "Mine: \"quoted\" # not a comment";
    mode.description = "- starts like a list";
    mode.services = {"a", "b.c"};
    const auto file = write("mine.yaml", render_mode_yaml(mode));
    auto r = load_mode_file(file);
    ASSERT_TRUE(r.has_value()) << to_error(r.error()).message;
    EXPECT_EQ(r->id, mode.id);
    EXPECT_EQ(r->name, mode.name);
    EXPECT_EQ(r->description, mode.description);
    EXPECT_EQ(r->services, mode.services);
}

TEST_F(YamlLoader, CatalogShadowsAcrossDirectoriesAndRefusesDuplicatesWithinOne)
{
    const std::string tiny = "port: 7201\nmodel_path: /m/t.gguf\n";
    write("user/presets/chat.yaml", "id: chat\nname: mine\n" + tiny);
    write("user/presets/notes.txt", "not yaml");
    write("user/presets/sub/deep.yaml", "id: deep\n" + tiny); // subdirectories are not read
    write("bundled/presets/chat.yaml", "id: chat\nname: bundled\n" + tiny);
    write("bundled/presets/coder.yml", "id: coder\nport: 7202\nmodel_path: /m/c.gguf\n");
    write("bundled/presets/coder2.yaml", "id: coder\nport: 7203\nmodel_path: /m/c.gguf\n");
    write("bundled/presets/broken.yaml", "id: broken\nport: x\n");
    write("bundled/modes/demo.yaml", "id: demo\nservices: [chat, coder]\n");
    write("bundled/modes/bad.yaml", "id: bad\nservices: [chat, nope]\n");
    const ConfigDirs dirs{{m_dir.path() / "user/presets", m_dir.path() / "bundled/presets"},
                          {m_dir.path() / "user/modes", m_dir.path() / "bundled/modes"}};
    const auto catalog = load_catalog(dirs, m_env);

    ASSERT_EQ(catalog.presets.size(), 2U);
    EXPECT_EQ(catalog.presets[0].id, "chat");
    EXPECT_EQ(catalog.presets[0].name, "mine");
    EXPECT_EQ(catalog.presets[1].id, "coder");
    EXPECT_EQ(catalog.presets[1].port, 7202); // coder.yml sorts before coder2.yaml
    ASSERT_EQ(catalog.shadowed.size(), 1U);
    EXPECT_EQ(catalog.shadowed[0].hidden, m_dir.path() / "bundled/presets/chat.yaml");
    ASSERT_EQ(catalog.modes.size(), 1U);
    EXPECT_EQ(catalog.modes[0].id, "demo");
    EXPECT_NE(catalog.find_mode("demo"), nullptr);
    EXPECT_EQ(catalog.find_preset("broken"), nullptr);

    std::string all = to_error(catalog.problems).message;
    EXPECT_EQ(catalog.problems.size(), 3U) << all;
    EXPECT_THAT(all, HasSubstr(at("bundled/presets/broken.yaml", 2, 7) + "'port' must be a whole number"));
    EXPECT_THAT(all, HasSubstr(at("bundled/presets/coder2.yaml", 1, 5) + "duplicate preset id 'coder': also defined in " +
                               (m_dir.path() / "bundled/presets/coder.yml").string() + ":1"));
    EXPECT_THAT(all, HasSubstr(at("bundled/modes/bad.yaml", 2, 18) + "unknown service 'nope'"));
}

TEST_F(YamlLoader, ExpandConfigPathsTakesFilesAndDirectories)
{
    const auto a = write("d/a.yaml", "id: a\n");
    const auto b = write("d/b.yml", "id: b\n");
    const auto c = write("c.yaml", "id: c\n");
    auto r = expand_config_paths({m_dir.path() / "d", c});
    ASSERT_TRUE(r.has_value());
    EXPECT_THAT(*r, ElementsAre(a, b, c));
    EXPECT_FALSE(expand_config_paths({m_dir.path() / "nope"}).has_value());
}

TEST_F(YamlLoader, BundledDirOrder)
{
    // GPUMOD_DATA_DIR wins and must exist.
    auto forced = find_bundled_dir(m_dir.path().string(), "/nonexistent/bin/gpumod");
    ASSERT_TRUE(forced.has_value());
    ASSERT_TRUE(forced->has_value());
    EXPECT_EQ((*forced)->source, "GPUMOD_DATA_DIR");
    EXPECT_FALSE(find_bundled_dir((m_dir.path() / "nope").string(), "").has_value());

    // An installed layout next to the executable comes next.
    write("prefix/share/gpumod/presets/x.yaml", "id: x\n");
    auto installed = find_bundled_dir(std::nullopt, m_dir.path() / "prefix/bin/gpumod");
    ASSERT_TRUE(installed.has_value());
    ASSERT_TRUE(installed->has_value());
    EXPECT_EQ((*installed)->path, m_dir.path() / "prefix/share/gpumod");
    EXPECT_EQ((*installed)->source, "installed");

    // Otherwise the source tree this was built from.
    auto dev = find_bundled_dir(std::nullopt, m_dir.path() / "build/gpumod");
    ASSERT_TRUE(dev.has_value());
    ASSERT_TRUE(dev->has_value());
    EXPECT_EQ((*dev)->source, "source tree");
    EXPECT_TRUE(fs::is_directory((*dev)->path / "presets"));
}

TEST(ProcessEnvironment, SeesThisProcessesVariables)
{
    ::setenv("GPUMOD_TEST_ENV_PROBE", "a=b", 1);
    const auto env = process_environment();
    EXPECT_EQ(env.at("GPUMOD_TEST_ENV_PROBE"), "a=b");
    ::unsetenv("GPUMOD_TEST_ENV_PROBE");
    EXPECT_FALSE(current_executable().empty());
}

} // namespace
} // namespace gpumod::config
