#include "core/report/comparison.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "core/bench/summary.hpp"
#include "core/gguf/model_identity.hpp"
#include "core/report/report_format.hpp"
#include "core/stats/summary.hpp"

namespace gpumod::report {
namespace {

using bench::AttemptRecord;
using bench::RunRecord;
using bench::RunSummary;

// ---------------------------------------------------------------- small helpers

std::string join(const std::vector<std::string>& items, std::string_view separator)
{
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) {
            out += separator;
        }
        out += item;
    }
    return out;
}

std::string short_hash(const std::string& hash)
{
    return hash.size() > 12 ? hash.substr(0, 12) : hash;
}

/// "name" without a trailing ".gguf".
std::string file_stem(const std::string& file_name)
{
    constexpr std::string_view suffix = ".gguf";
    if (file_name.size() > suffix.size() &&
        file_name.compare(file_name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return file_name.substr(0, file_name.size() - suffix.size());
    }
    return file_name;
}

/// The file name part of a path in an argv value.
std::string base_name(const std::string& path)
{
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::optional<std::int64_t> to_int(const std::optional<std::string>& text)
{
    if (!text || text->empty()) {
        return std::nullopt;
    }
    char* end = nullptr;
    const long long value = std::strtoll(text->c_str(), &end, 10);
    if (end == nullptr || *end != '\0') {
        return std::nullopt;
    }
    return static_cast<std::int64_t>(value);
}

/// Date and time (UTC) of a Unix time in ms: "2026-05-26 14:03 UTC".
std::string utc_time(std::int64_t unix_ms)
{
    using namespace std::chrono;
    const sys_time<milliseconds> at{milliseconds{unix_ms}};
    const auto day = floor<days>(at);
    const year_month_day date{day};
    const hh_mm_ss time{floor<minutes>(at - day)};
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02} UTC", static_cast<int>(date.year()),
                       static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                       time.hours().count(), time.minutes().count());
}

std::optional<stats::Interval> wilson(int passed, int attempts, double confidence)
{
    if (attempts <= 0) {
        return std::nullopt;
    }
    auto estimate = stats::wilson_interval(
        {static_cast<std::uint64_t>(passed), static_cast<std::uint64_t>(attempts)}, confidence);
    if (!estimate) {
        return std::nullopt;
    }
    return estimate->ci;
}

PassRate pass_rate(int passed, int attempts, double confidence)
{
    PassRate rate;
    rate.passed = passed;
    rate.attempts = attempts;
    if (attempts > 0) {
        rate.rate = static_cast<double>(passed) / attempts;
        rate.wilson = wilson(passed, attempts, confidence);
    }
    return rate;
}

stats::Counts counts_of(const PassRate& rate)
{
    return {static_cast<std::uint64_t>(rate.passed), static_cast<std::uint64_t>(rate.attempts)};
}

std::string k_of_n(const PassRate& rate)
{
    return fmt::format("{}/{}", rate.passed, rate.attempts);
}

/// "p=0.33" with the sign a reader expects ("p<0.001" has no "=").
std::string p_text(double p)
{
    const std::string value = format_p(p);
    return value.front() == '<' ? "p" + value : "p=" + value;
}

// ---------------------------------------------------------------- what ran

/// The settings of a llama-server command line that a report compares.
struct ServerSettings
{
    bool known = false; ///< the argv was recorded
    std::optional<std::string> ctx;
    std::optional<std::string> cache_k;
    std::optional<std::string> cache_v;
    std::optional<std::string> spec_type;
    std::optional<std::string> n_max;
    std::optional<std::string> draft_model;
    std::optional<std::string> parallel;
    std::optional<std::string> reasoning_budget;
};

ServerSettings server_settings(const bench::ServerFacts& server)
{
    ServerSettings s;
    const auto& argv = server.argv;
    s.known = !argv.empty();
    s.ctx = argv_flag(argv, {"-c", "--ctx-size"});
    s.cache_k = argv_flag(argv, {"-ctk", "--cache-type-k"});
    s.cache_v = argv_flag(argv, {"-ctv", "--cache-type-v"});
    s.spec_type = argv_flag(argv, {"--spec-type"});
    s.n_max = argv_flag(argv, {"--spec-draft-n-max", "--draft-max", "--draft-n", "--draft"});
    if (auto draft = argv_flag(argv, {"-md", "--model-draft", "--spec-draft-model"})) {
        s.draft_model = base_name(*draft);
    }
    s.parallel = argv_flag(argv, {"-np", "--parallel"});
    s.reasoning_budget = argv_flag(argv, {"--reasoning-budget"});
    return s;
}

std::string sampler_text(const bench::Sampler& sampler)
{
    std::vector<std::string> parts;
    const auto add = [&parts](const char* name, const auto& value) {
        if (value) {
            parts.push_back(fmt::format("{}={}", name, *value));
        }
    };
    add("temp", sampler.temperature);
    add("top_p", sampler.top_p);
    add("top_k", sampler.top_k);
    add("min_p", sampler.min_p);
    add("presence_penalty", sampler.presence_penalty);
    add("repeat_penalty", sampler.repeat_penalty);
    if (sampler.enable_thinking) {
        parts.push_back(fmt::format("enable_thinking={}", *sampler.enable_thinking));
    }
    if (parts.empty()) {
        return sampler.name.empty() ? std::string() : sampler.name + " (server defaults)";
    }
    return fmt::format("{}: {}", sampler.name.empty() ? "custom" : sampler.name, join(parts, ", "));
}

ModelInfo model_info(const RunRecord& run, const std::string& label)
{
    ModelInfo info;
    info.label = label;
    info.run_id = run.id;
    info.file_name = run.model.file_name;
    if (info.file_name.empty() && !run.server.model_path.empty()) {
        info.file_name = base_name(run.server.model_path);
    }
    info.size_bytes = run.model.size_bytes;
    info.sha256 = run.model.sha256;
    info.parameters = run.model.parameters;
    info.file_name_quant = gguf::quantization_from_file_name(info.file_name).value_or("");
    info.quantization = run.model.quantization.value_or(info.file_name_quant);
    if (info.size_bytes && info.parameters && *info.parameters > 0) {
        info.bits_per_weight =
            static_cast<double>(*info.size_bytes) * 8.0 / static_cast<double>(*info.parameters);
    }
    if (run.model.basename) {
        info.family = *run.model.basename;
        if (run.model.size_label) {
            info.family += " " + *run.model.size_label;
        }
    } else if (run.model.name) {
        info.family = *run.model.name;
    }
    info.finetune = run.model.finetune.value_or("");
    const auto settings = server_settings(run.server);
    info.context = run.server.n_ctx ? run.server.n_ctx : to_int(settings.ctx);
    info.server_build = run.server.build;
    return info;
}

std::string quantization_text(const ModelInfo& model)
{
    std::string text = model.quantization;
    if (!model.file_name_quant.empty() && model.file_name_quant != model.quantization) {
        text = text.empty() ? model.file_name_quant
                            : fmt::format("{} (file name: {})", text, model.file_name_quant);
    }
    if (model.bits_per_weight) {
        text += fmt::format("{}{:.2f} bpw", text.empty() ? "" : ", ", *model.bits_per_weight);
    }
    return text;
}

/// The family as the GGUF names it, else the file name without its quantization tag.
std::string family_text(const ModelInfo& model)
{
    if (!model.family.empty()) {
        return model.family;
    }
    std::string stem = file_stem(model.file_name);
    if (!model.file_name_quant.empty()) {
        if (const auto at = stem.rfind(model.file_name_quant); at != std::string::npos) {
            stem = stem.substr(0, at);
            while (!stem.empty() &&
                   (stem.back() == '-' || stem.back() == '.' || stem.back() == '_')) {
                stem.pop_back();
            }
        }
    }
    return stem;
}

FactRow fact(std::string key, std::string aspect, std::string base, std::string cand, bool confound)
{
    FactRow row;
    row.key = std::move(key);
    row.aspect = std::move(aspect);
    row.base = std::move(base);
    row.cand = std::move(cand);
    row.differs = row.base != row.cand;
    row.confound = confound;
    return row;
}

std::string optional_text(const std::optional<std::string>& value, const std::string& fallback)
{
    return value ? *value : fallback;
}

