// The only translation unit that includes CLI11: argv -> option structs -> app call.

#include "cli/cli.hpp"
#include "cli/command_groups.hpp"

#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/commands.hpp"
#include "app/exit_codes.hpp"
#include "core/base/build_info.hpp"

namespace gpumod::cli {
namespace {

constexpr const char* k_description =
    "gpumod plans, runs and benchmarks local LLMs served by llama.cpp's llama-server on your\n"
    "own NVIDIA GPU, so you can tell whether model B is a viable swap-in for model A.\n";

constexpr const char* k_footer = R"(
Examples:
  gpumod doctor                      check that llama-server, python3+pytest, NVML and the
                                     database are usable, and how to fix what is not
  gpumod status --json               GPUs, memory in use and free, driver version
  gpumod dev make-model tiny.gguf    write a tiny model llama-server can load
  gpumod dev smoke                   start a real llama-server on a tiny model and chat with it

Environment:
  GPUMOD_DB             database path (overridden by --db)
  GPUMOD_LLAMA_SERVER   path to a runnable llama-server
  GPUMOD_NVML_LIBRARY   NVML library to load instead of libnvidia-ml.so.1
  XDG_DATA_HOME, XDG_CONFIG_HOME, XDG_CACHE_HOME   where state, config and downloads live
)";

void add_global_options(CLI::App& cmd, app::GlobalOptions& global)
{
    cmd.add_option("--db", global.db_path, "SQLite database to use (default: $GPUMOD_DB, then "
                                           "$XDG_DATA_HOME/gpumod/gpumod.db)");
}

void add_json_flag(CLI::App& cmd, app::GlobalOptions& global)
{
    cmd.add_flag("--json", global.json, "print machine-readable JSON on stdout");
}

// llama-server's multi-letter single-dash spellings (CLI11 only knows one-letter short
// options), so flags can be copied from a llama-server command line.
std::vector<std::string> expand_llama_aliases(int argc, char** argv)
{
    static const std::map<std::string, std::string> aliases{
        {"-np", "--parallel"},       {"-ctk", "--cache-type-k"}, {"-ctv", "--cache-type-v"},
        {"-fa", "--flash-attn"},     {"-ngl", "--n-gpu-layers"}, {"-ncmoe", "--n-cpu-moe"},
        {"-md", "--model-draft"},    {"-ub", "--ubatch-size"},   {"-ctkd", "--cache-type-k-draft"},
        {"-ctvd", "--cache-type-v-draft"}, {"-kvu", "--kv-unified"}, {"-no-kvu", "--no-kv-unified"}};
    std::vector<std::string> args;
    for (int i = 0; i < argc; ++i) {
        auto it = aliases.find(argv[i]);
        args.emplace_back(it == aliases.end() ? std::string(argv[i]) : it->second);
    }
    return args;
}

} // namespace

