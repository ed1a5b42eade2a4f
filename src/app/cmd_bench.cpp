#include "app/cmd_bench.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <ostream>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/bench/file_hash.hpp"
#include "adapters/bench/run_store.hpp"
#include "adapters/bench/sampler_loader.hpp"
#include "adapters/bench/suite_loader.hpp"
#include "adapters/gguf/model_files.hpp"
#include "adapters/config/yaml_loader.hpp"
#include "adapters/http/http_client.hpp"
#include "adapters/posix/clock.hpp"
#include "adapters/posix/environment.hpp"
#include "adapters/posix/progress_printer.hpp"
#include "adapters/posix/sha256.hpp"
#include "adapters/services/detached_process.hpp"
#include "adapters/sqlite/database.hpp"
#include "app/bench_runner.hpp"
#include "app/cmd_services.hpp"
#include "app/exit_codes.hpp"
#include "core/base/build_info.hpp"
#include "core/bench/result_codec.hpp"
#include "core/bench/schedule.hpp"
#include "core/bench/summary.hpp"
#include "core/gguf/model_identity.hpp"
#include "core/paths/xdg_paths.hpp"
#include "core/report/text_table.hpp"

namespace gpumod::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int k_exit_interrupted = 130;
constexpr const char* k_out_setting_prefix = "bench.out.";
constexpr const char* k_owner_setting_prefix = "bench.owner.";

/// Records this process as the one running `id` ("pid start-time"), so others can tell a live
/// run from one whose process died (killed, crashed, machine rebooted).
void claim_run(sqlite::Database& db, const std::string& id)
{
    const int pid = static_cast<int>(::getpid());
    const auto start = services::read_start_time(pid).value_or(0);
    (void)db.set_setting(k_owner_setting_prefix + id, fmt::format("{} {}", pid, start),
                         posix::unix_now_ms());
}

/// The pid of the live process running `id`, if any.
std::optional<int> live_owner(sqlite::Database& db, const std::string& id)
{
    auto owner = db.get_setting(k_owner_setting_prefix + id);
    if (!owner || !*owner) {
        return std::nullopt;
    }
    int pid = 0;
    unsigned long long start = 0;
    if (std::sscanf((*owner)->c_str(), "%d %llu", &pid, &start) != 2 || pid <= 0) {
        return std::nullopt;
    }
    if (pid == static_cast<int>(::getpid()) || !services::process_matches(pid, start)) {
        return std::nullopt;
    }
    return pid;
}

/// "running" only while its process lives; a dead one reads "stale" (resume it).
std::string status_word(sqlite::Database& db, const std::string& id, bench::RunStatus status)
{
    if (status == bench::RunStatus::running && !live_owner(db, id)) {
        return "stale";
    }
    return std::string(bench::to_string(status));
}

/// A fresh run id: UTC time to the second plus 4 random hex digits ("20261127-013512-a3f9"),
/// sortable and short enough to type a prefix of.
std::string new_run_id()
{
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    std::random_device device;
    return fmt::format("{:04}{:02}{:02}-{:02}{:02}{:02}-{:04x}", utc.tm_year + 1900, utc.tm_mon + 1,
                       utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, device() & 0xffffU);
}

/// The value after `flag` (or `--flag=value`) in a command line.
std::optional<std::string> argv_value(const std::vector<std::string>& argv,
                                      std::initializer_list<std::string_view> flags)
{
    for (std::size_t i = 0; i < argv.size(); ++i) {
        for (const auto flag : flags) {
            if (argv[i] == flag && i + 1 < argv.size()) {
                return argv[i + 1];
            }
            const std::string prefix = std::string(flag) + "=";
            if (argv[i].rfind(prefix, 0) == 0) {
                return argv[i].substr(prefix.size());
            }
        }
    }
    return std::nullopt;
}