std::string kv_text(const ServerSettings& s)
{
    if (!s.known) {
        return "";
    }
    return fmt::format("K {}, V {}", s.cache_k.value_or("f16 (default)"),
                       s.cache_v.value_or("f16 (default)"));
}

std::string draft_text(const ServerSettings& s)
{
    if (!s.known) {
        return "";
    }
    std::string text = s.spec_type.value_or(s.draft_model ? "draft-simple" : "none");
    if (s.n_max) {
        text += ", n_max " + *s.n_max;
    }
    if (s.draft_model) {
        text += ", draft model " + *s.draft_model;
    }
    return text;
}

std::string context_text(const RunRecord& run, const ServerSettings& s)
{
    if (run.server.n_ctx) {
        return format_count(*run.server.n_ctx);
    }
    if (auto ctx = to_int(s.ctx)) {
        return format_count(*ctx);
    }
    return "";
}

std::string reasoning_budget_text(const RunRecord& run, const ServerSettings& s)
{
    const auto budget = run.config.reasoning_budget;
    std::string text = budget < 0    ? "server default"
                       : budget == 0 ? "0 (thinking off)"
                                     : format_count(budget);
    if (s.reasoning_budget) {
        text += " (server --reasoning-budget " + *s.reasoning_budget + ")";
    }
    return text;
}

void add_effects(std::vector<FactRow>& rows, const ModelInfo& base, const ModelInfo& cand,
                 const std::string& label_cand)
{
    for (auto& row : rows) {
        if (!row.differs) {
            continue;
        }
        if (row.base.empty() || row.cand.empty()) {
            row.effect = "recorded for one run only: cannot rule it out";
            continue;
        }
        if (row.key == "quantization") {
            if (base.bits_per_weight && cand.bits_per_weight) {
                const double d = *cand.bits_per_weight - *base.bits_per_weight;
                row.effect = fmt::format("{} has {:.2f} bpw {} precision", label_cand, std::abs(d),
                                         d < 0 ? "less" : "more");
            } else {
                row.effect = "different precision";
            }
        } else if (row.key == "model_file") {
            row.effect = "the models under comparison";
        } else if (row.key == "model_family") {
            row.effect = "different base model or generation";
        } else if (row.key == "finetune") {
            row.effect = "different post-training";
        } else if (row.key == "architecture") {
            row.effect = "different model architecture";
        } else if (row.key == "server_build") {
            row.effect = "different inference code: speed and sampling may differ";
        } else if (row.key == "chat_template") {
            row.effect = "prompts are rendered differently";
        } else if (row.key == "sampler") {
            row.effect = "different sampling: scores may differ for that reason alone";
        } else if (row.key == "max_tokens" || row.key == "reasoning_budget") {
            row.effect = "different token budget: budget exhaustion is not comparable";
        } else if (row.key == "context") {
            row.effect = "different context size";
        } else if (row.key == "kv_cache") {
            row.effect = "different KV cache precision";
        } else if (row.key == "draft") {
            row.effect = "different speculative decoding: speed is not comparable";
        } else if (row.key == "conversation") {
            row.effect = "carry keeps earlier turns in the chat, fresh does not";
        } else if (row.key == "suite") {
            row.effect = "different prompts or tests: scores are not comparable";
        } else if (row.key == "levels" || row.key == "iterations") {
            row.effect = "different amount of work per run";
        } else if (row.key == "gpu" || row.key == "driver" || row.key == "slots" ||
                   row.key == "concurrency") {
            row.effect = "speed is not comparable";
        } else {
            row.effect = "differs";
        }
    }
}

std::vector<FactRow> caveat_rows(const RunRecord& base, const RunRecord& cand, const ModelInfo& mb,
                                 const ModelInfo& mc, const std::string& label_cand)
{
    const auto sb = server_settings(base.server);
    const auto sc = server_settings(cand.server);
    std::vector<FactRow> rows;
    rows.push_back(fact("model_family", "Model family", family_text(mb), family_text(mc), true));
    rows.push_back(fact("finetune", "Fine-tune",
                        mb.finetune.empty() ? "none recorded" : mb.finetune,
                        mc.finetune.empty() ? "none recorded" : mc.finetune, true));
    rows.push_back(fact("architecture", "Architecture", optional_text(base.model.architecture, ""),
                        optional_text(cand.model.architecture, ""), true));
    rows.push_back(
        fact("quantization", "Quantization", quantization_text(mb), quantization_text(mc), true));
    rows.push_back(
        fact("model_file", "Model file",
             mb.sha256.empty() ? mb.file_name
                               : fmt::format("{} (sha256 {})", mb.file_name, short_hash(mb.sha256)),
             mc.sha256.empty() ? mc.file_name
                               : fmt::format("{} (sha256 {})", mc.file_name, short_hash(mc.sha256)),
             true));
    rows.push_back(
        fact("server_build", "llama.cpp build", base.server.build, cand.server.build, true));
    rows.push_back(fact("chat_template", "Chat template (sha256)",
                        short_hash(base.server.chat_template_hash),
                        short_hash(cand.server.chat_template_hash), true));
    rows.push_back(fact("sampler", "Sampler", sampler_text(base.config.sampler),
                        sampler_text(cand.config.sampler), true));
    rows.push_back(fact("max_tokens", "max_tokens", format_count(base.config.max_tokens),
                        format_count(cand.config.max_tokens), true));
    rows.push_back(fact("reasoning_budget", "Reasoning budget", reasoning_budget_text(base, sb),
                        reasoning_budget_text(cand, sc), true));
    rows.push_back(
        fact("context", "Context", context_text(base, sb), context_text(cand, sc), true));
    rows.push_back(fact("kv_cache", "KV cache", kv_text(sb), kv_text(sc), true));
    rows.push_back(fact("draft", "Draft / MTP", draft_text(sb), draft_text(sc), true));
    const auto slots = [](const RunRecord& run, const ServerSettings& s) {
        if (run.server.total_slots) {
            return std::to_string(*run.server.total_slots);
        }
        return s.parallel.value_or("");
    };
    rows.push_back(fact("slots", "Server slots", slots(base, sb), slots(cand, sc), true));
    rows.push_back(fact("conversation", "Conversation policy",
                        std::string(bench::to_string(base.config.conversation)),
                        std::string(bench::to_string(cand.config.conversation)), true));
    rows.push_back(fact("concurrency", "Concurrency", std::to_string(base.config.concurrency),
                        std::to_string(cand.config.concurrency), true));
    const auto suite = [](const RunRecord& run) {
        return fmt::format("{} v{} ({})", run.config.suite, run.config.suite_version,
                           short_hash(run.config.suite_hash));
    };
    rows.push_back(fact("suite", "Suite (content hash)", suite(base), suite(cand), true));
    rows.push_back(fact("levels", "Levels", join(base.config.level_ids, ", "),
                        join(cand.config.level_ids, ", "), true));
    rows.push_back(fact("iterations", "Iterations", std::to_string(base.config.iterations),
                        std::to_string(cand.config.iterations), true));
    rows.push_back(fact("gpu", "GPU", join(base.environment.gpus, "; "),
                        join(cand.environment.gpus, "; "), true));
    rows.push_back(fact("driver", "Driver", base.environment.driver_version,
                        cand.environment.driver_version, true));
    add_effects(rows, mb, mc, label_cand);
    return rows;
}

