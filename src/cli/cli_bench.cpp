// `gpumod bench run|smoke|list|show` (issue #5, the benchmark engine).
#include "cli/command_groups.hpp"

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "app/cmd_bench.hpp"
#include "app/cmd_compare.hpp"
#include "app/commands.hpp"

namespace gpumod::cli {
namespace {

// CLI11 binds options to references that must outlive parsing, so flag values live in one
// shared object the callbacks keep alive.
struct BenchFlags
{
    app::BenchRunOptions run;
    app::BenchRunOptions smoke;
    int list_limit = 50;
    std::string show_id;
};

/// The options `run` and `smoke` share.
void add_shared_run_options(CLI::App& cmd, app::BenchRunOptions& options,
                            app::GlobalOptions& global)
{
    cmd.add_option("--service", options.service,
                   "benchmark this running gpumod service (see `gpumod service list`)");
    cmd.add_option("--base-url", options.base_url,
                   "or any OpenAI-compatible server, e.g. http://127.0.0.1:8080");
    cmd.add_option("--suite", options.suite, "suite name or directory (docs/suites.md)")
        ->capture_default_str();
    cmd.add_option("--sampler", options.sampler,
                   "thinking-coding, non-thinking, gemma-coding, greedy, or a YAML file")
        ->capture_default_str();
    cmd.add_option("--max-tokens", options.max_tokens, "max_tokens of every request")
        ->capture_default_str();
    cmd.add_option("--reasoning-budget", options.reasoning_budget,
                   "-1: server default; 0: thinking off (enable_thinking=false); N: recorded "
                   "(set it on the server: llama-server --reasoning-budget)")
        ->capture_default_str();
    cmd.add_option("--timeout", options.timeout_s, "seconds one reply may take")
        ->capture_default_str();
    cmd.add_option("--concurrency", options.concurrency,
                   "chats in flight at once (the server needs as many slots: -np)")
        ->capture_default_str();
    cmd.add_option("--seed", options.seed,
                   "base of the per-attempt sampling seeds (default: from the run id)");
    cmd.add_option("--model", options.model, "the request's \"model\" field (vLLM needs it)");
    cmd.add_option("--out", options.out,
                   "results directory (default: bench/ beside the database); holds "
                   "result_<id>.json and artifacts/<id>/");
    cmd.add_option("--resume", options.resume,
                   "continue an interrupted run (id or unique prefix) with its stored settings");
    cmd.add_flag("--isolate", options.isolate,
                 "with --service: stop every other GPU service for the run, restore them after");
    cmd.add_flag("--no-bwrap", options.no_bwrap,
                 "grade without bubblewrap (process group + resource limits only)");
    cmd.add_flag("--keep-sandbox", options.keep_sandbox, "keep pytest's work directories");
    cmd.add_flag("-q,--quiet", options.quiet, "no progress line or per-attempt lines");
    cmd.add_option("--infra-retries", options.infra_retries,
                   "retries of a request that failed before its first token")
        ->capture_default_str();
    cmd.add_flag("--json", global.json, "print the result file (JSON) on stdout at the end");
}

} // namespace

void register_bench_commands(CLI::App& app, app::GlobalOptions& global, int& exit_code)
{
    auto flags = std::make_shared<BenchFlags>();
    auto& out = std::cout;
    auto& err = std::cerr;

    auto* bench = app.add_subcommand(
        "bench", "benchmark a model: coding suites graded by real pytest tests, repeated, "
                 "checkpointed and resumable");
    bench->require_subcommand(1);
    bench->footer(R"(Examples:
  gpumod bench run --service qwen36 --iterations 15
  gpumod bench run --base-url http://127.0.0.1:8080 --sampler non-thinking --conversation carry
  gpumod bench smoke --service qwen36 --level 1 --attempts 20
  gpumod bench run --resume 20261127-0135      # after Ctrl-C or a crash
  gpumod bench list
Results: result_<id>.json (config, server build, model hash, GPU, every attempt, summary) and
artifacts/<id>/iter_NN/<level>/ (response, extracted files, pytest output). docs/bench.md.)");

    auto* run = bench->add_subcommand(
        "run", "run a suite's levels for N iterations and score each (exit 130 when interrupted, "
               "1 when the server or sandbox failed)");
    add_shared_run_options(*run, flags->run, global);
    run->add_option("--iterations", flags->run.iterations, "iterations of the suite (default 15)");
    run->add_option("--conversation", flags->run.conversation,
                    "fresh: each level a new chat; carry: an iteration's levels in one chat, "
                    "earlier answers (with reasoning) kept")
        ->capture_default_str();
    run->callback([&, flags] { exit_code = app::cmd_bench_run(global, flags->run, out, err); });

    auto* smoke = bench->add_subcommand(
        "smoke", "repeat one level N times, each in a fresh chat: a pass rate with a Wilson "
                 "interval");
    flags->smoke.smoke = true;
    add_shared_run_options(*smoke, flags->smoke, global);
    smoke->add_option("--level", flags->smoke.level, "the level: L1, or just 1");
    smoke->add_option("--attempts", flags->smoke.iterations, "attempts (default 20)");
    smoke->callback(
        [&, flags] { exit_code = app::cmd_bench_run(global, flags->smoke, out, err); });

    auto* list = bench->add_subcommand("list", "benchmark runs in the database, newest first");
    list->add_option("--limit", flags->list_limit, "at most this many")->capture_default_str();
    list->add_flag("--json", global.json, "print machine-readable JSON on stdout");
    list->callback(
        [&, flags] { exit_code = app::cmd_bench_list(global, flags->list_limit, out, err); });

    auto* show = bench->add_subcommand("show", "one run's summary (--json: its result file)");
    show->add_option("id", flags->show_id, "run id or unique prefix")->required();
    show->add_flag("--json", global.json, "print the result file's JSON");
    show->callback(
        [&, flags] { exit_code = app::cmd_bench_show(global, flags->show_id, out, err); });

    auto compare_options = std::make_shared<app::BenchCompareOptions>();
    auto* compare = bench->add_subcommand(
        "compare", "compare two runs: caveats, summary, level pass rates, statistics with the "
                   "method named, verdicts (docs/report.md)");
    compare->add_option("base", compare_options->base, "base run: result file or run id")
        ->required();
    compare->add_option("cand", compare_options->cand, "candidate run: result file or run id")
        ->required();
    compare->add_option("--smoke", compare_options->smoke,
                        "smoke runs of the same level: BASE_SMOKE CAND_SMOKE")
        ->expected(2);
    compare->add_option("--out", compare_options->out,
                        "directory for report.md, report.json and report.html (default: "
                        "./gpumod-report-<base>-vs-<cand>)");
    compare->add_option("--format", compare_options->format, "what stdout shows: md, json, or html (the file's path)")
        ->capture_default_str();
    compare->add_option("--label-base", compare_options->label_base,
                        "name of the base run in the report (default: its model file)");
    compare->add_option("--label-cand", compare_options->label_cand,
                        "name of the candidate run in the report");
    compare->add_option("--seed", compare_options->seed,
                        "seed of the bootstrap and permutation resampling (default 20260526)");
    compare->callback([&, compare_options] {
        exit_code = app::cmd_bench_compare(global, *compare_options, out, err);
    });
}

} // namespace gpumod::cli
