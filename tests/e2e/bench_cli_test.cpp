// `gpumod bench run|smoke|list|show` end to end: the built binary against a real llama-server
// serving tiny generated models whose replies are scripted (a grammar, or a chain model).

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "adapters/posix/process.hpp"
#include "support/llama_fixture.hpp"
#include "support/service_cli_fixture.hpp"
#include "support/run_gpumod.hpp"
#include "support/temp_dir.hpp"

namespace gpumod::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

std::string read_file(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string suite_file(const std::string& relative)
{
    return read_file(fs::path(GPUMOD_SOURCE_DIR) / "suites" / "coding" / relative);
}

std::string base_url(const app::RunningLlamaServer& server)
{
    return "http://127.0.0.1:" + std::to_string(server.port());
}

class BenchE2e : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        if (!llama_server_for_tests()) {
            GTEST_SKIP() << "no llama-server: run scripts/setup-llama-server or set "
                            "GPUMOD_LLAMA_SERVER";
        }
    }

    /// `gpumod bench ...` with this test's database and output directory.
    CliResult bench(std::vector<std::string> args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(240))
    {
        args.insert(args.begin(), "bench");
        args.insert(args.end(), {"--db", db().string()});
        return run_gpumod(args, {}, timeout);
    }

    /// Runs a bench command that must print its result file with --json, and parses it.
    json bench_json(std::vector<std::string> args)
    {
        args.insert(args.end(), {"--out", out().string(), "--quiet", "--json"});
        const auto result = bench(args);
        EXPECT_EQ(result.exit_code, 0) << result.err;
        auto parsed = json::parse(result.out, nullptr, false);
        EXPECT_TRUE(parsed.is_object()) << result.out << result.err;
        return parsed;
    }

    fs::path db() const { return m_dir.path() / "state" / "gpumod.db"; }
    fs::path out() const { return m_dir.path() / "results"; }

    TempDir m_dir;
};

/// Points per iteration, from the result file's summary.
std::vector<int> iteration_points(const json& result)
{
    std::vector<int> points;
    for (const auto& it : result.at("summary").at("iterations")) {
        points.push_back(it.at("points").get<int>());
    }
    return points;
}

