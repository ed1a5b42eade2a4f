// `gpumod preset ...` and `gpumod mode list|show|validate|create`, driven like a user.

#include <fstream>
#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/run_gpumod.hpp"
#include "support/temp_dir.hpp"

namespace gpumod::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class PresetCli : public ::testing::Test
{
protected:
    void SetUp() override
    {
        fs::create_directories(m_dir.path() / "config/gpumod/presets");
        fs::create_directories(m_dir.path() / "data/presets");
        fs::create_directories(m_dir.path() / "data/modes");
        fs::create_directories(m_dir.path() / "models");
        std::ofstream(m_dir.path() / "models/chat.gguf") << "GGUF";
        write("data/presets/chat.yaml", "id: chat\nname: Chat\nport: 7301\nmodel_path: $MODELS/chat.gguf\n"
                                        "llamacpp:\n  ctx: 4096\n  flash_attn: on\n"
                                        "  chat_template_kwargs: {enable_thinking: false}\n"
                                        "env:\n  GGML_CUDA_NO_PINNED: 1\n");
        write("config/gpumod/presets/coder.yaml",
              "id: coder\nport: 7302\nmodel_path: $MODELS/chat.gguf\nllamacpp:\n  parallel: 1\n");
        write("data/modes/pair.yaml", "id: pair\ndescription: both\nservices: [chat, coder]\n");
    }

    void write(const std::string& relative, const std::string& text)
    {
        std::ofstream(m_dir.path() / relative) << text;
    }

    CliResult gpumod(const std::vector<std::string>& args, std::map<std::string, std::string> extra = {})
    {
        std::map<std::string, std::string> env{
            {"HOME", m_dir.path().string()},
            {"XDG_CONFIG_HOME", (m_dir.path() / "config").string()},
            {"XDG_CACHE_HOME", (m_dir.path() / "cache").string()},
            {"GPUMOD_DATA_DIR", (m_dir.path() / "data").string()},
            {"GPUMOD_LLAMA_SERVER", "/bin/true"},
            {"MODELS", (m_dir.path() / "models").string()},
        };
        for (auto& [k, v] : extra) {
            env[k] = v;
        }
        return run_gpumod(args, env);
    }

    TempDir m_dir;
};

