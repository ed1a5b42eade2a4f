#pragma once

// What gpumod knows about the machine's NVIDIA GPUs, and how it is shown to people. Pure: the
// NVML adapter fills these structs; `status` and `doctor` render them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpumod {

/// A process holding memory on a GPU.
struct GpuProcess
{
    uint32_t pid = 0;
    std::optional<uint64_t> used_bytes; ///< absent when the driver does not say (no permission)
};

/// Device memory in bytes, as NVML reports it (used + free may be less than total: the driver
/// reserves some).
struct GpuMemory
{
    uint64_t total_bytes = 0;
    uint64_t used_bytes = 0;
    uint64_t free_bytes = 0;
};

/// One GPU. Optional fields are absent when the library lacks the call or the GPU does not
/// support it; absence is never an error.
struct GpuDevice
{
    uint32_t index = 0;
    std::string name;
    std::string uuid;
    GpuMemory memory;
    std::optional<uint32_t> utilization_percent;
    std::optional<uint32_t> temperature_c;
    std::optional<uint32_t> power_mw;                 ///< milliwatts, as NVML reports
    std::optional<std::vector<GpuProcess>> processes; ///< compute processes
};

/// How far gpumod got talking to NVML.
enum class NvmlState
{
    ok,                ///< NVML initialised and reports at least one GPU
    library_not_found, ///< no libnvidia-ml on this machine: the normal state without an NVIDIA GPU
    no_devices,        ///< the driver is there but reports zero GPUs
    unavailable,       ///< the library is there but unusable (init failed, symbols missing)
};

/// Everything `gpumod status` shows about GPUs.
struct GpuInventory
{
    NvmlState state = NvmlState::library_not_found;
    std::string requested_library;             ///< name or path handed to the loader
    std::optional<std::string> library;        ///< file NVML was loaded from
    std::optional<std::string> driver_version; ///< e.g. "550.54.15"
    std::optional<std::string> nvml_version;   ///< e.g. "12.550.54.15"
    std::vector<GpuDevice> gpus;
    std::string detail; ///< why the state is not ok, in words (e.g. NVML's error string)
};

/// The word for a state in `status --json` ("ok", "no_gpu", "nvml_unavailable"); both
/// library_not_found and no_devices are "no_gpu".
std::string_view nvml_state_word(NvmlState state);

/// One line saying what NVML reported, e.g. "2 NVIDIA GPUs (driver 550.54.15): ..." or
/// "No NVIDIA GPU found (NVML library libnvidia-ml.so.1 not found)".
std::string describe_nvml_state(const GpuInventory& inventory);

/// Bytes in binary units: "0 B", "1023 B", "1.5 KiB", "512.0 MiB", "23.99 GiB".
std::string format_bytes(uint64_t bytes);

/// Milliwatts as watts with up to one decimal: 285500 -> "285.5 W", 70000 -> "70 W".
std::string format_power(uint32_t milliwatts);

/// The GPU table (index, name, memory used / total, free, util, temp, power), one line per GPU
/// with columns aligned, then per-GPU processes and a driver line. An inventory without GPUs
/// renders as its one-line description.
std::string render_gpu_table(const GpuInventory& inventory);

} // namespace gpumod
