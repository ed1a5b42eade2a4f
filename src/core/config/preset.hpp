#pragma once

// A preset: one model service described in a YAML file (docs/presets.md), parsed into typed
// fields at the edge (adapters/config/yaml_loader) and checked here. Unset optional fields
// mean "llama-server's (or vLLM's) own default": they are left off the command line.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/error.hpp"
#include "core/services/service_spec.hpp"

namespace gpumod::config {

/// Where a value sits in its file; 1-based like editors and compilers print it.
struct SourcePosition
{
    int line = 0;   ///< 0: unknown
    int column = 0; ///< 0: unknown
};

/// One thing wrong with a configuration file, located so that a person can go and fix it.
struct ConfigProblem
{
    std::filesystem::path file;
    SourcePosition position;
    std::string message;

    /// "file:line:column: message" (the position is left out when unknown).
    [[nodiscard]] std::string format() const;
};

/// All problems, one per line, as a single error.
Error to_error(const std::vector<ConfigProblem>& problems);

enum class FlashAttn
{
    on,
    off,
    automatic, ///< llama-server's "auto"
};

/// --n-gpu-layers: a count of layers, or llama-server's words "all" / "auto".
struct GpuLayers
{
    enum class Kind
    {
        count,
        all,
        automatic,
    };
    Kind kind = Kind::automatic;
    int32_t count = 0; ///< for Kind::count

    friend bool operator==(const GpuLayers&, const GpuLayers&) = default;
};

/// Speculative decoding (--spec-type, --spec-draft-n-max, --model-draft).
struct SpeculativeOptions
{
    std::optional<std::string> type;                ///< e.g. "draft-mtp"; comma-separated list allowed
    std::optional<int32_t> n_max;                   ///< tokens drafted per step
    std::optional<std::filesystem::path> draft_model; ///< separate drafter GGUF
};

/// Typed llama-server options; each maps to exactly one flag.
struct LlamaCppOptions
{
    std::optional<uint32_t> ctx;                ///< -c; 0 = the model's training context
    std::optional<int32_t> parallel;            ///< -np; -1 = auto
    std::optional<std::string> cache_type_k;    ///< -ctk
    std::optional<std::string> cache_type_v;    ///< -ctv
    std::optional<FlashAttn> flash_attn;        ///< -fa
    std::optional<GpuLayers> n_gpu_layers;      ///< -ngl
    std::optional<int32_t> n_cpu_moe;           ///< --n-cpu-moe
    SpeculativeOptions speculative;
    std::optional<std::filesystem::path> mmproj; ///< --mmproj
    std::optional<std::string> chat_template_kwargs; ///< compact JSON object text
    std::optional<int32_t> reasoning_budget;    ///< --reasoning-budget; -1 = unrestricted
    std::optional<int32_t> threads;             ///< -t
    std::vector<std::string> extra_args;        ///< appended verbatim (after expansion)
};

/// Typed `vllm serve` options.
struct VllmOptions
{
    std::string model; ///< Hugging Face id or local directory
    std::optional<double> gpu_memory_utilization; ///< (0, 1]
    std::optional<uint32_t> max_model_len;
    std::optional<uint32_t> max_num_seqs;
    std::optional<uint32_t> tensor_parallel_size; ///< GPUs the model is split over
    std::optional<std::string> dtype;
    bool enforce_eager = false;
    bool enable_sleep_mode = false; ///< exposes /sleep and /wake_up
    std::vector<std::string> extra_args;
};

/// Any program; the preset's argv is run as is.
struct CommandOptions
{
    std::vector<std::string> argv;
};

inline constexpr std::string_view k_default_host = "127.0.0.1";
inline constexpr uint32_t k_default_startup_timeout_s = 120;

struct Preset
{
    std::string id;   ///< unique among presets, [a-z0-9][a-z0-9._-]*
    std::string name; ///< for people; defaults to the id
    ServiceDriver driver = ServiceDriver::llamacpp;
    std::string host{k_default_host};
    uint16_t port = 0; ///< 0: none (only allowed for the command driver)
    std::optional<std::filesystem::path> model_path; ///< required for llamacpp
    LlamaCppOptions llamacpp;
    VllmOptions vllm;
    CommandOptions command;
    std::map<std::string, std::string> env;
    uint32_t startup_timeout_s = k_default_startup_timeout_s;
    std::optional<std::string> health_path; ///< unset: the driver's default
    std::optional<uint64_t> vram_budget_mb; ///< MiB; overrides the planner's prediction
    std::filesystem::path source_file;      ///< where it was read from
    /// Positions of the keys that were present, by dotted path ("model_path",
    /// "llamacpp.speculative.draft_model", "llamacpp.extra_args[2]"), for later errors.
    std::map<std::string, SourcePosition> positions;

    /// Position of `key` in source_file, or {0, 0} when the key was not in the file.
    [[nodiscard]] SourcePosition position_of(const std::string& key) const;
};

/// Lower-case name of a driver as written in YAML ("llamacpp", "vllm", "command").
std::string_view driver_name(ServiceDriver driver);

/// The driver of that name, if any.
std::optional<ServiceDriver> parse_driver(std::string_view name);

/// "on", "off", "auto".
std::string_view flash_attn_name(FlashAttn value);

/// "all", "auto" or the count.
std::string gpu_layers_text(const GpuLayers& value);

/// Whether `id` is a valid preset or mode id: [a-z0-9][a-z0-9._-]*, at most 64 characters.
bool is_valid_id(std::string_view id);

/// KV cache types llama-server accepts for -ctk/-ctv.
const std::vector<std::string>& known_cache_types();

/// Speculative decoding types llama-server accepts for --spec-type.
const std::vector<std::string>& known_spec_types();

/// Checks the rules that span fields (driver needs a model, quantized V cache needs flash
/// attention, extra_args must not repeat a typed option ...). Empty when the preset is valid.
/// Positions come from preset.positions.
std::vector<ConfigProblem> validate_preset(const Preset& preset);

/// The closest of `candidates` to `word` by edit distance, when close enough to be a typo.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

} // namespace gpumod::config