std::vector<FactRow> setup_rows(const RunRecord& base, const RunRecord& cand)
{
    const auto& eb = base.environment;
    const auto& ec = cand.environment;
    const auto version = [](const bench::EnvironmentFacts& e) {
        if (e.gpumod_version.empty()) {
            return std::string();
        }
        return e.gpumod_commit.empty() ? e.gpumod_version
                                       : fmt::format("{} ({})", e.gpumod_version, e.gpumod_commit);
    };
    const auto vram = [](const bench::EnvironmentFacts& e) {
        return e.vram_idle_mib ? fmt::format("{} MiB", format_count(static_cast<std::int64_t>(
                                                           std::llround(*e.vram_idle_mib))))
                               : std::string();
    };
    const auto target = [](const RunRecord& run) {
        return run.config.service
                   ? fmt::format("service {} ({})", *run.config.service, run.config.base_url)
                   : run.config.base_url;
    };
    const auto started = [](const RunRecord& run) {
        return run.created_at_ms > 0 ? utc_time(run.created_at_ms) : std::string();
    };
    std::vector<FactRow> rows;
    rows.push_back(fact("host", "Host", eb.hostname, ec.hostname, false));
    rows.push_back(fact("gpu", "GPU", join(eb.gpus, "; "), join(ec.gpus, "; "), false));
    rows.push_back(fact("driver", "Driver", eb.driver_version, ec.driver_version, false));
    rows.push_back(fact("vram_idle", "VRAM in use before the run", vram(eb), vram(ec), false));
    rows.push_back(
        fact("server_build", "llama.cpp build", base.server.build, cand.server.build, false));
    rows.push_back(fact("target", "Server", target(base), target(cand), false));
    rows.push_back(fact("isolate", "Other GPU services stopped", base.config.isolate ? "yes" : "no",
                        cand.config.isolate ? "yes" : "no", false));
    rows.push_back(fact("sandbox", "Grading sandbox", eb.sandbox, ec.sandbox, false));
    rows.push_back(fact("gpumod", "gpumod", version(eb), version(ec), false));
    rows.push_back(fact("started", "Started", started(base), started(cand), false));
    rows.push_back(fact("status", "Run status", std::string(bench::to_string(base.status)),
                        std::string(bench::to_string(cand.status)), false));
    return rows;
}

std::vector<FactRow> methodology_rows(const RunRecord& base, const RunRecord& cand)
{
    const auto sb = server_settings(base.server);
    const auto sc = server_settings(cand.server);
    std::vector<FactRow> rows;
    rows.push_back(fact("iterations", "Iterations", std::to_string(base.config.iterations),
                        std::to_string(cand.config.iterations), false));
    rows.push_back(fact("levels", "Levels", join(base.config.level_ids, ", "),
                        join(cand.config.level_ids, ", "), false));
    const auto validation = [](const RunRecord& run) {
        return fmt::format("pytest in a sandbox ({}), per-level timeout from the suite",
                           run.environment.sandbox.empty() ? "mode not recorded"
                                                           : run.environment.sandbox);
    };
    rows.push_back(fact("validation", "Validation", validation(base), validation(cand), false));
    rows.push_back(fact("sampler", "Sampler", sampler_text(base.config.sampler),
                        sampler_text(cand.config.sampler), false));
    rows.push_back(fact("timeout", "Client timeout",
                        fmt::format("{} s per request", base.config.request_timeout_s),
                        fmt::format("{} s per request", cand.config.request_timeout_s), false));
    rows.push_back(fact("max_tokens", "max_tokens",
                        format_count(base.config.max_tokens) + " per level",
                        format_count(cand.config.max_tokens) + " per level", false));
    rows.push_back(
        fact("context", "Context", context_text(base, sb), context_text(cand, sc), false));
    rows.push_back(fact("kv_cache", "KV cache", kv_text(sb), kv_text(sc), false));
    rows.push_back(fact("draft", "Draft / MTP", draft_text(sb), draft_text(sc), false));
    rows.push_back(fact("conversation", "Conversation policy",
                        std::string(bench::to_string(base.config.conversation)),
                        std::string(bench::to_string(cand.config.conversation)), false));
    rows.push_back(fact("concurrency", "Concurrency", std::to_string(base.config.concurrency),
                        std::to_string(cand.config.concurrency), false));
    rows.push_back(fact("seed", "Seed (base of per-attempt seeds)",
                        std::to_string(base.config.seed), std::to_string(cand.config.seed), false));
    rows.push_back(fact("extraction", "Code extraction",
                        "content first; reasoning only when the content has no code",
                        "content first; reasoning only when the content has no code", false));
    rows.push_back(fact("infra", "Infrastructure errors",
                        fmt::format("never scored; {} retries", base.config.infra_retries),
                        fmt::format("never scored; {} retries", cand.config.infra_retries), false));
    return rows;
}

// ---------------------------------------------------------------- per-run numbers

/// Per-attempt tokens/s of scored attempts: the server's figure when every attempt has it,
/// else the client's.
std::pair<std::vector<double>, std::string> attempt_tps(const RunRecord& run)
{
    std::vector<double> server;
    std::vector<double> client;
    std::size_t scored = 0;
    for (const auto& attempt : run.attempts) {
        if (bench::is_infrastructure(attempt.outcome)) {
            continue;
        }
        ++scored;
        if (attempt.metrics.server_tokens_per_s) {
            server.push_back(*attempt.metrics.server_tokens_per_s);
        }
        if (attempt.metrics.client_tokens_per_s) {
            client.push_back(*attempt.metrics.client_tokens_per_s);
        }
    }
    if (!server.empty() && server.size() >= client.size()) {
        return {server, "server"};
    }
    if (!client.empty()) {
        return {client, "client"};
    }
    return {{}, ""};
}

std::vector<double> complete_scores(const RunSummary& summary)
{
    std::vector<double> scores;
    for (const auto& it : summary.iterations) {
        if (it.complete) {
            scores.push_back(static_cast<double>(it.points));
        }
    }
    return scores;
}

RunSummaryRow summary_row(const RunRecord& run, const RunSummary& summary, const std::string& label,
                          double confidence)
{
    RunSummaryRow row;
    row.label = label;
    const auto scores = complete_scores(summary);
    row.iterations = scores.size();
    for (const auto& it : summary.iterations) {
        if (it.complete) {
            row.possible = std::max(row.possible, it.possible);
        }
    }
    if (!scores.empty()) {
        row.mean =
            std::accumulate(scores.begin(), scores.end(), 0.0) / static_cast<double>(scores.size());
        row.min = *std::min_element(scores.begin(), scores.end());
        row.max = *std::max_element(scores.begin(), scores.end());
    }
    if (scores.size() >= 2) {
        if (auto described = stats::summarize(scores, confidence)) {
            row.sd = described->sd;
            row.ci = described->ci;
        }
    }
    const auto [tps, source] = attempt_tps(run);
    if (!tps.empty()) {
        row.mean_tps =
            std::accumulate(tps.begin(), tps.end(), 0.0) / static_cast<double>(tps.size());
        row.tps_attempts = tps.size();
    }
    row.acceptance_pooled = summary.draft_acceptance_pooled;
    row.acceptance_mean_per_request = summary.draft_acceptance_mean_per_request;
    row.wall_s = summary.wall_s;
    return row;
}

SummaryDelta summary_delta(const RunSummaryRow& b, const RunSummaryRow& c)
{
    SummaryDelta d;
    if (b.mean && c.mean) {
        d.mean = *c.mean - *b.mean;
    }
    if (b.sd && c.sd) {
        d.sd = *c.sd - *b.sd;
    }
    if (b.ci && c.ci) {
        d.ci_overlap = b.ci->low <= c.ci->high && c.ci->low <= b.ci->high;
    }
    if (b.mean_tps && c.mean_tps && *b.mean_tps != 0.0) {
        d.tps_percent = 100.0 * (*c.mean_tps - *b.mean_tps) / *b.mean_tps;
    }
    if (b.acceptance_pooled && c.acceptance_pooled) {
        d.acceptance_pooled_pp = *c.acceptance_pooled - *b.acceptance_pooled;
    }
    if (b.acceptance_mean_per_request && c.acceptance_mean_per_request) {
        d.acceptance_mean_per_request_pp =
            *c.acceptance_mean_per_request - *b.acceptance_mean_per_request;
    }
    if (b.wall_s && c.wall_s) {
        d.wall_s = *c.wall_s - *b.wall_s;
    }
    return d;
}

IterationScores iteration_scores(const RunSummary& summary, const std::string& label)
{
    IterationScores scores;
    scores.label = label;
    for (const auto& it : summary.iterations) {
        scores.iterations.push_back(it.iteration);
        scores.per_iteration_s.push_back(it.request_ms / 1000.0);
        if (it.complete) {
            scores.points.emplace_back(it.points);
            ++scores.counts[it.points];
            scores.possible = std::max(scores.possible, it.possible);
        } else {
            scores.points.emplace_back(std::nullopt);
        }
    }
    return scores;
}

