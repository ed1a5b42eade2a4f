#pragma once

// Reads llama-server's own account of the memory it allocated from its log (`-lv 4`): the
// per-buffer report lines and the memory breakdown table printed at exit. Pure: text in,
// structs out. The formats are those of Debian's llama.cpp 0.7.0 (build 11669); see
// bench/README.md for the exact lines.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpumod::bench {

/// Context index of buffers that belong to the model (weights), not to a llama_context.
inline constexpr int k_model_context = -1;

/// One "<device> <kind> buffer size = <x> MiB" line.
struct BufferLine
{
    int context = k_model_context; ///< -1: model weights; 0: main context; 1: MTP/draft context
    std::string device;            ///< "CPU_Mapped", "CPU", "CPU_REPACK", "Vulkan0", ...
    std::string kind;              ///< "model", "KV", "RS", "compute", "output"
    double mib = 0.0;              ///< as printed (two decimals)
};

/// One "llama_kv_cache: size = ..." line: what the KV buffer holds.
struct KvCacheLine
{
    int context = 0;
    double mib = 0.0;
    uint64_t cells = 0;
    uint32_t layers = 0;
    uint32_t seqs = 0;     ///< "4/4 seqs": streams in this cache
    uint32_t seqs_max = 0; ///< ... of n_seq_max
    std::string k_type;
    double k_mib = 0.0;
    std::string v_type;
    double v_mib = 0.0;
    bool swa = false; ///< follows "creating     SWA KV cache" (an iSWA model's windowed layers)
};

/// One "llama_memory_recurrent: size = ..." line.
struct RecurrentLine
{
    int context = 0;
    double mib = 0.0;
    uint64_t cells = 0;
    uint32_t layers = 0;
    double r_mib = 0.0;
    double s_mib = 0.0;
};

/// The "llama_context: <key> = <value>" settings of one context.
struct ContextSettings
{
    uint64_t n_ctx = 0;
    uint64_t n_ctx_seq = 0;
    uint32_t n_seq_max = 0;
    uint32_t n_batch = 0;
    uint32_t n_ubatch = 0;
    std::optional<bool> flash_attn;
    std::optional<bool> kv_unified;
};

/// One data row of common_memory_breakdown_print (integer MiB, as printed). Host rows carry
/// self = model + context + compute; device rows also total, free and unaccounted.
struct BreakdownRow
{
    std::string device; ///< "Host", "Vulkan0 (H200)", "CPU_REPACK", ...
    std::optional<int64_t> total;
    std::optional<int64_t> free;
    int64_t self = 0;
    int64_t model = 0;
    int64_t context = 0;
    int64_t compute = 0;
    std::optional<int64_t> unaccounted;
};

/// Everything the parser recognised in one log.
struct ParsedLog
{
    std::vector<BufferLine> buffers;
    std::vector<KvCacheLine> kv_caches;
    std::vector<RecurrentLine> recurrent;
    std::vector<ContextSettings> contexts; ///< in construction order; [0] is the main context
    std::vector<BreakdownRow> breakdown;
    std::optional<double> file_size_mib; ///< print_info: file size
    std::string model_params;            ///< print_info: model params ("1.38 M")
    bool mtp_context = false;            ///< "creating MTP draft context" seen
    bool listening = false;              ///< "listening on http://" seen
    std::vector<std::string> errors;     ///< level-E lines (message part), in order
};

/// Parses a whole log. Unknown lines are ignored; malformed numbers leave fields at zero.
ParsedLog parse_llama_log(std::string_view text);

/// Per-device sums in MiB, by component, as llama-server reported them.
struct ReportedComponents
{
    double weights = 0.0;         ///< model buffers
    double kv_cache = 0.0;        ///< KV buffers of the main context
    double recurrent_state = 0.0; ///< RS buffers of the main context
    double compute_buffer = 0.0;  ///< compute buffers of the main context (largest reserve)
    double output_buffer = 0.0;   ///< output buffers of the main context
    double mtp_kv_cache = 0.0;    ///< KV + RS buffers of later contexts (MTP/draft)
    double mtp_compute = 0.0;     ///< compute + output buffers of later contexts
    [[nodiscard]] double total() const
    {
        return weights + kv_cache + recurrent_state + compute_buffer + output_buffer +
               mtp_kv_cache + mtp_compute;
    }
};

/// "host" for host buffers (CPU, CPU_Mapped, CPU_REPACK, *_Host), else the device name.
std::string device_group(std::string_view device);

/// Sums the buffer lines per device group. A context's compute buffer is the largest size
/// reported for it (ggml grows a scheduler's buffer on re-reserve, never shrinks it).
std::map<std::string, ReportedComponents> reported_components(const ParsedLog& log);

} // namespace gpumod::bench
