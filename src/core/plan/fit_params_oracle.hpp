#pragma once

// `gpumod plan --oracle`: llama.cpp's own estimate beside ours. Debian sid's
// llama.cpp-tools-extra ships `llama-fit-params`, which loads a model's header the way
// llama-server does (no weights) and either prints the memory llama.cpp expects per device
// (`--fit-print on`) or the arguments its `--fit` would choose. This file is the pure part:
// which flags mirror a plan, how to read the two outputs, and how its devices line up with
// ours. Running it is adapters/llama/llama_fit_params.hpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/error.hpp"
#include "core/plan/memory_model.hpp"

namespace gpumod::plan {

/// One line of `llama-fit-params --fit-print on`: "<device> <model> <context> <compute>".
/// llama.cpp divides bytes by 2^20 in integer arithmetic, so each value is rounded down.
struct OracleDeviceEstimate
{
    std::string device;       ///< "CUDA0", "Vulkan0", ... and "Host" (the last line)
    uint64_t model_mib = 0;   ///< model tensors
    uint64_t context_mib = 0; ///< the context's memory: KV cache and recurrent state
    uint64_t compute_mib = 0; ///< compute buffers
    [[nodiscard]] bool host() const { return device == "Host"; }
};

/// Reads the estimate (stdout; blank lines ignored). Every line must be a device name and
/// three whole numbers, and the last one the Host line; the error quotes the line at fault.
Result<std::vector<OracleDeviceEstimate>> parse_fit_params_estimate(std::string_view text);

/// One `-ot` entry of the fitted answer: tensors matching `pattern` go to `buffer_type`.
struct OracleTensorOverride
{
    std::string pattern;     ///< a regular expression over tensor names
    std::string buffer_type; ///< "CPU", "CUDA0", ...
};

/// The arguments `llama-fit-params` prints in fit mode:
/// `-c N -ngl N [-ts a,b,...] [-ot "pattern=BUFT,..."]` (older builds leave -ot unquoted).
struct OracleFittedArgs
{
    std::string line; ///< as printed, trimmed
    uint32_t n_ctx = 0;
    int32_t n_gpu_layers = -1; ///< -1: all
    std::vector<uint32_t> tensor_split;
    std::vector<OracleTensorOverride> overrides;
};

/// Reads the fitted arguments (the one non-blank line of stdout); the error quotes it.
Result<OracleFittedArgs> parse_fit_params_answer(std::string_view text);

/// The plan to mirror onto llama-fit-params' flags (they are llama-server's).
struct OracleQuery
{
    std::string model_path;
    ResolvedConfig config;    ///< the configuration of the main prediction, as resolved
    bool cpu_only = false;    ///< planned for the CPU backend: the oracle gets `-dev none`
    bool assumed_gpu = false; ///< --gpu CARD|SIZE: a GPU this machine need not have
    /// Set: also ask for its --fit answer, starting from this configuration as given (before
    /// any fitting of ours), of which only the pinned -c/-ngl are passed.
    std::optional<ResolvedConfig> fit_from;
    std::optional<uint32_t> pinned_ctx; ///< --ctx-size as given, when given
    std::optional<int32_t> pinned_ngl;  ///< --n-gpu-layers as given, when given
    std::optional<uint64_t> margin_mib; ///< --margin: its --fit-target
    bool mmproj = false;                ///< --mmproj given (the oracle loads no projector)
    bool model_draft = false;           ///< --model-draft given (the oracle loads no draft model)
    bool vulkan = false;                ///< --backend vulkan
};

/// The two command lines (program name excluded) and the plan options that could not be
/// passed, each with its consequence.
struct OracleInvocation
{
    std::vector<std::string> estimate_args;
    std::vector<std::string> fit_args; ///< empty unless the query asks for the fit
    std::vector<std::string> not_passed;
};

/// Mirrors the plan: the estimate gets the resolved configuration explicitly (-c, -np, -ctk,
/// -ctv, -fa, -ngl, -ncmoe, -b, -ub, --swa-full), so both sides size the same thing. The
/// fit gets only the -c/-ngl the user pinned, as llama-server's --fit would see them.
/// llama-fit-params has no --kv-unified: a unified cache of N slots is asked as `-np 1`
/// with the same cells (one stream, as unified is).
OracleInvocation fit_params_invocation(const OracleQuery& query);

/// Our numbers in the oracle's three categories for one device.
struct OracleComparable
{
    std::string device;   ///< our device name ("GPU0", "CPU")
    uint64_t weights = 0; ///< weights (projector excluded: the oracle does not load it)
    uint64_t context = 0; ///< KV cache + recurrent state
    uint64_t compute = 0; ///< compute buffer
};

/// One device of the comparison; either side may be missing (a GPU the oracle does not see).
struct OracleComparisonRow
{
    std::optional<OracleDeviceEstimate> oracle;
    std::optional<OracleComparable> ours;
};

/// Lines the oracle's devices up with ours: its GPU lines in order with our GPUs in order,
/// its Host line with our host. `projector_bytes` (counted in our first device's weights)
/// is left out of ours.
std::vector<OracleComparisonRow>
compare_oracle_estimate(const std::vector<OracleDeviceEstimate>& estimate, const MemoryPlan& plan,
                        uint64_t projector_bytes);

/// Why a run of the tool failed, from its stderr: its error lines (`E` log lines, "error",
/// "failed", an uncaught exception's "what():"), the first three, else the last line.
std::string summarize_fit_params_failure(std::string_view stderr_text);

} // namespace gpumod::plan