int run(int argc, char** argv)
{
    CLI::App cli(k_description, "gpumod");
    cli.require_subcommand(1);
    // Global options such as --db may also follow the subcommand: `gpumod doctor --db X`.
    cli.fallthrough(true);
    cli.set_version_flag("--version", fmt::format("gpumod {} (commit {}, {} build)", build_info::k_version,
                                                 build_info::k_git_commit, build_info::k_build_type));

    app::GlobalOptions global;
    add_global_options(cli, global);

    int exit_code = app::k_exit_ok;
    auto& out = std::cout;
    auto& err = std::cerr;

    auto* version = cli.add_subcommand("version", "print version, git commit and build type");
    add_json_flag(*version, global);
    version->callback([&] { exit_code = app::cmd_version(global, out, err); });

    auto* status = cli.add_subcommand("status", "show GPUs (via NVML): name, memory, driver");
    add_json_flag(*status, global);
    status->callback([&] { exit_code = app::cmd_status(global, out, err); });

    auto* doctor = cli.add_subcommand(
        "doctor", "check what gpumod needs (llama-server, python3 + pytest, bubblewrap, NVML, "
                  "database) and say how to fix what is missing; exits 1 when a required "
                  "check fails");
    add_json_flag(*doctor, global);
    doctor->callback([&] { exit_code = app::cmd_doctor(global, out, err); });

    auto* gguf = cli.add_subcommand("gguf", "read GGUF model files");
    gguf->require_subcommand(1);
    app::GgufInspectOptions inspect;
    auto* inspect_cmd = gguf->add_subcommand(
        "inspect", "show a GGUF file's header: version, metadata, tensors and the derived "
                   "architecture (reads only the header, never the weights; any shard of a split "
                   "model shows the whole model)");
    inspect_cmd->add_option("file", inspect.file, "the .gguf file")->required();
    inspect_cmd->add_flag("--tensors", inspect.tensors, "also list every tensor");
    inspect_cmd->add_option("--max-array-items", inspect.max_array_items,
                            "show at most this many items of a long array")
        ->capture_default_str();
    add_json_flag(*inspect_cmd, global);
    inspect_cmd->callback([&] { exit_code = app::cmd_gguf_inspect(global, inspect, out, err); });

    app::PlanOptions plan;
    auto* plan_cmd = cli.add_subcommand(
        "plan", "predict memory per component before loading (weights, KV cache, recurrent "
                "state, MTP/draft, compute and output buffers, overhead), say whether it fits, "
                "and rank fallbacks when it does not; flags mean what llama-server's flags mean");
    plan_cmd->add_option("model", plan.model_or_preset,
                         "GGUF file (any shard), or a preset id: its service's flags, with the "
                         "ones given here overriding them")
        ->required();
    plan_cmd->add_option("-c,--ctx,--ctx-size", plan.ctx,
                         "context size in tokens, shared by all slots (default: the model's)");
    plan_cmd->add_option("--parallel", plan.parallel, "number of slots (-1 = auto); also -np");
    plan_cmd->add_option("--cache-type-k", plan.cache_type_k, "K cache type (default f16); also -ctk");
    plan_cmd->add_option("--cache-type-v", plan.cache_type_v, "V cache type (default f16); also -ctv");
    plan_cmd->add_option("--flash-attn", plan.flash_attn, "on, off or auto (default auto); also -fa")
        ->check(CLI::IsMember({"on", "off", "auto"}));
    plan_cmd->add_option("--n-gpu-layers,--gpu-layers", plan.n_gpu_layers,
                         "layers on the GPU (-1 = all); also -ngl");
    plan_cmd->add_option("--n-cpu-moe", plan.n_cpu_moe,
                         "keep the experts of the first N layers on the CPU; also -ncmoe");
    plan_cmd->add_option("--spec-type", plan.spec_type, "draft-mtp or draft-simple")
        ->check(CLI::IsMember({"none", "draft-mtp", "draft-simple"}));
    plan_cmd->add_option("--spec-draft-n-max", plan.spec_draft_n_max, "tokens drafted per step");
    plan_cmd->add_option("--cache-type-k-draft,--spec-draft-type-k", plan.cache_type_k_draft,
                         "K cache type of the draft/MTP context (default f16); also -ctkd");
    plan_cmd->add_option("--cache-type-v-draft,--spec-draft-type-v", plan.cache_type_v_draft,
                         "V cache type of the draft/MTP context (default f16); also -ctvd");
    plan_cmd->add_option("-b,--batch-size", plan.n_batch, "logical maximum batch (default 2048)");
    plan_cmd->add_option("--ubatch-size", plan.n_ubatch,
                         "physical maximum batch, which sizes the compute buffers (default 512); "
                         "also -ub");
    plan_cmd->add_flag_function(
        "--kv-unified", [&](int64_t) { plan.kv_unified = true; },
        "one KV buffer shared by all slots (default: only with --parallel unset); also -kvu");
    plan_cmd->add_flag_function(
        "--no-kv-unified", [&](int64_t) { plan.kv_unified = false; },
        "one KV buffer per slot; also -no-kvu");
    plan_cmd->add_flag("--swa-full", plan.swa_full, "full-size cache for sliding-window layers");
    plan_cmd->add_flag("--no-op-offload", plan.no_op_offload,
                       "keep batched products of host weights on the CPU (partial offload)");
    plan_cmd->add_option("--model-draft", plan.model_draft, "draft model for draft-simple; also -md");
    plan_cmd->add_option("--mmproj", plan.mmproj, "multimodal projector file");
    plan_cmd->add_option("--gpu", plan.gpu,
                         "auto (NVML), none (CPU backend), a size such as 24GB or 24576MiB, or "
                         "a card such as rtx4090, rtx3090, a100-80gb, h100, h200");
    plan_cmd->add_option("--backend", plan.backend,
                         "ggml GPU backend llama-server uses (its per-GPU overhead differs)")
        ->check(CLI::IsMember({"cuda", "vulkan"}))
        ->capture_default_str();
    plan_cmd->add_option("--margin", plan.margin_mib, "MiB to keep free on each device");
    plan_cmd->add_option("--candidates", plan.candidates,
                         "other quantizations of the same model to rank as fallbacks");
    plan_cmd->add_option("--fit", plan.fit,
                         "on: predict what llama-server's default --fit on would choose; off: "
                         "the configuration exactly as given")
        ->check(CLI::IsMember({"on", "off"}));
    plan_cmd->add_flag("--oracle", plan.oracle,
                       "also run llama.cpp's llama-fit-params (scripts/setup-llama-server "
                       "--with-tools-extra provides it) and print its estimate and --fit answer "
                       "beside ours");
    add_json_flag(*plan_cmd, global);
    plan_cmd->callback([&] { exit_code = app::cmd_plan(global, plan, out, err); });

    // Service, preset and mode commands live in their own files (issue #4).
    register_preset_commands(cli, global, exit_code);
    register_service_commands(cli, global, exit_code);
    register_bench_commands(cli, global, exit_code);

    auto* dev = cli.add_subcommand("dev", "tools for tests and demos");
    dev->require_subcommand(1);

    app::MakeModelOptions make_model;
    std::string kind_name = "scripted";
    auto* make = dev->add_subcommand(
        "make-model",
        "write a tiny GGUF model that llama-server loads (the file is written atomically)");
    make->add_option("output", make_model.output, "path of the .gguf file to write")->required();
    make->add_option("--kind", kind_name,
                     "scripted: every chat reply is --reasoning then --reply; "
                     "random: random weights (pair with a grammar for long scripted replies); "
                     "mtp: Qwen3.5-style model with an MTP block for --spec-type draft-mtp")
        ->check(CLI::IsMember({"scripted", "random", "mtp"}))
        ->capture_default_str();
    make->add_option("--reasoning", make_model.reasoning,
                     "reasoning_content of the scripted reply")
        ->capture_default_str();
    make->add_option("--reply", make_model.reply, "content of the scripted reply")
        ->capture_default_str();
    make->add_option("--reply-file", make_model.reply_file,
                     "read the reply from a file (e.g. a suite's reference answer.md)");
    make->add_option("--grammar-out", make_model.grammar_out,
                     "with --kind random: write a grammar admitting exactly the reply; serve with "
                     "llama-server --grammar-file (any length)");
    make->add_option("--n-ctx", make_model.context_length,
                     "training context the model declares (llama-server caps slots at it)")
        ->check(CLI::Range(256U, 1U << 24U))
        ->capture_default_str();
    make->add_option("--seed", make_model.seed, "seed for the random weights")->capture_default_str();
    make->add_flag("--force", make_model.force, "overwrite an existing file");
    add_json_flag(*make, global);
    make->callback([&] {
        static const std::map<std::string, app::TinyModelKind> kinds{
            {"scripted", app::TinyModelKind::scripted},
            {"random", app::TinyModelKind::random},
            {"mtp", app::TinyModelKind::mtp}};
        make_model.kind = kinds.at(kind_name);
        exit_code = app::cmd_make_model(global, make_model, out, err);
    });

    app::SmokeOptions smoke;
    auto* smoke_cmd = dev->add_subcommand(
        "smoke", "start a real llama-server on a tiny scripted model, chat with it through "
                 "gpumod's HTTP client, print the reply and timings, stop it");
    smoke_cmd->add_option("--model", smoke.model, "GGUF model to serve (default: a generated one)");
    smoke_cmd->add_option("--prompt", smoke.prompt, "user message to send")->capture_default_str();
    smoke_cmd->add_option("--work-dir", smoke.work_dir,
                          "where to put the model and server log (default: a temporary dir)");
    smoke_cmd->add_option("--timeout", smoke.startup_timeout_s,
                          "seconds to wait for llama-server to become healthy")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    add_json_flag(*smoke_cmd, global);
    smoke_cmd->callback([&] { exit_code = app::cmd_smoke(global, smoke, out, err); });

    // Set last: subcommands inherit a footer set before they are added.
    cli.footer(k_footer);

    // CLI11 reports a mistyped command as "A subcommand is required"; name it instead.
    const auto subcommands = cli.get_subcommands({});
    const bool known_command =
        argc > 1 && std::any_of(subcommands.begin(), subcommands.end(),
                                [&](const CLI::App* sub) { return sub->check_name(argv[1]); });
    if (argc > 1 && argv[1][0] != '-' && !known_command) {
        std::string known;
        for (const auto* sub : subcommands) {
            known += (known.empty() ? "" : ", ") + sub->get_name();
        }
        err << "gpumod: unknown command '" << argv[1] << "' (commands: " << known
            << ")\nRun 'gpumod --help' to see what each one does.\n";
        return app::k_exit_usage;
    }

    try {
        auto args = expand_llama_aliases(argc, argv);
        std::reverse(args.begin(), args.end());
        args.pop_back(); // the program name
        cli.parse(args);
    } catch (const CLI::CallForHelp& e) {
        return cli.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return cli.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return cli.exit(e);
    } catch (const CLI::ParseError& e) {
        cli.exit(e);
        err << "Run 'gpumod --help' (or 'gpumod SUBCOMMAND --help') to see what is accepted.\n";
        return app::k_exit_usage;
    }
    return exit_code;
}

} // namespace gpumod::cli
