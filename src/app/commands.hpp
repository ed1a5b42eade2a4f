#pragma once

// The use cases behind each subcommand. The CLI fills these option structs from argv and
// calls one function; each function writes results to `out`, diagnostics to `err`, and
// returns the process exit code (see exit_codes.hpp).

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

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

} // namespace gpumod::app