TEST_F(BenchE2e, ReplySolvingL1ScoresExactly25PerIterationWithArtifacts)
{
    const std::string answer = suite_file("L1-fifo-queue/reference/answer.md");
    auto server = start_scripted_by_grammar(m_dir.path(), "I will write the queue.", answer);
    ASSERT_TRUE(server.has_value()) << server.error().message;

    const auto result = bench_json({"run", "--base-url", base_url(*server), "--iterations", "2",
                                    "--seed", "7"});
    ASSERT_TRUE(result.is_object());
    EXPECT_EQ(result.at("status"), "complete");
    EXPECT_EQ(iteration_points(result), (std::vector<int>{25, 25}));
    ASSERT_EQ(result.at("attempts").size(), 10U);
    for (const auto& attempt : result.at("attempts")) {
        const auto level = attempt.at("level").get<std::string>();
        if (level == "L1") {
            EXPECT_EQ(attempt.at("outcome"), "pass") << attempt.dump(2);
            EXPECT_EQ(attempt.at("points"), 25);
        } else {
            // The reply provides only job_queue.py: the other levels' modules are missing.
            EXPECT_EQ(attempt.at("outcome"), "import_error") << level << attempt.at("detail");
            EXPECT_EQ(attempt.at("points"), 0);
        }
        EXPECT_EQ(attempt.at("reasoning"), "I will write the queue.");
        EXPECT_GT(attempt.at("metrics").at("completion_tokens").get<int>(), 300);
        EXPECT_TRUE(attempt.at("metrics").at("ttft_ms").is_number());
    }
    const auto& summary = result.at("summary");
    EXPECT_DOUBLE_EQ(summary.at("score_mean").get<double>(), 25.0);
    EXPECT_EQ(summary.at("levels").at(0).at("passed"), 2);
    EXPECT_TRUE(result.at("server").at("build").get<std::string>().size() > 0);
    EXPECT_EQ(result.at("model").at("sha256").get<std::string>().size(), 64U);
    EXPECT_EQ(result.at("config").at("sampler").at("name"), "thinking-coding");

    // Artifacts: the reply, the graded file exactly as the reference, pytest's output.
    const std::string id = result.at("id");
    const fs::path l1 = out() / "artifacts" / id / "iter_02" / "L1";
    EXPECT_EQ(read_file(l1 / "files" / "job_queue.py"),
              suite_file("L1-fifo-queue/reference/files/job_queue.py"));
    EXPECT_THAT(read_file(l1 / "response.md"), HasSubstr("<content>"));
    EXPECT_THAT(read_file(l1 / "pytest.txt"), HasSubstr("pytest"));
    EXPECT_TRUE(fs::exists(out() / ("result_" + id + ".json")));
    EXPECT_THAT(read_file(out() / "artifacts" / id / "run.log"), HasSubstr("complete"));

    // The database lists it, and `show` prints the same run.
    const auto listed = bench({"list", "--json"});
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    const auto list = json::parse(listed.out);
    ASSERT_EQ(list.size(), 1U);
    EXPECT_EQ(list.at(0).at("id"), id);
    EXPECT_EQ(list.at(0).at("attempts_recorded"), 10);
    EXPECT_EQ(list.at(0).at("points"), 50);
    const auto shown = bench({"show", id.substr(0, 15)});
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
    EXPECT_THAT(shown.out, HasSubstr("score mean 25.0"));
    EXPECT_THAT(shown.out, HasSubstr("L1"));
}

TEST_F(BenchE2e, ReplyWithoutCodeScoresZeroAsNoCode)
{
    auto model = make_model(m_dir.path(), "chat.gguf",
                            {"--kind", "scripted", "--reply", "I would rather not write code."});
    ASSERT_TRUE(model.has_value()) << model.error().message;
    auto server = start_server(m_dir.path(), *model, {"-np", "1"});
    ASSERT_TRUE(server.has_value()) << server.error().message;

    const auto result =
        bench_json({"smoke", "--base-url", base_url(*server), "--level", "1", "--attempts", "3"});
    ASSERT_TRUE(result.is_object());
    EXPECT_EQ(result.at("config").at("kind"), "smoke");
    ASSERT_EQ(result.at("attempts").size(), 3U);
    for (const auto& attempt : result.at("attempts")) {
        EXPECT_EQ(attempt.at("outcome"), "no_code");
        EXPECT_EQ(attempt.at("level"), "L1");
    }
    EXPECT_EQ(result.at("summary").at("passed"), 0);
    EXPECT_EQ(result.at("summary").at("scored"), 3);
    EXPECT_TRUE(result.at("summary").at("pass_wilson95").is_object());
}

TEST_F(BenchE2e, MtpModelYieldsDraftMetrics)
{
    auto model = make_model(m_dir.path(), "mtp.gguf", {"--kind", "mtp"});
    ASSERT_TRUE(model.has_value()) << model.error().message;
    auto server = start_server(m_dir.path(), *model,
                               {"--spec-type", "draft-mtp", "-np", "1", "--spec-draft-n-max", "3"});
    ASSERT_TRUE(server.has_value()) << server.error().message;

    const auto result =
        bench_json({"smoke", "--base-url", base_url(*server), "--level", "L2", "--attempts", "2"});
    ASSERT_TRUE(result.is_object());
    for (const auto& attempt : result.at("attempts")) {
        EXPECT_GT(attempt.at("metrics").at("draft_n").get<int>(), 0) << attempt.dump(2);
        EXPECT_TRUE(attempt.at("metrics").at("draft_n_accepted").is_number());
    }
    const auto& summary = result.at("summary");
    EXPECT_GT(summary.at("draft_tokens").get<int>(), 0);
    EXPECT_GT(summary.at("draft_acceptance_pooled").get<double>(), 0.5);
    EXPECT_TRUE(summary.at("draft_acceptance_mean_per_request").is_number());
}