/// GET /props: build, model path, context, slots, chat template (llama-server; others 404).
bench::ServerFacts server_facts(const std::string& base_url, std::ostream& err)
{
    bench::ServerFacts facts;
    http::Timeouts timeouts;
    timeouts.read = std::chrono::seconds(10);
    auto client = http::HttpClient::create(base_url, timeouts);
    if (!client) {
        return facts;
    }
    auto response = client->get("/props");
    if (!response || response->status != 200) {
        err << "gpumod: note: " << base_url
            << "/props did not answer; the server build is not recorded\n";
        return facts;
    }
    const auto props = json::parse(response->body, nullptr, false);
    if (!props.is_object()) {
        err << "gpumod: note: " << base_url << "/props is not JSON; not recorded\n";
        return facts;
    }
    if (auto it = props.find("build_info"); it != props.end() && it->is_string()) {
        facts.build = it->get<std::string>();
    }
    if (auto it = props.find("model_path"); it != props.end() && it->is_string()) {
        facts.model_path = it->get<std::string>();
    }
    if (auto it = props.find("total_slots"); it != props.end() && it->is_number_integer()) {
        facts.total_slots = it->get<std::int64_t>();
    }
    if (auto settings = props.find("default_generation_settings");
        settings != props.end() && settings->is_object()) {
        if (auto it = settings->find("n_ctx"); it != settings->end() && it->is_number_integer()) {
            facts.n_ctx = it->get<std::int64_t>();
        }
    }
    if (auto it = props.find("chat_template"); it != props.end() && it->is_string()) {
        facts.chat_template_hash = posix::sha256_hex(it->get<std::string>());
    }
    return facts;
}

/// The model file: its name always; size, SHA-256 (cached in the database) and the GGUF
/// header's parameter count, quantization and names when it is a local file.
bench::ModelFacts model_facts(sqlite::Database& db, const std::string& model_path,
                              std::ostream& err)
{
    bench::ModelFacts facts;
    if (model_path.empty()) {
        return facts;
    }
    const fs::path path(model_path);
    facts.file_name = path.filename().string();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
        return facts;
    }
    const auto size = fs::file_size(path, ec);
    if (!ec) {
        facts.size_bytes = static_cast<std::int64_t>(size);
    }
    if (size > (std::uintmax_t{1} << 30)) {
        err << fmt::format("gpumod: hashing {} ({:.1f} GiB; cached for next time)...\n",
                           facts.file_name, static_cast<double>(size) / (1 << 30));
    }
    if (auto hash = bench::cached_sha256(db, path)) {
        facts.sha256 = *hash;
    } else {
        err << "gpumod: note: model file not hashed: " << hash.error().message << "\n";
    }
    // Parameters, quantization and names from the GGUF header (a few MiB, not the weights):
    // reports compute bits per weight from them and name what differs between two models.
    if (auto model = gguf::read_model_files(path)) {
        const auto identity = gguf::identify_model(model->header);
        if (identity.parameters > 0 && identity.parameters <= INT64_MAX) {
            facts.parameters = static_cast<std::int64_t>(identity.parameters);
        }
        if (model->is_split() && model->header.file_size <= INT64_MAX) {
            facts.size_bytes = static_cast<std::int64_t>(model->header.file_size);
        }
        facts.quantization = identity.quantization;
        facts.architecture = identity.architecture;
        facts.name = identity.name;
        facts.basename = identity.basename;
        facts.finetune = identity.finetune;
        facts.size_label = identity.size_label;
    } else {
        err << "gpumod: note: GGUF header not read: " << model.error().message << "\n";
    }
    return facts;
}

/// Blocks SIGINT/SIGTERM in this thread (and the workers it starts) and turns them into a
/// flag, from a thread that waits for them; the old mask comes back on destruction.
class StopOnSignal
{
  public:
    explicit StopOnSignal(std::atomic<bool>& flag, std::ostream& err) : m_flag(flag)
    {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        ::pthread_sigmask(SIG_BLOCK, &set, &m_previous);
        m_thread = std::jthread([this, set, &err](std::stop_token stop) {
            const timespec tick{0, 200'000'000};
            while (!stop.stop_requested()) {
                if (::sigtimedwait(&set, nullptr, &tick) > 0) {
                    if (!m_flag.exchange(true)) {
                        err << "\ngpumod: stopping: requests in flight are abandoned, everything "
                               "recorded so far is kept\n";
                    }
                }
            }
        });
    }
    StopOnSignal(const StopOnSignal&) = delete;
    StopOnSignal& operator=(const StopOnSignal&) = delete;
    ~StopOnSignal()
    {
        m_thread.request_stop();
        m_thread.join();
        ::pthread_sigmask(SIG_SETMASK, &m_previous, nullptr);
    }

