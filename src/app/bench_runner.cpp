#include "app/bench_runner.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <ostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "adapters/bench/run_store.hpp"
#include "adapters/http/http_client.hpp"
#include "adapters/http/openai_client.hpp"
#include "adapters/nvml/memory_sampler.hpp"
#include "adapters/posix/atomic_file.hpp"
#include "adapters/posix/clock.hpp"
#include "adapters/pytest/sandbox.hpp"
#include "adapters/sqlite/database.hpp"
#include "core/bench/extract.hpp"
#include "core/bench/outcome.hpp"
#include "core/bench/result_codec.hpp"
#include "core/bench/schedule.hpp"
#include "core/bench/summary.hpp"

namespace gpumod::app {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

Status write_text(const fs::path& path, std::string_view text)
{
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
        return fail(fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message()));
    }
    return posix::write_file_atomically(
        path,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
        posix::ExistingFile::replace);
}

double to_ms(std::chrono::microseconds value)
{
    return static_cast<double>(value.count()) / 1000.0;
}

/// The request for one turn: the history, the level's prompt, the run's sampler.
openai::ChatRequest make_request(const bench::RunConfig& config,
                                 const std::vector<openai::ChatMessage>& history,
                                 const bench::Level& level, std::int64_t seed)
{
    openai::ChatRequest request;
    request.messages = history;
    request.messages.push_back({"user", level.prompt, std::nullopt});
    request.model = config.model;
    request.max_tokens = config.max_tokens;
    const auto& sampler = config.sampler;
    request.temperature = sampler.temperature;
    request.top_p = sampler.top_p;
    request.top_k = sampler.top_k;
    request.min_p = sampler.min_p;
    request.presence_penalty = sampler.presence_penalty;
    request.repeat_penalty = sampler.repeat_penalty;
    request.enable_thinking = sampler.enable_thinking;
    if (config.reasoning_budget == 0) {
        request.enable_thinking = false;
    }
    request.seed = seed;
    request.stream = true;
    request.include_usage = true;
    return request;
}

/// The reply as a readable artifact: reasoning and content tagged.
std::string response_artifact(const bench::AttemptRecord& attempt)
{
    std::string text = fmt::format("<!-- gpumod attempt: iteration {} level {} seed {} finish "
                                   "{} outcome {} -->\n",
                                   attempt.iteration, attempt.level, attempt.seed,
                                   attempt.finish_reason, bench::to_string(attempt.outcome));
    text += "<reasoning>\n" + attempt.reasoning + "\n</reasoning>\n\n<content>\n" +
            attempt.content + "\n</content>\n";
    return text;
}

/// Everything the workers share; every member behind `mutex` unless atomic.
struct Shared
{
    sqlite::Database& db;
    bench::RunStore store;
    const bench::Suite& suite;
    const BenchEngineOptions& options;
    const std::map<std::string, pytest::PytestSandbox>& sandboxes; ///< by level id
    std::optional<nvml::MemorySampler>& vram;

    std::mutex mutex;
    bench::RunRecord run;
    std::deque<bench::Conversation> queue;
    BenchProgress progress;
    std::atomic<bool> abort{false};
    std::optional<std::string> abort_reason;
    std::string run_log;

    Shared(sqlite::Database& database, const bench::Suite& s, const BenchEngineOptions& o,
           const std::map<std::string, pytest::PytestSandbox>& boxes,
           std::optional<nvml::MemorySampler>& sampler, bench::RunRecord record)
        : db(database), store(database), suite(s), options(o), sandboxes(boxes), vram(sampler),
          run(std::move(record))
    {
    }

    [[nodiscard]] bool stopping() const
    {
        return abort.load() || (options.stop != nullptr && options.stop->load());
    }

    void log_line(const std::string& line)
    {
        // Callers hold `mutex`.
        run_log += line + "\n";
        if (options.on_log) {
            options.on_log(line);
        }
    }

    void fail_run(const std::string& reason)
    {
        std::scoped_lock lock(mutex);
        if (!abort_reason) {
            abort_reason = reason;
            log_line("abort: " + reason);
        }
        abort.store(true);
    }
};

/// The recorded attempt of this turn in a resumed run, or nullptr.
const bench::AttemptRecord* find_recorded(const bench::RunRecord& run, int iteration,
                                          const std::string& level)
{
    for (const auto& attempt : run.attempts) {
        if (attempt.iteration == iteration && attempt.level == level) {
            return &attempt;
        }
    }
    return nullptr;
}

