#include "adapters/bench/suite_loader.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "adapters/bench/yaml_fields.hpp"
#include "adapters/posix/sha256.hpp"
#include "core/paths/xdg_paths.hpp"

namespace gpumod::bench {
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> k_suite_keys{"name", "version", "description", "levels"};
const std::vector<std::string> k_suite_level_keys{"id", "dir", "points"};
const std::vector<std::string> k_level_keys{"id", "title", "points", "timeout_s", "files", "modules"};
// Names pytest reads on its own: an answer file with one of them would change how it runs.
const std::vector<std::string> k_reserved_names{"conftest.py", "pytest.ini", "tox.ini", "setup.cfg",
                                                "pyproject.toml"};

Result<std::string> read_file(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const std::error_code ec(errno, std::generic_category());
        return fail(fmt::format("{}: cannot read: {}", path.string(), ec.message()));
    }
    std::stringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        return fail(fmt::format("{}: read error", path.string()));
    }
    return text.str();
}

bool is_path_char(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
}

// The normalised form of a relative '/'-separated path, or nullopt when it is absolute,
// climbs out with '..' or holds unusual characters (check_suite.py: safe_relative_path).
std::optional<std::string> safe_relative_path(std::string_view raw)
{
    if (raw.empty() || raw.front() == '/' || raw.front() == '~' || raw.find('\\') != std::string_view::npos) {
        return std::nullopt;
    }
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (start <= raw.size()) {
        const auto slash = raw.find('/', start);
        const auto end = slash == std::string_view::npos ? raw.size() : slash;
        const auto part = raw.substr(start, end - start);
        if (!part.empty() && part != ".") {
            if (part == ".." || !std::all_of(part.begin(), part.end(), is_path_char)) {
                return std::nullopt;
            }
            parts.push_back(part);
        }
        start = end + 1;
    }
    if (parts.empty()) {
        return std::nullopt;
    }
    std::string out;
    for (const auto& part : parts) {
        if (!out.empty()) {
            out += '/';
        }
        out += part;
    }
    return out;
}

bool is_suite_name(std::string_view name)
{
    const auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; };
    return !name.empty() && name.front() != '_' && name.front() != '-' && std::all_of(name.begin(), name.end(), ok);
}

bool is_identifier(std::string_view word)
{
    if (word.empty() || std::isdigit(static_cast<unsigned char>(word.front())) != 0) {
        return false;
    }
    return std::all_of(word.begin(), word.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; });
}

bool is_module_name(std::string_view name)
{
    std::size_t start = 0;
    for (;;) {
        const auto dot = name.find('.', start);
        if (!is_identifier(name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start))) {
            return false;
        }
        if (dot == std::string_view::npos) {
            return true;
        }
        start = dot + 1;
    }
}

