#include "core/bench/result_codec.hpp"

#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace gpumod::bench {
namespace {

// ordered_json keeps members in the order written: the file reads top-down (identity,
// settings, facts, then the long attempts) and diffs between runs stay small.
using json = nlohmann::ordered_json;

// ---------------------------------------------------------------- encoding

template <typename T> json nullable(const std::optional<T>& value)
{
    return value ? json(*value) : json(nullptr);
}

json encode_sampler(const Sampler& s)
{
    json out = json::object();
    out["name"] = s.name;
    out["temperature"] = nullable(s.temperature);
    out["top_p"] = nullable(s.top_p);
    out["top_k"] = nullable(s.top_k);
    out["min_p"] = nullable(s.min_p);
    out["presence_penalty"] = nullable(s.presence_penalty);
    out["repeat_penalty"] = nullable(s.repeat_penalty);
    out["enable_thinking"] = nullable(s.enable_thinking);
    return out;
}

json config_to_json(const RunConfig& c)
{
    json out = json::object();
    out["kind"] = to_string(c.kind);
    out["suite"] = c.suite;
    out["suite_dir"] = c.suite_dir;
    out["suite_version"] = c.suite_version;
    out["suite_hash"] = c.suite_hash;
    out["level_ids"] = c.level_ids;
    out["iterations"] = c.iterations;
    out["sampler"] = encode_sampler(c.sampler);
    out["max_tokens"] = c.max_tokens;
    out["reasoning_budget"] = c.reasoning_budget;
    out["request_timeout_s"] = c.request_timeout_s;
    out["conversation"] = to_string(c.conversation);
    out["concurrency"] = c.concurrency;
    out["seed"] = c.seed;
    out["infra_retries"] = c.infra_retries;
    out["base_url"] = c.base_url;
    out["service"] = nullable(c.service);
    out["model"] = nullable(c.model);
    out["isolate"] = c.isolate;
    return out;
}

json metrics_to_json(const AttemptMetrics& m)
{
    json out = json::object();
    out["prompt_tokens"] = m.prompt_tokens;
    out["completion_tokens"] = m.completion_tokens;
    out["cached_prompt_tokens"] = nullable(m.cached_prompt_tokens);
    out["ttft_ms"] = nullable(m.ttft_ms);
    out["request_ms"] = m.request_ms;
    out["server_prompt_ms"] = nullable(m.server_prompt_ms);
    out["server_predicted_ms"] = nullable(m.server_predicted_ms);
    out["server_tokens_per_s"] = nullable(m.server_tokens_per_s);
    out["client_tokens_per_s"] = nullable(m.client_tokens_per_s);
    out["draft_n"] = nullable(m.draft_n);
    out["draft_n_accepted"] = nullable(m.draft_n_accepted);
    out["vram_peak_mib"] = nullable(m.vram_peak_mib);
    out["validation_ms"] = m.validation_ms;
    return out;
}

json attempt_to_json(const AttemptRecord& a)
{
    json out = json::object();
    out["iteration"] = a.iteration;
    out["level"] = a.level;
    out["seed"] = a.seed;
    out["outcome"] = to_string(a.outcome);
    out["detail"] = a.detail;
    out["points"] = a.points;
    out["points_possible"] = a.points_possible;
    if (a.tests) {
        out["tests"] = json{{"tests", a.tests->tests},
                            {"failures", a.tests->failures},
                            {"errors", a.tests->errors},
                            {"skipped", a.tests->skipped}};
    } else {
        out["tests"] = nullptr;
    }
    out["finish_reason"] = a.finish_reason;
    out["code_source"] = a.code_source;
    json files = json::array();
    for (const auto& file : a.files) {
        files.push_back(json{{"path", file.path}, {"reason", file.reason}, {"bytes", file.bytes}});
    }
    out["files"] = std::move(files);
    out["messages_sent"] = a.messages_sent;
    out["retries"] = a.retries;
    out["started_at_ms"] = a.started_at_ms;
    out["metrics"] = metrics_to_json(a.metrics);
    // The long texts last, so the numbers above stay on one screen.
    out["content"] = a.content;
    out["reasoning"] = a.reasoning;
    return out;
}

json server_to_json(const ServerFacts& s)
{
    json out = json::object();
    out["build"] = s.build;
    out["model_path"] = s.model_path;
    out["n_ctx"] = nullable(s.n_ctx);
    out["total_slots"] = nullable(s.total_slots);
    out["chat_template_hash"] = s.chat_template_hash;
    out["argv"] = s.argv;
    return out;
}

json model_to_json(const ModelFacts& m)
{
    json out = json::object();
    out["file_name"] = m.file_name;
    out["size_bytes"] = nullable(m.size_bytes);
    out["sha256"] = m.sha256;
    out["parameters"] = nullable(m.parameters);
    out["quantization"] = nullable(m.quantization);
    out["architecture"] = nullable(m.architecture);
    out["name"] = nullable(m.name);
    out["basename"] = nullable(m.basename);
    out["finetune"] = nullable(m.finetune);
    out["size_label"] = nullable(m.size_label);
    return out;
}

json environment_to_json(const EnvironmentFacts& e)
{
    json out = json::object();
    out["gpumod_version"] = e.gpumod_version;
    out["gpumod_commit"] = e.gpumod_commit;
    out["hostname"] = e.hostname;
    out["gpus"] = e.gpus;
    out["driver_version"] = e.driver_version;
    out["vram_idle_mib"] = nullable(e.vram_idle_mib);
    out["sandbox"] = e.sandbox;
    return out;
}

// Invalid UTF-8 (a reply cut mid-character) must not make a checkpoint throw.
std::string dump_compact(const json& value)
{
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---------------------------------------------------------------- decoding

Result<json> parse(std::string_view text)
{
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        // Drop nlohmann's "[json.exception.parse_error.101] " tag; the rest says where and why.
        std::string_view what = e.what();
        if (const auto tag_end = what.find("] "); tag_end != std::string_view::npos) {
            what.remove_prefix(tag_end + 2);
        }
        return fail(fmt::format("invalid JSON: {}", what));
    }
}

/// Reads the members of one JSON object. The first problem is kept in a shared slot and
/// every later read does nothing, so a decoder reads straight through and checks once.
class Reader
{
  public:
    Reader(const json* object, std::string path, std::optional<Error>& error)
        : m_object(object), m_path(std::move(path)), m_error(&error)
    {
    }