DraftRow draft_row(const RunRecord& run, const RunSummary& summary, const std::string& label)
{
    DraftRow row;
    row.label = label;
    const auto settings = server_settings(run.server);
    row.spec_type = settings.spec_type.value_or(settings.draft_model ? "draft-simple" : "");
    row.n_max = to_int(settings.n_max);
    row.draft_model = settings.draft_model.value_or("");
    for (const auto& attempt : run.attempts) {
        if (bench::is_infrastructure(attempt.outcome)) {
            continue;
        }
        ++row.requests;
        if (attempt.metrics.draft_n && *attempt.metrics.draft_n > 0) {
            ++row.requests_with_drafts;
        }
    }
    row.drafted = summary.draft_tokens;
    row.accepted = summary.draft_accepted;
    row.pooled = summary.draft_acceptance_pooled;
    row.mean_per_request = summary.draft_acceptance_mean_per_request;
    return row;
}

WallRow wall_row(const RunSummary& summary, const std::string& label)
{
    WallRow row;
    row.label = label;
    row.iterations = summary.iterations.size();
    row.wall_s = summary.wall_s;
    if (row.wall_s && row.iterations > 0) {
        row.per_iteration_s = *row.wall_s / static_cast<double>(row.iterations);
    }
    row.generation_s = summary.generation_s;
    row.validation_s = summary.validation_s;
    if (row.iterations > 0) {
        row.mean_iteration_generation_s =
            summary.generation_s / static_cast<double>(row.iterations);
    }
    return row;
}

SmokeRow smoke_row(const RunRecord& run, const std::string& label, double confidence)
{
    SmokeRow row;
    row.label = label;
    row.run_id = run.id;
    row.level = run.config.level_ids.empty() ? "" : run.config.level_ids.front();
    int passed = 0;
    int scored = 0;
    double duration_ms = 0;
    double tokens = 0;
    double tokens_passes = 0;
    std::map<std::string, std::vector<int>> failures;
    for (const auto& attempt : run.attempts) {
        if (bench::is_infrastructure(attempt.outcome)) {
            ++row.infrastructure_failures;
            continue;
        }
        ++scored;
        duration_ms += attempt.metrics.request_ms;
        tokens += static_cast<double>(attempt.metrics.completion_tokens);
        if (attempt.outcome == bench::Outcome::pass) {
            ++passed;
            tokens_passes += static_cast<double>(attempt.metrics.completion_tokens);
        } else {
            failures[std::string(bench::to_string(attempt.outcome))].push_back(attempt.iteration);
        }
    }
    row.pass = pass_rate(passed, scored, confidence);
    if (scored > 0) {
        row.mean_duration_s = duration_ms / 1000.0 / scored;
        row.mean_tokens = tokens / scored;
    }
    if (passed > 0) {
        row.mean_tokens_passes = tokens_passes / passed;
    }
    for (auto& [outcome, attempts] : failures) {
        row.failures.push_back({outcome, std::move(attempts)});
    }
    std::stable_sort(row.failures.begin(), row.failures.end(),
                     [](const FailureMode& a, const FailureMode& b) {
                         return a.attempts.size() > b.attempts.size();
                     });
    return row;
}

// ---------------------------------------------------------------- pairing and tests

using ItemKey = std::pair<int, std::string>;

std::map<ItemKey, const AttemptRecord*> scored_items(const RunRecord& run)
{
    std::map<ItemKey, const AttemptRecord*> items;
    for (const auto& attempt : run.attempts) {
        if (!bench::is_infrastructure(attempt.outcome)) {
            items[{attempt.iteration, attempt.level}] = &attempt;
        }
    }
    return items;
}

Pairing check_pairing(const RunRecord& base, const RunRecord& cand)
{
    Pairing pairing;
    if (base.config.suite_hash.empty() || base.config.suite_hash != cand.config.suite_hash) {
        pairing.reasons.push_back(base.config.suite_hash.empty()
                                      ? "the suite hash is not recorded"
                                      : fmt::format("the suites differ (hash {} vs {})",
                                                    short_hash(base.config.suite_hash),
                                                    short_hash(cand.config.suite_hash)));
    }
    if (base.config.level_ids != cand.config.level_ids) {
        pairing.reasons.push_back("the runs have different levels");
    }
    if (base.config.iterations != cand.config.iterations) {
        pairing.reasons.push_back(fmt::format("the runs have different iteration counts ({} vs {})",
                                              base.config.iterations, cand.config.iterations));
    }
    const auto items_base = scored_items(base);
    const auto items_cand = scored_items(cand);
    std::optional<std::string> seed_mismatch;
    for (const auto& [key, attempt] : items_base) {
        const auto other = items_cand.find(key);
        if (other == items_cand.end()) {
            continue;
        }
        ++pairing.shared_items;
        if (!seed_mismatch && attempt->seed != other->second->seed) {
            seed_mismatch = fmt::format(
                "the per-attempt seeds differ (iteration {}, {}: {} vs {}; run seeds {} vs {})",
                key.first, key.second, attempt->seed, other->second->seed, base.config.seed,
                cand.config.seed);
        }
    }
    if (seed_mismatch) {
        pairing.reasons.push_back(*seed_mismatch);
    }
    if (pairing.shared_items == 0) {
        pairing.reasons.push_back("no (iteration, level) was recorded in both runs");
    }
    pairing.paired = pairing.reasons.empty();
    return pairing;
}

void score_tests(const std::vector<double>& base, const std::vector<double>& cand,
                 const CompareOptions& options, ScoreTests& tests)
{
    if (base.size() < 2 || cand.size() < 2) {
        tests.notes.push_back(
            fmt::format("score tests need at least 2 complete iterations per run ({} and {})",
                        base.size(), cand.size()));
        return;
    }
    // Every test is of cand - base, so a negative estimate means the candidate scored lower.
    if (auto welch = stats::welch_t_test(cand, base, options.confidence)) {
        tests.welch = *welch;
    } else {
        tests.notes.push_back("Welch's t-test: " + welch.error().message);
    }
    stats::PermutationOptions permutation;
    permutation.resamples = options.permutation_resamples;
    permutation.seed = options.seed;
    if (auto result = stats::permutation_test(cand, base, permutation)) {
        tests.permutation = *result;
    } else {
        tests.notes.push_back("permutation test: " + result.error().message);
    }
    if (auto mw = stats::mann_whitney_u(cand, base)) {
        tests.mann_whitney = *mw;
    } else {
        tests.notes.push_back("Mann-Whitney U: " + mw.error().message);
    }
    stats::BootstrapOptions bootstrap;
    bootstrap.resamples = options.bootstrap_resamples;
    bootstrap.seed = options.seed;
    bootstrap.confidence = options.confidence;
    if (auto result = stats::bootstrap_mean_difference(cand, base, bootstrap)) {
        tests.bootstrap = *result;
    } else {
        tests.notes.push_back("bootstrap: " + result.error().message);
    }
}

/// Scores of iterations complete in both runs, in iteration order (for paired tests).
std::pair<std::vector<double>, std::vector<double>> paired_scores(const RunSummary& base,
                                                                  const RunSummary& cand)
{
    std::map<int, double> by_iteration;
    for (const auto& it : base.iterations) {
        if (it.complete) {
            by_iteration[it.iteration] = it.points;
        }
    }
    std::vector<double> first;
    std::vector<double> second;
    for (const auto& it : cand.iterations) {
        if (const auto found = by_iteration.find(it.iteration);
            it.complete && found != by_iteration.end()) {
            first.push_back(static_cast<double>(it.points));
            second.push_back(found->second);
        }
    }
    return {first, second};
}

// ---------------------------------------------------------------- verdicts

std::string n_text(std::size_t a, std::size_t b, std::string_view unit)
{
    return a == b ? fmt::format("n={} {} per run", a, unit)
                  : fmt::format("n={} and {} {}", a, b, unit);
}