bool is_blank(std::string_view text)
{
    return std::all_of(text.begin(), text.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

bool ends_with(std::string_view text, std::string_view suffix)
{
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// One entry of suite.yaml's levels list, with where it is (for messages about level.yaml).
struct LevelEntry
{
    std::string id;
    std::string dir;
    int points = 0;
    YamlMark id_at;
    YamlMark points_at;
};

// suite.yaml: everything but the levels' own files. Problems are left in `file`.
std::optional<std::pair<Suite, std::vector<LevelEntry>>> read_suite_yaml(YamlFile& file, const fs::path& suite_dir)
{
    const auto root = file.load_mapping();
    if (!root) {
        return std::nullopt;
    }
    Suite suite;
    std::vector<LevelEntry> entries;
    const auto fields = file.entries(*root, "", k_suite_keys, k_suite_keys);
    if (const auto it = fields.find("name"); it != fields.end()) {
        if (auto name = file.text(it->second)) {
            std::error_code ec;
            const auto dir_name = fs::weakly_canonical(suite_dir, ec).filename().string();
            if (!is_suite_name(*name)) {
                file.problem(it->second.value_at,
                             fmt::format("name '{}' must be lower-case letters, digits, '-' and '_'", *name));
            } else if (!ec && *name != dir_name) {
                file.problem(it->second.value_at,
                             fmt::format("name '{}' differs from the directory name '{}'; rename one of them",
                                         *name, dir_name));
            }
            suite.name = *name;
        }
    }
    if (const auto it = fields.find("version"); it != fields.end()) {
        suite.version = static_cast<int>(file.integer(it->second, 1, std::numeric_limits<int>::max()).value_or(0));
    }
    if (const auto it = fields.find("description"); it != fields.end()) {
        if (auto text = file.text(it->second)) {
            if (is_blank(*text)) {
                file.problem(it->second.value_at, "'description' is empty; write one paragraph for reports");
            }
            suite.description = *text;
        }
    }
    const auto levels_it = fields.find("levels");
    if (levels_it == fields.end()) {
        return std::nullopt;
    }
    const YamlEntry& levels = levels_it->second;
    if (!levels.value.IsSequence() || levels.value.size() == 0) {
        file.problem(levels.value_at, "'levels' must be a non-empty list such as "
                                      "[{id: L1, dir: L1-first-task, points: 100}]");
        return std::nullopt;
    }
    std::set<std::string> ids;
    std::set<std::string> dirs;
    int total = 0;
    for (std::size_t i = 0; i < levels.value.size(); ++i) {
        const YAML::Node item = levels.value[i];
        const auto prefix = fmt::format("levels[{}]", i);
        if (!item.IsMap()) {
            file.problem(YamlFile::mark_of(item),
                         fmt::format("'{}' must be a mapping such as {{id: L1, dir: L1-first-task, points: 25}}", prefix));
            continue;
        }
        const auto level_fields = file.entries(item, prefix, k_suite_level_keys, k_suite_level_keys);
        LevelEntry entry;
        if (const auto it = level_fields.find("id"); it != level_fields.end()) {
            entry.id = file.text(it->second).value_or("");
            entry.id_at = it->second.value_at;
            if (entry.id.empty() || !ids.insert(entry.id).second) {
                file.problem(entry.id_at, fmt::format("'{}.id' must be a unique, non-empty id", prefix));
            }
        }
        if (const auto it = level_fields.find("dir"); it != level_fields.end()) {
            if (auto dir = file.text(it->second)) {
                const auto safe = safe_relative_path(*dir);
                std::error_code ec;
                if (!safe || *safe != *dir || dir->find('/') != std::string::npos) {
                    file.problem(it->second.value_at,
                                 fmt::format("'{}.dir' must be a plain directory name inside the suite, got '{}'",
                                             prefix, *dir));
                } else if (!dirs.insert(*dir).second) {
                    file.problem(it->second.value_at, fmt::format("'{}.dir' '{}' is listed twice", prefix, *dir));
                } else if (!fs::is_regular_file(suite_dir / *dir / "level.yaml", ec)) {
                    file.problem(it->second.value_at,
                                 fmt::format("'{}.dir': {} has no level.yaml; create it or fix the name",
                                             prefix, (suite_dir / *dir).string()));
                }
                entry.dir = *dir;
            }
        }
        if (const auto it = level_fields.find("points"); it != level_fields.end()) {
            entry.points = static_cast<int>(file.integer(it->second, 1, 100).value_or(0));
            entry.points_at = it->second.value_at;
            total += entry.points;
        }
        entries.push_back(std::move(entry));
    }
    if (file.ok() && total != 100) {
        file.problem(levels.key_at, fmt::format("the levels' points sum to {}, not 100; change them so they add "
                                                "up to 100",
                                                total));
    }
    // A level directory that is not listed would silently never run.
    std::error_code ec;
    std::vector<std::string> unlisted;
    for (fs::directory_iterator it(suite_dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code type_ec;
        const auto name = it->path().filename().string();
        if (it->is_directory(type_ec) && fs::is_regular_file(it->path() / "level.yaml", type_ec) &&
            dirs.count(name) == 0) {
            unlisted.push_back(name);
        }
    }
    std::sort(unlisted.begin(), unlisted.end());
    for (const auto& name : unlisted) {
        file.problem(levels.key_at, fmt::format("directory '{}' holds a level.yaml but is not listed in 'levels'; "
                                                "add {{id: ..., dir: {}, points: ...}} or remove the directory",
                                                name, name));
    }
    if (!file.ok()) {
        return std::nullopt;
    }
    return std::pair{std::move(suite), std::move(entries)};
}

// level.yaml of one listed level; problems are left in `file`.
std::optional<Level> read_level_yaml(YamlFile& file, const LevelEntry& entry, const YamlFile& suite_file)
{
    const auto root = file.load_mapping();
    if (!root) {
        return std::nullopt;
    }
    Level level;
    level.dir = entry.dir;
    const auto fields = file.entries(*root, "", k_level_keys, k_level_keys);
    if (const auto it = fields.find("id"); it != fields.end()) {
        if (auto id = file.text(it->second)) {
            if (*id != entry.id) {
                file.problem(it->second.value_at,
                             fmt::format("id '{}' differs from the id '{}' that suite.yaml gives this directory "
                                         "({}); make them the same",
                                         *id, entry.id, suite_file.where(entry.id_at)));
            }
            level.id = *id;
        }
    }
    if (const auto it = fields.find("title"); it != fields.end()) {
        level.title = file.text(it->second).value_or("");
        if (is_blank(level.title)) {
            file.problem(it->second.value_at, "'title' must be a non-empty text");
        }
    }
    if (const auto it = fields.find("points"); it != fields.end()) {
        if (auto points = file.integer(it->second, 1, 100)) {
            level.points = static_cast<int>(*points);
            if (level.points != entry.points) {
                file.problem(it->second.value_at,
                             fmt::format("points {} differ from the {} that suite.yaml gives this level ({}); "
                                         "make them the same",
                                         level.points, entry.points, suite_file.where(entry.points_at)));
            }
        }
    }
    if (const auto it = fields.find("timeout_s"); it != fields.end()) {
        if (auto timeout = file.integer(it->second, 1, 600)) {
            level.timeout = std::chrono::seconds(*timeout);
        }
    }
    if (const auto it = fields.find("files"); it != fields.end()) {
        if (auto items = file.text_list(it->second)) {
            if (items->empty()) {
                file.problem(it->second.value_at, "'files' must name at least one file the answer provides");
            }
            for (const auto& item : *items) {
                const auto safe = safe_relative_path(item.text);
                const auto name = item.text.substr(item.text.rfind('/') + 1);
                if (!safe || *safe != item.text || !ends_with(item.text, ".py")) {
                    file.problem(item.at, fmt::format("file '{}' must be a normalised relative path to a .py file "
                                                      "such as 'pkg/module.py'",
                                                      item.text));
                } else if (std::find(k_reserved_names.begin(), k_reserved_names.end(), name) !=
                               k_reserved_names.end() ||
                           name.rfind("test_", 0) == 0 || ends_with(name, "_test.py")) {
                    file.problem(item.at, fmt::format("file '{}' would be collected or read by pytest itself; "
                                                      "choose another name",
                                                      item.text));
                } else if (std::find(level.files.begin(), level.files.end(), item.text) != level.files.end()) {
                    file.problem(item.at, fmt::format("file '{}' is listed twice", item.text));
                }
                level.files.push_back(item.text);
            }
        }
    }
    if (const auto it = fields.find("modules"); it != fields.end()) {
        if (auto items = file.text_list(it->second)) {
            if (items->empty()) {
                file.problem(it->second.value_at, "'modules' must name at least one module the tests import");
            }
            for (const auto& item : *items) {
                std::string base = item.text;
                std::replace(base.begin(), base.end(), '.', '/');
                const auto has_file = [&](const std::string& path) {
                    return std::find(level.files.begin(), level.files.end(), path) != level.files.end();
                };
                if (!is_module_name(item.text)) {
                    file.problem(item.at, fmt::format("'{}' is not a Python module name", item.text));
                } else if (!has_file(base + ".py") && !has_file(base + "/__init__.py")) {
                    file.problem(item.at, fmt::format("module '{}' has no file in 'files' (expected {}.py or "
                                                      "{}/__init__.py)",
                                                      item.text, base, base));
                }
                level.modules.push_back(item.text);
            }
        }
    }
    if (!file.ok()) {
        return std::nullopt;
    }
    return level;
}

// Everything under tests/, sorted by path, without Python's caches.
Result<std::vector<SuiteFile>> read_tests(const fs::path& tests_dir)
{
    std::error_code ec;
    if (!fs::is_directory(tests_dir, ec)) {
        return fail(fmt::format("{}: missing; every level needs its pytest files (test_*.py) there",
                                tests_dir.string()));
    }
    std::vector<SuiteFile> tests;
    fs::recursive_directory_iterator it(tests_dir, ec);
    for (const fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
        const auto& path = it->path();
        std::error_code type_ec;
        if (it->is_directory(type_ec)) {
            if (path.filename() == "__pycache__") {
                it.disable_recursion_pending();
            }
            continue;
        }
        if (path.extension() == ".pyc" || !it->is_regular_file(type_ec)) {
            continue;
        }
        auto text = read_file(path);
        if (!text) {
            return tl::unexpected(text.error());
        }
        tests.push_back(SuiteFile{path.lexically_relative(tests_dir).generic_string(), std::move(*text)});
    }
    if (ec) {
        return fail(fmt::format("{}: cannot list: {}", tests_dir.string(), ec.message()));
    }
    std::sort(tests.begin(), tests.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    const bool has_test = std::any_of(tests.begin(), tests.end(), [](const SuiteFile& f) {
        return f.path.find('/') == std::string::npos && f.path.rfind("test_", 0) == 0 && ends_with(f.path, ".py");
    });
    if (!has_test) {
        return fail(fmt::format("{}: holds no test_*.py file, so pytest would collect nothing; add one",
                                tests_dir.string()));
    }
    return tests;
}

// prompt.md, tests/ and the checks between them and level.yaml.
Status read_level_files(Level& level, const fs::path& level_dir, const fs::path& level_yaml)
{
    const auto prompt_path = level_dir / "prompt.md";
    std::error_code ec;
    if (!fs::is_regular_file(prompt_path, ec)) {
        return fail(fmt::format("{}: missing; write the user message sent to the model there",
                                prompt_path.string()));
    }
    auto prompt = read_file(prompt_path);
    if (!prompt) {
        return tl::unexpected(prompt.error());
    }
    if (is_blank(*prompt)) {
        return fail(fmt::format("{}: is empty; write the user message sent to the model there",
                                prompt_path.string()));
    }
    level.prompt = std::move(*prompt);
    auto tests = read_tests(level_dir / "tests");
    if (!tests) {
        return tl::unexpected(tests.error());
    }
    level.tests = std::move(*tests);
    for (const auto& f : level.files) {
        for (const auto& t : level.tests) {
            if (t.path == f) {
                return fail(fmt::format("{}: answer file '{}' collides with tests/{}, which is copied next to "
                                        "it; rename one of them",
                                        level_yaml.string(), f, t.path));
            }
        }
    }
    return {};
}

void put(std::string& out, std::string_view field)
{
    out += std::to_string(field.size());
    out += ':';
    out += field;
}

void put(std::string& out, std::int64_t number)
{
    put(out, std::to_string(number));
}

bool has_suite_yaml(const fs::path& dir)
{
    std::error_code ec;
    return fs::is_regular_file(dir / "suite.yaml", ec);
}

} // namespace

std::string suite_content_hash(const Suite& suite)
{
    // Every field is length-prefixed and every list count-prefixed, so the byte string maps
    // back to exactly one suite: no two different suites share an input to the hash.
    std::string out;
    put(out, "gpumod-suite-hash-v1");
    put(out, suite.name);
    put(out, suite.version);
    put(out, static_cast<std::int64_t>(suite.levels.size()));
    for (const auto& level : suite.levels) {
        put(out, level.id);
        put(out, level.points);
        put(out, static_cast<std::int64_t>(level.timeout.count()));
        put(out, static_cast<std::int64_t>(level.files.size()));
        for (const auto& f : level.files) {
            put(out, f);
        }
        put(out, static_cast<std::int64_t>(level.modules.size()));
        for (const auto& m : level.modules) {
            put(out, m);
        }
        put(out, level.prompt);
        put(out, static_cast<std::int64_t>(level.tests.size()));
        for (const auto& t : level.tests) {
            put(out, t.path);
            put(out, t.text);
        }
    }
    return posix::sha256_hex(out);
}

Result<Suite> load_suite(const fs::path& suite_dir)
{
    std::error_code ec;
    if (!fs::is_directory(suite_dir, ec)) {
        return fail(fmt::format("{}: not a directory; give a suite directory holding suite.yaml", suite_dir.string()));
    }
    if (!has_suite_yaml(suite_dir)) {
        return fail(fmt::format("{}: no suite.yaml there; a suite directory starts with one (docs/suites.md)",
                                suite_dir.string()));
    }
    YamlFile suite_file(suite_dir / "suite.yaml");
    auto head = read_suite_yaml(suite_file, suite_dir);
    if (!head) {
        return tl::unexpected(suite_file.error());
    }
    auto& [suite, entries] = *head;
    for (const auto& entry : entries) {
        const auto level_dir = suite_dir / entry.dir;
        YamlFile level_file(level_dir / "level.yaml");
        auto level = read_level_yaml(level_file, entry, suite_file);
        if (!level) {
            return tl::unexpected(level_file.error());
        }
        if (auto status = read_level_files(*level, level_dir, level_file.file()); !status) {
            return tl::unexpected(status.error());
        }
        suite.levels.push_back(std::move(*level));
    }
    suite.content_hash = suite_content_hash(suite);
    return std::move(suite);
}

Result<fs::path> find_suite(std::string_view name_or_path, const std::vector<fs::path>& search_dirs)
{
    const fs::path given{std::string(name_or_path)};
    std::error_code ec;
    if (name_or_path.find('/') != std::string_view::npos || has_suite_yaml(given)) {
        if (!fs::is_directory(given, ec)) {
            return fail(fmt::format("suite directory {} does not exist", given.string()));
        }
        if (!has_suite_yaml(given)) {
            return fail(fmt::format("{} holds no suite.yaml, so it is not a suite directory", given.string()));
        }
        return given;
    }
    if (name_or_path.empty()) {
        return fail("no suite named; give a suite name such as 'coding' or a directory");
    }
    for (const auto& dir : search_dirs) {
        if (has_suite_yaml(dir / given)) {
            return dir / given;
        }
    }
    std::vector<std::string> looked;
    std::set<std::string> available;
    for (const auto& dir : search_dirs) {
        std::error_code dir_ec;
        if (!fs::is_directory(dir, dir_ec)) {
            looked.push_back(dir.string() + " (missing)");
            continue;
        }
        looked.push_back(dir.string());
        for (fs::directory_iterator it(dir, dir_ec), end; !dir_ec && it != end; it.increment(dir_ec)) {
            if (has_suite_yaml(it->path())) {
                available.insert(it->path().filename().string());
            }
        }
    }
    return fail(fmt::format("no suite named '{}'; looked in: {}; suites available: {}. Give one of those names "
                            "or a suite directory (set GPUMOD_SUITES_DIR to add directories)",
                            name_or_path, looked.empty() ? std::string("(no directories)") : fmt::format("{}", fmt::join(looked, ", ")),
                            available.empty() ? std::string("none") : fmt::format("{}", fmt::join(available, ", "))));
}

std::vector<fs::path> default_suite_dirs(const config::EnvMap& env, const fs::path& executable)
{
    std::vector<fs::path> dirs;
    const auto get = [&](const char* name) -> std::optional<std::string> {
        const auto it = env.find(name);
        return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    if (const auto extra = get("GPUMOD_SUITES_DIR")) {
        std::size_t start = 0;
        while (start <= extra->size()) {
            const auto colon = extra->find(':', start);
            const auto end = colon == std::string::npos ? extra->size() : colon;
            if (end > start) {
                dirs.emplace_back(extra->substr(start, end - start));
            }
            start = end + 1;
        }
    }
    PathEnvironment path_env;
    path_env.home = get("HOME");
    path_env.xdg_config_home = get("XDG_CONFIG_HOME");
    if (auto config_dir = resolve_config_dir(path_env)) {
        dirs.push_back(*config_dir / "suites");
    }
    // The bundled suites: installed next to the binary, else (development builds) the source
    // tree. When neither exists the installed place is still listed, so errors show it.
    std::error_code ec;
    std::optional<fs::path> installed;
    if (!executable.empty()) {
        installed = (executable.parent_path() / ".." / "share" / "gpumod" / "suites").lexically_normal();
    }
    if (installed && fs::is_directory(*installed, ec)) {
        dirs.push_back(*installed);
        return dirs;
    }
#ifdef GPUMOD_SOURCE_DIR
    const fs::path source = fs::path(GPUMOD_SOURCE_DIR) / "suites";
    if (fs::is_directory(source, ec)) {
        dirs.push_back(source);
        return dirs;
    }
#endif
    if (installed) {
        dirs.push_back(*installed);
    }
    return dirs;
}

} // namespace gpumod::bench
