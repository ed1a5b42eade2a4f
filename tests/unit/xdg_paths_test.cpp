#include "core/paths/xdg_paths.hpp"

#include <gtest/gtest.h>

namespace gpumod {
namespace {

TEST(XdgPaths, DatabaseFlagWinsOverEnvironmentAndXdg)
{
    PathEnvironment env;
    env.home = "/home/u";
    env.gpumod_db = "/env/db.sqlite";
    auto r = resolve_database_path(std::filesystem::path("/flag/db.sqlite"), env);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->path, "/flag/db.sqlite");
    EXPECT_EQ(r->source, PathSource::flag);
}

TEST(XdgPaths, DatabaseEnvironmentWinsOverXdg)
{
    PathEnvironment env;
    env.home = "/home/u";
    env.gpumod_db = "/env/db.sqlite";
    auto r = resolve_database_path(std::nullopt, env);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->path, "/env/db.sqlite");
    EXPECT_EQ(r->source, PathSource::environment);
}

TEST(XdgPaths, DatabaseDefaultsUnderXdgDataHomeThenHome)
{
    PathEnvironment env;
    env.home = "/home/u";
    EXPECT_EQ(resolve_database_path(std::nullopt, env)->path, "/home/u/.local/share/gpumod/gpumod.db");
    env.xdg_data_home = "/data";
    EXPECT_EQ(resolve_database_path(std::nullopt, env)->path, "/data/gpumod/gpumod.db");
}

TEST(XdgPaths, RelativeXdgValuesAreIgnoredAsTheSpecSays)
{
    PathEnvironment env;
    env.home = "/home/u";
    env.xdg_config_home = "relative/config";
    env.xdg_cache_home = "";
    EXPECT_EQ(*resolve_config_dir(env), "/home/u/.config/gpumod");
    EXPECT_EQ(*resolve_cache_dir(env), "/home/u/.cache/gpumod");
}

TEST(XdgPaths, NoHomeAndNoXdgIsAnErrorThatNamesTheVariables)
{
    PathEnvironment env;
    auto r = resolve_database_path(std::nullopt, env);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("XDG_DATA_HOME"), std::string::npos);
    EXPECT_NE(r.error().message.find("HOME"), std::string::npos);
}

TEST(XdgPaths, SearchPathPutsTheUsersDirectoryFirst)
{
    auto dirs = config_search_path("/home/u/.config/gpumod", "/usr/share/gpumod", "presets");
    ASSERT_EQ(dirs.size(), 2U);
    EXPECT_EQ(dirs[0], "/home/u/.config/gpumod/presets");
    EXPECT_EQ(dirs[1], "/usr/share/gpumod/presets");
}

} // namespace
} // namespace gpumod
