#pragma once

// The benchmark engine: sends a suite's prompts to an OpenAI-compatible server, extracts the
// code, grades it with pytest in the sandbox, and checkpoints every attempt in SQLite so an
// interrupted run resumes where it stopped. It wires core/bench (schedule, extraction,
// classification, summary) to the adapters (HTTP client, pytest sandbox, run store, NVML).

#include <atomic>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "core/base/error.hpp"
#include "core/bench/run_types.hpp"
#include "core/bench/suite.hpp"

namespace gpumod::sqlite {
class Database;
}

namespace gpumod::app {

/// Where a run writes its files: `<root>/result_<id>.json` and `<root>/artifacts/<id>/`
/// (responses, extracted files, pytest output per attempt, and run.log).
struct BenchOutput
{
    std::filesystem::path root;

    [[nodiscard]] std::filesystem::path result_file(const std::string& id) const
    {
        return root / ("result_" + id + ".json");
    }
    [[nodiscard]] std::filesystem::path artifacts_dir(const std::string& id) const
    {
        return root / "artifacts" / id;
    }
};

/// Progress as the engine reports it, after every attempt.
struct BenchProgress
{
    std::size_t total = 0;
    std::size_t done = 0;   ///< recorded attempts, resumed ones included
    std::size_t passed = 0; ///< ... of which passed
    std::string last;       ///< "iter 3 L2: pass (25/25)"
};

/// What the engine needs besides the run itself.
struct BenchEngineOptions
{
    BenchOutput output;
    /// Set to true (e.g. by SIGINT) to stop: requests in flight are abandoned, nothing half-done
    /// is recorded, the run is marked interrupted.
    const std::atomic<bool>* stop = nullptr;
    std::function<void(const BenchProgress&)> on_progress; ///< may be empty
    /// Called with each human-readable log line (they also go to run.log); may be empty.
    std::function<void(const std::string&)> on_log;
    bool keep_sandbox_dirs = false;
    bool use_bwrap = true;
};

/// How the engine ended.
struct BenchOutcome
{
    bench::RunRecord run; ///< as stored, with every recorded attempt
    std::filesystem::path result_file;
    bool interrupted = false;
    bool aborted = false; ///< infrastructure failed beyond retries
    std::string why;      ///< for interrupted / aborted
};

/// Runs (or continues) `run` against its config's base_url until every planned attempt is
/// recorded, the stop flag is set, or infrastructure fails. `run` must already be stored
/// (RunStore::create_run); attempts it holds are not repeated. Writes the result file at the
/// end in every case. Errors are for problems before the first request (sandbox, output dir).
Result<BenchOutcome> run_benchmark(sqlite::Database& db, bench::RunRecord run,
                                   const bench::Suite& suite, const BenchEngineOptions& options);

/// Writes `result_<id>.json` (run + summary) atomically, replacing an older one.
Status write_result_file(const bench::RunRecord& run, const std::filesystem::path& file);

} // namespace gpumod::app
