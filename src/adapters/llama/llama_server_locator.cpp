#include "adapters/llama/llama_server_locator.hpp"

#include <unistd.h>

#include <charconv>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "adapters/posix/environment.hpp"
#include "adapters/posix/process.hpp"

namespace gpumod::llama {
namespace {

constexpr std::string_view k_program_name = "llama-server";
constexpr char k_override_variable[] = "GPUMOD_LLAMA_SERVER";
// How many characters of unexpected output an error message quotes.
constexpr std::size_t k_quote_limit = 400;

std::string_view trim(std::string_view s)
{
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

std::optional<long> parse_number(std::string_view s)
{
    long value = 0;
    const auto* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, value);
    if (ec != std::errc() || ptr != end || s.empty()) {
        return std::nullopt;
    }
    return value;
}

// "0.7.0 (build 11669, commit Debian)" (Debian and release builds) or "11669 (abc1234)"
// (upstream builds, where the version is the build number and the parentheses hold the commit).
Result<void> parse_version_value(std::string_view rest, LlamaServerVersion& out)
{
    rest = trim(rest);
    const auto open = rest.find('(');
    const auto close = rest.rfind(')');
    std::string_view details;
    if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
        details = rest.substr(open + 1, close - open - 1);
        rest = trim(rest.substr(0, open));
    }
    if (rest.empty()) {
        return fail("the 'version:' line names no version");
    }
    out.version = std::string(rest);
    bool keyed = false;
    while (!details.empty()) {
        const auto comma = details.find(',');
        const auto part = trim(details.substr(0, comma));
        details = comma == std::string_view::npos ? std::string_view{} : details.substr(comma + 1);
        if (part.starts_with("build ")) {
            out.build = parse_number(trim(part.substr(6)));
            keyed = true;
        } else if (part.starts_with("commit ")) {
            out.commit = std::string(trim(part.substr(7)));
            keyed = true;
        } else if (!keyed && out.commit.empty()) {
            out.commit = std::string(part);
        }
    }
    if (!out.build) {
        out.build = parse_number(out.version);
    }
    return {};
}

bool is_executable_file(const std::filesystem::path& p)
{
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

std::string how_to_provide(const std::string& cache_hint)
{
    return fmt::format("run scripts/setup-llama-server (it installs one{}), or set {} to the path "
                       "of a llama-server executable",
                       cache_hint, k_override_variable);
}

std::string quote_output(std::string_view text)
{
    text = trim(text);
    if (text.size() > k_quote_limit) {
        return std::string(text.substr(0, k_quote_limit)) + "...";
    }
    return std::string(text);
}

} // namespace

Result<LlamaServerVersion> parse_llama_server_version(std::string_view text)
{
    LlamaServerVersion out;
    bool found = false;
    while (!text.empty()) {
        const auto newline = text.find('\n');
        const auto line = trim(text.substr(0, newline));
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
        if (!found && line.starts_with("version:")) {
            if (auto parsed = parse_version_value(line.substr(8), out); !parsed) {
                return tl::unexpected(parsed.error());
            }
            out.version_line = std::string(line);
            found = true;
        } else if (out.built_with.empty() && line.starts_with("built with ")) {
            out.built_with = std::string(trim(line.substr(11)));
        }
    }
    if (!found) {
        return fail("no 'version:' line in the output of llama-server --version");
    }
    return out;
}

std::string describe(LlamaServerSource source)
{
    switch (source) {
    case LlamaServerSource::environment:
        return k_override_variable;
    case LlamaServerSource::path:
        return "PATH";
    case LlamaServerSource::cache:
        return "setup-llama-server cache";
    }
    return "unknown";
}

Result<std::filesystem::path> cached_llama_server_path(const PathEnvironment& env)
{
    auto cache = resolve_cache_dir(env);
    if (!cache) {
        return tl::unexpected(cache.error());
    }
    return *cache / k_program_name / k_program_name;
}

LlamaServerSearch llama_server_search_from_environment()
{
    return LlamaServerSearch{posix::get_env(k_override_variable), posix::get_env("PATH"),
                             posix::path_environment()};
}

Result<std::pair<std::filesystem::path, LlamaServerSource>>
find_llama_server(const LlamaServerSearch& search)
{
    auto cached = cached_llama_server_path(search.paths);
    const std::string cache_hint = cached ? fmt::format(" into {}", cached->string()) : "";

    // An explicit override is never second-guessed: a wrong one is an error, not a fallback.
    if (search.override_path && !search.override_path->empty()) {
        const std::filesystem::path p = std::filesystem::absolute(*search.override_path);
        std::error_code ec;
        if (!std::filesystem::exists(p, ec)) {
            return fail(fmt::format("{}='{}' does not exist; {}, or unset {}", k_override_variable,
                                    *search.override_path, how_to_provide(cache_hint),
                                    k_override_variable));
        }
        if (!is_executable_file(p)) {
            return fail(fmt::format("{}='{}' is not an executable file; {}, or unset {}",
                                    k_override_variable, *search.override_path,
                                    how_to_provide(cache_hint), k_override_variable));
        }
        return std::pair{p, LlamaServerSource::environment};
    }

    if (search.path_variable) {
        std::string_view dirs = *search.path_variable;
        while (!dirs.empty()) {
            const auto colon = dirs.find(':');
            const std::filesystem::path dir(dirs.substr(0, colon));
            dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
            // Empty and relative entries mean "relative to the current directory", which would
            // make the answer depend on where gpumod happens to run; skip them.
            if (!dir.is_absolute()) {
                continue;
            }
            if (auto candidate = dir / k_program_name; is_executable_file(candidate)) {
                return std::pair{candidate, LlamaServerSource::path};
            }
        }
    }

    if (cached && is_executable_file(*cached)) {
        return std::pair{*cached, LlamaServerSource::cache};
    }

    const std::string looked_in =
        cached ? fmt::format("on PATH nor at {}", cached->string())
               : fmt::format("on PATH (and no cache directory: {})", cached.error().message);
    return fail(fmt::format("llama-server not found: {} is not set and there is no llama-server {}; "
                            "{}",
                            k_override_variable, looked_in, how_to_provide(cache_hint)));
}

Result<LlamaServerVersion> query_llama_server_version(const std::filesystem::path& path,
                                                      std::chrono::milliseconds timeout)
{
    const std::string context = fmt::format("while running '{} --version'", path.string());
    auto run = posix::run_command({path.string(), "--version"}, timeout);
    if (!run) {
        return tl::unexpected(run.error().with_context(context));
    }
    if (run->timed_out) {
        return tl::unexpected(
            Error{fmt::format("it did not finish within {} ms", timeout.count())}.with_context(context));
    }
    // llama-server prints its version on stderr; older builds used stdout.
    const std::string text = run->out + run->err;
    if (!run->status.success()) {
        return tl::unexpected(Error{fmt::format("it {}: {}", run->status.describe(),
                                                quote_output(text))}
                                  .with_context(context));
    }
    auto parsed = parse_llama_server_version(text);
    if (!parsed) {
        return tl::unexpected(
            Error{fmt::format("{} (it printed: '{}')", parsed.error().message, quote_output(text))}
                .with_context(context));
    }
    return parsed;
}

Result<LlamaServerInfo> locate_llama_server(const LlamaServerSearch& search)
{
    auto found = find_llama_server(search);
    if (!found) {
        return tl::unexpected(found.error());
    }
    auto version = query_llama_server_version(found->first);
    if (!version) {
        return tl::unexpected(version.error().with_context(
            fmt::format("llama-server from {} does not work", describe(found->second))));
    }
    return LlamaServerInfo{found->first, found->second, std::move(*version)};
}

} // namespace gpumod::llama