Verdict score_verdict(const Comparison& c)
{
    Verdict v;
    v.topic = "scores";
    const auto& b = c.summary_base;
    const auto& k = c.summary_cand;
    if (!b.mean || !k.mean) {
        v.sentence =
            "No complete iteration in one of the runs: the mean scores cannot be compared.";
        return v;
    }
    const double d = *k.mean - *b.mean;
    std::string head;
    if (std::abs(d) < 0.05) {
        head = fmt::format("{} and {} have the same mean score ({} of {})", c.label_cand,
                           c.label_base, format_fixed(*k.mean), b.possible);
    } else {
        head = fmt::format("{} scores {} points {} than {} on average ({} vs {} of {})",
                           c.label_cand, format_fixed(std::abs(d)), d < 0 ? "lower" : "higher",
                           c.label_base, format_fixed(*k.mean), format_fixed(*b.mean),
                           std::max(b.possible, k.possible));
    }
    const auto& t = c.score_tests;
    std::optional<double> p;
    std::string evidence;
    if (c.pairing.paired && t.paired_t) {
        p = t.paired_t->p_value;
        evidence = "paired t-test " + p_text(*p);
    } else if (t.permutation) {
        p = t.permutation->p_value;
        evidence = "permutation " + p_text(*p);
        if (t.welch) {
            evidence += ", Welch " + p_text(t.welch->p_value);
        }
    } else if (t.welch) {
        p = t.welch->p_value;
        evidence = "Welch " + p_text(*p);
    }
    if (!p) {
        v.sentence = head + "; too few iterations to test the difference.";
        return v;
    }
    const std::string n = n_text(b.iterations, k.iterations, "iterations");
    v.difference = *p < c.options.alpha;
    if (v.difference) {
        v.sentence =
            fmt::format("{}: a difference unlikely to be chance at {} ({}).", head, n, evidence);
    } else {
        v.sentence = fmt::format("{}, but that is indistinguishable from noise at {} ({})", head, n,
                                 evidence);
        const auto& boot =
            c.pairing.paired && t.paired_bootstrap ? t.paired_bootstrap : t.bootstrap;
        if (boot) {
            v.sentence +=
                fmt::format("; the bootstrap {:.0f}% CI of the difference, {}, {} 0",
                            100.0 * boot->confidence, format_interval(boot->percentile_ci),
                            boot->percentile_ci.contains(0.0) ? "includes" : "excludes");
        }
        v.sentence += ".";
    }
    return v;
}

std::vector<Verdict> level_verdicts(const Comparison& c)
{
    std::vector<Verdict> verdicts;
    // Levels with the same counts on both sides, grouped by those counts ("15/15").
    std::vector<std::pair<std::string, std::vector<std::string>>> ties;
    std::vector<std::string> differing;
    for (const auto& level : c.levels) {
        if (level.base.attempts == 0 || level.cand.attempts == 0) {
            continue;
        }
        if (level.base.passed == level.cand.passed && level.base.attempts == level.cand.attempts) {
            const std::string counts = k_of_n(level.base);
            auto group = std::find_if(ties.begin(), ties.end(),
                                      [&](const auto& g) { return g.first == counts; });
            if (group == ties.end()) {
                ties.push_back({counts, {level.level}});
            } else {
                group->second.push_back(level.level);
            }
            continue;
        }
        differing.push_back(level.level);
        Verdict v;
        v.topic = "level " + level.level;
        const double rb = level.base.rate.value_or(0.0);
        const double rc = level.cand.rate.value_or(0.0);
        const std::string p = level.fisher_p ? "Fisher " + p_text(*level.fisher_p) : "no test";
        v.difference = level.fisher_p && *level.fisher_p < c.options.alpha;
        const std::string counts = fmt::format(
            "{} {} ({}) vs {} {} ({})", c.label_cand, k_of_n(level.cand), format_percent(rc, 0),
            c.label_base, k_of_n(level.base), format_percent(rb, 0));
        if (v.difference) {
            v.sentence = fmt::format("{} {} on {}: {}, {}.", c.label_cand,
                                     rc < rb ? "worse" : "better", level.level, counts, p);
        } else {
            v.sentence =
                fmt::format("{}: {}, indistinguishable at {} ({}).", level.level, counts,
                            n_text(static_cast<std::size_t>(level.base.attempts),
                                   static_cast<std::size_t>(level.cand.attempts), "attempts"),
                            p);
        }
        verdicts.push_back(std::move(v));
    }
    if (!ties.empty()) {
        std::vector<std::string> parts;
        for (const auto& [counts, ids] : ties) {
            parts.push_back(fmt::format("{} at {} each", join(ids, ", "), counts));
        }
        Verdict v;
        v.topic = "levels tied";
        v.sentence = fmt::format("Same pass counts on {}.", join(parts, "; "));
        verdicts.push_back(std::move(v));
    }
    if (differing.size() == 1 && c.levels.size() > 1) {
        Verdict v;
        v.topic = "levels where";
        v.sentence = fmt::format("Only {} differs between the runs: the whole score difference "
                                 "comes from that level.",
                                 differing.front());
        verdicts.push_back(std::move(v));
    }
    if (c.level_tests.cmh) {
        const auto& cmh = *c.level_tests.cmh;
        Verdict v;
        v.topic = "levels combined";
        v.difference = cmh.informative_strata > 0 && cmh.p_value < c.options.alpha;
        if (cmh.informative_strata == 0) {
            v.sentence = "Across levels (Cochran-Mantel-Haenszel): no level carries information "
                         "(each was passed by every attempt or by none in both runs).";
        } else {
            const bool cand_less = cmh.observed < cmh.expected;
            v.sentence = fmt::format(
                "Across levels (Cochran-Mantel-Haenszel, levels as strata, {} of {} informative): "
                "{} (p={}{}).",
                cmh.informative_strata, c.levels.size(),
                v.difference ? fmt::format("{} passes {} often than {}", c.label_cand,
                                           cand_less ? "less" : "more", c.label_base)
                             : "no evidence that either run passes more often",
                format_p(cmh.p_value),
                cmh.common_odds_ratio
                    ? fmt::format(", common odds ratio {}", format_fixed(*cmh.common_odds_ratio, 2))
                    : std::string());
        }
        verdicts.push_back(std::move(v));
    }
    if (c.pairing.paired && c.level_tests.pairs && c.level_tests.mcnemar_p) {
        const auto& pairs = *c.level_tests.pairs;
        Verdict v;
        v.topic = "paired";
        v.difference = *c.level_tests.mcnemar_p < c.options.alpha;
        v.sentence = fmt::format(
            "Paired on the same prompts and seeds: {} items passed only by {}, {} only by {} "
            "(exact McNemar {}{}).",
            pairs.second_only, c.label_base, pairs.first_only, c.label_cand,
            p_text(*c.level_tests.mcnemar_p),
            v.difference ? ": the flips lean one way" : ": no evidence the flips lean one way");
        verdicts.push_back(std::move(v));
    }
    return verdicts;
}

std::vector<Verdict> smoke_verdicts(const Comparison& c)
{
    std::vector<Verdict> verdicts;
    if (!c.smoke_base || !c.smoke_cand) {
        return verdicts;
    }
    const auto& b = c.smoke_base->pass;
    const auto& k = c.smoke_cand->pass;
    Verdict v;
    v.topic = "smoke";
    if (!c.smoke_tests.fisher_p || !b.rate || !k.rate) {
        v.sentence = "A smoke run has no scored attempt: the pass rates cannot be compared.";
        verdicts.push_back(std::move(v));
        return verdicts;
    }
    const double p = *c.smoke_tests.fisher_p;
    v.difference = p < c.options.alpha;
    const std::string level =
        c.smoke_base->level == c.smoke_cand->level ? c.smoke_base->level + " smoke" : "smoke";
    const std::string counts =
        fmt::format("{} {} ({}) vs {} {} ({})", c.label_cand, k_of_n(k), format_percent(*k.rate),
                    c.label_base, k_of_n(b), format_percent(*b.rate));
    std::string interval;
    if (c.smoke_tests.newcombe) {
        const auto& nd = *c.smoke_tests.newcombe;
        interval = fmt::format("; Newcombe {:.0f}% CI of the difference [{}, {}] {} 0",
                               100.0 * nd.confidence, format_pp(nd.ci.low), format_pp(nd.ci.high),
                               nd.ci.contains(0.0) ? "includes" : "excludes");
    }
    if (v.difference) {
        v.sentence =
            fmt::format("{} {} on the {}: {} (Fisher {}{}).", c.label_cand,
                        *k.rate < *b.rate ? "worse" : "better", level, counts, p_text(p), interval);
    } else {
        v.sentence = fmt::format("{} pass rates indistinguishable at {} (Fisher {}): {}{}.",
                                 level == "smoke" ? "Smoke" : level,
                                 n_text(static_cast<std::size_t>(b.attempts),
                                        static_cast<std::size_t>(k.attempts), "attempts"),
                                 p_text(p), counts, interval);
    }
    verdicts.push_back(std::move(v));
    return verdicts;
}

