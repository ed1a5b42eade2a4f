#pragma once

// What a benchmark run asked for, what each attempt did and what the run adds up to. Plain
// values: result_codec.hpp turns them into the result file's JSON and back, run_store keeps
// them in SQLite, the report reads them. docs/bench.md describes every field.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/bench/outcome.hpp"

namespace gpumod::bench {

/// Sampling parameters sent with every request; unset fields are left to the server.
struct Sampler
{
    std::string name; ///< "thinking-coding", "non-thinking", "gemma-coding" or a file's name
    std::optional<double> temperature;
    std::optional<double> top_p;
    std::optional<std::int64_t> top_k;
    std::optional<double> min_p;
    std::optional<double> presence_penalty;
    std::optional<double> repeat_penalty;
    /// Sent as chat_template_kwargs.enable_thinking (Qwen-style templates); unset: not sent.
    std::optional<bool> enable_thinking;

    bool operator==(const Sampler&) const = default;
};

/// How levels of one iteration share a chat.
enum class ConversationPolicy
{
    fresh, ///< every level is a new chat
    carry, ///< the levels of an iteration are one chat: earlier turns (with reasoning) are sent
};

/// A full suite run, or a smoke run of one level repeated.
enum class RunKind
{
    run,
    smoke,
};

/// Lifecycle of a run in the database.
enum class RunStatus
{
    running,     ///< a gpumod process is (or was, if it crashed) working on it
    interrupted, ///< stopped early (Ctrl-C, server gone); `--resume` continues it
    aborted,     ///< infrastructure failed beyond retries; `--resume` may continue it
    complete,    ///< every attempt recorded
};

/// Everything that decides what a run sends and how it is graded; stored with the run so
/// `--resume` continues with exactly the same settings.
struct RunConfig
{
    RunKind kind = RunKind::run;
    std::string suite;                   ///< suite name
    std::string suite_dir;               ///< where it was loaded from (informational)
    int suite_version = 0;
    std::string suite_hash;              ///< Suite::content_hash
    std::vector<std::string> level_ids;  ///< levels in order (smoke: exactly one)
    /// run: iterations of the whole suite; smoke: attempts of the one level.
    int iterations = 15;
    Sampler sampler;
    std::int64_t max_tokens = 32768;
    /// -1: the server's default; 0: thinking off (sent as enable_thinking false); N > 0 is a
    /// server setting (llama-server --reasoning-budget) and is only recorded.
    std::int64_t reasoning_budget = -1;
    int request_timeout_s = 900;         ///< per request, whole reply
    ConversationPolicy conversation = ConversationPolicy::fresh;
    int concurrency = 1;                 ///< attempts (conversations) in flight at once
    std::uint64_t seed = 0;              ///< base of the per-attempt seeds
    int infra_retries = 2;               ///< retries of a request that failed before any token
    std::string base_url;                ///< http://127.0.0.1:7103
    std::optional<std::string> service;  ///< the gpumod service, when run with --service
    std::optional<std::string> model;    ///< sent as "model" (vLLM needs it)
    bool isolate = false;                ///< other GPU services stopped for the run

    bool operator==(const RunConfig&) const = default;
};

/// Measurements of one attempt. Times are from a monotonic clock on the client; server
/// figures come from llama-server's `timings` (absent on servers without them).
struct AttemptMetrics
{
    std::int64_t prompt_tokens = 0;
    std::int64_t completion_tokens = 0;
    std::optional<std::int64_t> cached_prompt_tokens;
    std::optional<double> ttft_ms;             ///< to the first streamed reasoning/content token
    double request_ms = 0;                     ///< request sent to the last chunk
    std::optional<double> server_prompt_ms;    ///< timings.prompt_ms
    std::optional<double> server_predicted_ms; ///< timings.predicted_ms
    std::optional<double> server_tokens_per_s; ///< timings.predicted_per_second
    /// completion_tokens / (request_ms - ttft_ms): generation speed as the client saw it.
    std::optional<double> client_tokens_per_s;
    std::optional<std::int64_t> draft_n;          ///< tokens drafted (speculative decoding)
    std::optional<std::int64_t> draft_n_accepted; ///< ... accepted
    std::optional<double> vram_peak_mib;          ///< NVML, max used during the request
    double validation_ms = 0;                     ///< pytest sandbox wall time