// A short scripted reply with code that fails L1's tests and that no other level can import:
// fast enough to run many attempts, varied enough to exercise grading.
constexpr const char* k_wrong_queue = "Here it is.\n\n```python\n# file: job_queue.py\n"
                                      "class JobQueue:\n    pass\n```\n";

TEST_F(BenchE2e, CarrySendsEarlierTurnsToTheServer)
{
    auto model = make_model(m_dir.path(), "short.gguf",
                            {"--kind", "scripted", "--reasoning", "Short.", "--reply", k_wrong_queue});
    ASSERT_TRUE(model.has_value()) << model.error().message;
    auto server = start_server(m_dir.path(), *model, {"-np", "1"});
    ASSERT_TRUE(server.has_value()) << server.error().message;
    const auto carry = bench_json({"run", "--base-url", base_url(*server), "--iterations", "1",
                                   "--conversation", "carry", "--seed", "3"});
    const auto fresh = bench_json({"run", "--base-url", base_url(*server), "--iterations", "1",
                                   "--conversation", "fresh", "--seed", "3"});
    ASSERT_TRUE(carry.is_object() && fresh.is_object());
    EXPECT_EQ(carry.at("config").at("conversation"), "carry");
    const auto& carried = carry.at("attempts");
    const auto& alone = fresh.at("attempts");
    ASSERT_EQ(carried.size(), 5U);
    ASSERT_EQ(alone.size(), 5U);
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(carried[i].at("messages_sent").get<int>(), static_cast<int>(2 * i + 1));
        EXPECT_EQ(alone[i].at("messages_sent").get<int>(), 1);
    }
    // The server counted the earlier turns: level 2's prompt holds level 1's prompt and reply.
    const auto prompt = [](const json& attempt) {
        return attempt.at("metrics").at("prompt_tokens").get<int>();
    };
    const int l1_reply = carried[0].at("metrics").at("completion_tokens").get<int>();
    EXPECT_GE(prompt(carried[1]), prompt(alone[0]) + prompt(alone[1]) + l1_reply - 16)
        << "carry " << prompt(carried[1]) << " fresh L1 " << prompt(alone[0]) << " fresh L2 "
        << prompt(alone[1]);
    EXPECT_GT(prompt(carried[4]), prompt(carried[3]));
}