Verdict planning_verdict(const Comparison& c)
{
    Verdict v;
    v.topic = "planning";
    for (const auto& row : c.planning) {
        if (row.key != "target" || !row.per_side) {
            continue;
        }
        v.sentence = fmt::format("Telling {} from {} at {:.0f}% power (two-sided, alpha {}) takes "
                                 "{} attempts per side",
                                 format_percent(row.rate_base, 0), format_percent(row.rate_cand, 0),
                                 100.0 * c.options.power, c.options.alpha,
                                 format_count(static_cast<std::int64_t>(row.per_side->per_side)));
        if (row.n_now) {
            v.sentence += fmt::format("; these smoke runs have {} per side", *row.n_now);
            if (row.power_now) {
                v.sentence += fmt::format(" ({} power)", format_percent(*row.power_now, 0));
            }
            if (row.detectable_rate) {
                v.sentence += fmt::format(" and reliably detect only a drop from {} to {}",
                                          format_percent(row.rate_base, 0),
                                          format_percent(*row.detectable_rate, 0));
            }
        }
        v.sentence += ".";
    }
    return v;
}

std::optional<Verdict> speed_verdict(const Comparison& c)
{
    const auto& b = c.summary_base;
    const auto& k = c.summary_cand;
    if (!b.mean_tps || !k.mean_tps || !c.delta.tps_percent) {
        return std::nullopt;
    }
    Verdict v;
    v.topic = "speed";
    const double pct = *c.delta.tps_percent;
    const std::string head =
        fmt::format("{} generates tokens {}% {} than {} ({} vs {} tokens/s, mean over attempts)",
                    c.label_cand, format_fixed(std::abs(pct), 2), pct < 0 ? "slower" : "faster",
                    c.label_base, format_fixed(*k.mean_tps), format_fixed(*b.mean_tps));
    if (c.speed_tests.welch) {
        const double p = c.speed_tests.welch->p_value;
        v.difference = p < c.options.alpha;
        v.sentence =
            fmt::format("{}; Welch {}: {}.", head, p_text(p),
                        v.difference ? "a real difference in speed" : "within run-to-run noise");
    } else {
        v.sentence = head + ".";
    }
    return v;
}

std::optional<Verdict> draft_verdict(const Comparison& c)
{
    const auto& b = c.drafts_base;
    const auto& k = c.drafts_cand;
    if (!b.pooled || !k.pooled) {
        return std::nullopt;
    }
    Verdict v;
    v.topic = "drafts";
    v.sentence = fmt::format("Pooled draft acceptance (sum accepted / sum drafted): {} {}, {} {} "
                             "({}).",
                             c.label_base, format_percent(*b.pooled), c.label_cand,
                             format_percent(*k.pooled), format_pp(*k.pooled - *b.pooled));
    if (b.mean_per_request && k.mean_per_request) {
        const double pooled_pp = *k.pooled - *b.pooled;
        const double mean_pp = *k.mean_per_request - *b.mean_per_request;
        if (std::abs(pooled_pp - mean_pp) >= 0.0005) {
            v.sentence += fmt::format(
                " The mean of per-request ratios moves {} to {} ({}): it weights a short request "
                "as much as a long one, so compare runs by the pooled figure.",
                format_percent(*b.mean_per_request), format_percent(*k.mean_per_request),
                format_pp(mean_pp));
        }
    }
    return v;
}

Verdict confound_verdict(const Comparison& c)
{
    Verdict v;
    v.topic = "confounds";
    std::vector<std::string> differing;
    for (const auto& row : c.caveats) {
        if (row.confound && row.differs && row.key != "model_file") {
            differing.push_back(row.aspect);
        }
    }
    if (differing.empty()) {
        const bool same_file = std::none_of(c.caveats.begin(), c.caveats.end(), [](const auto& r) {
            return r.key == "model_file" && r.differs;
        });
        v.sentence = same_file ? "No recorded setting differs and the model file is the same: "
                                 "the two runs measure run-to-run variation."
                               : "Only the model file differs among the recorded settings: "
                                 "deltas can be attributed to it, within the noise shown below.";
        return v;
    }
    v.difference = true;
    const bool same_file = std::none_of(c.caveats.begin(), c.caveats.end(), [](const auto& r) {
        return r.key == "model_file" && r.differs;
    });
    if (same_file) {
        v.sentence = fmt::format("Same model file; only {} differ{}: the deltas measure {}, "
                                 "within the noise shown below.",
                                 join(differing, ", "), differing.size() == 1 ? "s" : "",
                                 differing.size() == 1 ? "that setting" : "those settings");
    } else if (differing.size() == 1) {
        v.sentence = fmt::format("Besides the model file, only {} differs: deltas mix the two.",
                                 differing.front());
    } else {
        v.sentence = fmt::format("This comparison differs in {} recorded aspects ({}): deltas "
                                 "cannot be attributed to any single one.",
                                 differing.size(), join(differing, ", "));
    }
    return v;
}

// ---------------------------------------------------------------- methods

std::vector<MethodNote> method_notes(const Comparison& c)
{
    const auto& o = c.options;
    const int level = static_cast<int>(std::lround(100.0 * o.confidence));
    std::vector<MethodNote> notes;
    notes.push_back({"Mean, SD and t-based CI",
                     fmt::format("Per-iteration scores of complete iterations; SD with divisor "
                                 "n - 1; {}% CI = mean -/+ t(n - 1) SD / sqrt(n) with exact "
                                 "Student-t quantiles.",
                                 level)});
    notes.push_back({"Wilson score interval",
                     fmt::format("{}% interval for k passes of n attempts (Wilson 1927), used for "
                                 "level and smoke pass rates.",
                                 level)});
    notes.push_back({"Welch's t-test",
                     "Difference of mean scores (candidate - base) without assuming equal "
                     "variances, Welch-Satterthwaite degrees of freedom; also on the attempts' "
                     "tokens/s."});
    notes.push_back(
        {"Permutation test",
         fmt::format("Two-sided test of the difference of mean scores by relabelling the pooled "
                     "iteration scores; exact when at most 200,000 relabellings exist, else "
                     "{} random ones with seed {}.",
                     format_count(static_cast<std::int64_t>(o.permutation_resamples)), o.seed)});
    notes.push_back({"Mann-Whitney U test",
                     "Rank test of whether one run's iteration scores tend to be higher; exact "
                     "without ties, else the normal approximation with tie correction."});
    notes.push_back(
        {"Bootstrap CI of the mean difference",
         fmt::format("{} resamples of each run's scores with seed {}; percentile and BCa "
                     "intervals.",
                     format_count(static_cast<std::int64_t>(o.bootstrap_resamples)), o.seed)});
    notes.push_back({"Fisher's exact test",
                     "Two-sided exact test on each level's 2x2 table of passes and failures, and "
                     "on the smoke runs' pass counts; p-values per level are not adjusted for "
                     "testing several levels."});
    notes.push_back({"Cochran-Mantel-Haenszel test",
                     "Combines the levels' 2x2 tables (levels as strata, Yates-corrected, 1 df) "
                     "into one test of a consistent difference in pass rates."});
    notes.push_back({"Newcombe hybrid score interval",
                     fmt::format("{}% interval for the difference of the two smoke pass rates "
                                 "(candidate - base), built from the two Wilson intervals "
                                 "(Newcombe 1998, method 10).",
                                 level)});
    notes.push_back({"Exact McNemar test",
                     c.pairing.paired
                         ? "Binomial test on the items (same iteration, level and seed) that "
                           "one run passed and the other failed; used because both runs share "
                           "suite, levels, iterations and per-attempt seeds."
                         : "Not used: it needs both runs on the same prompts with the same "
                           "per-attempt seeds; here " +
                               join(c.pairing.reasons, "; ") + "."});
    notes.push_back(
        {"Sample size and power",
         fmt::format("Two-sided two-sample test of proportions, normal approximation with pooled "
                     "variance (Fleiss, Levin & Paik 2003; R's power.prop.test), alpha {}, power "
                     "{:.0f}%.",
                     o.alpha, 100.0 * o.power)});
    notes.push_back({"Draft acceptance",
                     "Pooled = sum accepted / sum drafted over every request (the figure to "
                     "compare); mean per request = unweighted mean of accepted / drafted over "
                     "requests that drafted anything. Token counts within a request are not "
                     "independent, so no p-value is given for them."});
    notes.push_back(
        {"Verdicts", fmt::format("Generated from the numbers above: a p-value below {} is called "
                                 "a difference, anything else \"indistinguishable\" at the sample "
                                 "size shown, which is not proof of equality.",
                                 o.alpha)});
    return notes;
}

