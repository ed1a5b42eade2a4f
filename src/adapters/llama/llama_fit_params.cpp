#include "adapters/llama/llama_fit_params.hpp"

#include <unistd.h>

#include <algorithm>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "adapters/posix/environment.hpp"

namespace gpumod::llama {
namespace {

constexpr char k_program_name[] = "llama-fit-params";
constexpr char k_override_variable[] = "GPUMOD_LLAMA_FIT_PARAMS";
constexpr char k_how_to_get[] =
    "scripts/setup-llama-server --with-tools-extra provides it (Debian sid's "
    "llama.cpp-tools-extra, beside llama-server), or set GPUMOD_LLAMA_FIT_PARAMS to one";

bool is_executable_file(const std::filesystem::path& p)
{
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

} // namespace

FitParamsSearch fit_params_search_from_environment()
{
    return FitParamsSearch{posix::get_env(k_override_variable),
                           llama_server_search_from_environment()};
}

Result<FoundFitParams> find_llama_fit_params(const FitParamsSearch& search)
{
    // An explicit override is never second-guessed, as for GPUMOD_LLAMA_SERVER.
    if (search.override_path && !search.override_path->empty()) {
        const std::filesystem::path p = std::filesystem::absolute(*search.override_path);
        if (!is_executable_file(p)) {
            return fail(fmt::format("{}='{}' is not an executable file; fix it or unset it",
                                    k_override_variable, *search.override_path));
        }
        return FoundFitParams{p, FitParamsSource::environment, k_override_variable};
    }

    std::vector<std::string> looked;
    // Beside the llama-server gpumod would run: the same build should answer for it.
    if (auto server = find_llama_server(search.server)) {
        const auto candidate = server->first.parent_path() / k_program_name;
        if (is_executable_file(candidate)) {
            return FoundFitParams{
                candidate, FitParamsSource::beside_llama_server,
                fmt::format("beside llama-server (found by {})", describe(server->second))};
        }
        looked.push_back(candidate.parent_path().string());
    }
    if (auto cached = cached_llama_server_path(search.server.paths)) {
        const auto candidate = cached->parent_path() / k_program_name;
        if (is_executable_file(candidate)) {
            return FoundFitParams{candidate, FitParamsSource::cache,
                                  describe(LlamaServerSource::cache)};
        }
        if (std::find(looked.begin(), looked.end(), candidate.parent_path().string()) ==
            looked.end()) {
            looked.push_back(candidate.parent_path().string());
        }
    }
    if (search.server.path_variable) {
        std::string_view dirs = *search.server.path_variable;
        while (!dirs.empty()) {
            const auto colon = dirs.find(':');
            const std::filesystem::path dir(dirs.substr(0, colon));
            dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
            // Relative entries would make the answer depend on the current directory.
            if (dir.is_absolute() && is_executable_file(dir / k_program_name)) {
                return FoundFitParams{dir / k_program_name, FitParamsSource::path, "PATH"};
            }
        }
    }
    looked.emplace_back("PATH");
    std::string where;
    for (const auto& l : looked) {
        where += (where.empty() ? "" : ", ") + l;
    }
    return fail(fmt::format("llama-fit-params not found ({} is not set; looked in {}); {}",
                            k_override_variable, where, k_how_to_get));
}

Result<posix::CommandOutput> run_llama_fit_params(const std::filesystem::path& path,
                                                  const std::vector<std::string>& args,
                                                  std::chrono::milliseconds timeout)
{
    std::vector<std::string> argv{path.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto run = posix::run_command(argv, timeout, {{"GGML_NO_BACKTRACE", "1"}});
    if (!run) {
        return tl::unexpected(
            run.error().with_context(fmt::format("while running '{}'", path.string())));
    }
    return run;
}

} // namespace gpumod::llama
