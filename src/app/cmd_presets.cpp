#include "app/cmd_presets.hpp"

#include <map>
#include <ostream>
#include <set>
#include <span>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/llama/llama_server_locator.hpp"
#include "adapters/posix/atomic_file.hpp"
#include "adapters/posix/environment.hpp"
#include "app/exit_codes.hpp"
#include "core/paths/xdg_paths.hpp"
#include "core/report/text_table.hpp"

namespace gpumod::app {
namespace fs = std::filesystem;
using config::Catalog;
using config::ConfigProblem;
using config::Mode;
using config::Preset;

namespace {

template <typename T> nlohmann::json optional_json(const std::optional<T>& value)
{
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json optional_path(const std::optional<fs::path>& value)
{
    return value ? nlohmann::json(value->string()) : nlohmann::json(nullptr);
}

nlohmann::json problem_json(const ConfigProblem& problem)
{
    return {{"file", problem.file.string()},
            {"line", problem.position.line},
            {"column", problem.position.column},
            {"message", problem.message}};
}

nlohmann::json problems_json(const std::vector<ConfigProblem>& problems)
{
    auto array = nlohmann::json::array();
    for (const auto& problem : problems) {
        array.push_back(problem_json(problem));
    }
    return array;
}

nlohmann::json preset_json(const Preset& p)
{
    const auto& l = p.llamacpp;
    nlohmann::json j{
        {"id", p.id},
        {"name", p.name},
        {"driver", std::string(config::driver_name(p.driver))},
        {"host", p.host},
        {"port", p.port == 0 ? nlohmann::json(nullptr) : nlohmann::json(p.port)},
        {"model_path", optional_path(p.model_path)},
        {"env", p.env},
        {"startup_timeout_s", p.startup_timeout_s},
        {"health_path", optional_json(p.health_path)},
        {"vram_budget_mb", optional_json(p.vram_budget_mb)},
        {"source_file", p.source_file.string()},
    };
    switch (p.driver) {
    case ServiceDriver::llamacpp:
        j["llamacpp"] = {
            {"ctx", optional_json(l.ctx)},
            {"parallel", optional_json(l.parallel)},
            {"cache_type_k", optional_json(l.cache_type_k)},
            {"cache_type_v", optional_json(l.cache_type_v)},
            {"flash_attn", l.flash_attn ? nlohmann::json(std::string(config::flash_attn_name(*l.flash_attn)))
                                        : nlohmann::json(nullptr)},
            {"n_gpu_layers", l.n_gpu_layers ? nlohmann::json(config::gpu_layers_text(*l.n_gpu_layers))
                                            : nlohmann::json(nullptr)},
            {"n_cpu_moe", optional_json(l.n_cpu_moe)},
            {"speculative",
             {{"type", optional_json(l.speculative.type)},
              {"n_max", optional_json(l.speculative.n_max)},
              {"draft_model", optional_path(l.speculative.draft_model)}}},
            {"mmproj", optional_path(l.mmproj)},
            {"chat_template_kwargs", l.chat_template_kwargs
                                         ? nlohmann::json::parse(*l.chat_template_kwargs)
                                         : nlohmann::json(nullptr)},
            {"reasoning_budget", optional_json(l.reasoning_budget)},
            {"threads", optional_json(l.threads)},
            {"extra_args", l.extra_args},
        };
        break;
    case ServiceDriver::vllm:
        j["vllm"] = {
            {"model", p.vllm.model},
            {"gpu_memory_utilization", optional_json(p.vllm.gpu_memory_utilization)},
            {"max_model_len", optional_json(p.vllm.max_model_len)},
            {"max_num_seqs", optional_json(p.vllm.max_num_seqs)},
            {"tensor_parallel_size", optional_json(p.vllm.tensor_parallel_size)},
            {"dtype", optional_json(p.vllm.dtype)},
            {"enforce_eager", p.vllm.enforce_eager},
            {"enable_sleep_mode", p.vllm.enable_sleep_mode},
            {"extra_args", p.vllm.extra_args},
        };
        break;
    case ServiceDriver::command:
        j["command"] = {{"argv", p.command.argv}};
        break;
    }
    return j;
}

nlohmann::json mode_json(const Mode& m)
{
    return {{"id", m.id},
            {"name", m.name},
            {"description", m.description},
            {"services", m.services},
            {"source_file", m.source_file.string()}};
}

// "user", "bundled" or the directory, for the SOURCE column.
std::string origin(const fs::path& file, const ConfigLocation& location)
{
    const auto dir = file.parent_path();
    if (dir.parent_path() == location.user_dir) {
        return "user";
    }
    if (location.bundled && dir.parent_path() == location.bundled->path) {
        return "bundled";
    }
    return dir.string();
}

void print_problems(const std::vector<ConfigProblem>& problems, std::ostream& err)
{
    for (const auto& problem : problems) {
        err << problem.format() << '\n';
    }
}

std::string shell_line(const ServiceSpec& spec)
{
    std::vector<std::string> words;
    for (const auto& [name, value] : spec.env) {
        words.push_back(name + "=" + value);
    }
    auto line = config::format_command_line(words);
    const auto command = config::format_command_line(spec.argv);
    return line.empty() ? command : line + " " + command;
}

struct Loaded
{
    ConfigLocation location;
    Catalog catalog;
};

// Loads the catalog or explains on `err` why it cannot (exit code in `code`).
std::optional<Loaded> load(std::ostream& err, int& code)
{
    auto location = locate_config();
    if (!location) {
        err << "gpumod: " << location.error().message << '\n';
        code = k_exit_environment;
        return std::nullopt;
    }
    auto catalog = config::load_catalog(location->dirs, config::process_environment());
    return Loaded{std::move(*location), std::move(catalog)};
}

int not_found(const std::string& kind, const std::string& id, const Catalog& catalog, std::ostream& err)
{
    std::vector<std::string> ids;
    if (kind == "preset") {
        for (const auto& p : catalog.presets) {
            ids.push_back(p.id);
        }
    } else {
        for (const auto& m : catalog.modes) {
            ids.push_back(m.id);
        }
    }
    err << fmt::format("gpumod: no {} '{}'", kind, id);
    if (auto guess = config::closest_match(id, ids)) {
        err << fmt::format(" (did you mean '{}'?)", *guess);
    }
    err << fmt::format("; see 'gpumod {} list'\n", kind);
    if (!catalog.problems.empty()) {
        err << "Some configuration files could not be read:\n";
        print_problems(catalog.problems, err);
    }
    return k_exit_failure;
}

// Checks the given preset files on their own and against each other.
// With `same_dir_only`, an id in two directories is shadowing (user over bundled), not a
// duplicate.
std::vector<ConfigProblem> validate_preset_files(const std::vector<fs::path>& files,
                                                 const config::EnvMap& env, bool same_dir_only,
                                                 std::vector<Preset>& valid)
{
    std::vector<ConfigProblem> problems;
    std::map<std::pair<std::string, fs::path>, const Preset*> ids;
    for (const auto& file : files) {
        auto preset = config::load_preset_file(file, env);
        if (!preset) {
            problems.insert(problems.end(), preset.error().begin(), preset.error().end());
            continue;
        }
        auto missing = config::check_model_files(*preset);
        problems.insert(problems.end(), missing.begin(), missing.end());
        valid.push_back(std::move(*preset));
    }
    for (const auto& preset : valid) {
        const auto dir = same_dir_only ? preset.source_file.parent_path() : fs::path();
        const auto [it, inserted] = ids.emplace(std::pair{preset.id, dir}, &preset);
        if (!inserted) {
            problems.push_back(ConfigProblem{
                preset.source_file, preset.position_of("id"),
                fmt::format("duplicate preset id '{}': also defined in {}:{}", preset.id,
                            it->second->source_file.string(), it->second->position_of("id").line)});
        }
    }
    return problems;
}

int report_validation(const GlobalOptions& global, const std::string& kind,
                      const std::vector<fs::path>& files, const std::vector<ConfigProblem>& problems,
                      std::ostream& out, std::ostream& err)
{
    std::set<fs::path> bad_files;
    for (const auto& problem : problems) {
        bad_files.insert(problem.file);
    }
    if (global.json) {
        auto checked = nlohmann::json::array();
        for (const auto& file : files) {
            checked.push_back(file.string());
        }
        out << nlohmann::json{{"ok", problems.empty()}, {"files", checked},
                              {"problems", problems_json(problems)}}
                   .dump(2)
            << '\n';
    } else {
        print_problems(problems, err);
        if (problems.empty()) {
            out << fmt::format("{} {} file{} valid\n", files.size(), kind, files.size() == 1 ? "" : "s");
        } else {
            out << fmt::format("{} problem{} in {} of {} {} file{}\n", problems.size(),
                               problems.size() == 1 ? "" : "s", bad_files.size(), files.size(), kind,
                               files.size() == 1 ? "" : "s");
        }
    }
    return problems.empty() ? k_exit_ok : k_exit_failure;
}

// Files to validate: the given paths, or every file in `dirs`.
std::optional<std::vector<fs::path>> files_to_check(const std::vector<fs::path>& paths,
                                                    const std::vector<fs::path>& dirs,
                                                    std::vector<ConfigProblem>& problems)
{
    std::vector<fs::path> wanted = paths;
    if (wanted.empty()) {
        for (const auto& dir : dirs) {
            std::error_code ec;
            if (fs::is_directory(dir, ec)) {
                wanted.push_back(dir);
            }
        }
    }
    auto files = config::expand_config_paths(wanted);
    if (!files) {
        problems.insert(problems.end(), files.error().begin(), files.error().end());
        return std::nullopt;
    }
    return *files;
}

} // namespace

Result<ConfigLocation> locate_config()
{
    auto user_dir = resolve_config_dir(posix::path_environment());
    if (!user_dir) {
        return tl::unexpected(user_dir.error());
    }
    auto bundled = config::find_bundled_dir(posix::get_env("GPUMOD_DATA_DIR"), config::current_executable());
    if (!bundled) {
        return tl::unexpected(bundled.error());
    }
    ConfigLocation location{*user_dir, *bundled, {}};
    for (const char* kind : {"presets", "modes"}) {
        auto& dirs = std::string(kind) == "presets" ? location.dirs.preset_dirs : location.dirs.mode_dirs;
        dirs.push_back(*user_dir / kind);
        if (location.bundled) {
            dirs.push_back(location.bundled->path / kind);
        }
    }
    return location;
}

Result<Catalog> load_config_catalog()
{
    auto location = locate_config();
    if (!location) {
        return tl::unexpected(location.error());
    }
    return config::load_catalog(location->dirs, config::process_environment());
}

config::RenderPrograms render_programs()
{
    config::RenderPrograms programs;
    if (auto found = llama::find_llama_server(llama::llama_server_search_from_environment())) {
        programs.llama_server = found->first.string();
    }
    return programs;
}

int cmd_preset_list(const GlobalOptions& global, std::ostream& out, std::ostream& err)
{
    int code = k_exit_ok;
    auto loaded = load(err, code);
    if (!loaded) {
        return code;
    }
    const auto& catalog = loaded->catalog;
    if (global.json) {
        auto presets = nlohmann::json::array();
        for (const auto& preset : catalog.presets) {
            presets.push_back(preset_json(preset));
        }
        out << nlohmann::json{{"presets", presets}, {"problems", problems_json(catalog.problems)}}.dump(2)
            << '\n';
    } else {
        TextTable table;
        table.add_column("ID");
        table.add_column("DRIVER");
        table.add_column("PORT", Align::right);
        table.add_column("CTX", Align::right);
        table.add_column("MODEL");
        table.add_column("SOURCE");
        for (const auto& p : catalog.presets) {
            std::string model = p.model_path ? p.model_path->filename().string() : p.vllm.model;
            table.add_row({p.id, std::string(config::driver_name(p.driver)),
                           p.port == 0 ? "-" : std::to_string(p.port),
                           p.llamacpp.ctx ? std::to_string(*p.llamacpp.ctx) : "-", model,
                           origin(p.source_file, loaded->location)});
        }
        if (catalog.presets.empty()) {
            out << "no presets found (searched: ";
            for (std::size_t i = 0; i < loaded->location.dirs.preset_dirs.size(); ++i) {
                out << (i == 0 ? "" : ", ") << loaded->location.dirs.preset_dirs[i].string();
            }
            out << ")\n";
        } else {
            out << table.render();
        }
        print_problems(catalog.problems, err);
    }
    return catalog.problems.empty() ? k_exit_ok : k_exit_failure;
}

int cmd_preset_show(const GlobalOptions& global, const std::string& id, std::ostream& out,
                    std::ostream& err)
{
    int code = k_exit_ok;
    auto loaded = load(err, code);
    if (!loaded) {
        return code;
    }
    const Preset* preset = loaded->catalog.find_preset(id);
    if (preset == nullptr) {
        return not_found("preset", id, loaded->catalog, err);
    }
    const auto spec = config::to_service_spec(*preset, render_programs());
    const auto missing = config::check_model_files(*preset);
    if (global.json) {
        auto j = preset_json(*preset);
        j["argv"] = spec.argv;
        j["effective_env"] = spec.env;
        j["effective_health_path"] = spec.health_path;
        j["problems"] = problems_json(missing);
        out << j.dump(2) << '\n';
        return k_exit_ok;
    }
    // Only the keys the file set, plus the derived command, so the output reads like the file.
    const auto row = [&](const std::string& key, const std::string& value) {
        out << fmt::format("{:<22} {}\n", key + ":", value);
    };
    row("id", preset->id);
    row("name", preset->name);
    row("driver", std::string(config::driver_name(preset->driver)));
    row("listen", fmt::format("{}:{}", preset->host, preset->port));
    if (preset->model_path) {
        row("model_path", preset->model_path->string());
    }
    const auto j = preset_json(*preset);
    for (const char* section : {"llamacpp", "vllm"}) {
        if (!j.contains(section)) {
            continue;
        }
        for (const auto& [key, value] : j.at(section).items()) {
            if (key == "speculative") {
                for (const auto& [sub, subvalue] : value.items()) {
                    if (!subvalue.is_null()) {
                        row("speculative." + sub,
                            subvalue.is_string() ? subvalue.get<std::string>() : subvalue.dump());
                    }
                }
            } else if (!value.is_null() && !(value.is_array() && value.empty()) &&
                       !(value.is_boolean() && !value.get<bool>())) {
                row(key, value.is_string() ? value.get<std::string>() : value.dump());
            }
        }
    }
    for (const auto& [name, value] : preset->env) {
        row("env." + name, value);
    }
    row("health", spec.health_path.empty() ? "none (ready once started)" : spec.health_path);
    row("startup_timeout_s", std::to_string(preset->startup_timeout_s));
    if (preset->vram_budget_mb) {
        row("vram_budget_mb", std::to_string(*preset->vram_budget_mb));
    }
    row("file", preset->source_file.string());
    out << "\ncommand:\n  " << shell_line(spec) << '\n';
    if (!missing.empty()) {
        err << "\n";
        print_problems(missing, err);
    }
    return k_exit_ok;
}

int cmd_preset_cmd(const GlobalOptions& global, const std::string& id, std::ostream& out,
                   std::ostream& err)
{
    int code = k_exit_ok;
    auto loaded = load(err, code);
    if (!loaded) {
        return code;
    }
    const Preset* preset = loaded->catalog.find_preset(id);
    if (preset == nullptr) {
        return not_found("preset", id, loaded->catalog, err);
    }
    const auto spec = config::to_service_spec(*preset, render_programs());
    if (global.json) {
        out << nlohmann::json{{"id", spec.id}, {"argv", spec.argv}, {"env", spec.env}}.dump(2) << '\n';
    } else {
        out << shell_line(spec) << '\n';
    }
    return k_exit_ok;
}

int cmd_preset_validate(const GlobalOptions& global, const std::vector<fs::path>& paths,
                        std::ostream& out, std::ostream& err)
{
    std::vector<fs::path> dirs;
    if (paths.empty()) {
        auto location = locate_config();
        if (!location) {
            err << "gpumod: " << location.error().message << '\n';
            return k_exit_environment;
        }
        dirs = location->dirs.preset_dirs;
    }
    std::vector<ConfigProblem> problems;
    auto files = files_to_check(paths, dirs, problems);
    std::vector<Preset> valid;
    if (files) {
        auto found = validate_preset_files(*files, config::process_environment(), paths.empty(), valid);
        problems.insert(problems.end(), found.begin(), found.end());
    }
    return report_validation(global, "preset", files.value_or(std::vector<fs::path>{}), problems, out, err);
}

int cmd_mode_list(const GlobalOptions& global, std::ostream& out, std::ostream& err)
{
    int code = k_exit_ok;
    auto loaded = load(err, code);
    if (!loaded) {
        return code;
    }
    const auto& catalog = loaded->catalog;
    if (global.json) {
        auto modes = nlohmann::json::array();
        for (const auto& mode : catalog.modes) {
            modes.push_back(mode_json(mode));
        }
        out << nlohmann::json{{"modes", modes}, {"problems", problems_json(catalog.problems)}}.dump(2)
            << '\n';
    } else {
        TextTable table;
        table.add_column("ID");
        table.add_column("SERVICES");
        table.add_column("SOURCE");
        table.add_column("DESCRIPTION");
        for (const auto& m : catalog.modes) {
            table.add_row({m.id, m.services.empty() ? "(none)" : fmt::format("{}", fmt::join(m.services, ", ")),
                           origin(m.source_file, loaded->location), m.description});
        }
        if (catalog.modes.empty()) {
            out << "no modes found\n";
        } else {
            out << table.render();
        }
        print_problems(catalog.problems, err);
    }
    return catalog.problems.empty() ? k_exit_ok : k_exit_failure;
}

int cmd_mode_show(const GlobalOptions& global, const std::string& id, std::ostream& out,
                  std::ostream& err)
{
    int code = k_exit_ok;
    auto loaded = load(err, code);
    if (!loaded) {
        return code;
    }
    const Mode* mode = loaded->catalog.find_mode(id);
    if (mode == nullptr) {
        return not_found("mode", id, loaded->catalog, err);
    }
    if (global.json) {
        auto j = mode_json(*mode);
        auto services = nlohmann::json::array();
        for (const auto& service : mode->services) {
            services.push_back(preset_json(*loaded->catalog.find_preset(service)));
        }
        j["service_presets"] = services;
        out << j.dump(2) << '\n';
        return k_exit_ok;
    }
    out << fmt::format("{} — {}\n", mode->id, mode->name);
    if (!mode->description.empty()) {
        out << mode->description << '\n';
    }
    out << "file: " << mode->source_file.string() << "\n\n";
    if (mode->services.empty()) {
        out << "no services (starting this mode stops every service)\n";
        return k_exit_ok;
    }
    TextTable table;
    table.add_column("#", Align::right);
    table.add_column("SERVICE");
    table.add_column("DRIVER");
    table.add_column("PORT", Align::right);
    table.add_column("MODEL");
    for (std::size_t i = 0; i < mode->services.size(); ++i) {
        // validate_mode guaranteed every service exists in the catalog.
        const Preset& p = *loaded->catalog.find_preset(mode->services[i]);
        table.add_row({std::to_string(i + 1), p.id, std::string(config::driver_name(p.driver)),
                       p.port == 0 ? "-" : std::to_string(p.port),
                       p.model_path ? p.model_path->string() : p.vllm.model});
    }
    out << table.render();
    return k_exit_ok;
}

int cmd_mode_validate(const GlobalOptions& global, const std::vector<fs::path>& paths,
                      std::ostream& out, std::ostream& err)
{
    auto location = locate_config();
    if (!location) {
        err << "gpumod: " << location.error().message << '\n';
        return k_exit_environment;
    }
    const auto presets = config::load_catalog({location->dirs.preset_dirs, {}}, config::process_environment());
    std::map<std::string, const Preset*> by_id;
    for (const auto& preset : presets.presets) {
        by_id.emplace(preset.id, &preset);
    }
    std::vector<ConfigProblem> problems;
    auto files = files_to_check(paths, paths.empty() ? location->dirs.mode_dirs : std::vector<fs::path>{},
                                problems);
    std::map<std::string, fs::path> ids;
    for (const auto& file : files.value_or(std::vector<fs::path>{})) {
        auto mode = config::load_mode_file(file);
        if (!mode) {
            problems.insert(problems.end(), mode.error().begin(), mode.error().end());
            continue;
        }
        auto found = config::validate_mode(*mode, by_id);
        problems.insert(problems.end(), found.begin(), found.end());
        const auto [it, inserted] = ids.emplace(mode->id, file);
        if (!inserted && it->second.parent_path() == file.parent_path()) {
            problems.push_back(ConfigProblem{file, mode->position_of("id"),
                                             fmt::format("duplicate mode id '{}': also defined in {}",
                                                         mode->id, it->second.string())});
        }
    }
    if (!presets.problems.empty() && !problems.empty()) {
        err << "(presets that could not be read are unknown to modes: run 'gpumod preset validate')\n";
    }
    return report_validation(global, "mode", files.value_or(std::vector<fs::path>{}), problems, out, err);
}

int cmd_mode_create(const GlobalOptions& global, const ModeCreateOptions& options, std::ostream& out,
                    std::ostream& err)
{
    int code = k_exit_ok;
    auto loaded = load(err, code);
    if (!loaded) {
        return code;
    }
    Mode mode;
    mode.id = options.id;
    mode.name = options.name.value_or(options.id);
    mode.description = options.description.value_or("");
    mode.services = options.services;
    const fs::path file = loaded->location.user_dir / "modes" / (options.id + ".yaml");
    mode.source_file = file;
    if (const Mode* existing = loaded->catalog.find_mode(options.id)) {
        err << fmt::format("gpumod: mode '{}' already exists ({}); choose another id or edit that "
                           "file\n",
                           options.id, existing->source_file.string());
        return k_exit_failure;
    }
    std::map<std::string, const Preset*> by_id;
    for (const auto& preset : loaded->catalog.presets) {
        by_id.emplace(preset.id, &preset);
    }
    auto problems = config::validate_mode(mode, by_id);
    if (!problems.empty()) {
        for (const auto& problem : problems) {
            err << "gpumod: " << problem.message << '\n';
        }
        return k_exit_failure;
    }
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    if (ec) {
        err << fmt::format("gpumod: cannot create {}: {}\n", file.parent_path().string(), ec.message());
        return k_exit_environment;
    }
    const auto text = config::render_mode_yaml(mode);
    const auto* bytes = reinterpret_cast<const uint8_t*>(text.data()); // NOLINT: bytes of text
    auto written = posix::write_file_atomically(file, std::span<const uint8_t>(bytes, text.size()),
                                                posix::ExistingFile::refuse);
    if (!written) {
        err << "gpumod: " << written.error().message << '\n';
        return k_exit_failure;
    }
    if (global.json) {
        auto j = mode_json(mode);
        out << j.dump(2) << '\n';
    } else {
        out << fmt::format("created mode '{}' ({} service{}) in {}\n", mode.id, mode.services.size(),
                           mode.services.size() == 1 ? "" : "s", file.string());
    }
    return k_exit_ok;
}

} // namespace gpumod::app