    [[nodiscard]] bool failed() const { return m_error->has_value(); }

    void read(std::string_view key, std::string& out)
    {
        if (const json* value =
                require(key, "string", [](const json& v) { return v.is_string(); })) {
            out = value->get<std::string>();
        }
    }

    void read(std::string_view key, bool& out)
    {
        if (const json* value =
                require(key, "boolean", [](const json& v) { return v.is_boolean(); })) {
            out = value->get<bool>();
        }
    }

    /// null is how a non-finite double was written: it reads back as NaN.
    void read(std::string_view key, double& out)
    {
        if (const json* value = require(
                key, "number", [](const json& v) { return v.is_number() || v.is_null(); })) {
            out =
                value->is_null() ? std::numeric_limits<double>::quiet_NaN() : value->get<double>();
        }
    }

    template <std::integral T>
    requires(!std::same_as<T, bool>) void read(std::string_view key, T& out)
    {
        const json* value =
            require(key, "integer", [](const json& v) { return v.is_number_integer(); });
        if (value == nullptr) {
            return;
        }
        const bool is_unsigned = value->is_number_unsigned();
        const bool fits = is_unsigned ? std::in_range<T>(value->get<std::uint64_t>())
                                      : std::in_range<T>(value->get<std::int64_t>());
        if (!fits) {
            fail_with(fmt::format("{}: {} is out of range ({} to {})", path_of(key), value->dump(),
                                  std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
            return;
        }
        out = is_unsigned ? static_cast<T>(value->get<std::uint64_t>())
                          : static_cast<T>(value->get<std::int64_t>());
    }

    void read(std::string_view key, std::vector<std::string>& out)
    {
        const json* array = require(key, "array", [](const json& v) { return v.is_array(); });
        if (array == nullptr) {
            return;
        }
        std::vector<std::string> items;
        for (std::size_t i = 0; i < array->size(); ++i) {
            const json& item = (*array)[i];
            if (!item.is_string()) {
                fail_with(fmt::format("{}[{}]: expected string, got {}", path_of(key), i,
                                      item.type_name()));
                return;
            }
            items.push_back(item.get<std::string>());
        }
        out = std::move(items);
    }

    /// Absent and null both mean unset.
    template <typename T> void read(std::string_view key, std::optional<T>& out)
    {
        if (failed() || m_object == nullptr) {
            return;
        }
        const json* value = find(key);
        if (value == nullptr || value->is_null()) {
            out.reset();
            return;
        }
        T decoded{};
        read(key, decoded);
        if (!failed()) {
            out = std::move(decoded);
        }
    }

    /// A stable name (to_string) read back with its parse function.
    template <typename Enum>
    void read_enum(std::string_view key, Enum& out,
                   std::optional<Enum> (*parse_name)(std::string_view), std::string_view choices)
    {
        std::string name;
        read(key, name);
        if (failed()) {
            return;
        }
        if (auto value = parse_name(name)) {
            out = *value;
            return;
        }
        fail_with(fmt::format("{}: unknown value '{}' (expected {})", path_of(key), name, choices));
    }

    /// A required member object; an inert reader when it is missing (the error is recorded).
    Reader object(std::string_view key)
    {
        const json* value = require(key, "object", [](const json& v) { return v.is_object(); });
        return Reader(value, path_of(key), *m_error);
    }

    /// A member object that may be absent or null.
    std::optional<Reader> optional_object(std::string_view key)
    {
        if (failed() || m_object == nullptr) {
            return std::nullopt;
        }
        const json* value = find(key);
        if (value == nullptr || value->is_null()) {
            return std::nullopt;
        }
        if (!value->is_object()) {
            type_error(path_of(key), "object", *value);
            return std::nullopt;
        }
        return Reader(value, path_of(key), *m_error);
    }

    /// Calls decode(Reader) for each element of a required array of objects.
    template <typename Decode> void each_object(std::string_view key, Decode&& decode)
    {
        const json* array = require(key, "array", [](const json& v) { return v.is_array(); });
        if (array == nullptr) {
            return;
        }
        for (std::size_t i = 0; i < array->size() && !failed(); ++i) {
            const json& item = (*array)[i];
            const std::string item_path = fmt::format("{}[{}]", path_of(key), i);
            if (!item.is_object()) {
                type_error(item_path, "object", item);
                return;
            }
            decode(Reader(&item, item_path, *m_error));
        }
    }

  private:
    [[nodiscard]] std::string path_of(std::string_view key) const
    {
        return m_path.empty() ? std::string(key) : fmt::format("{}.{}", m_path, key);
    }

    [[nodiscard]] const json* find(std::string_view key) const
    {
        const auto it = m_object->find(key);
        return it == m_object->end() ? nullptr : &*it;
    }

    void fail_with(std::string message)
    {
        if (!failed()) {
            *m_error = Error{std::move(message)};
        }
    }

    void type_error(const std::string& path, std::string_view expected, const json& got)
    {
        fail_with(fmt::format("{}: expected {}, got {}", path, expected, got.type_name()));
    }

    /// The member when present and accepted by `is_expected`; nullptr after recording why not.
    template <typename Check>
    const json* require(std::string_view key, std::string_view expected, Check is_expected)
    {
        if (failed() || m_object == nullptr) {
            return nullptr;
        }
        const json* value = find(key);
        if (value == nullptr) {
            fail_with(fmt::format("{}: missing", path_of(key)));
            return nullptr;
        }
        if (!is_expected(*value)) {
            type_error(path_of(key), expected, *value);
            return nullptr;
        }
        return value;
    }

    const json* m_object; ///< nullptr: an object that was missing; reads do nothing
    std::string m_path;
    std::optional<Error>* m_error;
};

void read_sampler(Reader r, Sampler& s)
{
    r.read("name", s.name);
    r.read("temperature", s.temperature);
    r.read("top_p", s.top_p);
    r.read("top_k", s.top_k);
    r.read("min_p", s.min_p);
    r.read("presence_penalty", s.presence_penalty);
    r.read("repeat_penalty", s.repeat_penalty);
    r.read("enable_thinking", s.enable_thinking);
}

void read_config(Reader r, RunConfig& c)
{
    r.read_enum("kind", c.kind, &parse_run_kind, "run or smoke");
    r.read("suite", c.suite);
    r.read("suite_dir", c.suite_dir);
    r.read("suite_version", c.suite_version);
    r.read("suite_hash", c.suite_hash);
    r.read("level_ids", c.level_ids);
    r.read("iterations", c.iterations);
    read_sampler(r.object("sampler"), c.sampler);
    r.read("max_tokens", c.max_tokens);
    r.read("reasoning_budget", c.reasoning_budget);
    r.read("request_timeout_s", c.request_timeout_s);
    r.read_enum("conversation", c.conversation, &parse_conversation_policy, "fresh or carry");
    r.read("concurrency", c.concurrency);
    r.read("seed", c.seed);
    r.read("infra_retries", c.infra_retries);
    r.read("base_url", c.base_url);
    r.read("service", c.service);
    r.read("model", c.model);
    r.read("isolate", c.isolate);
}

void read_metrics(Reader r, AttemptMetrics& m)
{
    r.read("prompt_tokens", m.prompt_tokens);
    r.read("completion_tokens", m.completion_tokens);
    r.read("cached_prompt_tokens", m.cached_prompt_tokens);
    r.read("ttft_ms", m.ttft_ms);
    r.read("request_ms", m.request_ms);
    r.read("server_prompt_ms", m.server_prompt_ms);
    r.read("server_predicted_ms", m.server_predicted_ms);
    r.read("server_tokens_per_s", m.server_tokens_per_s);
    r.read("client_tokens_per_s", m.client_tokens_per_s);
    r.read("draft_n", m.draft_n);
    r.read("draft_n_accepted", m.draft_n_accepted);
    r.read("vram_peak_mib", m.vram_peak_mib);
    r.read("validation_ms", m.validation_ms);
}

void read_attempt(Reader r, AttemptRecord& a)
{
    r.read("iteration", a.iteration);
    r.read("level", a.level);
    r.read("seed", a.seed);
    r.read_enum("outcome", a.outcome, &parse_outcome,
                "pass, test_failures, syntax_error, import_error, no_code, budget_exhausted, "
                "timeout, server_error or infra_error");
    r.read("detail", a.detail);
    r.read("points", a.points);
    r.read("points_possible", a.points_possible);
    if (auto tests = r.optional_object("tests")) {
        TestCounts counts;
        tests->read("tests", counts.tests);
        tests->read("failures", counts.failures);
        tests->read("errors", counts.errors);
        tests->read("skipped", counts.skipped);
        a.tests = counts;
    } else {
        a.tests.reset();
    }
    r.read("finish_reason", a.finish_reason);
    r.read("code_source", a.code_source);
    a.files.clear();
    r.each_object("files", [&a](Reader file_reader) {
        GradedFile file;
        file_reader.read("path", file.path);
        file_reader.read("reason", file.reason);
        file_reader.read("bytes", file.bytes);
        a.files.push_back(std::move(file));
    });
    r.read("messages_sent", a.messages_sent);
    r.read("retries", a.retries);
    r.read("started_at_ms", a.started_at_ms);
    read_metrics(r.object("metrics"), a.metrics);
    r.read("content", a.content);
    r.read("reasoning", a.reasoning);
}

void read_server(Reader r, ServerFacts& s)
{
    r.read("build", s.build);
    r.read("model_path", s.model_path);
    r.read("n_ctx", s.n_ctx);
    r.read("total_slots", s.total_slots);
    r.read("chat_template_hash", s.chat_template_hash);
    r.read("argv", s.argv);
}

void read_model(Reader r, ModelFacts& m)
{
    r.read("file_name", m.file_name);
    r.read("size_bytes", m.size_bytes);
    r.read("sha256", m.sha256);
    r.read("parameters", m.parameters);
    r.read("quantization", m.quantization);
    r.read("architecture", m.architecture);
    r.read("name", m.name);
    r.read("basename", m.basename);
    r.read("finetune", m.finetune);
    r.read("size_label", m.size_label);
}

void read_environment(Reader r, EnvironmentFacts& e)
{
    r.read("gpumod_version", e.gpumod_version);
    r.read("gpumod_commit", e.gpumod_commit);
    r.read("hostname", e.hostname);
    r.read("gpus", e.gpus);
    r.read("driver_version", e.driver_version);
    r.read("vram_idle_mib", e.vram_idle_mib);
    r.read("sandbox", e.sandbox);
}

void read_facts(Reader& r, RunRecord& run)
{
    read_server(r.object("server"), run.server);
    read_model(r.object("model"), run.model);
    read_environment(r.object("environment"), run.environment);
}

/// Parses `text`, checks that it is an object and runs `decode` over it; the first problem
/// found becomes the error.
template <typename T, typename Decode> Result<T> decode_object(std::string_view text, Decode decode)
{
    auto root = parse(text);
    if (!root) {
        return tl::unexpected(root.error());
    }
    if (!root->is_object()) {
        return fail(fmt::format("(root): expected object, got {}", root->type_name()));
    }
    std::optional<Error> error;
    T value{};
    decode(Reader(&*root, "", error), value);
    if (error) {
        return tl::unexpected(*error);
    }
    return value;
}

} // namespace

std::string encode_run_config(const RunConfig& config)
{
    return dump_compact(config_to_json(config));
}

Result<RunConfig> decode_run_config(std::string_view json_text)
{
    return decode_object<RunConfig>(json_text, [](Reader r, RunConfig& c) { read_config(r, c); });
}

std::string encode_attempt(const AttemptRecord& attempt)
{
    return dump_compact(attempt_to_json(attempt));
}

Result<AttemptRecord> decode_attempt(std::string_view json_text)
{
    return decode_object<AttemptRecord>(json_text,
                                        [](Reader r, AttemptRecord& a) { read_attempt(r, a); });
}

std::string encode_run_facts(const RunRecord& run)
{
    json out = json::object();
    out["server"] = server_to_json(run.server);
    out["model"] = model_to_json(run.model);
    out["environment"] = environment_to_json(run.environment);
    return dump_compact(out);
}

Status decode_run_facts(std::string_view json_text, RunRecord& run)
{
    auto facts =
        decode_object<RunRecord>(json_text, [](Reader r, RunRecord& into) { read_facts(r, into); });
    if (!facts) {
        return tl::unexpected(facts.error());
    }
    run.server = std::move(facts->server);
    run.model = std::move(facts->model);
    run.environment = std::move(facts->environment);
    return {};
}

std::string encode_result_file(const RunRecord& run, std::string_view summary_json)
{
    json out = json::object();
    out["schema"] = k_result_schema;
    out["id"] = run.id;
    out["status"] = to_string(run.status);
    out["created_at_ms"] = run.created_at_ms;
    out["updated_at_ms"] = run.updated_at_ms;
    out["finished_at_ms"] = nullable(run.finished_at_ms);
    out["note"] = run.note;
    out["config"] = config_to_json(run.config);
    out["server"] = server_to_json(run.server);
    out["model"] = model_to_json(run.model);
    out["environment"] = environment_to_json(run.environment);
    if (!summary_json.empty()) {
        // Before the attempts: a reader opening the file sees the totals first.
        if (auto summary = parse(summary_json)) {
            out["summary"] = std::move(*summary);
        } else {
            out["summary"] =
                json{{"error", "the summary was not valid JSON: " + summary.error().message}};
        }
    }
    json attempts = json::array();
    for (const auto& attempt : run.attempts) {
        attempts.push_back(attempt_to_json(attempt));
    }
    out["attempts"] = std::move(attempts);
    return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<RunRecord> decode_result_file(std::string_view json_text)
{
    auto root = parse(json_text);
    if (!root) {
        return tl::unexpected(root.error());
    }
    if (!root->is_object()) {
        return fail(fmt::format("(root): expected object, got {}", root->type_name()));
    }
    std::optional<Error> error;
    Reader r(&*root, "", error);
    std::string schema;
    r.read("schema", schema);
    if (error) {
        return fail(error->message + " (not a gpumod benchmark result file?)");
    }
    if (schema != k_result_schema) {
        return fail(fmt::format("schema: '{}' is not a result format this gpumod reads (it reads "
                                "'{}'); use the gpumod version that wrote the file",
                                schema, k_result_schema));
    }
    RunRecord run;
    r.read("id", run.id);
    r.read_enum("status", run.status, &parse_run_status,
                "running, interrupted, aborted or complete");
    r.read("created_at_ms", run.created_at_ms);
    r.read("updated_at_ms", run.updated_at_ms);
    r.read("finished_at_ms", run.finished_at_ms);
    r.read("note", run.note);
    read_config(r.object("config"), run.config);
    read_facts(r, run);
    r.each_object("attempts", [&run](Reader attempt_reader) {
        AttemptRecord attempt;
        read_attempt(attempt_reader, attempt);
        run.attempts.push_back(std::move(attempt));
    });
    if (error) {
        return tl::unexpected(*error);
    }
    return run;
}

} // namespace gpumod::bench