// ---------------------------------------------------------------- planning

PlanningRow planning_row(std::string key, std::string question, double rate_base, double rate_cand,
                         std::optional<double> n_now, const CompareOptions& options)
{
    PlanningRow row;
    row.key = std::move(key);
    row.question = std::move(question);
    row.rate_base = rate_base;
    row.rate_cand = rate_cand;
    row.n_now = n_now;
    if (rate_base == rate_cand) {
        row.note = "the rates are equal: no number of attempts tells them apart";
        return row;
    }
    if (auto n = stats::sample_size_two_proportions(rate_base, rate_cand, options.alpha,
                                                    options.power)) {
        row.per_side = *n;
    } else {
        row.note = n.error().message;
    }
    if (n_now && *n_now > 0) {
        if (auto power =
                stats::power_two_proportions(rate_base, rate_cand, *n_now, options.alpha)) {
            row.power_now = *power;
        }
        const auto direction =
            rate_cand < rate_base ? stats::Direction::below : stats::Direction::above;
        if (auto detectable = stats::minimal_detectable_proportion(rate_base, *n_now, options.alpha,
                                                                   options.power, direction)) {
            row.detectable_rate = *detectable;
        }
    }
    return row;
}

std::vector<PlanningRow> planning_rows(const Comparison& c)
{
    const auto& o = c.options;
    std::vector<PlanningRow> rows;
    std::optional<double> smoke_n;
    if (c.smoke_base && c.smoke_cand && c.smoke_base->pass.attempts > 0 &&
        c.smoke_cand->pass.attempts > 0) {
        smoke_n =
            static_cast<double>(std::min(c.smoke_base->pass.attempts, c.smoke_cand->pass.attempts));
    }
    rows.push_back(
        planning_row("target",
                     fmt::format("Attempts per side to tell {} from {} at {:.0f}% power",
                                 format_percent(o.planning_rate_high, 0),
                                 format_percent(o.planning_rate_low, 0), 100.0 * o.power),
                     o.planning_rate_high, o.planning_rate_low, smoke_n, o));
    if (smoke_n && c.smoke_base->pass.rate && c.smoke_cand->pass.rate) {
        const double rb = *c.smoke_base->pass.rate;
        const double rc = *c.smoke_cand->pass.rate;
        rows.push_back(planning_row(
            "smoke_observed",
            fmt::format("Attempts per side to confirm the observed smoke rates ({} vs {})",
                        format_percent(rb), format_percent(rc)),
            rb, rc, smoke_n, o));
    }
    // The level whose pass rates differ most, as observed.
    const LevelRow* widest = nullptr;
    double widest_gap = 0.0;
    for (const auto& level : c.levels) {
        if (!level.base.rate || !level.cand.rate) {
            continue;
        }
        const double gap = std::abs(*level.cand.rate - *level.base.rate);
        if (gap > widest_gap) {
            widest_gap = gap;
            widest = &level;
        }
    }
    if (widest != nullptr) {
        rows.push_back(planning_row(
            "level_" + widest->level,
            fmt::format("Attempts per side to confirm the observed {} rates ({} vs {})",
                        widest->level, format_percent(*widest->base.rate),
                        format_percent(*widest->cand.rate)),
            *widest->base.rate, *widest->cand.rate,
            static_cast<double>(std::min(widest->base.attempts, widest->cand.attempts)), o));
    }
    return rows;
}

} // namespace

std::optional<std::string> argv_flag(const std::vector<std::string>& argv,
                                     std::initializer_list<std::string_view> flags)
{
    for (std::size_t i = 0; i < argv.size(); ++i) {
        for (const auto flag : flags) {
            if (argv[i] == flag && i + 1 < argv.size()) {
                return argv[i + 1];
            }
            if (argv[i].size() > flag.size() + 1 && argv[i].compare(0, flag.size(), flag) == 0 &&
                argv[i][flag.size()] == '=') {
                return argv[i].substr(flag.size() + 1);
            }
        }
    }
    return std::nullopt;
}

std::string default_label(const RunRecord& run)
{
    std::string name = run.model.file_name;
    if (name.empty() && !run.server.model_path.empty()) {
        name = base_name(run.server.model_path);
    }
    return name.empty() ? run.id : file_stem(name);
}

Status check_comparable(const RunRecord& base, const RunRecord& cand, const RunRecord* base_smoke,
                        const RunRecord* cand_smoke)
{
    const auto check_kind = [](const RunRecord& run, bench::RunKind kind,
                               std::string_view role) -> Status {
        if (run.config.kind != kind) {
            return fail(fmt::format(
                "{} is run {}, a {} run; {} must be a `gpumod bench {}` run{}", role, run.id,
                bench::to_string(run.config.kind), role, bench::to_string(kind),
                kind == bench::RunKind::smoke ? " (give suite runs as BASE and CAND)"
                                              : " (give smoke runs with --smoke BASE CAND)"));
        }
        if (run.attempts.empty()) {
            return fail(fmt::format("{} (run {}) has no recorded attempt; nothing to compare", role,
                                    run.id));
        }
        return {};
    };
    if (auto ok = check_kind(base, bench::RunKind::run, "BASE"); !ok) {
        return ok;
    }
    if (auto ok = check_kind(cand, bench::RunKind::run, "CAND"); !ok) {
        return ok;
    }
    if ((base_smoke == nullptr) != (cand_smoke == nullptr)) {
        return fail("--smoke needs two smoke runs: BASE_SMOKE and CAND_SMOKE");
    }
    if (base_smoke != nullptr) {
        if (auto ok = check_kind(*base_smoke, bench::RunKind::smoke, "BASE_SMOKE"); !ok) {
            return ok;
        }
        if (auto ok = check_kind(*cand_smoke, bench::RunKind::smoke, "CAND_SMOKE"); !ok) {
            return ok;
        }
    }
    return {};
}