/// Sends one request, retrying only failures before the first token. nullopt: the run must
/// stop (the reason is recorded in `shared`).
std::optional<http::ChatExchange> request_reply(Shared& shared, http::HttpClient& client,
                                                const openai::ChatRequest& request,
                                                const bench::PlannedAttempt& turn, int& retries,
                                                std::optional<double>& vram_peak)
{
    const auto& config = shared.run.config;
    for (int attempt = 0;; ++attempt) {
        http::StreamWatch watch;
        watch.cancel = &shared.abort;
        if (shared.options.stop != nullptr) {
            // Either flag stops the stream: poll the user's flag through the shared one.
            if (shared.options.stop->load()) {
                return std::nullopt;
            }
        }
        watch.deadline = posix::monotonic_now() + std::chrono::seconds(config.request_timeout_s);
        std::optional<nvml::WindowId> window;
        if (shared.vram) {
            window = shared.vram->open_window();
        }
        auto exchange = http::chat_streaming(client, request, watch);
        if (shared.vram && window) {
            const auto stats = shared.vram->close_window(*window);
            vram_peak = stats.peak_used_mib;
        }
        if (exchange) {
            retries = attempt;
            return std::move(*exchange);
        }
        if (shared.stopping()) {
            return std::nullopt;
        }
        const std::string what = fmt::format("iteration {} level {}: {}", turn.iteration,
                                             turn.level, exchange.error().message);
        if (watch.http_status && *watch.http_status >= 400 && *watch.http_status < 500 &&
            *watch.http_status != 408 && *watch.http_status != 429) {
            // The server refused this request as such (context too small, bad option): asking
            // again would get the same answer.
            shared.fail_run("the server refused the request, " + what +
                            "; fix the server's settings (e.g. a larger context, -c) or the run's "
                            "options, then resume");
            return std::nullopt;
        }
        if (watch.token_seen || watch.deadline_passed) {
            // Tokens arrived: a retry would not be the same attempt. Never scored.
            shared.fail_run("server failed mid-reply, " + what);
            return std::nullopt;
        }
        if (attempt >= config.infra_retries) {
            shared.fail_run(fmt::format("server failed {} times, {}", attempt + 1, what));
            return std::nullopt;
        }
        {
            std::scoped_lock lock(shared.mutex);
            shared.log_line(fmt::format("retry {}/{} after: {}", attempt + 1, config.infra_retries,
                                        what));
        }
        // Back off 1 s, 2 s, ... in small steps so a stop request is honoured quickly.
        const auto until = posix::monotonic_now() + std::chrono::seconds(1 << std::min(attempt, 4));
        while (posix::monotonic_now() < until && !shared.stopping()) {
            std::this_thread::sleep_for(50ms);
        }
        if (shared.stopping()) {
            return std::nullopt;
        }
    }
}

/// Grades a reply: extraction, pytest, classification. Fills the record's grade fields.
/// False: the sandbox failed twice (infrastructure): the run must stop.
bool grade_reply(Shared& shared, const bench::Level& level, bench::AttemptRecord& record,
                 std::string& pytest_text, std::vector<bench::SuiteFile>& extracted)
{
    bench::ExtractionInput input;
    input.content = record.content;
    input.reasoning = record.reasoning;
    input.expected_files = level.files;
    const auto extraction = bench::extract_code(input);
    record.code_source = std::string(bench::to_string(extraction.source));
    for (const auto& file : extraction.files) {
        if (!file.expected) {
            continue;
        }
        record.files.push_back(
            {file.path, std::string(bench::to_string(file.reason)), file.text.size()});
        extracted.push_back({file.path, file.text});
    }

    bench::AttemptFacts facts;
    facts.finish_reason = record.finish_reason;
    if (extraction.has_code()) {
        std::vector<pytest::SourceFile> solution;
        for (const auto& file : extracted) {
            solution.push_back({file.path, file.text});
        }
        std::vector<pytest::SourceFile> tests;
        for (const auto& file : level.tests) {
            tests.push_back({file.path, file.text});
        }
        for (int attempt = 0; attempt < 2; ++attempt) {
            auto limits_sandbox = shared.sandboxes.at(level.id).run(solution, tests);
            record.metrics.validation_ms =
                static_cast<double>(limits_sandbox.duration.count());
            pytest_text = fmt::format("$ {}\nexit: {}\n--- stdout (tail) ---\n{}\n--- stderr "
                                      "(tail) ---\n{}\n",
                                      fmt::join(limits_sandbox.command, " "),
                                      limits_sandbox.report.exited
                                          ? fmt::format("code {}", limits_sandbox.report.exit_code)
                                          : fmt::format("signal {}", limits_sandbox.report.signal),
                                      limits_sandbox.stdout_tail, limits_sandbox.stderr_tail);
            facts.pytest = limits_sandbox.report;
            if (!limits_sandbox.report.sandbox_failure) {
                break;
            }
        }
    }
    const auto classification = bench::classify_attempt(extraction, facts);
    record.outcome = classification.outcome;
    record.detail = classification.detail;
    if (facts.pytest && facts.pytest->counts) {
        record.tests = facts.pytest->counts;
    }
    record.points = record.outcome == bench::Outcome::pass ? level.points : 0;
    record.points_possible = level.points;
    if (bench::is_infrastructure(record.outcome)) {
        shared.fail_run(fmt::format("iteration {} level {}: {}", record.iteration, record.level,
                                    record.detail));
        return false;
    }
    return true;
}

