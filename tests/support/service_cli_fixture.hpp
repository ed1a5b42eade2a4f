#pragma once

// The fixture of the `gpumod service|mode|isolate` end-to-end tests: the built binary against
// a real llama-server with tiny models, isolated by XDG_* / GPUMOD_DB / GPUMOD_DATA_DIR in a
// temporary directory. TearDown stops what the test started and checks that no process is
// left.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/posix/net.hpp"
#include "adapters/posix/process.hpp"
#include "support/llama_fixture.hpp"
#include "support/run_gpumod.hpp"
#include "support/temp_dir.hpp"

namespace gpumod::testing {

inline int free_port()
{
    auto port = posix::find_free_loopback_port();
    EXPECT_TRUE(port);
    return port.value_or(0);
}

inline std::string read_text(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

class ServiceCliFixture : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        auto server = llama_server_for_tests();
        if (!server) {
            GTEST_SKIP()
                << "GPUMOD_LLAMA_SERVER is unset (scripts/setup-llama-server provides one)";
        }
        std::filesystem::create_directories(m_dir.path() / "config/gpumod/presets");
        std::filesystem::create_directories(m_dir.path() / "config/gpumod/modes");
        std::filesystem::create_directories(m_dir.path() / "data");
        m_env = {{"XDG_CONFIG_HOME", (m_dir.path() / "config").string()},
                 {"XDG_STATE_HOME", (m_dir.path() / "state").string()},
                 {"GPUMOD_DB", (m_dir.path() / "gpumod.db").string()},
                 {"GPUMOD_DATA_DIR", (m_dir.path() / "data").string()},
                 {"GPUMOD_LLAMA_SERVER", server->string()}};
        auto model = make_model(m_dir.path(), "tiny.gguf", {"--n-ctx", "1024"});
        ASSERT_TRUE(model) << model.error().message;
        m_model = *model;
    }

    void TearDown() override
    {
        if (m_env.empty()) {
            return;
        }
        // Whatever still runs is stopped, then every pid seen must be gone.
        collect_pids();
        run({"mode", "switch", "empty"});
        for (const int pid : m_pids) {
            EXPECT_FALSE(posix::process_group_alive(pid)) << "process group " << pid << " left";
        }
    }

    CliResult run(const std::vector<std::string>& args)
    {
        return run_gpumod(args, m_env, std::chrono::seconds(120));
    }

    /// Writes presets/ID.yaml with `text` as its whole content.
    void raw_preset(const std::string& id, const std::string& text)
    {
        std::ofstream(m_dir.path() / "config/gpumod/presets" / (id + ".yaml")) << text;
    }

    void preset(const std::string& id, int port, const std::string& model)
    {
        raw_preset(id,
                   fmt::format("id: {}\ndriver: llamacpp\nport: {}\nmodel_path: {}\nllamacpp:\n"
                               "  ctx: 512\n  parallel: 1\n  threads: 1\nstartup_timeout_s: 60\n",
                               id, port, model));
    }

    void command_preset(const std::string& id, int port, const std::string& script)
    {
        raw_preset(id,
                   fmt::format("id: {}\ndriver: command\nport: {}\nhealth_path: /health\n"
                               "command:\n  argv: [/bin/sh, -c, \"{}\"]\nstartup_timeout_s: 60\n",
                               id, port, script));
    }

    void mode(const std::string& id, const std::vector<std::string>& services)
    {
        std::string list;
        for (const auto& s : services) {
            list += (list.empty() ? "" : ", ") + s;
        }
        std::ofstream(m_dir.path() / "config/gpumod/modes" / (id + ".yaml"))
            << fmt::format("id: {}\nservices: [{}]\n", id, list);
    }

    nlohmann::json list_json()
    {
        auto r = run({"service", "list", "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return nlohmann::json::parse(r.out);
    }

    void collect_pids()
    {
        auto r = run_gpumod({"service", "list", "--json"}, m_env, std::chrono::seconds(60));
        if (r.exit_code != 0) {
            return;
        }
        const auto listed = nlohmann::json::parse(r.out);
        for (const auto& s : listed.at("services")) {
            if (s.contains("pid")) {
                m_pids.insert(s.at("pid").get<int>());
            }
        }
    }

    TempDir m_dir;
    std::map<std::string, std::string> m_env;
    std::filesystem::path m_model;
    std::set<int> m_pids;
};

} // namespace gpumod::testing