Comparison compare_runs(const RunRecord& base, const RunRecord& cand, const RunRecord* base_smoke,
                        const RunRecord* cand_smoke, const CompareOptions& options)
{
    Comparison c;
    c.options = options;
    c.label_base = options.label_base.empty() ? default_label(base) : options.label_base;
    c.label_cand = options.label_cand.empty() ? default_label(cand) : options.label_cand;
    if (c.label_base == c.label_cand) {
        // The same model twice (a rerun): the run ids tell the rows apart.
        c.label_base += " (" + base.id + ")";
        c.label_cand += " (" + cand.id + ")";
    }

    const RunSummary sb = bench::summarize_run(base);
    const RunSummary sc = bench::summarize_run(cand);
    c.model_base = model_info(base, c.label_base);
    c.model_cand = model_info(cand, c.label_cand);
    c.caveats = caveat_rows(base, cand, c.model_base, c.model_cand, c.label_cand);
    c.setup = setup_rows(base, cand);
    c.methodology = methodology_rows(base, cand);

    c.summary_base = summary_row(base, sb, c.label_base, options.confidence);
    c.summary_cand = summary_row(cand, sc, c.label_cand, options.confidence);
    c.delta = summary_delta(c.summary_base, c.summary_cand);
    c.scores_base = iteration_scores(sb, c.label_base);
    c.scores_cand = iteration_scores(sc, c.label_cand);

    // Levels: the base run's order, then any level only the candidate ran.
    std::vector<std::string> level_ids = base.config.level_ids;
    for (const auto& id : cand.config.level_ids) {
        if (std::find(level_ids.begin(), level_ids.end(), id) == level_ids.end()) {
            level_ids.push_back(id);
        }
    }
    const auto find_level = [](const RunSummary& s, const std::string& id) {
        const auto it = std::find_if(s.levels.begin(), s.levels.end(),
                                     [&](const bench::LevelSummary& l) { return l.level == id; });
        return it == s.levels.end() ? nullptr : &*it;
    };
    std::vector<stats::Stratum> strata;
    for (const auto& id : level_ids) {
        LevelRow row;
        row.level = id;
        if (const auto title = options.level_titles.find(id); title != options.level_titles.end()) {
            row.title = title->second;
        }
        if (const auto* l = find_level(sb, id)) {
            row.points = l->points;
            row.base = pass_rate(l->passed, l->attempts, options.confidence);
        }
        if (const auto* l = find_level(sc, id)) {
            row.points = std::max(row.points, l->points);
            row.cand = pass_rate(l->passed, l->attempts, options.confidence);
        }
        if (row.base.attempts > 0 && row.cand.attempts > 0) {
            if (auto p = stats::fisher_exact_two_sided(counts_of(row.cand), counts_of(row.base))) {
                row.fisher_p = *p;
            }
            strata.push_back({counts_of(row.cand), counts_of(row.base)});
        }
        c.levels.push_back(std::move(row));
    }
    if (!strata.empty()) {
        if (auto cmh = stats::cochran_mantel_haenszel(strata)) {
            c.level_tests.cmh = *cmh;
        }
    }

    c.drafts_base = draft_row(base, sb, c.label_base);
    c.drafts_cand = draft_row(cand, sc, c.label_cand);
    c.has_drafts = c.drafts_base.drafted.has_value() || c.drafts_cand.drafted.has_value();
    c.wall_base = wall_row(sb, c.label_base);
    c.wall_cand = wall_row(sc, c.label_cand);

    // Scores: independent tests always; paired ones when the items match.
    c.pairing = check_pairing(base, cand);
    score_tests(complete_scores(sb), complete_scores(sc), options, c.score_tests);
    if (c.pairing.paired) {
        const auto [first, second] = paired_scores(sb, sc); // cand, base
        if (auto t = stats::paired_t_test(first, second, options.confidence)) {
            c.score_tests.paired_t = *t;
        } else {
            c.score_tests.notes.push_back("paired t-test: " + t.error().message);
        }
        stats::BootstrapOptions bootstrap;
        bootstrap.resamples = options.bootstrap_resamples;
        bootstrap.seed = options.seed;
        bootstrap.confidence = options.confidence;
        if (auto b = stats::bootstrap_paired_mean_difference(first, second, bootstrap)) {
            c.score_tests.paired_bootstrap = *b;
        } else {
            c.score_tests.notes.push_back("paired bootstrap: " + b.error().message);
        }
        // McNemar on every shared item and per level: first = candidate, second = base.
        const auto items_base = scored_items(base);
        const auto items_cand = scored_items(cand);
        stats::PairedCounts all;
        std::map<std::string, stats::PairedCounts> per_level;
        for (const auto& [key, attempt] : items_base) {
            const auto other = items_cand.find(key);
            if (other == items_cand.end()) {
                continue;
            }
            const bool pass_base = attempt->outcome == bench::Outcome::pass;
            const bool pass_cand = other->second->outcome == bench::Outcome::pass;
            auto& level = per_level[key.second];
            for (auto* counts : {&all, &level}) {
                if (pass_base && pass_cand) {
                    ++counts->both;
                } else if (pass_cand) {
                    ++counts->first_only;
                } else if (pass_base) {
                    ++counts->second_only;
                } else {
                    ++counts->neither;
                }
            }
        }
        c.level_tests.pairs = all;
        if (auto p = stats::mcnemar_exact(all)) {
            c.level_tests.mcnemar_p = *p;
        }
        for (auto& row : c.levels) {
            if (const auto found = per_level.find(row.level); found != per_level.end()) {
                row.pairs = found->second;
                if (auto p = stats::mcnemar_exact(found->second)) {
                    row.mcnemar_p = *p;
                }
            }
        }
    }

    const auto [tps_base, source_base] = attempt_tps(base);
    const auto [tps_cand, source_cand] = attempt_tps(cand);
    if (tps_base.size() >= 2 && tps_cand.size() >= 2 && source_base == source_cand) {
        if (auto welch = stats::welch_t_test(tps_cand, tps_base, options.confidence)) {
            c.speed_tests.welch = *welch;
        }
    }

    if (base_smoke != nullptr && cand_smoke != nullptr) {
        c.smoke_base = smoke_row(*base_smoke, c.label_base, options.confidence);
        c.smoke_cand = smoke_row(*cand_smoke, c.label_cand, options.confidence);
        const auto& pb = c.smoke_base->pass;
        const auto& pc = c.smoke_cand->pass;
        if (pb.attempts > 0 && pc.attempts > 0) {
            if (auto nd =
                    stats::newcombe_difference(counts_of(pc), counts_of(pb), options.confidence)) {
                c.smoke_tests.newcombe = *nd;
            }
            if (auto p = stats::fisher_exact_two_sided(counts_of(pc), counts_of(pb))) {
                c.smoke_tests.fisher_p = *p;
            }
        }
        if (c.smoke_base->level != c.smoke_cand->level) {
            c.warnings.push_back(fmt::format("the smoke runs repeat different levels ({} vs {})",
                                             c.smoke_base->level, c.smoke_cand->level));
        }
    }

    c.planning = planning_rows(c);

    // Warnings about the inputs themselves.
    for (const auto* run : {&base, &cand}) {
        if (run->status != bench::RunStatus::complete) {
            c.warnings.push_back(fmt::format("run {} is {}, not complete: its numbers cover the "
                                             "attempts recorded so far",
                                             run->id, bench::to_string(run->status)));
        }
    }
    for (const auto& [run, summary] : {std::pair{&base, &sb}, std::pair{&cand, &sc}}) {
        if (summary->infrastructure_failures > 0) {
            c.warnings.push_back(fmt::format("run {} has {} infrastructure failures; they are not "
                                             "scored",
                                             run->id, summary->infrastructure_failures));
        }
    }
    if (base.config.suite_hash != cand.config.suite_hash) {
        c.warnings.push_back("the runs used different suite contents (hash " +
                             short_hash(base.config.suite_hash) + " vs " +
                             short_hash(cand.config.suite_hash) +
                             "): their scores answer different questions");
    }

    // Verdicts, in reading order: what differs, scores, levels, smoke, speed, drafts, planning.
    c.verdicts.push_back(confound_verdict(c));
    c.verdicts.push_back(score_verdict(c));
    for (auto& v : level_verdicts(c)) {
        c.verdicts.push_back(std::move(v));
    }
    for (auto& v : smoke_verdicts(c)) {
        c.verdicts.push_back(std::move(v));
    }
    if (auto v = speed_verdict(c)) {
        c.verdicts.push_back(std::move(*v));
    }
    if (auto v = draft_verdict(c)) {
        c.verdicts.push_back(std::move(*v));
    }
    if (auto v = planning_verdict(c); !v.sentence.empty()) {
        c.verdicts.push_back(std::move(v));
    }
    c.methods = method_notes(c);

    const auto file_row = [](std::string role, const std::string& source, const RunRecord& run) {
        return FileRow{std::move(role), source.empty() ? "run " + run.id : source, run.id};
    };
    c.files.push_back(file_row("base run", options.source_base, base));
    c.files.push_back(file_row("candidate run", options.source_cand, cand));
    if (base_smoke != nullptr && cand_smoke != nullptr) {
        c.files.push_back(file_row("base smoke", options.source_base_smoke, *base_smoke));
        c.files.push_back(file_row("candidate smoke", options.source_cand_smoke, *cand_smoke));
    }
    return c;
}

} // namespace gpumod::report