  private:
    std::atomic<bool>& m_flag;
    sigset_t m_previous{};
    std::jthread m_thread;
};

std::string format_opt(const std::optional<double>& value, const char* format)
{
    return value ? fmt::format(fmt::runtime(format), *value) : std::string("-");
}

/// The human summary printed at the end of a run and by `bench show`.
void print_summary(const bench::RunRecord& run, const fs::path& result_file, std::ostream& out,
                   const std::string& status)
{
    const auto summary = bench::summarize_run(run);
    const auto& config = run.config;
    out << fmt::format("run {}  {}  {} v{}  {}\n", run.id, status,
                       config.suite, config.suite_version,
                       config.service ? "service " + *config.service : config.base_url);
    out << fmt::format("model {}  server {}  sampler {}  conversation {}  max_tokens {}\n",
                       run.model.file_name.empty() ? "-" : run.model.file_name,
                       run.server.build.empty() ? "-" : run.server.build, config.sampler.name,
                       bench::to_string(config.conversation), config.max_tokens);
    out << fmt::format("attempts {}/{}", summary.attempts_recorded, summary.attempts_planned);
    if (config.kind == bench::RunKind::run && summary.score_mean) {
        out << fmt::format("  score mean {:.1f}", *summary.score_mean);
        if (summary.score_sd && summary.score_ci95) {
            out << fmt::format("  SD {:.1f}  95% CI [{:.1f}, {:.1f}] (t, n={})", *summary.score_sd,
                               summary.score_ci95->low, summary.score_ci95->high,
                               summary.complete_iterations);
        }
    }
    if (summary.scored > 0 && summary.pass_wilson95) {
        out << fmt::format("  pass {}/{} ({:.1f}%, Wilson 95% [{:.1f}%, {:.1f}%])", summary.passed,
                           summary.scored, 100.0 * summary.passed / summary.scored,
                           100.0 * summary.pass_wilson95->low, 100.0 * summary.pass_wilson95->high);
    }
    out << "\n";

    TextTable table;
    table.add_column("level");
    table.add_column("points", Align::right);
    table.add_column("passed", Align::right);
    table.add_column("rate", Align::right);
    table.add_column("wilson 95%", Align::right);
    table.add_column("outcomes");
    for (const auto& level : summary.levels) {
        std::string outcomes;
        for (const auto& [name, count] : level.outcomes) {
            outcomes += (outcomes.empty() ? "" : ", ") + fmt::format("{} {}", name, count);
        }
        table.add_row({level.level, std::to_string(level.points),
                       fmt::format("{}/{}", level.passed, level.attempts),
                       level.pass_rate ? fmt::format("{:.0f}%", 100.0 * *level.pass_rate) : "-",
                       level.wilson95 ? fmt::format("[{:.0f}%, {:.0f}%]", 100.0 * level.wilson95->low,
                                                    100.0 * level.wilson95->high)
                                      : "-",
                       outcomes.empty() ? "-" : outcomes});
    }
    out << table.render();
    const auto median = [](const std::optional<bench::MetricSummary>& metric) {
        return metric ? std::optional<double>(metric->median) : std::nullopt;
    };
    const auto percent = [](const std::optional<double>& ratio) {
        return ratio ? std::optional<double>(100.0 * *ratio) : std::nullopt;
    };
    out << fmt::format(
        "tokens/s (server, median) {}  client {}  TTFT median {} ms  completion tokens {}\n",
        format_opt(median(summary.server_tokens_per_s), "{:.1f}"),
        format_opt(median(summary.client_tokens_per_s), "{:.1f}"),
        format_opt(median(summary.ttft_ms), "{:.0f}"), summary.completion_tokens);
    if (summary.draft_tokens) {
        out << fmt::format("draft tokens {} accepted {}  acceptance pooled {}  mean per request {}\n",
                           *summary.draft_tokens, summary.draft_accepted.value_or(0),
                           format_opt(percent(summary.draft_acceptance_pooled), "{:.1f}%"),
                           format_opt(percent(summary.draft_acceptance_mean_per_request),
                                      "{:.1f}%"));
    }
    if (summary.vram_peak_mib || summary.vram_idle_mib) {
        out << fmt::format("VRAM idle {} MiB  peak {} MiB\n",
                           format_opt(summary.vram_idle_mib, "{:.0f}"),
                           format_opt(summary.vram_peak_mib, "{:.0f}"));
    }
    out << fmt::format("generation {:.1f} s  validation {:.1f} s  wall {}\n", summary.generation_s,
                       summary.validation_s, format_opt(summary.wall_s, "{:.1f} s"));
    if (!result_file.empty()) {
        out << "result " << result_file.string() << "\n";
    }
}