TEST_F(BenchE2e, RunKilledMidwayResumesToTheSameDecisions)
{
    auto model = make_model(m_dir.path(), "short.gguf",
                            {"--kind", "scripted", "--reasoning", "Resume me.", "--reply",
                             k_wrong_queue});
    ASSERT_TRUE(model.has_value()) << model.error().message;
    auto server = start_server(m_dir.path(), *model, {"-np", "1"});
    ASSERT_TRUE(server.has_value()) << server.error().message;
    const std::vector<std::string> run_args{"run",          "--base-url", base_url(*server),
                                            "--iterations", "2",          "--seed",
                                            "11"};

    // The uninterrupted reference run.
    const auto whole = bench_json(run_args);
    ASSERT_TRUE(whole.is_object());

    // The same run, killed with SIGKILL once some attempts are recorded.
    posix::SpawnOptions spawn;
    spawn.argv = {GPUMOD_BINARY, "bench"};
    spawn.argv.insert(spawn.argv.end(), run_args.begin(), run_args.end());
    spawn.argv.insert(spawn.argv.end(),
                      {"--db", db().string(), "--out", out().string(), "--quiet"});
    spawn.stdout_target = posix::OutputTarget::null();
    spawn.stderr_target = posix::OutputTarget::null();
    auto child = posix::spawn(spawn);
    ASSERT_TRUE(child.has_value()) << child.error().message;
    std::string id;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline && id.empty()) {
        const auto list = json::parse(bench({"list", "--json"}).out, nullptr, false);
        if (list.is_array()) {
            for (const auto& row : list) {
                if (row.at("id") != whole.at("id") && row.at("attempts_recorded").get<int>() >= 3) {
                    id = row.at("id");
                }
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_FALSE(id.empty()) << "the second run never recorded 3 attempts";
    ::kill(child->pid(), SIGKILL);
    (void)child->wait();

    const auto listed = json::parse(bench({"list", "--json"}).out);
    for (const auto& row : listed) {
        if (row.at("id") == id) {
            EXPECT_LT(row.at("attempts_recorded").get<int>(), 10) << "killed too late to test";
            // A killed run cannot mark itself; gpumod sees its process is gone.
            EXPECT_EQ(row.at("status"), "stale");
        }
    }

    const auto shown = bench({"show", id});
    EXPECT_THAT(shown.out, HasSubstr(id + "  stale")) << shown.out << shown.err;

    const auto resumed = bench_json({"run", "--resume", id});
    ASSERT_TRUE(resumed.is_object());
    EXPECT_EQ(resumed.at("id"), id);
    EXPECT_EQ(resumed.at("status"), "complete");
    const auto& a = whole.at("attempts");
    const auto& b = resumed.at("attempts");
    ASSERT_EQ(a.size(), b.size());
    std::set<std::string> outcomes;
    for (std::size_t i = 0; i < a.size(); ++i) {
        for (const char* key : {"iteration", "level", "seed", "outcome", "points", "files",
                                "content", "reasoning", "finish_reason", "code_source", "tests"}) {
            EXPECT_EQ(a[i].at(key), b[i].at(key)) << "attempt " << i << " field " << key;
        }
        EXPECT_EQ(a[i].at("metrics").at("completion_tokens"),
                  b[i].at("metrics").at("completion_tokens"));
        outcomes.insert(b[i].at("outcome").get<std::string>());
    }
    EXPECT_EQ(outcomes, (std::set<std::string>{"test_failures", "import_error"}));
    EXPECT_EQ(iteration_points(whole), iteration_points(resumed));
}

TEST_F(BenchE2e, BadInvocationsAreRefusedWithANextStep)
{
    auto none = bench({"run", "--iterations", "1"});
    EXPECT_EQ(none.exit_code, 2);
    EXPECT_THAT(none.err, HasSubstr("--base-url"));

    auto resume = bench({"run", "--resume", "nope"});
    EXPECT_EQ(resume.exit_code, 2);
    EXPECT_THAT(resume.err, HasSubstr("bench list"));

    auto suite = bench({"run", "--base-url", "http://127.0.0.1:9", "--suite", "no-such-suite"});
    EXPECT_EQ(suite.exit_code, 2);
    EXPECT_THAT(suite.err, HasSubstr("no-such-suite"));

    auto sampler = bench({"run", "--base-url", "http://127.0.0.1:9", "--sampler", "spicy"});
    EXPECT_EQ(sampler.exit_code, 2);
    EXPECT_THAT(sampler.err, HasSubstr("thinking-coding"));

    auto level = bench({"smoke", "--base-url", "http://127.0.0.1:9", "--level", "L9"});
    EXPECT_EQ(level.exit_code, 2);
    EXPECT_THAT(level.err, HasSubstr("L1"));
}

TEST_F(BenchE2e, ServerThatIsDownAbortsWithoutScoringAnything)
{
    // Port 9 (discard) is closed on test machines: every request fails before a token.
    const auto result = bench({"smoke", "--base-url", "http://127.0.0.1:9", "--level", "1",
                               "--attempts", "2", "--infra-retries", "1", "--out",
                               out().string(), "--quiet"});
    EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
    EXPECT_THAT(result.err, HasSubstr("aborted"));
    EXPECT_THAT(result.err, HasSubstr("--resume"));
    const auto list = json::parse(bench({"list", "--json"}).out);
    ASSERT_EQ(list.size(), 1U);
    EXPECT_EQ(list.at(0).at("status"), "aborted");
    EXPECT_EQ(list.at(0).at("attempts_recorded"), 0);
}

/// `--service`: the run finds the service's address and command line through gpumod, and
/// `--isolate` stops the other services for the run and brings them back afterwards.
class BenchServiceCli : public ServiceCliFixture
{
};

TEST_F(BenchServiceCli, ServiceRunIsolatesRecordsTheCommandLineAndRestores)
{
    // Level prompts need more than the fixture's 512-token context (and 1024-token model).
    auto model = make_model(m_dir.path(), "bench.gguf", {});
    ASSERT_TRUE(model) << model.error().message;
    const auto roomy = [&](const std::string& id) {
        raw_preset(id, fmt::format("id: {}\ndriver: llamacpp\nport: {}\nmodel_path: {}\n"
                                   "llamacpp:\n  ctx: 4096\n  parallel: 1\n  threads: 1\n"
                                   "startup_timeout_s: 60\n",
                                   id, free_port(), model->string()));
    };
    roomy("chat");
    roomy("coder");
    mode("both", {"chat", "coder"});
    mode("empty", {});
    ASSERT_EQ(run({"mode", "switch", "both"}).exit_code, 0);
    collect_pids();

    const auto out = (m_dir.path() / "results").string();
    auto bench = run({"bench", "smoke", "--service", "coder", "--level", "1", "--attempts", "2",
                      "--isolate", "--out", out, "--quiet", "--json"});
    ASSERT_EQ(bench.exit_code, 0) << bench.err;
    const auto result = json::parse(bench.out);
    EXPECT_EQ(result.at("config").at("service"), "coder");
    EXPECT_TRUE(result.at("config").at("isolate").get<bool>());
    EXPECT_THAT(result.at("config").at("base_url").get<std::string>(), HasSubstr("127.0.0.1:"));
    const auto argv = result.at("server").at("argv").dump();
    EXPECT_THAT(argv, HasSubstr(model->string()));
    EXPECT_EQ(result.at("model").at("file_name"), "bench.gguf");
    EXPECT_EQ(result.at("model").at("sha256").get<std::string>().size(), 64U);
    EXPECT_EQ(result.at("attempts").size(), 2U);
    EXPECT_THAT(bench.err, HasSubstr("chat")) << "the isolation report names what it stopped";

    // Both services run again after the benchmark.
    collect_pids();
    const auto listed = json::parse(run({"service", "list", "--json"}).out);
    std::set<std::string> ready;
    for (const auto& service : listed.at("services")) {
        if (service.value("state", "") == "ready") {
            ready.insert(service.at("id").get<std::string>());
        }
    }
    EXPECT_EQ(ready, (std::set<std::string>{"chat", "coder"})) << listed.dump(2);

    // A context too small for the prompt: the server's 400 is not retried.
    preset("small", free_port(), m_model.string());
    ASSERT_EQ(run({"service", "start", "small"}).exit_code, 0);
    collect_pids();
    auto refused = run({"bench", "smoke", "--service", "small", "--level", "1", "--attempts", "1",
                        "--out", out, "--quiet"});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_THAT(refused.err, HasSubstr("refused the request"));
    EXPECT_THAT(refused.err, HasSubstr("context"));
    EXPECT_THAT(refused.err, ::testing::Not(HasSubstr("retry")));
    (void)run({"service", "stop", "small"});

    auto missing = run({"bench", "run", "--service", "nope"});
    EXPECT_EQ(missing.exit_code, 3);
    EXPECT_THAT(missing.err, HasSubstr("gpumod service start nope"));
}

} // namespace
} // namespace gpumod::testing
