#pragma once

// `gpumod bench run|smoke|list|show`: the benchmark commands (engine in bench_runner.hpp).

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "app/commands.hpp"

namespace gpumod::app {

/// Options of `gpumod bench run` and `gpumod bench smoke` (smoke: one level, fresh chats).
struct BenchRunOptions
{
    bool smoke = false;
    std::optional<std::string> service;  ///< --service ID: a running gpumod service
    std::optional<std::string> base_url; ///< --base-url URL: any OpenAI-compatible server
    std::string suite = "coding";        ///< name or directory
    std::optional<int> iterations;       ///< run: --iterations (15); smoke: --attempts (20)
    std::optional<std::string> level;    ///< smoke: --level (id, or its number: 1 = L1)
    std::string sampler = "thinking-coding";
    std::int64_t max_tokens = 32768;
    std::int64_t reasoning_budget = -1;
    int timeout_s = 900;
    std::string conversation = "fresh";
    int concurrency = 1;
    std::optional<std::uint64_t> seed;  ///< default: derived from the run id
    std::optional<std::string> model;   ///< "model" field of requests (vLLM needs it)
    std::optional<std::filesystem::path> out; ///< results root (default: beside the database)
    std::optional<std::string> resume;  ///< run id (or unique prefix) to continue
    bool isolate = false;               ///< --isolate: stop other GPU services for the run
    bool no_bwrap = false;              ///< grade with rlimits only
    bool keep_sandbox = false;          ///< keep pytest work directories
    bool quiet = false;                 ///< no progress bar
    int infra_retries = 2;
};

/// `gpumod bench run` / `gpumod bench smoke`. Exit 0 when the run completed (whatever the
/// model scored), 1 when it was aborted by infrastructure, 130 when interrupted, 2/3 for
/// usage and environment problems before the first request.
int cmd_bench_run(const GlobalOptions& global, const BenchRunOptions& options, std::ostream& out,
                  std::ostream& err);

/// `gpumod bench list [--limit N]`: runs in the database, newest first.
int cmd_bench_list(const GlobalOptions& global, int limit, std::ostream& out, std::ostream& err);

/// `gpumod bench show ID`: one run's summary (--json: the result file's content).
int cmd_bench_show(const GlobalOptions& global, const std::string& id, std::ostream& out,
                   std::ostream& err);

} // namespace gpumod::app