struct Opened
{
    sqlite::Database db;
    fs::path default_out_root;
};

Result<Opened> open_bench_database(const GlobalOptions& global)
{
    auto db_path = resolve_database_path(global.db_path, posix::path_environment());
    if (!db_path) {
        return tl::unexpected(db_path.error());
    }
    auto db = sqlite::Database::open(db_path->path);
    if (!db) {
        return tl::unexpected(db.error());
    }
    return Opened{std::move(*db), db_path->path.parent_path() / "bench"};
}

/// Fills config.level_ids for a smoke run from --level ("L1", "1" or a level's directory).
Status choose_smoke_level(const bench::Suite& suite, const std::optional<std::string>& level,
                          bench::RunConfig& config)
{
    if (!level) {
        return fail("bench smoke needs --level (one of: " +
                    fmt::format("{}", fmt::join([&] {
                                    std::vector<std::string> ids;
                                    for (const auto& l : suite.levels) {
                                        ids.push_back(l.id);
                                    }
                                    return ids;
                                }(),
                                                ", ")) +
                    ")");
    }
    for (const auto& candidate : suite.levels) {
        if (candidate.id == *level || candidate.dir == *level || "L" + *level == candidate.id) {
            config.level_ids = {candidate.id};
            return {};
        }
    }
    std::vector<std::string> ids;
    for (const auto& l : suite.levels) {
        ids.push_back(l.id);
    }
    return fail(fmt::format("suite '{}' has no level '{}' (levels: {})", suite.name, *level,
                            fmt::join(ids, ", ")));
}

Result<bench::Suite> load_named_suite(const std::string& name)
{
    const auto dirs =
        bench::default_suite_dirs(config::process_environment(), config::current_executable());
    auto dir = bench::find_suite(name, dirs);
    if (!dir) {
        return tl::unexpected(dir.error());
    }
    return bench::load_suite(*dir);
}

/// Resolves --service to its base URL and argv (it must be running).
Status resolve_service(const GlobalOptions& global, const std::string& id,
                       bench::RunConfig& config, bench::ServerFacts& facts)
{
    auto overview = services_overview(global);
    if (!overview) {
        return tl::unexpected(overview.error());
    }
    for (const auto& entry : overview->services) {
        if (entry.id != id) {
            continue;
        }
        if (entry.state != "ready") {
            return fail(fmt::format("service '{}' is {}, not ready; wait for it or check "
                                    "`gpumod service logs {}`",
                                    id, entry.state, id));
        }
        const std::string host = entry.host.empty() || entry.host == "0.0.0.0" ? "127.0.0.1"
                                                                               : entry.host;
        config.base_url = fmt::format("http://{}:{}", host, entry.port);
        facts.argv = entry.argv;
        return {};
    }
    return fail(fmt::format("service '{}' is not running; start it with `gpumod service start {}` "
                            "(or run against any server with --base-url URL)",
                            id, id));
}

} // namespace