TEST_F(PresetCli, ListShowsUserAndBundledPresets)
{
    auto r = gpumod({"preset", "list"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("chat"));
    EXPECT_THAT(r.out, HasSubstr("bundled"));
    EXPECT_THAT(r.out, HasSubstr("coder"));
    EXPECT_THAT(r.out, HasSubstr("user"));
    EXPECT_THAT(r.out, HasSubstr("7301"));

    auto j = gpumod({"preset", "list", "--json"});
    ASSERT_EQ(j.exit_code, 0) << j.err;
    auto doc = nlohmann::json::parse(j.out);
    ASSERT_EQ(doc.at("presets").size(), 2U);
    EXPECT_EQ(doc.at("presets")[0].at("id"), "chat");
    EXPECT_EQ(doc.at("presets")[0].at("llamacpp").at("ctx"), 4096);
    EXPECT_EQ(doc.at("presets")[0].at("llamacpp").at("chat_template_kwargs").at("enable_thinking"), false);
    EXPECT_EQ(doc.at("presets")[1].at("model_path"), (m_dir.path() / "models/chat.gguf").string());
    EXPECT_TRUE(doc.at("problems").empty());
}

TEST_F(PresetCli, CmdPrintsTheExactCommandLine)
{
    auto r = gpumod({"preset", "cmd", "chat"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto model = (m_dir.path() / "models/chat.gguf").string();
    EXPECT_EQ(r.out, "GGML_CUDA_NO_PINNED=1 /bin/true -m " + model +
                         " --host 127.0.0.1 --port 7301 -c 4096 -fa on --chat-template-kwargs "
                         "'{\"enable_thinking\":false}'\n");
    auto j = gpumod({"preset", "cmd", "coder", "--json"});
    ASSERT_EQ(j.exit_code, 0) << j.err;
    auto doc = nlohmann::json::parse(j.out);
    EXPECT_EQ(doc.at("argv"), nlohmann::json({"/bin/true", "-m", model, "--host", "127.0.0.1", "--port", "7302",
                                              "-np", "1"}));
}

TEST_F(PresetCli, ShowPrintsSettingsFileAndCommand)
{
    auto r = gpumod({"preset", "show", "chat"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("127.0.0.1:7301"));
    EXPECT_THAT(r.out, HasSubstr("flash_attn"));
    EXPECT_THAT(r.out, HasSubstr((m_dir.path() / "data/presets/chat.yaml").string()));
    EXPECT_THAT(r.out, HasSubstr("--port 7301"));
    auto j = gpumod({"preset", "show", "chat", "--json"});
    ASSERT_EQ(j.exit_code, 0) << j.err;
    EXPECT_EQ(nlohmann::json::parse(j.out).at("effective_health_path"), "/health");
}

TEST_F(PresetCli, UnknownIdSuggestsTheClosest)
{
    auto r = gpumod({"preset", "show", "chta"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("no preset 'chta' (did you mean 'chat'?)"));
    EXPECT_TRUE(r.out.empty());
}

TEST_F(PresetCli, ValidateReportsEveryProblemAsFileLineColumn)
{
    write("bad.yaml", "id: bad\nport: 7303\nmodel_path: $MODELS/missing.gguf\nllamacpp:\n  ctxx: 4096\n");
    const auto bad = (m_dir.path() / "bad.yaml").string();
    auto r = gpumod({"preset", "validate", bad});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr(bad + ":5:3: unknown key 'llamacpp.ctxx' (did you mean 'ctx'?)"));
    EXPECT_THAT(r.out, HasSubstr("1 problem in 1 of 1 preset file"));

    write("bad.yaml", "id: bad\nport: 7303\nmodel_path: $MODELS/missing.gguf\n");
    auto missing = gpumod({"preset", "validate", bad, "--json"});
    EXPECT_EQ(missing.exit_code, 1);
    auto doc = nlohmann::json::parse(missing.out);
    EXPECT_EQ(doc.at("ok"), false);
    ASSERT_EQ(doc.at("problems").size(), 1U);
    EXPECT_EQ(doc.at("problems")[0].at("line"), 3);
    EXPECT_EQ(doc.at("problems")[0].at("column"), 13);
    EXPECT_THAT(doc.at("problems")[0].at("message").get<std::string>(), HasSubstr("model file not found"));

    auto good = gpumod({"preset", "validate"});
    EXPECT_EQ(good.exit_code, 0) << good.err;
    EXPECT_THAT(good.out, HasSubstr("2 preset files valid"));
}

TEST_F(PresetCli, ABrokenFileShowsUpInListWithExitOne)
{
    write("data/presets/broken.yaml", "id: broken\nport: [\n");
    auto r = gpumod({"preset", "list"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.out, HasSubstr("chat"));
    EXPECT_THAT(r.err, HasSubstr((m_dir.path() / "data/presets/broken.yaml").string() + ":"));
}

TEST_F(PresetCli, ModesListShowValidate)
{
    auto list = gpumod({"mode", "list"});
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_THAT(list.out, HasSubstr("pair"));
    EXPECT_THAT(list.out, HasSubstr("chat, coder"));
    auto show = gpumod({"mode", "show", "pair", "--json"});
    ASSERT_EQ(show.exit_code, 0) << show.err;
    auto doc = nlohmann::json::parse(show.out);
    EXPECT_EQ(doc.at("services"), nlohmann::json({"chat", "coder"}));
    EXPECT_EQ(doc.at("service_presets")[1].at("port"), 7302);
    EXPECT_EQ(gpumod({"mode", "validate"}).exit_code, 0);

    write("data/modes/typo.yaml", "id: typo\nservices:\n  - chat\n  - codr\n");
    auto bad = gpumod({"mode", "validate"});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_THAT(bad.err, HasSubstr((m_dir.path() / "data/modes/typo.yaml").string() +
                                   ":4:5: unknown service 'codr' (did you mean 'coder'?)"));
}

TEST_F(PresetCli, ModeCreateWritesOnceAndRefusesToOverwrite)
{
    auto r = gpumod({"mode", "create", "solo", "--services", "coder,chat", "--description", "two"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto file = m_dir.path() / "config/gpumod/modes/solo.yaml";
    ASSERT_TRUE(fs::exists(file));
    auto show = gpumod({"mode", "show", "solo", "--json"});
    ASSERT_EQ(show.exit_code, 0) << show.err;
    auto doc = nlohmann::json::parse(show.out);
    EXPECT_EQ(doc.at("services"), nlohmann::json({"coder", "chat"}));
    EXPECT_EQ(doc.at("description"), "two");

    auto again = gpumod({"mode", "create", "solo", "--services", "chat"});
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_THAT(again.err, HasSubstr("already exists"));
    auto bundled_id = gpumod({"mode", "create", "pair"});
    EXPECT_EQ(bundled_id.exit_code, 1);
    auto unknown = gpumod({"mode", "create", "x", "--services", "nope"});
    EXPECT_EQ(unknown.exit_code, 1);
    EXPECT_THAT(unknown.err, HasSubstr("unknown service 'nope'"));
    EXPECT_FALSE(fs::exists(m_dir.path() / "config/gpumod/modes/x.yaml"));
    auto bad_id = gpumod({"mode", "create", "Bad Id"});
    EXPECT_EQ(bad_id.exit_code, 1);
    EXPECT_THAT(bad_id.err, HasSubstr("invalid id"));
}

TEST_F(PresetCli, BundledExamplesAreValidOnceTheDemoModelsExist)
{
    const std::map<std::string, std::string> source{{"GPUMOD_DATA_DIR", GPUMOD_SOURCE_DIR}};
    auto before = gpumod({"preset", "validate"}, source);
    EXPECT_EQ(before.exit_code, 1);
    EXPECT_THAT(before.err, HasSubstr("gpumod dev make-model"));

    const auto models = m_dir.path() / "cache/gpumod/models";
    fs::create_directories(models);
    for (const char* name : {"tiny-chat.gguf", "tiny-coder.gguf"}) {
        auto made = gpumod({"dev", "make-model", (models / name).string()}, source);
        ASSERT_EQ(made.exit_code, 0) << made.err;
    }
    auto after = gpumod({"preset", "validate"}, source);
    EXPECT_EQ(after.exit_code, 0) << after.err;
    auto modes = gpumod({"mode", "validate"}, source);
    EXPECT_EQ(modes.exit_code, 0) << modes.err;
    auto list = gpumod({"mode", "list"}, source);
    EXPECT_THAT(list.out, HasSubstr("demo"));
    EXPECT_THAT(list.out, HasSubstr("blank"));

    // The realistic example parses; only its (absent) model files are reported.
    auto example = gpumod({"preset", "validate", std::string(GPUMOD_SOURCE_DIR) + "/presets/examples"}, source);
    EXPECT_EQ(example.exit_code, 1);
    EXPECT_THAT(example.err, HasSubstr("model file not found"));
    EXPECT_THAT(example.err, Not(HasSubstr("unknown key")));
    EXPECT_THAT(example.err, Not(HasSubstr("must be")));
}

TEST_F(PresetCli, ModeGroupListsTheConfigVerbs)
{
    auto r = gpumod({"mode", "--help"});
    EXPECT_EQ(r.exit_code, 0);
    for (const char* verb : {"list", "show", "validate", "create"}) {
        EXPECT_THAT(r.out, HasSubstr(verb));
    }
}

} // namespace
} // namespace gpumod::testing
