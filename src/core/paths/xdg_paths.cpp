#include "core/paths/xdg_paths.hpp"

namespace gpumod {
namespace {

// XDG says relative values are invalid and must be ignored.
std::optional<std::filesystem::path> absolute_or_none(const std::optional<std::string>& value)
{
    if (!value || value->empty()) {
        return std::nullopt;
    }
    std::filesystem::path p(*value);
    if (!p.is_absolute()) {
        return std::nullopt;
    }
    return p;
}

Result<std::filesystem::path> xdg_base(const std::optional<std::string>& xdg_value,
                                       const std::optional<std::string>& home,
                                       const char* home_relative, const char* variable)
{
    if (auto base = absolute_or_none(xdg_value)) {
        return *base;
    }
    if (auto h = absolute_or_none(home)) {
        return *h / home_relative;
    }
    return fail(std::string("cannot place gpumod's files: neither ") + variable +
                " nor HOME is set to an absolute path; set one of them");
}

} // namespace

Result<ResolvedPath> resolve_database_path(const std::optional<std::filesystem::path>& flag,
                                           const PathEnvironment& env)
{
    if (flag && !flag->empty()) {
        return ResolvedPath{*flag, PathSource::flag};
    }
    if (env.gpumod_db && !env.gpumod_db->empty()) {
        return ResolvedPath{std::filesystem::path(*env.gpumod_db), PathSource::environment};
    }
    auto base = xdg_base(env.xdg_data_home, env.home, ".local/share", "XDG_DATA_HOME");
    if (!base) {
        return tl::unexpected(base.error());
    }
    return ResolvedPath{*base / "gpumod" / "gpumod.db", PathSource::xdg_default};
}

Result<std::filesystem::path> resolve_config_dir(const PathEnvironment& env)
{
    auto base = xdg_base(env.xdg_config_home, env.home, ".config", "XDG_CONFIG_HOME");
    if (!base) {
        return tl::unexpected(base.error());
    }
    return *base / "gpumod";
}

Result<std::filesystem::path> resolve_cache_dir(const PathEnvironment& env)
{
    auto base = xdg_base(env.xdg_cache_home, env.home, ".cache", "XDG_CACHE_HOME");
    if (!base) {
        return tl::unexpected(base.error());
    }
    return *base / "gpumod";
}

std::vector<std::filesystem::path> config_search_path(const std::filesystem::path& user_config_dir,
                                                      const std::filesystem::path& bundled_dir,
                                                      const std::string& kind)
{
    return {user_config_dir / kind, bundled_dir / kind};
}

std::string describe(PathSource source)
{
    switch (source) {
    case PathSource::flag:
        return "--db";
    case PathSource::environment:
        return "GPUMOD_DB";
    case PathSource::xdg_default:
        return "XDG default";
    }
    return "unknown";
}

} // namespace gpumod
