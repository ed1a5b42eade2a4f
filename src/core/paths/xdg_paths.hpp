#pragma once

// Where gpumod keeps its state and finds its configuration, following the XDG Base
// Directory specification. Pure: the caller passes the environment in.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/base/error.hpp"

namespace gpumod {

/// The environment variables that decide gpumod's paths.
struct PathEnvironment
{
    std::optional<std::string> home;            ///< HOME
    std::optional<std::string> xdg_data_home;   ///< XDG_DATA_HOME
    std::optional<std::string> xdg_config_home; ///< XDG_CONFIG_HOME
    std::optional<std::string> xdg_cache_home;  ///< XDG_CACHE_HOME
    std::optional<std::string> gpumod_db;       ///< GPUMOD_DB
};

/// Where a path came from, so `doctor` and `status` can say why gpumod uses it.
enum class PathSource
{
    flag,
    environment,
    xdg_default,
};

struct ResolvedPath
{
    std::filesystem::path path;
    PathSource source = PathSource::xdg_default;
};

/// The database: --db, then GPUMOD_DB, then $XDG_DATA_HOME/gpumod/gpumod.db
/// (XDG_DATA_HOME defaults to ~/.local/share). Fails when neither XDG_DATA_HOME nor HOME
/// is set to an absolute path.
Result<ResolvedPath> resolve_database_path(const std::optional<std::filesystem::path>& flag,
                                           const PathEnvironment& env);

/// $XDG_CONFIG_HOME/gpumod (default ~/.config/gpumod): holds presets/ and modes/.
Result<std::filesystem::path> resolve_config_dir(const PathEnvironment& env);

/// $XDG_CACHE_HOME/gpumod (default ~/.cache/gpumod): downloaded llama-server, models.
Result<std::filesystem::path> resolve_cache_dir(const PathEnvironment& env);

/// Directories searched for presets or modes (`kind` is "presets" or "modes"), user's first:
/// the user's config dir, then the bundled directory shipped with gpumod.
std::vector<std::filesystem::path> config_search_path(const std::filesystem::path& user_config_dir,
                                                      const std::filesystem::path& bundled_dir,
                                                      const std::string& kind);

/// Words for a PathSource ("--db", "GPUMOD_DB", "XDG default").
std::string describe(PathSource source);

} // namespace gpumod