int cmd_bench_run(const GlobalOptions& global, const BenchRunOptions& options, std::ostream& out,
                  std::ostream& err)
{
    auto opened = open_bench_database(global);
    if (!opened) {
        err << "gpumod: " << opened.error().message << "\n";
        return k_exit_environment;
    }
    auto& db = opened->db;
    bench::RunStore store(db);

    bench::RunRecord run;
    fs::path out_root = options.out.value_or(opened->default_out_root);
    if (options.resume) {
        auto id = store.find_run_by_prefix(*options.resume);
        if (!id || !*id) {
            err << "gpumod: "
                << (id ? fmt::format("no run '{}' in the database; `gpumod bench list` shows them",
                                     *options.resume)
                       : id.error().message)
                << "\n";
            return k_exit_usage;
        }
        auto stored = store.load_run(**id);
        if (!stored || !*stored) {
            err << "gpumod: " << (stored ? "run vanished: " + **id : stored.error().message)
                << "\n";
            return k_exit_environment;
        }
        run = std::move(**stored);
        if (run.status == bench::RunStatus::complete) {
            err << "gpumod: run " << run.id << " is complete; nothing to resume\n";
            return k_exit_usage;
        }
        if (auto owner = live_owner(db, run.id)) {
            err << fmt::format("gpumod: run {} is still being run by process {}; wait for it, or "
                               "stop it (Ctrl-C / kill {}) and resume then\n",
                               run.id, *owner, *owner);
            return k_exit_usage;
        }
        if (!options.out) {
            if (auto saved = db.get_setting(k_out_setting_prefix + run.id); saved && *saved) {
                out_root = **saved;
            }
        }
        if (options.base_url) {
            // The server may have moved (a restarted service on another port): same model?
            run.config.base_url = *options.base_url;
        }
        if (run.config.service && !options.base_url) {
            bench::ServerFacts ignored;
            if (auto resolved = resolve_service(global, *run.config.service, run.config, ignored);
                !resolved) {
                err << "gpumod: " << resolved.error().message << "\n";
                return k_exit_environment;
            }
        }
    } else {
        if (options.service.has_value() == options.base_url.has_value()) {
            err << "gpumod: give exactly one of --service ID (a running gpumod service) or "
                   "--base-url URL (any OpenAI-compatible server)\n";
            return k_exit_usage;
        }
        auto& config = run.config;
        config.kind = options.smoke ? bench::RunKind::smoke : bench::RunKind::run;
        config.iterations = options.iterations.value_or(options.smoke ? 20 : 15);
        config.max_tokens = options.max_tokens;
        config.reasoning_budget = options.reasoning_budget;
        config.request_timeout_s = options.timeout_s;
        config.concurrency = options.concurrency;
        config.infra_retries = options.infra_retries;
        config.model = options.model;
        config.isolate = options.isolate;
        if (config.iterations < 1 || config.iterations > 100000) {
            err << "gpumod: --" << (options.smoke ? "attempts" : "iterations")
                << " must be between 1 and 100000\n";
            return k_exit_usage;
        }
        if (config.concurrency < 1 || config.concurrency > 256) {
            err << "gpumod: --concurrency must be between 1 and 256\n";
            return k_exit_usage;
        }
        if (config.max_tokens < 1) {
            err << "gpumod: --max-tokens must be at least 1\n";
            return k_exit_usage;
        }
        if (config.reasoning_budget < -1) {
            err << "gpumod: --reasoning-budget is -1 (server default), 0 (thinking off) or a "
                   "token count\n";
            return k_exit_usage;
        }
        auto policy = bench::parse_conversation_policy(options.conversation);
        if (!policy) {
            err << "gpumod: --conversation must be fresh or carry, not '" << options.conversation
                << "'\n";
            return k_exit_usage;
        }
        config.conversation = options.smoke ? bench::ConversationPolicy::fresh : *policy;
        auto sampler = bench::resolve_sampler(options.sampler);
        if (!sampler) {
            err << "gpumod: " << sampler.error().message << "\n";
            return k_exit_usage;
        }
        config.sampler = *sampler;
        if (options.service) {
            config.service = options.service;
            if (auto resolved = resolve_service(global, *options.service, config, run.server);
                !resolved) {
                err << "gpumod: " << resolved.error().message << "\n";
                return k_exit_environment;
            }
        } else {
            config.base_url = *options.base_url;
            if (auto client = http::HttpClient::create(config.base_url); !client) {
                err << "gpumod: --base-url: " << client.error().message << "\n";
                return k_exit_usage;
            }
        }
        run.id = new_run_id();
        config.seed = options.seed.value_or(std::hash<std::string>{}(run.id));
    }

    auto suite = load_named_suite(options.resume ? run.config.suite_dir : options.suite);
    if (!suite) {
        err << "gpumod: " << suite.error().message << "\n";
        return k_exit_usage;
    }
    if (options.resume) {
        if (suite->content_hash != run.config.suite_hash) {
            err << fmt::format("gpumod: suite '{}' changed since run {} started (hash {} then, {} "
                               "now); its scores would not be comparable. Start a new run.\n",
                               suite->name, run.id, run.config.suite_hash.substr(0, 12),
                               suite->content_hash.substr(0, 12));
            return k_exit_usage;
        }
    } else {
        auto& config = run.config;
        config.suite = suite->name;
        config.suite_version = suite->version;
        config.suite_hash = suite->content_hash;
        config.suite_dir = fs::absolute(*bench::find_suite(
                                            options.suite,
                                            bench::default_suite_dirs(config::process_environment(),
                                                                      config::current_executable())))
                               .lexically_normal()
                               .string();
        if (options.smoke) {
            if (auto chosen = choose_smoke_level(*suite, options.level, config); !chosen) {
                err << "gpumod: " << chosen.error().message << "\n";
                return k_exit_usage;
            }
        } else {
            for (const auto& level : suite->levels) {
                config.level_ids.push_back(level.id);
            }
        }
    }

    // Stop other GPU services for the run, and bring them back after.
    const bool isolated = run.config.isolate && run.config.service;
    if (isolated) {
        std::ostringstream isolate_out;
        if (cmd_isolate(global, *run.config.service, false, false, isolate_out, err) != 0) {
            err << isolate_out.str() << "gpumod: could not isolate service '"
                << *run.config.service << "'\n";
            return k_exit_environment;
        }
        err << isolate_out.str();
    }

    // Facts about what serves the run (refreshed on resume: the server may have restarted).
    {
        auto argv = run.server.argv;
        run.server = server_facts(run.config.base_url, err);
        run.server.argv = argv;
        std::string model_path = run.server.model_path;
        if (auto from_argv = argv_value(argv, {"-m", "--model"})) {
            model_path = *from_argv;
        }
        if (run.model.sha256.empty()) {
            run.model = model_facts(db, model_path, err);
        }
        run.environment.gpumod_version = build_info::k_version;
        run.environment.gpumod_commit = build_info::k_git_commit;
        char host[256] = {};
        if (::gethostname(host, sizeof host - 1) == 0) {
            run.environment.hostname = host;
        }
    }

    const auto now = posix::unix_now_ms();
    if (!options.resume) {
        run.status = bench::RunStatus::running;
        run.created_at_ms = now;
        run.updated_at_ms = now;
        if (auto created = store.create_run(run); !created) {
            err << "gpumod: " << created.error().message << "\n";
            return k_exit_environment;
        }
        if (options.out) {
            (void)db.set_setting(k_out_setting_prefix + run.id,
                                 fs::absolute(*options.out).lexically_normal().string(), now);
        }
    }

    claim_run(db, run.id);
    std::atomic<bool> stop{false};
    StopOnSignal signals(stop, err);
    const std::string label = options.smoke ? "bench smoke" : "bench run";
    err << fmt::format("gpumod: {} {} ({} attempts) against {}; results in {}\n", label, run.id,
                       bench::planned_attempt_count(run.config), run.config.base_url,
                       out_root.string());
    // The progress line goes to the terminal's stderr; attempt lines go above it.
    std::optional<posix::ProgressPrinter> progress;
    if (!options.quiet) {
        progress.emplace(stderr, label, bench::planned_attempt_count(run.config));
    }
    BenchEngineOptions engine;
    engine.output.root = out_root;
    engine.stop = &stop;
    engine.use_bwrap = !options.no_bwrap;
    engine.keep_sandbox_dirs = options.keep_sandbox;
    engine.on_log = [&](const std::string& line) {
        if (progress) {
            progress->print_line(line);
        }
    };
    engine.on_progress = [&](const BenchProgress& p) {
        if (progress) {
            progress->update(p.done, report::PassCount{p.passed, p.done});
        }
    };
    std::fflush(stderr);
    auto finished = run_benchmark(db, run, *suite, engine);
    if (progress) {
        progress->finish();
    }
    if (isolated) {
        std::ostringstream restore_out;
        if (cmd_isolate(global, std::nullopt, true, false, restore_out, err) != 0) {
            err << restore_out.str() << "gpumod: warning: could not restore the services stopped "
                                        "for the run; `gpumod isolate --restore` retries\n";
        }
    }
    if (!finished) {
        err << "gpumod: " << finished.error().message << "\n";
        return k_exit_environment;
    }
    if (global.json) {
        std::ifstream file(finished->result_file);
        out << file.rdbuf();
    } else {
        print_summary(finished->run, finished->result_file, out,
                      std::string(bench::to_string(finished->run.status)));
    }
    if (finished->interrupted) {
        err << fmt::format("gpumod: run {} interrupted; continue it with `gpumod bench {} --resume "
                           "{}`\n",
                           finished->run.id, options.smoke ? "smoke" : "run", finished->run.id);
        return k_exit_interrupted;
    }
    if (finished->aborted) {
        err << fmt::format("gpumod: run {} aborted: {}\n  nothing was scored for the failed "
                           "attempt; fix the cause and `gpumod bench {} --resume {}`\n",
                           finished->run.id, finished->why, options.smoke ? "smoke" : "run",
                           finished->run.id);
        return k_exit_failure;
    }
    return k_exit_ok;
}

