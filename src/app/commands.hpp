#pragma once

// The use cases behind each subcommand. The CLI fills these option structs from argv and
// calls one function; each function writes results to `out`, diagnostics to `err`, and
// returns the process exit code (see exit_codes.hpp).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace gpumod::app {

/// Options every subcommand shares.
struct GlobalOptions
{
    std::optional<std::filesystem::path> db_path; ///< --db; falls back to GPUMOD_DB, then XDG
    bool json = false;                            ///< --json: machine-readable output on stdout
};

/// `gpumod version`: version, git commit, build type.
int cmd_version(const GlobalOptions& global, std::ostream& out, std::ostream& err);

/// `gpumod status`: GPUs through NVML; "no NVIDIA GPU found" is a normal state.
int cmd_status(const GlobalOptions& global, std::ostream& out, std::ostream& err);

/// `gpumod doctor`: checks the environment; exit code 1 when any required check fails.
int cmd_doctor(const GlobalOptions& global, std::ostream& out, std::ostream& err);

/// Kinds of tiny model `gpumod dev make-model` writes.
enum class TinyModelKind
{
    scripted, ///< deterministic chain model: the chat reply is a given short text
    random,   ///< random weights; pair with a grammar for long scripted replies
    mtp,      ///< Qwen3.5-style hybrid with one MTP block, for --spec-type draft-mtp
};

struct MakeModelOptions
{
    std::filesystem::path output;
    TinyModelKind kind = TinyModelKind::scripted;
    std::string reasoning = "Let me think."; ///< scripted/mtp: the reasoning_content
    std::string reply = "Hello world!";      ///< scripted/mtp: the content
    uint32_t context_length = 32768;         ///< training context the model declares
    uint64_t seed = 42;
    bool force = false; ///< overwrite an existing file
    /// Read the reply from this file instead of `reply` (long replies, code).
    std::optional<std::filesystem::path> reply_file;
    /// random: also write a GBNF grammar admitting exactly `<think>reasoning</think>reply`, so
    /// `llama-server --grammar-file` makes the random model answer that, whatever its length.
    std::optional<std::filesystem::path> grammar_out;
};

/// `gpumod dev make-model`: writes a tiny GGUF model atomically.
int cmd_make_model(const GlobalOptions& global, const MakeModelOptions& options, std::ostream& out,
                   std::ostream& err);

struct SmokeOptions
{
    std::optional<std::filesystem::path> model; ///< default: generate a scripted model
    std::string prompt = "Say hello";
    std::optional<std::filesystem::path> work_dir; ///< default: a fresh temporary directory
    int startup_timeout_s = 60;
};

/// `gpumod dev smoke`: starts a real llama-server, waits for /health, sends one chat request
/// through gpumod's HTTP client, prints the reply and timings, stops the server group.
int cmd_smoke(const GlobalOptions& global, const SmokeOptions& options, std::ostream& out,
              std::ostream& err);

struct GgufInspectOptions
{
    std::filesystem::path file; ///< any shard of a split model names the whole model
    bool tensors = false;       ///< also list every tensor
    std::size_t max_array_items = 8; ///< long arrays are summarized beyond this many items
};

/// `gpumod gguf inspect`: header, metadata, tensors and derived architecture, read from the
/// header only (never the weights).
int cmd_gguf_inspect(const GlobalOptions& global, const GgufInspectOptions& options,
                     std::ostream& out, std::ostream& err);

/// Flags of `gpumod plan`; each means what the llama-server flag of the same name means, and
/// unset means llama-server's default.
struct PlanOptions
{
    std::string model_or_preset;            ///< GGUF file (any shard) or preset id
    std::optional<uint32_t> ctx;            ///< --ctx-size; unset: the model's training context
    std::optional<int32_t> parallel;        ///< --parallel; unset/-1: auto (4 slots, unified KV)
    std::optional<std::string> cache_type_k; ///< f16, q8_0, q4_0, ...
    std::optional<std::string> cache_type_v;
    std::optional<std::string> flash_attn;   ///< on, off, auto
    std::optional<int32_t> n_gpu_layers;     ///< -1 or >= layers: all
    std::optional<int32_t> n_cpu_moe;        ///< first N layers' experts stay on the CPU
    std::optional<std::string> spec_type;    ///< draft-mtp, draft-simple
    std::optional<int32_t> spec_draft_n_max;
    std::optional<std::string> cache_type_k_draft; ///< -ctkd: the draft context's K cache
    std::optional<std::string> cache_type_v_draft; ///< -ctvd
    std::optional<uint32_t> n_batch;         ///< -b: logical batch (default 2048)
    std::optional<uint32_t> n_ubatch;        ///< -ub: physical batch (default 512)
    std::optional<bool> kv_unified;          ///< --kv-unified / --no-kv-unified
    bool swa_full = false;                   ///< --swa-full: full-size SWA cache
    bool no_op_offload = false;              ///< --no-op-offload: host weights stay on the CPU
    std::optional<std::filesystem::path> model_draft;
    std::optional<std::filesystem::path> mmproj;
    std::optional<std::string> gpu;          ///< auto, a size ("24GB"), or a card ("rtx4090")
    std::string backend = "cuda";            ///< ggml GPU backend: cuda or vulkan
    std::optional<uint64_t> margin_mib;      ///< memory to keep free
    std::vector<std::filesystem::path> candidates; ///< other quantizations to consider
    std::optional<std::string> fit;          ///< on/off: predict as llama-server's --fit would
    bool oracle = false;                     ///< also ask llama-fit-params when present
};

/// `gpumod plan`: per-component memory prediction, verdict, ranked fallbacks. Exit 0 when it
/// fits, 1 when it does not, 2/3 for bad input or a missing file.
int cmd_plan(const GlobalOptions& global, const PlanOptions& options, std::ostream& out,
             std::ostream& err);

} // namespace gpumod::app
