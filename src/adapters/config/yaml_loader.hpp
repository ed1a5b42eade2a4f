#pragma once

// Preset and mode YAML files -> typed structs (core/config). The only translation unit that
// includes yaml-cpp. Every problem names file:line:column (1-based). Also finds the
// directories gpumod reads them from (docs/presets.md, "Where gpumod looks").

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "core/config/expand.hpp"
#include "core/config/mode.hpp"
#include "core/config/preset.hpp"

namespace gpumod::config {

/// A value, or every problem found on the way (one file's worth, or several files').
template <typename T> using ConfigResult = tl::expected<T, std::vector<ConfigProblem>>;

/// Reads one preset file: structure (unknown keys, wrong types, missing keys), variable
/// expansion with `env`, then validate_preset. Relative paths are relative to the file's
/// directory; a leading "~/" means "$HOME/". Does not check that model files exist.
ConfigResult<Preset> load_preset_file(const std::filesystem::path& file, const EnvMap& env);

/// Reads one mode file (structure only; references are checked by validate_mode).
ConfigResult<Mode> load_mode_file(const std::filesystem::path& file);

/// Problems for every model file the preset names (model_path, draft_model, mmproj) that is
/// missing or not a regular file, each at the line of its key.
std::vector<ConfigProblem> check_model_files(const Preset& preset);

/// Directories to read, in search order (user's first).
struct ConfigDirs
{
    std::vector<std::filesystem::path> preset_dirs;
    std::vector<std::filesystem::path> mode_dirs;
};

/// A preset or mode id defined in an earlier search directory hides the same id further on.
struct Shadowed
{
    std::string kind; ///< "preset" or "mode"
    std::string id;
    std::filesystem::path used;   ///< the file that wins
    std::filesystem::path hidden; ///< the file that is ignored
};

/// Everything found on the search path. Only valid presets and modes are listed; the rest
/// are in `problems`.
struct Catalog
{
    std::vector<Preset> presets; ///< sorted by id
    std::vector<Mode> modes;     ///< sorted by id
    std::vector<ConfigProblem> problems;
    std::vector<Shadowed> shadowed;

    /// The preset with this id, or nullptr.
    [[nodiscard]] const Preset* find_preset(const std::string& id) const;
    /// The mode with this id, or nullptr.
    [[nodiscard]] const Mode* find_mode(const std::string& id) const;
};

/// Reads every *.yaml / *.yml directly inside each directory (not subdirectories; missing
/// directories are skipped), drops duplicates (an id twice in one directory is a problem
/// naming both files; an id in an earlier directory shadows a later one), and checks each
/// mode against the presets found.
Catalog load_catalog(const ConfigDirs& dirs, const EnvMap& env);

/// Files to validate for `preset validate PATH...`: a file as is, a directory's *.yaml/*.yml.
ConfigResult<std::vector<std::filesystem::path>> expand_config_paths(
    const std::vector<std::filesystem::path>& paths);

/// The mode as YAML text that load_mode_file reads back to the same id, name, description
/// and services.
std::string render_mode_yaml(const Mode& mode);

/// Where the bundled presets/ and modes/ were found, and why there.
struct BundledDir
{
    std::filesystem::path path;
    std::string source; ///< "GPUMOD_DATA_DIR", "installed", "source tree"
};

/// The bundled data directory: $GPUMOD_DATA_DIR when set (must exist), else
/// <executable dir>/../share/gpumod when it holds presets/ or modes/, else the source tree
/// this binary was built from (development builds). nullopt when none exists.
Result<std::optional<BundledDir>> find_bundled_dir(const std::optional<std::string>& data_dir_env,
                                                   const std::filesystem::path& executable);

/// The running program's path (/proc/self/exe), or empty when unreadable.
std::filesystem::path current_executable();

/// Every variable of this process's environment.
EnvMap process_environment();

} // namespace gpumod::config