/// Writes an attempt's artifacts; a failure is logged, never fatal (the DB holds the record).
void write_artifacts(Shared& shared, const bench::AttemptRecord& record,
                     const std::string& pytest_text,
                     const std::vector<bench::SuiteFile>& extracted)
{
    const fs::path dir = shared.options.output.artifacts_dir(shared.run.id) /
                         fmt::format("iter_{:02}", record.iteration) / record.level;
    std::vector<Status> results;
    results.push_back(write_text(dir / "response.md", response_artifact(record)));
    results.push_back(write_text(dir / "summary.json", bench::encode_attempt(record)));
    if (!pytest_text.empty()) {
        results.push_back(write_text(dir / "pytest.txt", pytest_text));
    }
    for (const auto& file : extracted) {
        results.push_back(write_text(dir / "files" / file.path, file.text));
    }
    for (const auto& result : results) {
        if (!result) {
            std::scoped_lock lock(shared.mutex);
            shared.log_line("warning: artifact not written: " + result.error().message);
        }
    }
}

/// Runs one conversation's remaining turns. Returns when done or when the run stops.
void run_conversation(Shared& shared, const bench::Conversation& conversation)
{
    const auto& config = shared.run.config;
    http::Timeouts timeouts;
    timeouts.read = std::chrono::seconds(std::max(config.request_timeout_s, 1));
    auto client = http::HttpClient::create(config.base_url, timeouts);
    if (!client) {
        shared.fail_run(client.error().message);
        return;
    }
    std::vector<openai::ChatMessage> history;
    for (const auto& turn : conversation.turns) {
        if (shared.stopping()) {
            return;
        }
        const bench::Level* level = shared.suite.find_level(turn.level);
        if (level == nullptr) {
            shared.fail_run("level " + turn.level + " is not in the suite");
            return;
        }
        std::optional<bench::AttemptRecord> recorded;
        {
            std::scoped_lock lock(shared.mutex);
            if (const auto* found = find_recorded(shared.run, turn.iteration, turn.level)) {
                recorded = *found;
            }
        }
        if (recorded) {
            // Resumed carry conversation: replay what the model said as history.
            history.push_back({"user", level->prompt, std::nullopt});
            history.push_back({"assistant", recorded->content,
                               recorded->reasoning.empty()
                                   ? std::nullopt
                                   : std::optional<std::string>(recorded->reasoning)});
            continue;
        }
        const auto request = make_request(config, history, *level, turn.seed);

        bench::AttemptRecord record;
        record.iteration = turn.iteration;
        record.level = turn.level;
        record.seed = turn.seed;
        record.messages_sent = static_cast<int>(request.messages.size());
        record.started_at_ms = posix::unix_now_ms();
        std::optional<double> vram_peak;
        auto exchange = request_reply(shared, *client, request, turn, record.retries, vram_peak);
        if (!exchange) {
            return;
        }
        const auto& completion = exchange->completion;
        record.content = completion.content;
        record.reasoning = completion.reasoning_content.value_or("");
        record.finish_reason = completion.finish_reason;
        auto& m = record.metrics;
        m.request_ms = to_ms(exchange->total_time);
        if (exchange->time_to_first_token) {
            m.ttft_ms = to_ms(*exchange->time_to_first_token);
        }
        m.vram_peak_mib = vram_peak;
        if (completion.usage) {
            m.prompt_tokens = completion.usage->prompt_tokens;
            m.completion_tokens = completion.usage->completion_tokens;
            m.cached_prompt_tokens = completion.usage->cached_tokens;
        }
        if (completion.timings) {
            const auto& t = *completion.timings;
            if (!completion.usage) {
                m.prompt_tokens = t.prompt_n + t.cache_n;
                m.completion_tokens = t.predicted_n;
            }
            m.server_prompt_ms = t.prompt_ms;
            m.server_predicted_ms = t.predicted_ms;
            m.server_tokens_per_s = t.predicted_per_second;
            if (!m.server_tokens_per_s && t.predicted_ms > 0) {
                m.server_tokens_per_s = static_cast<double>(t.predicted_n) * 1000.0 / t.predicted_ms;
            }
            m.draft_n = t.draft_n;
            m.draft_n_accepted = t.draft_n_accepted;
        }
        if (m.ttft_ms && m.request_ms > *m.ttft_ms && m.completion_tokens > 1) {
            // The first token ends the wait; the rest are generation.
            m.client_tokens_per_s = static_cast<double>(m.completion_tokens - 1) * 1000.0 /
                                    (m.request_ms - *m.ttft_ms);
        }

        std::string pytest_text;
        std::vector<bench::SuiteFile> extracted;
        if (!grade_reply(shared, *level, record, pytest_text, extracted)) {
            return;
        }
        write_artifacts(shared, record, pytest_text, extracted);
        {
            std::scoped_lock lock(shared.mutex);
            // The checkpoint: once this returns, a crash loses nothing of this attempt.
            auto saved = shared.store.record_attempt(shared.run.id, record, posix::unix_now_ms());
            if (!saved) {
                shared.abort_reason = "cannot record the attempt: " + saved.error().message;
                shared.abort.store(true);
                shared.log_line("abort: " + *shared.abort_reason);
                return;
            }
            shared.run.attempts.push_back(record);
            ++shared.progress.done;
            if (record.outcome == bench::Outcome::pass) {
                ++shared.progress.passed;
            }
            shared.progress.last =
                fmt::format("iter {} {}: {} ({}/{})", record.iteration, record.level,
                            bench::to_string(record.outcome), record.points, record.points_possible);
            shared.log_line(fmt::format(
                "iter {:>2} {:<4} {:<16} {:>3}/{:<3} tokens {:>6}  {:.1f} s{}{}",
                record.iteration, record.level, bench::to_string(record.outcome), record.points,
                record.points_possible, record.metrics.completion_tokens,
                record.metrics.request_ms / 1000.0,
                record.metrics.server_tokens_per_s
                    ? fmt::format("  {:.1f} tok/s", *record.metrics.server_tokens_per_s)
                    : std::string(),
                record.detail.empty() ? std::string() : "  " + record.detail));
            if (shared.options.on_progress) {
                shared.options.on_progress(shared.progress);
            }
        }
        history.push_back(request.messages.back());
        history.push_back({"assistant", record.content,
                           record.reasoning.empty() ? std::nullopt
                                                    : std::optional<std::string>(record.reasoning)});
    }
}

