// plan_accuracy: measures what llama-server really allocates per component (its own buffer
// report at -lv 4) over a matrix of generated models and configurations, and compares it with
// `gpumod plan --json`. See bench/README.md for the method and bench/plan-accuracy/run for
// the usual invocation.
//
//   plan_accuracy measure  generate models, run every cell, append observations.jsonl
//   plan_accuracy compare  run `gpumod plan` per observation, write results.md/results.json
//   plan_accuracy ingest   turn the GPU runner's logs into observations (same schema)
//   plan_accuracy parse-log LOG     print what the parser reads from one server log
//   plan_accuracy make-model NAME OUT   write one of the big models

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/gguf/gguf_file.hpp"
#include "adapters/llama/llama_server_locator.hpp"
#include "adapters/posix/atomic_file.hpp"
#include "adapters/posix/clock.hpp"
#include "adapters/posix/environment.hpp"
#include "adapters/posix/process.hpp"
#include "app/llama_launch.hpp"
#include "big_model.hpp"
#include "core/gguf/gguf_writer.hpp"
#include "llama_log.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace gpumod::bench {
namespace {

constexpr double k_mib = 1024.0 * 1024.0;
constexpr int k_exit_ok = 0;
constexpr int k_exit_failure = 1;
constexpr int k_exit_usage = 2;

// ---------------------------------------------------------------------------------------
// Models

/// One generated model file and how it was made.
struct ModelEntry
{
    std::string id;     ///< "ours-mtp", "tla-qwen35-dense", "big-llama-f16"
    std::string source; ///< "gpumod dev make-model", "test-llama-archs", "plan_accuracy make-model"
    fs::path file;
    std::string architecture;
    bool mtp = false; ///< has nextn/MTP layers: cells with --spec-type draft-mtp apply
    bool big = false;
    uint64_t bytes = 0;
    std::vector<std::string> generator; ///< the command that wrote it
};

/// The architectures whose test-llama-archs models the benchmark uses (the list).
const std::vector<std::string>& tla_architectures()
{
    static const std::vector<std::string> k_archs = {"llama",     "qwen2",     "qwen3",  "qwen3moe",
                                                     "qwen35",    "qwen35moe", "gemma3", "gpt-oss",
                                                     "deepseek2", "nemotron_h"};
    return k_archs;
}

std::string join(const std::vector<std::string>& v, std::string_view sep = " ")
{
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i > 0) {
            out += sep;
        }
        out += v[i];
    }
    return out;
}

Status run_tool(const std::vector<std::string>& argv, std::chrono::milliseconds timeout)
{
    auto r = posix::run_command(argv, timeout);
    if (!r) {
        return tl::unexpected(r.error());
    }
    if (r->timed_out || !r->status.success()) {
        std::string tail = r->err.size() > 2000 ? r->err.substr(r->err.size() - 2000) : r->err;
        return fail(fmt::format("'{}' {}{}:\n{}", join(argv), r->status.describe(),
                                r->timed_out ? " (timed out)" : "", tail));
    }
    return {};
}

/// Reads the header to fill architecture, size and MTP capability.
Status describe_model(ModelEntry& m)
{
    auto header = gguf::read_gguf_file_header(m.file);
    if (!header) {
        return tl::unexpected(header.error());
    }
    m.bytes = header->file_size;
    if (const auto* v = header->find("general.architecture"); v && v->as_string()) {
        m.architecture = *v->as_string();
    }
    if (const auto* v = header->find(m.architecture + ".nextn_predict_layers")) {
        m.mtp = v->as_uint().value_or(0) > 0;
    }
    return {};
}

struct Tools
{
    fs::path server;
    fs::path test_llama_archs;
    fs::path gpumod;
};