    bool operator==(const AttemptMetrics&) const = default;
};

/// One file extraction produced (what was graded).
struct GradedFile
{
    std::string path;
    std::string reason; ///< to_string(AssignReason)
    std::size_t bytes = 0;

    bool operator==(const GradedFile&) const = default;
};

/// One level of one iteration (or one smoke attempt): the request, the reply, the grade.
struct AttemptRecord
{
    int iteration = 1;       ///< from 1 (smoke: the attempt number)
    std::string level;       ///< level id
    std::int64_t seed = 0;   ///< the sampling seed sent
    Outcome outcome = Outcome::infra_error;
    std::string detail;      ///< why, in words
    int points = 0;          ///< earned (all or nothing)
    int points_possible = 0;
    std::optional<TestCounts> tests;
    std::string finish_reason;
    std::string code_source; ///< to_string(CodeSource)
    std::vector<GradedFile> files;
    std::string content;     ///< the reply's content, verbatim
    std::string reasoning;   ///< reasoning_content ("" when none)
    int messages_sent = 0;   ///< chat length sent (carry grows it)
    int retries = 0;         ///< infrastructure retries before this answer
    std::int64_t started_at_ms = 0; ///< wall clock (Unix ms), for logs only
    AttemptMetrics metrics;

    bool operator==(const AttemptRecord&) const = default;
};

/// Facts about what served the run, recorded once at its start.
struct ServerFacts
{
    std::string build;         ///< /props build_info ("b11669-Debian"), or "" when unknown
    std::string model_path;    ///< /props model_path
    std::optional<std::int64_t> n_ctx;
    std::optional<std::int64_t> total_slots;
    std::string chat_template_hash; ///< SHA-256 of /props chat_template, "" when none
    std::vector<std::string> argv;  ///< the service's command line (--service only)

    bool operator==(const ServerFacts&) const = default;
};

/// The model file, when gpumod can see it (local server).
struct ModelFacts
{
    std::string file_name;
    std::optional<std::int64_t> size_bytes; ///< all shards of a split model
    std::string sha256; ///< "" when not computed (a split model: its first file)
    // From the GGUF header (local files; absent in result files written before they existed).
    std::optional<std::int64_t> parameters;  ///< sum of the tensors' elements
    std::optional<std::string> quantization; ///< general.file_type name ("Q4_K_M")
    std::optional<std::string> architecture; ///< general.architecture
    std::optional<std::string> name;         ///< general.name
    std::optional<std::string> basename;     ///< general.basename: the family ("Qwen3.6")
    std::optional<std::string> finetune;     ///< general.finetune
    std::optional<std::string> size_label;   ///< general.size_label ("35B-A3B")

    bool operator==(const ModelFacts&) const = default;
};

/// The machine that ran it.
struct EnvironmentFacts
{
    std::string gpumod_version;
    std::string gpumod_commit;
    std::string hostname;
    std::vector<std::string> gpus; ///< "NVIDIA H100 80GB HBM3 (81559 MiB)"
    std::string driver_version;
    std::optional<double> vram_idle_mib; ///< used memory before the first request
    std::string sandbox;                 ///< "bwrap" or "rlimits"

    bool operator==(const EnvironmentFacts&) const = default;
};

/// A run as stored: identity, settings, facts and every recorded attempt.
struct RunRecord
{
    std::string id;
    RunStatus status = RunStatus::running;
    std::int64_t created_at_ms = 0;
    std::int64_t updated_at_ms = 0;
    std::optional<std::int64_t> finished_at_ms;
    RunConfig config;
    ServerFacts server;
    ModelFacts model;
    EnvironmentFacts environment;
    std::vector<AttemptRecord> attempts; ///< ordered by (iteration, level order)
    std::string note;                    ///< why it stopped, when it did not complete

    bool operator==(const RunRecord&) const = default;
};

std::string_view to_string(ConversationPolicy policy);
std::string_view to_string(RunKind kind);
std::string_view to_string(RunStatus status);
std::optional<ConversationPolicy> parse_conversation_policy(std::string_view text);
std::optional<RunKind> parse_run_kind(std::string_view text);
std::optional<RunStatus> parse_run_status(std::string_view text);

} // namespace gpumod::bench