void worker(Shared& shared)
{
    while (!shared.stopping()) {
        bench::Conversation next;
        {
            std::scoped_lock lock(shared.mutex);
            if (shared.queue.empty()) {
                return;
            }
            next = std::move(shared.queue.front());
            shared.queue.pop_front();
        }
        run_conversation(shared, next);
    }
}

/// Orders attempts by iteration, then by the config's level order.
void sort_attempts(bench::RunRecord& run)
{
    std::map<std::string, std::size_t> position;
    for (std::size_t i = 0; i < run.config.level_ids.size(); ++i) {
        position[run.config.level_ids[i]] = i;
    }
    std::sort(run.attempts.begin(), run.attempts.end(), [&](const auto& a, const auto& b) {
        if (a.iteration != b.iteration) {
            return a.iteration < b.iteration;
        }
        return position[a.level] < position[b.level];
    });
}

} // namespace

Status write_result_file(const bench::RunRecord& run, const std::filesystem::path& file)
{
    const auto summary = bench::summarize_run(run);
    return write_text(file, bench::encode_result_file(run, bench::encode_summary(summary)) + "\n");
}

Result<BenchOutcome> run_benchmark(sqlite::Database& db, bench::RunRecord run,
                                   const bench::Suite& suite, const BenchEngineOptions& options)
{
    // One sandbox per level: each level's tests run under its own wall timeout.
    std::map<std::string, pytest::PytestSandbox> sandboxes;
    for (const auto& level : suite.levels) {
        pytest::SandboxOptions sandbox_options;
        sandbox_options.use_bwrap = options.use_bwrap;
        sandbox_options.keep_work_dir = options.keep_sandbox_dirs;
        sandbox_options.limits.wall_timeout = level.timeout;
        auto sandbox = pytest::PytestSandbox::create(sandbox_options);
        run.environment.sandbox = std::string(pytest::to_string(sandbox.mode()));
        sandboxes.emplace(level.id, std::move(sandbox));
    }

    std::error_code ec;
    fs::create_directories(options.output.artifacts_dir(run.id), ec);
    if (ec) {
        return fail(fmt::format("cannot create the output directory {}: {}",
                                options.output.artifacts_dir(run.id).string(), ec.message()));
    }

    std::optional<nvml::MemorySampler> vram;
    if (auto started = nvml::MemorySampler::start_default()) {
        vram.emplace(std::move(*started));
    }
    if (vram) {
        run.environment.gpus = vram->device_descriptions();
        run.environment.driver_version = vram->driver_version();
        if (!run.environment.vram_idle_mib) {
            run.environment.vram_idle_mib = vram->current_used_mib();
        }
    }

    Shared shared(db, suite, options, sandboxes, vram, std::move(run));
    if (auto saved = shared.store.update_facts(shared.run.id, shared.run); !saved) {
        return tl::unexpected(saved.error());
    }
    if (auto saved = shared.store.set_status(shared.run.id, bench::RunStatus::running, "",
                                             posix::unix_now_ms(), std::nullopt);
        !saved) {
        return tl::unexpected(saved.error());
    }
    const auto remaining = bench::remaining_conversations(
        shared.run.config, bench::recorded_keys(shared.run.attempts));
    shared.queue.assign(remaining.begin(), remaining.end());
    shared.progress.total = bench::planned_attempt_count(shared.run.config);
    shared.progress.done = shared.run.attempts.size();
    for (const auto& attempt : shared.run.attempts) {
        if (attempt.outcome == bench::Outcome::pass) {
            ++shared.progress.passed;
        }
    }
    {
        std::scoped_lock lock(shared.mutex);
        shared.log_line(fmt::format(
            "run {}: {} {} against {}, {} of {} attempts to go, concurrency {}, sandbox {}",
            shared.run.id, bench::to_string(shared.run.config.kind), shared.run.config.suite,
            shared.run.config.base_url, shared.progress.total - shared.progress.done,
            shared.progress.total, shared.run.config.concurrency,
            shared.run.environment.sandbox));
        if (options.on_progress) {
            options.on_progress(shared.progress);
        }
    }

    {
        const int workers = std::max(1, std::min<int>(shared.run.config.concurrency,
                                                      static_cast<int>(remaining.size())));
        std::vector<std::jthread> threads;
        for (int i = 0; i < workers; ++i) {
            threads.emplace_back([&shared] { worker(shared); });
        }
    }
    if (vram) {
        vram->stop();
    }

    BenchOutcome outcome;
    const auto now = posix::unix_now_ms();
    const bool all_recorded = shared.run.attempts.size() >= shared.progress.total;
    bench::RunStatus status = bench::RunStatus::complete;
    if (shared.abort_reason) {
        status = bench::RunStatus::aborted;
        outcome.aborted = true;
        outcome.why = *shared.abort_reason;
    } else if (!all_recorded) {
        status = bench::RunStatus::interrupted;
        outcome.interrupted = true;
        outcome.why = "stopped by request";
    }
    shared.run.status = status;
    shared.run.note = outcome.why;
    shared.run.updated_at_ms = now;
    if (status == bench::RunStatus::complete) {
        shared.run.finished_at_ms = now;
    }
    if (auto saved = shared.store.set_status(shared.run.id, status, outcome.why, now,
                                             shared.run.finished_at_ms);
        !saved) {
        shared.log_line("warning: status not saved: " + saved.error().message);
    }
    // The store is the truth (attempts recorded by every worker, timestamps).
    if (auto stored = shared.store.load_run(shared.run.id); stored && *stored) {
        shared.run = std::move(**stored);
    }
    sort_attempts(shared.run);
    shared.log_line(fmt::format("run {}: {}{}", shared.run.id, bench::to_string(status),
                                outcome.why.empty() ? "" : " (" + outcome.why + ")"));
    const auto artifacts = options.output.artifacts_dir(shared.run.id);
    std::string previous_log;
    if (std::ifstream existing{artifacts / "run.log"}) {
        std::ostringstream text;
        text << existing.rdbuf();
        previous_log = text.str();
    }
    (void)write_text(artifacts / "run.log", previous_log + shared.run_log);
    outcome.result_file = options.output.result_file(shared.run.id);
    if (auto written = write_result_file(shared.run, outcome.result_file); !written) {
        return tl::unexpected(written.error());
    }
    outcome.run = std::move(shared.run);
    return outcome;
}

} // namespace gpumod::app