/// Writes (or reuses, when present and `regenerate` is off) every model into `dir`.
Result<std::vector<ModelEntry>> generate_models(const Tools& tools, const fs::path& dir,
                                                const std::vector<std::string>& big_names,
                                                bool regenerate, const std::regex& filter)
{
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return fail(fmt::format("cannot create '{}': {}", dir.string(), ec.message()));
    }
    std::vector<ModelEntry> out;
    auto wanted = [&](const std::string& id) { return std::regex_search(id, filter); };
    auto needs_writing = [&](const fs::path& f) { return regenerate || !fs::exists(f); };

    // Ours: the project's own writer (llama scripted/random, qwen35 with an MTP block).
    for (const std::string kind : {"scripted", "random", "mtp"}) {
        ModelEntry m;
        m.id = "ours-" + kind;
        if (!wanted(m.id)) {
            continue;
        }
        m.source = "gpumod dev make-model";
        m.file = dir / (m.id + ".gguf");
        m.generator = {tools.gpumod.string(),
                       "dev",
                       "make-model",
                       "--kind",
                       kind,
                       "--n-ctx",
                       "32768",
                       "--seed",
                       "42",
                       "--force",
                       m.file.string()};
        if (needs_writing(m.file)) {
            if (auto s = run_tool(m.generator, std::chrono::seconds(60)); !s) {
                return tl::unexpected(s.error());
            }
        }
        out.push_back(std::move(m));
    }

    // test-llama-archs: one run per architecture into its own folder (it names files
    // <arch>-dense.gguf / <arch>-moe.gguf; llama gives both).
    for (const auto& arch : tla_architectures()) {
        const fs::path sub = dir / ("tla-" + arch);
        const std::vector<std::string> argv = {tools.test_llama_archs.string(),
                                               "-a",
                                               "^" + arch + "$",
                                               "-s",
                                               "42",
                                               "-o",
                                               sub.string() + "/"};
        bool any_wanted = false;
        for (const std::string variant : {"dense", "moe"}) {
            any_wanted = any_wanted || wanted(fmt::format("tla-{}-{}", arch, variant));
        }
        if (!any_wanted) {
            continue;
        }
        if (regenerate || !fs::exists(sub)) {
            fs::remove_all(sub, ec);
            fs::create_directories(sub, ec);
            if (auto s = run_tool(argv, std::chrono::seconds(120)); !s) {
                return tl::unexpected(s.error());
            }
        }
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(sub, ec)) {
            if (entry.path().extension() == ".gguf") {
                files.push_back(entry.path());
            }
        }
        std::sort(files.begin(), files.end());
        if (files.empty()) {
            return fail(fmt::format("'{}' wrote no model into '{}'", join(argv), sub.string()));
        }
        for (const auto& f : files) {
            ModelEntry m;
            m.id = "tla-" + f.stem().string();
            if (!wanted(m.id)) {
                continue;
            }
            m.source = "test-llama-archs";
            m.file = f;
            m.generator = argv;
            out.push_back(std::move(m));
        }
    }

    // Big models: the llama/qwen35 shapes at a few hundred MB, so rounding does not hide errors.
    for (const auto& name : big_names) {
        ModelEntry m;
        m.id = "big-" + name;
        if (!wanted(m.id)) {
            continue;
        }
        m.source = "plan_accuracy make-model";
        m.big = true;
        m.file = dir / (m.id + ".gguf");
        m.generator = {"plan_accuracy", "make-model", name, m.file.string()};
        if (needs_writing(m.file)) {
            auto shape = big_model_shape(name);
            if (!shape) {
                return tl::unexpected(shape.error());
            }
            auto model = make_big_model(*shape);
            if (!model) {
                return tl::unexpected(model.error());
            }
            auto bytes = gguf::write_gguf(*model);
            if (!bytes) {
                return tl::unexpected(bytes.error());
            }
            if (auto s = posix::write_file_atomically(m.file, *bytes, posix::ExistingFile::replace);
                !s) {
                return tl::unexpected(s.error());
            }
        }
        out.push_back(std::move(m));
    }
    for (auto& m : out) {
        if (auto s = describe_model(m); !s) {
            return tl::unexpected(s.error());
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------
// The matrix

/// One configuration of llama-server on one model.
struct CellConfig
{
    uint32_t ctx = 4096;
    int32_t parallel = 1;
    std::string cache_type_k = "f16";
    std::string cache_type_v = "f16";
    std::string flash_attn = "on";
    int32_t n_gpu_layers = 0;
    std::string spec_type = "none";
    uint32_t n_batch = 2048;
    uint32_t n_ubatch = 512;
};

struct Cell
{
    std::string id;
    const ModelEntry* model = nullptr;
    CellConfig config;
};

/// Every argument that changes memory, pinned (defaults included), plus logging.
std::vector<std::string> server_args(const CellConfig& c)
{
    std::vector<std::string> args = {"-c",    std::to_string(c.ctx),
                                     "-np",   std::to_string(c.parallel),
                                     "-ctk",  c.cache_type_k,
                                     "-ctv",  c.cache_type_v,
                                     "-fa",   c.flash_attn,
                                     "-ngl",  std::to_string(c.n_gpu_layers),
                                     "-b",    std::to_string(c.n_batch),
                                     "-ub",   std::to_string(c.n_ubatch),
                                     "--fit", "off",
                                     "-t",    "1",
                                     "-lv",   "4"};
    if (c.spec_type != "none") {
        args.insert(args.end(), {"--spec-type", c.spec_type});
    }
    return args;
}

/// The configuration an argv pins (the inverse of server_args; the GPU runner's argv too).
CellConfig config_from_argv(const std::vector<std::string>& argv)
{
    CellConfig c;
    for (size_t i = 0; i + 1 < argv.size(); ++i) {
        const std::string& a = argv[i];
        const std::string& v = argv[i + 1];
        auto to_int = [&](int32_t fallback) {
            try {
                return static_cast<int32_t>(std::stol(v));
            } catch (...) {
                return fallback;
            }
        };
        if (a == "-c" || a == "--ctx-size") {
            c.ctx = static_cast<uint32_t>(to_int(0));
        } else if (a == "-np" || a == "--parallel") {
            c.parallel = to_int(-1);
        } else if (a == "-ctk" || a == "--cache-type-k") {
            c.cache_type_k = v;
        } else if (a == "-ctv" || a == "--cache-type-v") {
            c.cache_type_v = v;
        } else if (a == "-fa" || a == "--flash-attn") {
            c.flash_attn = v;
        } else if (a == "-ngl" || a == "--n-gpu-layers" || a == "--gpu-layers") {
            c.n_gpu_layers = to_int(-1);
        } else if (a == "--spec-type") {
            c.spec_type = v;
        } else if (a == "-b" || a == "--batch-size") {
            c.n_batch = static_cast<uint32_t>(to_int(2048));
        } else if (a == "-ub" || a == "--ubatch-size") {
            c.n_ubatch = static_cast<uint32_t>(to_int(512));
        }
    }
    return c;
}

json config_json(const CellConfig& c)
{
    return {{"ctx", c.ctx},
            {"parallel", c.parallel},
            {"cache_type_k", c.cache_type_k},
            {"cache_type_v", c.cache_type_v},
            {"flash_attn", c.flash_attn},
            {"n_gpu_layers", c.n_gpu_layers},
            {"spec_type", c.spec_type},
            {"n_batch", c.n_batch},
            {"n_ubatch", c.n_ubatch}};
}

std::string cell_label(const CellConfig& c)
{
    std::string s = fmt::format("c{}-np{}-k{}-v{}-fa{}-ngl{}", c.ctx, c.parallel, c.cache_type_k,
                                c.cache_type_v, c.flash_attn, c.n_gpu_layers);
    if (c.spec_type != "none") {
        s += "-" + c.spec_type;
    }
    return s;
}

/// The matrix: a core set per model (context sweep, cache types, slots, flash attention),
/// MTP on/off where the model has an MTP block, and a few extra cells on our llama model.
std::vector<Cell> build_matrix(const std::vector<ModelEntry>& models, int32_t ngl)
{
    std::vector<Cell> cells;
    auto add = [&](const ModelEntry& m, CellConfig c) {
        c.n_gpu_layers = ngl;
        cells.push_back(Cell{m.id + "/" + cell_label(c), &m, c});
    };
    for (const auto& m : models) {
        auto cfg = [](uint32_t ctx, int32_t np, std::string k, std::string v, std::string fa) {
            CellConfig c;
            c.ctx = ctx;
            c.parallel = np;
            c.cache_type_k = std::move(k);
            c.cache_type_v = std::move(v);
            c.flash_attn = std::move(fa);
            return c;
        };
        std::vector<CellConfig> core = {
            cfg(512, 1, "f16", "f16", "on"),    cfg(4096, 1, "f16", "f16", "on"),
            cfg(32768, 1, "f16", "f16", "on"),  cfg(8192, 1, "q8_0", "q8_0", "on"),
            cfg(8192, 1, "q4_0", "q4_0", "on"), cfg(8192, 4, "f16", "f16", "on"),
            cfg(8192, 1, "f16", "f16", "off"),  cfg(16384, 4, "q8_0", "q8_0", "on"),
        };
        if (m.id == "ours-scripted") {
            core.push_back(cfg(65536, 1, "f16", "f16", "on"));
            core.push_back(cfg(131072, 4, "q4_0", "q4_0", "on"));
            core.push_back(cfg(8192, 1, "q8_0", "f16", "off")); // quantized K without FA
            core.push_back(cfg(8192, 1, "f16", "q8_0", "off")); // quantized V without FA
            core.push_back(cfg(8192, 2, "f16", "f16", "on"));
        }
        if (m.big) {
            core.push_back(cfg(65536, 1, "q8_0", "q8_0", "on"));
        }
        for (const auto& c : core) {
            add(m, c);
        }
        if (m.mtp) {
            for (auto c : {cfg(4096, 1, "f16", "f16", "on"), cfg(8192, 1, "q8_0", "q8_0", "on"),
                           cfg(8192, 4, "f16", "f16", "on"), cfg(16384, 4, "q8_0", "q8_0", "on"),
                           cfg(8192, 1, "f16", "f16", "off")}) {
                c.spec_type = "draft-mtp";
                add(m, c);
            }
        }
    }
    return cells;
}

// ---------------------------------------------------------------------------------------
// Observations

json parsed_log_json(const ParsedLog& log)
{
    json buffers = json::array();
    for (const auto& b : log.buffers) {
        buffers.push_back(
            {{"context", b.context}, {"device", b.device}, {"kind", b.kind}, {"mib", b.mib}});
    }
    json kv = json::array();
    for (const auto& k : log.kv_caches) {
        kv.push_back({{"context", k.context},
                      {"mib", k.mib},
                      {"cells", k.cells},
                      {"layers", k.layers},
                      {"seqs", k.seqs},
                      {"seqs_max", k.seqs_max},
                      {"k_type", k.k_type},
                      {"k_mib", k.k_mib},
                      {"v_type", k.v_type},
                      {"v_mib", k.v_mib},
                      {"swa", k.swa}});
    }
    json rs = json::array();
    for (const auto& r : log.recurrent) {
        rs.push_back({{"context", r.context},
                      {"mib", r.mib},
                      {"cells", r.cells},
                      {"layers", r.layers},
                      {"r_mib", r.r_mib},
                      {"s_mib", r.s_mib}});
    }
    json contexts = json::array();
    for (const auto& c : log.contexts) {
        json j = {{"n_ctx", c.n_ctx},
                  {"n_ctx_seq", c.n_ctx_seq},
                  {"n_seq_max", c.n_seq_max},
                  {"n_batch", c.n_batch},
                  {"n_ubatch", c.n_ubatch}};
        if (c.flash_attn) {
            j["flash_attn"] = *c.flash_attn;
        }
        if (c.kv_unified) {
            j["kv_unified"] = *c.kv_unified;
        }
        contexts.push_back(j);
    }
    json breakdown = json::array();
    for (const auto& r : log.breakdown) {
        json j = {{"device", r.device},
                  {"self", r.self},
                  {"model", r.model},
                  {"context", r.context},
                  {"compute", r.compute}};
        if (r.total) {
            j["total"] = *r.total;
            j["free"] = *r.free;
            j["unaccounted"] = *r.unaccounted;
        }
        breakdown.push_back(j);
    }
    json components = json::object();
    for (const auto& [device, c] : reported_components(log)) {
        components[device] = {{"weights", c.weights},
                              {"kv_cache", c.kv_cache},
                              {"recurrent_state", c.recurrent_state},
                              {"compute_buffer", c.compute_buffer},
                              {"output_buffer", c.output_buffer},
                              {"mtp_kv_cache", c.mtp_kv_cache},
                              {"mtp_compute", c.mtp_compute},
                              {"total", c.total()}};
    }
    json out = {{"buffers", buffers},
                {"kv_caches", kv},
                {"recurrent", rs},
                {"contexts", contexts},
                {"breakdown", breakdown},
                {"components_mib", components},
                {"mtp_context", log.mtp_context}};
    if (log.file_size_mib) {
        out["file_size_mib"] = *log.file_size_mib;
    }
    if (!log.model_params.empty()) {
        out["model_params"] = log.model_params;
    }
    return out;
}

/// Why a run failed, in one line: the first error line of the log (the cause; later ones
/// tend to repeat it as it travels up) and the last, else the launcher's words.
std::string failure_reason(const ParsedLog& log, const std::string& launcher_error)
{
    if (!log.errors.empty()) {
        if (log.errors.size() == 1) {
            return log.errors.front();
        }
        return log.errors.front() + " ... " + log.errors.back();
    }
    const auto nl = launcher_error.find('\n');
    return launcher_error.substr(0, nl);
}

std::string read_text(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string cpu_model()
{
    std::istringstream in(read_text("/proc/cpuinfo"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with("model name")) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    }
    return "unknown";
}

std::string safe_name(std::string s)
{
    for (char& c : s) {
        if (c == '/' || c == ' ') {
            c = '_';
        }
    }
    return s;
}

/// `argv` as it is committed: the program by name and files under the models folder as
/// "models/<relative path>", so that results carry no machine's paths.
std::vector<std::string> for_the_record(std::vector<std::string> argv, const fs::path& models_dir)
{
    if (!argv.empty()) {
        argv[0] = fs::path(argv[0]).filename().string();
    }
    const fs::path base = fs::absolute(models_dir).lexically_normal();
    for (auto& arg : argv) {
        const fs::path p(arg);
        if (!p.is_absolute()) {
            continue;
        }
        const fs::path rel = p.lexically_normal().lexically_relative(base);
        if (!rel.empty() && *rel.begin() != "..") {
            arg = (fs::path("models") / rel).string();
        }
    }
    return argv;
}

json model_json(const ModelEntry& m, const fs::path& models_dir)
{
    std::error_code ec;
    auto rel = fs::relative(m.file, models_dir, ec);
    return {{"id", m.id},
            {"source", m.source},
            {"file", ec ? m.file.string() : rel.string()},
            {"architecture", m.architecture},
            {"bytes", m.bytes},
            {"mtp", m.mtp},
            {"generator", for_the_record(m.generator, models_dir)}};
}

/// Runs one cell: start, wait for /health (or exit), stop, parse the log.
json run_cell(const Cell& cell, const Tools& tools, const fs::path& logs_dir,
              const fs::path& models_dir, const std::string& version_line)
{
    app::LlamaLaunchSpec spec;
    spec.server = tools.server;
    spec.model = cell.model->file;
    spec.extra_args = server_args(cell.config);
    spec.log_path = logs_dir / (safe_name(cell.id) + ".log");
    spec.startup_timeout = std::chrono::seconds(180);
    spec.health_poll_interval = std::chrono::milliseconds(20);

    const auto started = posix::monotonic_now();
    json obs = {{"cell", cell.id},
                {"model", model_json(*cell.model, models_dir)},
                {"config", config_json(cell.config)},
                {"server_version", version_line},
                {"backend", "cpu"},
                {"host_cpu", cpu_model()},
                {"unix_ms", posix::unix_now_ms()}};
    std::vector<std::string> argv;
    std::string launcher_error;
    bool healthy = false;
    std::string exit_text;
    int64_t startup_ms = -1;
    auto running = app::start_llama_server(spec);
    if (running) {
        healthy = true;
        argv = running->argv();
        startup_ms = running->startup_time().count();
        // The memory breakdown table is printed on the way out, so stop before parsing.
        const auto status = running->stop(std::chrono::seconds(20));
        exit_text = status.describe();
    } else {
        launcher_error = running.error().message;
        argv = {spec.server.string(), "-m",     spec.model.string(), "--host",
                "127.0.0.1",          "--port", "<free port>"};
        argv.insert(argv.end(), spec.extra_args.begin(), spec.extra_args.end());
    }
    const auto wall_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(posix::monotonic_now() - started)
            .count();
    const ParsedLog log = parse_llama_log(read_text(spec.log_path));
    obs["argv"] = for_the_record(argv, models_dir);
    obs["status"] = healthy ? "ok" : "failed";
    obs["startup_ms"] = startup_ms;
    obs["wall_ms"] = wall_ms;
    if (healthy) {
        obs["exit"] = exit_text;
    } else {
        obs["failure"] = failure_reason(log, launcher_error);
    }
    obs["log"] = spec.log_path.filename().string();
    obs["report"] = parsed_log_json(log);
    return obs;
}

struct MeasureOptions
{
    fs::path work_dir;
    fs::path out_dir;
    std::string filter = ".*";
    bool with_big = true;
    /// The big models of the CPU matrix (llama-2g-f16 is for the GPU run).
    std::vector<std::string> big_names = {"llama-f16", "llama-q8_0", "llama-q4_0",
                                          "qwen35-mtp-f16"};
    bool regenerate = false;
    bool append = false;
    int32_t ngl = 0;
    bool list_only = false;
};

Result<Tools> find_tools(std::optional<fs::path> server, std::optional<fs::path> tla,
                         std::optional<fs::path> gpumod)
{
    Tools t;
    if (server) {
        t.server = *server;
    } else {
        auto found = llama::find_llama_server(llama::llama_server_search_from_environment());
        if (!found) {
            return tl::unexpected(found.error());
        }
        t.server = found->first;
    }
    if (tla) {
        t.test_llama_archs = *tla;
    } else if (auto env = posix::get_env("GPUMOD_TEST_LLAMA_ARCHS")) {
        t.test_llama_archs = *env;
    } else {
        // scripts/setup-llama-server --with-tests writes it beside the llama-server wrapper.
        t.test_llama_archs = fs::path(t.server).parent_path() / "test-llama-archs";
    }
    t.gpumod = gpumod.value_or("gpumod");
    return t;
}

int cmd_measure(const MeasureOptions& o, const Tools& tools)
{
    const fs::path models_dir = o.work_dir / "models";
    const fs::path logs_dir = o.work_dir / "logs";
    std::error_code ec;
    fs::create_directories(logs_dir, ec);
    fs::create_directories(o.out_dir, ec);
    std::regex filter;
    try {
        filter = std::regex(o.filter);
    } catch (const std::regex_error& e) {
        std::cerr << fmt::format("plan_accuracy: bad --filter '{}': {}\n", o.filter, e.what());
        return k_exit_usage;
    }

    auto version = llama::query_llama_server_version(tools.server);
    if (!version) {
        std::cerr << "plan_accuracy: " << version.error().message << '\n';
        return k_exit_failure;
    }
    const auto t0 = posix::monotonic_now();
    auto models =
        generate_models(tools, models_dir, o.with_big ? o.big_names : std::vector<std::string>{},
                        o.regenerate, filter);
    if (!models) {
        std::cerr << "plan_accuracy: while generating models: " << models.error().message << '\n';
        return k_exit_failure;
    }
    const auto gen_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(posix::monotonic_now() - t0).count();
    std::cerr << fmt::format("{} models in {} ({} ms)\n", models->size(), models_dir.string(),
                             gen_ms);
    const auto cells = build_matrix(*models, o.ngl);
    if (o.list_only) {
        for (const auto& c : cells) {
            std::cout << c.id << '\n';
        }
        return k_exit_ok;
    }

    const fs::path obs_path = o.out_dir / "observations.jsonl";
    std::ofstream obs_file(obs_path, o.append ? std::ios::app : std::ios::trunc);
    if (!obs_file) {
        std::cerr << fmt::format("plan_accuracy: cannot write '{}'\n", obs_path.string());
        return k_exit_failure;
    }
    size_t ok = 0;
    size_t failed = 0;
    for (size_t i = 0; i < cells.size(); ++i) {
        const json obs = run_cell(cells[i], tools, logs_dir, models_dir, version->version_line);
        // One line per cell, flushed at once: a partial run is still a usable file.
        obs_file << obs.dump() << '\n';
        obs_file.flush();
        const bool good = obs["status"] == "ok";
        (good ? ok : failed) += 1;
        std::cerr << fmt::format("[{}/{}] {} {} {} ms{}\n", i + 1, cells.size(), cells[i].id,
                                 good ? "ok" : "FAILED", obs["wall_ms"].get<int64_t>(),
                                 good ? "" : ": " + obs["failure"].get<std::string>());
    }
    const auto total_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(posix::monotonic_now() - t0).count();
    std::cerr << fmt::format("{} cells: {} ok, {} failed; {:.1f} s; wrote {}\n", cells.size(), ok,
                             failed, static_cast<double>(total_ms) / 1000.0, obs_path.string());
    return k_exit_ok;
}

// ---------------------------------------------------------------------------------------
// Comparison with `gpumod plan`

/// The components compared, in report order. The observed value is the sum of `sized` and
/// `computed` (keys of components_mib); the predicted one the sum of `predicted` (keys of the
/// plan's components).
struct ComponentSpec
{
    std::string name;
    std::vector<std::string> sized;    ///< judged within max(1%, 1 MiB)
    std::vector<std::string> computed; ///< judged within 10%
    std::vector<std::string> predicted;
};

const std::vector<ComponentSpec>& component_specs()
{
    // The MTP context (its KV with the draft cache types, compute and output buffers) is one
    // line in the plan, so it is compared as one, with each part's own tolerance.
    static const std::vector<ComponentSpec> k_specs = {
        {"weights", {"weights"}, {}, {"weights", "draft_weights"}},
        {"kv_cache", {"kv_cache"}, {}, {"kv_cache"}},
        {"recurrent_state", {"recurrent_state"}, {}, {"recurrent_state"}},
        {"compute_buffer", {}, {"compute_buffer"}, {"compute_buffer"}},
        {"output_buffer", {"output_buffer"}, {}, {"output_buffer"}},
        {"mtp_context", {"mtp_kv_cache"}, {"mtp_compute"}, {"draft_kv_cache", "mtp_context"}},
    };
    return k_specs;
}

double sum_keys(const json& object, const std::vector<std::string>& keys, double scale = 1.0)
{
    double total = 0.0;
    for (const auto& k : keys) {
        total += object.value(k, 0.0) / scale;
    }
    return total;
}

/// Allowed |predicted - observed| in MiB: max(1%, 1 MiB) of the sized part plus 10% of the
/// computed part; values are printed with two decimals, so 0.005 MiB of reading error on top.
double tolerance_mib(const ComponentSpec& spec, const json& observed)
{
    double t = 0.0;
    if (!spec.sized.empty()) {
        t += std::max(0.01 * sum_keys(observed, spec.sized), 1.0);
    }
    t += 0.10 * sum_keys(observed, spec.computed);
    return t + 0.005;
}

std::optional<double> error_percent(double observed, double predicted)
{
    if (observed == 0.0) {
        return predicted == 0.0 ? std::optional<double>(0.0) : std::nullopt;
    }
    return (predicted - observed) / observed * 100.0;
}

std::vector<std::string> plan_argv(const fs::path& gpumod, const fs::path& model,
                                   const CellConfig& c, const std::optional<std::string>& gpu,
                                   const std::optional<std::string>& backend)
{
    std::vector<std::string> argv = {gpumod.string(),
                                     "plan",
                                     model.string(),
                                     "--ctx",
                                     std::to_string(c.ctx),
                                     "--parallel",
                                     std::to_string(c.parallel),
                                     "--cache-type-k",
                                     c.cache_type_k,
                                     "--cache-type-v",
                                     c.cache_type_v,
                                     "--flash-attn",
                                     c.flash_attn,
                                     "--n-gpu-layers",
                                     std::to_string(c.n_gpu_layers),
                                     "--fit",
                                     "off",
                                     "--json"};
    if (c.spec_type != "none") {
        argv.insert(argv.end(), {"--spec-type", c.spec_type});
    }
    if (gpu) {
        argv.insert(argv.end(), {"--gpu", *gpu});
    }
    if (backend) {
        argv.insert(argv.end(), {"--backend", *backend});
    }
    return argv;
}

/// Planner device name for an observed device group: host -> CPU, the first GPU -> GPU0.
std::string planner_device(const std::string& group, const std::vector<std::string>& gpus)
{
    if (group == "host") {
        return "CPU";
    }
    const auto it = std::find(gpus.begin(), gpus.end(), group);
    return fmt::format("GPU{}", it == gpus.end() ? 0 : it - gpus.begin());
}

double median(std::vector<double> v)
{
    if (v.empty()) {
        return 0.0;
    }
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

std::string fmt_mib(double v)
{
    return fmt::format("{:.2f}", v);
}

std::string fmt_err(const std::optional<double>& e)
{
    return e ? fmt::format("{:+.1f}%", *e) : std::string("n/a");
}

struct CompareOptions
{
    fs::path observations;
    fs::path models_dir;
    fs::path out_dir;
    std::string prefix = "results";
    std::optional<std::string> gpu;
    std::optional<std::string> backend;
    std::string title = "CPU backend";
};

Result<std::vector<json>> read_jsonl(const fs::path& p)
{
    std::ifstream in(p);
    if (!in) {
        return fail(fmt::format("cannot read '{}'", p.string()));
    }
    std::vector<json> out;
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.empty()) {
            continue;
        }
        try {
            out.push_back(json::parse(line));
        } catch (const json::exception& e) {
            return fail(fmt::format("{}:{}: {}", p.string(), n, e.what()));
        }
    }
    return out;
}

int cmd_compare(const CompareOptions& o, const Tools& tools)
{
    auto observations = read_jsonl(o.observations);
    if (!observations) {
        std::cerr << "plan_accuracy: " << observations.error().message << '\n';
        return k_exit_failure;
    }
    std::optional<std::string> planner_missing;
    json rows = json::array();
    // Per component: absolute errors (%) and pass counts, for the summary.
    std::map<std::string, std::vector<double>> abs_errors;
    std::map<std::string, std::vector<double>> abs_diff_mib;
    std::map<std::string, std::pair<size_t, size_t>> passes; // pass, compared
    std::map<std::string, std::pair<double, std::string>> worst;
    size_t total_under = 0;
    size_t total_compared = 0;
    std::vector<double> total_errors;
    std::pair<double, std::string> worst_total_under{0.0, ""};
    size_t ok_cells = 0;
    size_t failed_cells = 0;
    std::map<std::string, std::vector<std::string>> failures_by_model;
    std::string version;
    std::string host_cpu;
    std::string gpu_name;
    const auto t0 = posix::monotonic_now();
    std::vector<double> plan_ms;

    for (const auto& obs : *observations) {
        version = obs.value("server_version", version);
        host_cpu = obs.value("host_cpu", host_cpu);
        if (obs.contains("gpu")) {
            gpu_name = obs["gpu"].value("name", gpu_name);
        }
        json row = {{"cell", obs["cell"]},
                    {"model", obs["model"]["id"]},
                    {"architecture", obs["model"]["architecture"]},
                    {"config", obs["config"]},
                    {"status", obs["status"]}};
        if (obs["status"] != "ok") {
            ++failed_cells;
            failures_by_model[obs["model"]["id"].get<std::string>()].push_back(
                obs.value("failure", std::string("?")));
            row["failure"] = obs.value("failure", std::string());
            rows.push_back(row);
            continue;
        }
        ++ok_cells;
        const json& comps = obs["report"]["components_mib"];
        row["observed_mib"] = comps;
        if (obs.contains("gpu")) {
            row["gpu"] = obs["gpu"];
        }

        std::optional<json> plan;
        if (!planner_missing) {
            const CellConfig c = config_from_argv(obs["argv"].get<std::vector<std::string>>());
            const fs::path model = o.models_dir / obs["model"]["file"].get<std::string>();
            const auto argv = plan_argv(tools.gpumod, model, c, o.gpu, o.backend);
            row["plan_argv"] = for_the_record(argv, o.models_dir);
            const auto p0 = posix::monotonic_now();
            auto r = posix::run_command(argv, std::chrono::seconds(60));
            plan_ms.push_back(
                std::chrono::duration<double, std::milli>(posix::monotonic_now() - p0).count());
            if (!r) {
                planner_missing = r.error().message;
            } else if (r->err.find("not built yet") != std::string::npos) {
                planner_missing = "gpumod plan: not built yet";
            } else {
                try {
                    plan = json::parse(r->out);
                } catch (const json::exception&) {
                    row["plan_error"] =
                        fmt::format("{}: {}", r->status.describe(), r->err.substr(0, 500));
                }
            }
        }
        if (plan) {
            // The parts the comparison used; fallbacks and messages stay out of the record.
            row["plan"] = {{"config", plan->value("config", json::object())},
                           {"devices", plan->value("devices", json::array())},
                           {"assumptions", plan->value("assumptions", json::array())}};
            std::vector<std::string> gpus;
            for (const auto& [group, _] : comps.items()) {
                if (group != "host") {
                    gpus.push_back(group);
                }
            }
            json compared = json::object();
            double obs_total = 0.0;
            double pred_total = 0.0;
            for (const auto& [group, oc] : comps.items()) {
                const std::string dev = planner_device(group, gpus);
                json pc = json::object();
                double pred_overhead = 0.0;
                for (const auto& d : plan->value("devices", json::array())) {
                    if (d.value("name", "") == dev) {
                        pc = d.value("components", json::object());
                        pred_overhead = pc.value("runtime_overhead", 0.0) / k_mib;
                    }
                }
                json dc = json::object();
                double dev_pred = 0.0;
                for (const auto& spec : component_specs()) {
                    const double ov = sum_keys(oc, spec.sized) + sum_keys(oc, spec.computed);
                    const double pv = sum_keys(pc, spec.predicted, k_mib);
                    dev_pred += pv;
                    if (ov == 0.0 && pv == 0.0) {
                        continue;
                    }
                    const auto err = error_percent(ov, pv);
                    const bool pass = std::abs(pv - ov) <= tolerance_mib(spec, oc);
                    dc[spec.name] = {{"observed", ov},
                                     {"predicted", pv},
                                     {"pass", pass},
                                     {"error_pct", err ? json(*err) : json(nullptr)}};
                    abs_diff_mib[spec.name].push_back(std::abs(pv - ov));
                    auto& pr = passes[spec.name];
                    pr.second += 1;
                    pr.first += pass ? 1 : 0;
                    if (err) {
                        abs_errors[spec.name].push_back(std::abs(*err));
                        auto& w = worst[spec.name];
                        if (std::abs(*err) >= std::abs(w.first)) {
                            w = {*err, obs["cell"].get<std::string>()};
                        }
                    }
                }
                const double ov_total = oc.value("total", 0.0);
                dc["buffers_total"] = {{"observed", ov_total},
                                       {"predicted", dev_pred},
                                       {"runtime_overhead_predicted", pred_overhead}};
                obs_total += ov_total;
                pred_total += dev_pred;
                compared[dev] = dc;
            }
            const auto err = error_percent(obs_total, pred_total);
            const bool under = pred_total < obs_total * 0.99 - 0.005;
            ++total_compared;
            total_under += under ? 1 : 0;
            if (err) {
                total_errors.push_back(*err);
                if (*err < worst_total_under.first) {
                    worst_total_under = {*err, obs["cell"].get<std::string>()};
                }
            }
            row["compared"] = compared;
            row["total"] = {{"observed", obs_total},
                            {"predicted", pred_total},
                            {"error_pct", err ? json(*err) : json(nullptr)},
                            {"pass", !under}};
            // On a GPU, nvidia-smi's device delta is the real total: buffers plus whatever the
            // backend and driver reserve beyond them (the plan's runtime_overhead).
            if (obs.contains("gpu") && obs["gpu"].value("used_during_mib", json()).is_number() &&
                obs["gpu"].value("used_before_mib", json()).is_number()) {
                const double delta = obs["gpu"]["used_during_mib"].get<double>() -
                                     obs["gpu"]["used_before_mib"].get<double>();
                double gpu_buffers = 0.0;
                for (const auto& [group, oc] : comps.items()) {
                    if (group != "host") {
                        gpu_buffers += oc.value("total", 0.0);
                    }
                }
                double pred_gpu_total = 0.0;
                double pred_gpu_overhead = 0.0;
                for (const auto& d : plan->value("devices", json::array())) {
                    if (d.value("kind", "") == "gpu") {
                        pred_gpu_total += d.value("total", 0.0) / k_mib;
                        pred_gpu_overhead +=
                            d.value("components", json::object()).value("runtime_overhead", 0.0) /
                            k_mib;
                    }
                }
                row["nvidia_smi"] = {{"device_delta_mib", delta},
                                     {"gpu_buffers_mib", gpu_buffers},
                                     {"beyond_buffers_mib", delta - gpu_buffers},
                                     {"predicted_gpu_total_mib", pred_gpu_total},
                                     {"predicted_runtime_overhead_mib", pred_gpu_overhead}};
            }
        }
        rows.push_back(row);
    }
    const double compare_s = std::chrono::duration<double>(posix::monotonic_now() - t0).count();

    // ---- results.json
    json summary = json::object();
    for (const auto& spec : component_specs()) {
        if (!passes.contains(spec.name)) {
            continue;
        }
        summary[spec.name] = {{"compared", passes[spec.name].second},
                              {"pass", passes[spec.name].first},
                              {"median_abs_error_pct", median(abs_errors[spec.name])},
                              {"median_abs_diff_mib", median(abs_diff_mib[spec.name])},
                              {"worst_error_pct", worst[spec.name].first},
                              {"worst_cell", worst[spec.name].second}};
    }
    if (total_compared > 0) {
        summary["total"] = {{"compared", total_compared},
                            {"under_predicted_by_more_than_1pct", total_under},
                            {"median_error_pct", median(total_errors)},
                            {"most_negative_error_pct", worst_total_under.first},
                            {"most_negative_cell", worst_total_under.second}};
    }
    json results = {{"server_version", version},
                    {"host_cpu", host_cpu},
                    {"observations", o.observations.filename().string()},
                    {"cells_ok", ok_cells},
                    {"cells_failed", failed_cells},
                    {"planner", planner_missing ? json(*planner_missing) : json("gpumod plan")},
                    {"summary", summary},
                    {"rows", rows}};
    if (!gpu_name.empty()) {
        results["gpu"] = gpu_name;
    }
    std::error_code ec;
    fs::create_directories(o.out_dir, ec);
    const fs::path json_path = o.out_dir / (o.prefix + ".json");
    {
        const std::string text = results.dump(1) + "\n";
        auto s = posix::write_file_atomically(
            json_path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
            posix::ExistingFile::replace);
        if (!s) {
            std::cerr << "plan_accuracy: " << s.error().message << '\n';
            return k_exit_failure;
        }
    }

    // ---- results.md
    std::string md;
    md += fmt::format("# Plan accuracy: {}\n\n", o.title);
    md += fmt::format("Generated by `plan_accuracy compare` (bench/README.md). "
                      "llama-server `{}`; host CPU {}{}.\n\n",
                      version, host_cpu, gpu_name.empty() ? "" : "; GPU " + gpu_name);
    md += fmt::format("Cells: {} ran ({} healthy, {} failed to start). ", ok_cells + failed_cells,
                      ok_cells, failed_cells);
    md += "Observed values are llama-server's own buffer report (`-lv 4`), in MiB as printed; "
          "predicted values are `gpumod plan --fit off --json` for the same flags.\n\n";
    md += "Targets: weights, KV cache, recurrent state and output buffer within max(1%, 1 MiB); "
          "compute buffers within 10%; the MTP context (draft KV + compute + output, one line "
          "in the plan) within max(1%, 1 MiB) of its KV plus 10% of the rest; the total of the "
          "buffers never under-predicted by more than 1%. (0.005 MiB is allowed on top for the "
          "two-decimal printing.)\n\n";
    if (planner_missing) {
        md += fmt::format("**No predictions yet**: {}. The tables show the measurements "
                          "only; rerun `bench/plan-accuracy/run --compare-only` once the "
                          "planner is built.\n\n",
                          *planner_missing);
    } else if (total_compared > 0) {
        md += "## Summary\n\n| component | compared | pass | median abs error | median abs "
              "difference | worst error (cell) |\n|---|---:|---:|---:|---:|---|\n";
        for (const auto& spec : component_specs()) {
            if (!passes.contains(spec.name)) {
                continue;
            }
            md += fmt::format("| {} | {} | {} | {:.2f}% | {:.2f} MiB | {:+.1f}% ({}) |\n",
                              spec.name, passes[spec.name].second, passes[spec.name].first,
                              median(abs_errors[spec.name]), median(abs_diff_mib[spec.name]),
                              worst[spec.name].first, worst[spec.name].second);
        }
        md += fmt::format("| total (buffers) | {} | {} not under-predicted by >1% | median "
                          "{:+.2f}% | | most under {:+.1f}% ({}) |\n\n",
                          total_compared, total_compared - total_under, median(total_errors),
                          worst_total_under.first,
                          worst_total_under.second.empty() ? "-" : worst_total_under.second);
        md += fmt::format("Planner time: median {:.1f} ms per `gpumod plan` process "
                          "(whole compare step {:.1f} s).\n\n",
                          median(plan_ms), compare_s);
    }

    md += "## Per cell\n\nEach component cell: observed MiB, or observed / predicted "
          "(error) with ✓/✗ against its target. Devices: `host` = CPU buffers (CPU, "
          "CPU_Mapped, CPU_REPACK, *_Host).\n\n";
    md += "| cell | arch | device | weights | KV | RS | compute | output | MTP context | total "
          "|\n|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto& row : rows) {
        if (row["status"] != "ok") {
            continue;
        }
        for (const auto& [group, oc] : row["observed_mib"].items()) {
            std::vector<std::string> cols;
            const json* dc = nullptr;
            if (row.contains("compared")) {
                std::vector<std::string> gpus;
                for (const auto& [g, _] : row["observed_mib"].items()) {
                    if (g != "host") {
                        gpus.push_back(g);
                    }
                }
                const std::string dev = planner_device(group, gpus);
                dc = row["compared"].contains(dev) ? &row["compared"][dev] : nullptr;
            }
            for (const auto& spec : component_specs()) {
                const double ov = sum_keys(oc, spec.sized) + sum_keys(oc, spec.computed);
                if (dc && dc->contains(spec.name)) {
                    const auto& c = (*dc)[spec.name];
                    const auto e = c["error_pct"].is_null()
                                       ? std::optional<double>()
                                       : std::optional<double>(c["error_pct"].get<double>());
                    cols.push_back(fmt::format("{} / {} ({}) {}", fmt_mib(ov),
                                               fmt_mib(c["predicted"].get<double>()), fmt_err(e),
                                               c["pass"].get<bool>() ? "✓" : "✗"));
                } else {
                    cols.push_back(ov == 0.0 ? "-" : fmt_mib(ov));
                }
            }
            std::string total = fmt_mib(oc.value("total", 0.0));
            if (dc && dc->contains("buffers_total")) {
                const double pt = (*dc)["buffers_total"]["predicted"].get<double>();
                const double ot = oc.value("total", 0.0);
                total += fmt::format(" / {} ({}) {}", fmt_mib(pt), fmt_err(error_percent(ot, pt)),
                                     pt >= ot * 0.99 - 0.005 ? "✓" : "✗");
            }
            md += fmt::format("| `{}` | {} | {} | {} | {} |\n", row["cell"].get<std::string>(),
                              row["architecture"].get<std::string>(), group, join(cols, " | "),
                              total);
        }
    }
    bool any_smi = false;
    for (const auto& row : rows) {
        any_smi = any_smi || row.contains("nvidia_smi");
    }
    if (any_smi) {
        md += "\n## GPU memory seen by nvidia-smi\n\nDevice memory used while the server was "
              "healthy minus before it started (whole device, MiB), against the GPU buffers "
              "llama-server printed and the plan's GPU total (buffers + runtime_overhead).\n\n"
              "| cell | nvidia-smi delta | GPU buffers | beyond buffers | predicted GPU total "
              "(overhead) | error vs nvidia-smi |\n|---|---:|---:|---:|---:|---:|\n";
        for (const auto& row : rows) {
            if (!row.contains("nvidia_smi")) {
                continue;
            }
            const auto& n = row["nvidia_smi"];
            const double delta = n["device_delta_mib"].get<double>();
            const double pred = n["predicted_gpu_total_mib"].get<double>();
            md += fmt::format("| `{}` | {:.0f} | {} | {:.0f} | {} ({}) | {} |\n",
                              row["cell"].get<std::string>(), delta,
                              fmt_mib(n["gpu_buffers_mib"].get<double>()),
                              n["beyond_buffers_mib"].get<double>(), fmt_mib(pred),
                              fmt_mib(n["predicted_runtime_overhead_mib"].get<double>()),
                              fmt_err(error_percent(delta, pred)));
        }
    }
    if (failed_cells > 0) {
        md += "\n## Cells llama-server refused\n\nThese are measurements too: the planner "
              "should predict the refusal (or at least not a success).\n\n| cell | reason "
              "|\n|---|---|\n";
        for (const auto& row : rows) {
            if (row["status"] == "ok") {
                continue;
            }
            std::string reason = row.value("failure", std::string());
            std::replace(reason.begin(), reason.end(), '|', '/');
            md += fmt::format("| `{}` | {} |\n", row["cell"].get<std::string>(), reason);
        }
    }
    const fs::path md_path = o.out_dir / (o.prefix + ".md");
    auto s = posix::write_file_atomically(
        md_path, std::span(reinterpret_cast<const uint8_t*>(md.data()), md.size()),
        posix::ExistingFile::replace);
    if (!s) {
        std::cerr << "plan_accuracy: " << s.error().message << '\n';
        return k_exit_failure;
    }
    std::cerr << fmt::format("compared {} healthy cells ({} failed) in {:.1f} s{}; wrote {} and "
                             "{}\n",
                             ok_cells, failed_cells, compare_s,
                             planner_missing ? " without predictions (" + *planner_missing + ")"
                                             : "",
                             md_path.string(), json_path.string());
    return k_exit_ok;
}

// ---------------------------------------------------------------------------------------
// GPU runner output -> observations

/// Reads <dir>/cells.jsonl written by bench/plan-accuracy/gpu/run-on-device and the logs
/// beside it; writes observations in the same schema as `measure`, plus the nvidia-smi data.
int cmd_ingest(const fs::path& dir, const fs::path& out_path)
{
    auto cells = read_jsonl(dir / "cells.jsonl");
    if (!cells) {
        std::cerr << "plan_accuracy: " << cells.error().message << '\n';
        return k_exit_failure;
    }
    std::string text;
    size_t n = 0;
    for (const auto& c : *cells) {
        const auto argv = c.value("argv", std::vector<std::string>());
        const CellConfig config = config_from_argv(argv);
        const ParsedLog log = parse_llama_log(read_text(dir / c.value("log", std::string())));
        const bool healthy = c.value("healthy", false);
        json obs = {{"cell", c.value("id", std::string())},
                    {"model",
                     {{"id", c.value("model_id", std::string())},
                      {"source", c.value("model_source", std::string())},
                      {"file", c.value("model_file", std::string())},
                      {"architecture", c.value("architecture", std::string())},
                      {"bytes", c.value("model_bytes", uint64_t{0})}}},
                    {"config", config_json(config)},
                    {"server_version", c.value("server_version", std::string())},
                    {"backend", c.value("backend", std::string("vulkan"))},
                    {"host_cpu", c.value("host_cpu", std::string())},
                    {"argv", argv},
                    {"status", healthy ? "ok" : "failed"},
                    {"startup_ms", c.value("startup_ms", int64_t{-1})},
                    {"log", c.value("log", std::string())},
                    {"gpu", c.value("gpu", json::object())},
                    {"report", parsed_log_json(log)}};
        if (!healthy) {
            obs["failure"] = failure_reason(log, c.value("exit", std::string("did not start")));
        }
        text += obs.dump() + "\n";
        ++n;
    }
    auto s = posix::write_file_atomically(
        out_path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
        posix::ExistingFile::replace);
    if (!s) {
        std::cerr << "plan_accuracy: " << s.error().message << '\n';
        return k_exit_failure;
    }
    std::cerr << fmt::format("wrote {} observations to {}\n", n, out_path.string());
    return k_exit_ok;
}

int cmd_make_model(const std::string& name, const fs::path& out)
{
    auto shape = big_model_shape(name);
    if (!shape) {
        std::cerr << fmt::format("plan_accuracy: {} (known: {})\n", shape.error().message,
                                 join(big_model_names(), ", "));
        return k_exit_usage;
    }
    auto model = make_big_model(*shape);
    if (!model) {
        std::cerr << "plan_accuracy: " << model.error().message << '\n';
        return k_exit_failure;
    }
    auto bytes = gguf::write_gguf(*model);
    if (!bytes) {
        std::cerr << "plan_accuracy: " << bytes.error().message << '\n';
        return k_exit_failure;
    }
    if (auto s = posix::write_file_atomically(out, *bytes, posix::ExistingFile::replace); !s) {
        std::cerr << "plan_accuracy: " << s.error().message << '\n';
        return k_exit_failure;
    }
    std::cout << fmt::format("wrote {}: {} ({}), {} bytes, {} tensors\n", out.string(), name,
                             shape->architecture, bytes->size(), model->tensors.size());
    return k_exit_ok;
}

int run(int argc, char** argv)
{
    CLI::App cli{"plan_accuracy: llama-server's reported memory vs gpumod plan"};
    cli.require_subcommand(1);
    std::optional<fs::path> server;
    std::optional<fs::path> tla;
    std::optional<fs::path> gpumod;
    cli.add_option("--server", server, "llama-server (default: GPUMOD_LLAMA_SERVER, PATH, cache)");
    cli.add_option("--test-llama-archs", tla,
                   "test-llama-archs (default: GPUMOD_TEST_LLAMA_ARCHS, else beside llama-server)");
    cli.add_option("--gpumod", gpumod, "gpumod binary (default: gpumod on PATH)");

    MeasureOptions measure;
    auto* m = cli.add_subcommand("measure", "generate models, run the matrix, write observations");
    m->add_option("--work", measure.work_dir, "models and logs go here")->required();
    m->add_option("--out", measure.out_dir, "observations.jsonl goes here")->required();
    m->add_option("--filter", measure.filter, "regex on model ids (ours-*, tla-*, big-*)");
    m->add_option("--ngl", measure.ngl, "-ngl for every cell")->capture_default_str();
    m->add_flag("!--no-big", measure.with_big, "skip the big models");
    m->add_option("--big", measure.big_names, "big model shapes to use")->capture_default_str();
    m->add_flag("--regenerate", measure.regenerate, "rewrite models even when present");
    m->add_flag("--append", measure.append, "append to observations.jsonl instead of replacing it");
    m->add_flag("--list", measure.list_only, "print the cells and stop");

    CompareOptions compare;
    auto* c = cli.add_subcommand("compare", "run gpumod plan per observation, write results");
    c->add_option("--observations", compare.observations)->required();
    c->add_option("--models", compare.models_dir, "where the observed models are")->required();
    c->add_option("--out", compare.out_dir, "results.md / results.json go here")->required();
    c->add_option("--prefix", compare.prefix, "file name stem")->capture_default_str();
    c->add_option("--gpu", compare.gpu, "passed to gpumod plan --gpu");
    c->add_option("--backend", compare.backend, "passed to gpumod plan --backend (cuda, vulkan)");
    c->add_option("--title", compare.title, "heading of results.md")->capture_default_str();

    fs::path ingest_dir;
    fs::path ingest_out;
    auto* ing = cli.add_subcommand("ingest", "GPU runner output -> observations");
    ing->add_option("dir", ingest_dir, "folder with cells.jsonl and logs/")->required();
    ing->add_option("out", ingest_out, "observations file to write")->required();

    fs::path log_file;
    auto* pl = cli.add_subcommand("parse-log", "print what the parser reads from a server log");
    pl->add_option("log", log_file)->required();

    std::string model_name;
    fs::path model_out;
    auto* mm = cli.add_subcommand("make-model", "write one of the big models");
    mm->add_option("name", model_name, join(big_model_names(), ", "))->required();
    mm->add_option("out", model_out)->required();

    try {
        cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return cli.exit(e);
    }
    if (pl->parsed()) {
        std::cout << parsed_log_json(parse_llama_log(read_text(log_file))).dump(2) << '\n';
        return k_exit_ok;
    }
    if (mm->parsed()) {
        return cmd_make_model(model_name, model_out);
    }
    if (ing->parsed()) {
        return cmd_ingest(ingest_dir, ingest_out);
    }
    auto tools = find_tools(server, tla, gpumod);
    if (!tools) {
        std::cerr << "plan_accuracy: " << tools.error().message << '\n';
        return k_exit_failure;
    }
    if (m->parsed()) {
        return cmd_measure(measure, *tools);
    }
    return cmd_compare(compare, *tools);
}

} // namespace
} // namespace gpumod::bench

int main(int argc, char** argv)
{
    return gpumod::bench::run(argc, argv);
}