int cmd_bench_list(const GlobalOptions& global, int limit, std::ostream& out, std::ostream& err)
{
    auto opened = open_bench_database(global);
    if (!opened) {
        err << "gpumod: " << opened.error().message << "\n";
        return k_exit_environment;
    }
    bench::RunStore store(opened->db);
    auto runs = store.list_runs(limit);
    if (!runs) {
        err << "gpumod: " << runs.error().message << "\n";
        return k_exit_environment;
    }
    if (global.json) {
        json list = json::array();
        for (const auto& row : *runs) {
            list.push_back({{"id", row.id},
                            {"kind", bench::to_string(row.kind)},
                            {"status", status_word(opened->db, row.id, row.status)},
                            {"suite", row.suite},
                            {"created_at_ms", row.created_at_ms},
                            {"updated_at_ms", row.updated_at_ms},
                            {"attempts_recorded", row.attempts_recorded},
                            {"attempts_planned", row.attempts_planned},
                            {"points", row.points_earned},
                            {"model", row.model_file},
                            {"base_url", row.base_url},
                            {"service", row.service ? json(*row.service) : json(nullptr)}});
        }
        out << list.dump(2) << "\n";
        return k_exit_ok;
    }
    if (runs->empty()) {
        out << "no benchmark runs yet; start one with `gpumod bench run --service ID` or "
               "`--base-url URL`\n";
        return k_exit_ok;
    }
    TextTable table;
    for (const char* header : {"id", "kind", "status", "suite"}) {
        table.add_column(header);
    }
    table.add_column("attempts", Align::right);
    table.add_column("points", Align::right);
    table.add_column("model");
    table.add_column("target");
    for (const auto& row : *runs) {
        table.add_row({row.id, std::string(bench::to_string(row.kind)),
                       status_word(opened->db, row.id, row.status), row.suite,
                       fmt::format("{}/{}", row.attempts_recorded, row.attempts_planned),
                       std::to_string(row.points_earned),
                       row.model_file.empty() ? "-" : row.model_file,
                       row.service ? "service " + *row.service : row.base_url});
    }
    out << table.render();
    return k_exit_ok;
}

int cmd_bench_show(const GlobalOptions& global, const std::string& id, std::ostream& out,
                   std::ostream& err)
{
    auto opened = open_bench_database(global);
    if (!opened) {
        err << "gpumod: " << opened.error().message << "\n";
        return k_exit_environment;
    }
    bench::RunStore store(opened->db);
    auto found = store.find_run_by_prefix(id);
    if (!found || !*found) {
        err << "gpumod: "
            << (found ? fmt::format("no run '{}'; `gpumod bench list` shows them", id)
                      : found.error().message)
            << "\n";
        return k_exit_usage;
    }
    auto run = store.load_run(**found);
    if (!run || !*run) {
        err << "gpumod: " << (run ? "run vanished" : run.error().message) << "\n";
        return k_exit_environment;
    }
    if (global.json) {
        out << bench::encode_result_file(**run, bench::encode_summary(bench::summarize_run(**run)))
            << "\n";
        return k_exit_ok;
    }
    print_summary(**run, {}, out, status_word(opened->db, (*run)->id, (*run)->status));
    return k_exit_ok;
}

} // namespace gpumod::app
