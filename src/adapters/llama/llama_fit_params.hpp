#pragma once

// Finds and runs llama.cpp's `llama-fit-params` (Debian sid's llama.cpp-tools-extra), the
// optional oracle of `gpumod plan --oracle`. It is looked for where the llama-server gpumod
// runs is: GPUMOD_LLAMA_FIT_PARAMS, then beside that llama-server (the same build is what
// should answer), then beside the setup-llama-server wrapper, then on PATH.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "adapters/llama/llama_server_locator.hpp"
#include "adapters/posix/process.hpp"
#include "core/base/error.hpp"

namespace gpumod::llama {

/// Which step of the search found llama-fit-params.
enum class FitParamsSource
{
    environment,         ///< GPUMOD_LLAMA_FIT_PARAMS
    beside_llama_server, ///< in the directory of the llama-server gpumod would run
    cache,               ///< beside scripts/setup-llama-server's wrapper
    path,                ///< `llama-fit-params` on PATH
};

/// The environment the search depends on; passed in so that tests can set it.
struct FitParamsSearch
{
    std::optional<std::string> override_path; ///< GPUMOD_LLAMA_FIT_PARAMS
    LlamaServerSearch server;                 ///< where llama-server is looked for
};

struct FoundFitParams
{
    std::filesystem::path path;
    FitParamsSource source = FitParamsSource::environment;
    std::string found_by; ///< the source in words, e.g. "beside llama-server (PATH)"
};

/// Reads GPUMOD_LLAMA_FIT_PARAMS, GPUMOD_LLAMA_SERVER, PATH and the XDG variables.
FitParamsSearch fit_params_search_from_environment();

/// Finds the executable without running it. A set GPUMOD_LLAMA_FIT_PARAMS must name an
/// executable file (else an error naming the variable). The not-found error lists where it
/// looked and says how to get it (scripts/setup-llama-server --with-tools-extra).
Result<FoundFitParams> find_llama_fit_params(const FitParamsSearch& search);

/// Runs `<path> ARGS...` to completion with stdout and stderr captured, killed after
/// `timeout`. ggml's crash handler (which attaches gdb for a backtrace) is turned off, so a
/// failing run ends at once.
Result<posix::CommandOutput> run_llama_fit_params(const std::filesystem::path& path,
                                                  const std::vector<std::string>& args,
                                                  std::chrono::milliseconds timeout);

} // namespace gpumod::llama
