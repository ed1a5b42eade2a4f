#pragma once

// Finds the llama-server gpumod runs and asks it which build it is. The search order is part of
// the user contract (docs/llama-server.md): GPUMOD_LLAMA_SERVER, then `llama-server` on PATH,
// then the wrapper scripts/setup-llama-server installs under the XDG cache directory.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/base/error.hpp"
#include "core/paths/xdg_paths.hpp"

namespace gpumod::llama {

/// Which step of the search found llama-server.
enum class LlamaServerSource
{
    environment, ///< GPUMOD_LLAMA_SERVER
    path,        ///< `llama-server` on PATH
    cache,       ///< the wrapper from scripts/setup-llama-server
};

/// What `llama-server --version` says about the build.
struct LlamaServerVersion
{
    std::string version;           ///< "0.7.0" (Debian) or "11669" (upstream: the build number)
    std::optional<long> build;     ///< build number when printed ("build 11669", or upstream's version)
    std::string commit;            ///< "Debian", or a git hash
    std::string built_with;        ///< "GNU 16.2.0 for Linux x86_64"; empty when not printed
    std::string version_line;      ///< the whole "version: ..." line, for records
};

/// Where llama-server is, why it was chosen, and which build it is.
struct LlamaServerInfo
{
    std::filesystem::path path;
    LlamaServerSource source = LlamaServerSource::environment;
    LlamaServerVersion version;
};

/// The environment the search depends on; passed in so that tests can set it.
struct LlamaServerSearch
{
    std::optional<std::string> override_path; ///< GPUMOD_LLAMA_SERVER
    std::optional<std::string> path_variable; ///< PATH
    PathEnvironment paths;                    ///< XDG_CACHE_HOME / HOME decide the cache wrapper
};

/// Pure: parses the text `llama-server --version` prints (stdout and stderr together; log lines
/// around it are ignored). Fails when there is no "version:" line.
Result<LlamaServerVersion> parse_llama_server_version(std::string_view text);

/// Words for a LlamaServerSource ("GPUMOD_LLAMA_SERVER", "PATH", "setup-llama-server cache").
std::string describe(LlamaServerSource source);

/// Where scripts/setup-llama-server puts its wrapper: <cache dir>/llama-server/llama-server.
Result<std::filesystem::path> cached_llama_server_path(const PathEnvironment& env);

/// Reads GPUMOD_LLAMA_SERVER, PATH and the XDG variables of this process.
LlamaServerSearch llama_server_search_from_environment();

/// Finds the executable without running it. A set GPUMOD_LLAMA_SERVER must name an executable
/// file (else an error naming the variable; the other places are not tried). The not-found
/// error says how to provide one.
Result<std::pair<std::filesystem::path, LlamaServerSource>>
find_llama_server(const LlamaServerSearch& search);

/// Runs `<path> --version` and parses what it prints.
Result<LlamaServerVersion>
query_llama_server_version(const std::filesystem::path& path,
                           std::chrono::milliseconds timeout = std::chrono::seconds(20));

/// find_llama_server, then query_llama_server_version on the result.
Result<LlamaServerInfo> locate_llama_server(const LlamaServerSearch& search);

} // namespace gpumod::llama
