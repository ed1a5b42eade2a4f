#pragma once

// NVML loaded at run time with dlopen, so gpumod runs (and says "no NVIDIA GPU found") on
// machines without the NVIDIA driver, and tests can point it at a fake library.

#include "adapters/nvml/nvml_abi.hpp"
#include "core/base/error.hpp"
#include "core/gpu/gpu_info.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gpumod::nvml {

/// Which library to load.
struct LoadOptions
{
    /// An explicit library (GPUMOD_NVML_LIBRARY); failing to load it is an error, not a state.
    std::optional<std::string> explicit_library;
    /// Tried in order when explicit_library is unset; none loading means "no NVIDIA GPU".
    /// The unversioned name is a fallback for installs that only ship the dev symlink.
    std::vector<std::string> default_names = {"libnvidia-ml.so.1", "libnvidia-ml.so"};
};

/// Why NvmlLibrary::open failed.
struct OpenError
{
    Error error;
    bool library_loaded = false; ///< the file loaded but is not a usable NVML (symbols missing)
};

/// NVML held initialised with its device handles resolved once, for repeated cheap memory
/// reads: a sampler at 20 Hz must not pay nvmlInit_v2 (slow without persistence mode) each time.
/// Borrows the NvmlLibrary that opened it, which must outlive it; nvmlShutdown on destruction.
/// read_memory may be called from several threads (NVML's calls are thread-safe).
class NvmlSession
{
  public:
    NvmlSession(NvmlSession&& other) noexcept;
    NvmlSession& operator=(NvmlSession&& other) noexcept;
    NvmlSession(const NvmlSession&) = delete;
    NvmlSession& operator=(const NvmlSession&) = delete;
    ~NvmlSession();

    /// The GPUs (names, UUIDs, memory) and driver version as read when the session opened.
    [[nodiscard]] const GpuInventory& inventory() const { return m_inventory; }

    /// Memory of every GPU of the inventory, in index order; any failing read is an error.
    [[nodiscard]] Result<std::vector<GpuMemory>> read_memory() const;

  private:
    friend class NvmlLibrary;
    NvmlSession(nvml_abi::ShutdownFn shutdown, nvml_abi::ErrorStringFn error_string,
                nvml_abi::DeviceGetMemoryInfoFn device_get_memory_info);

    nvml_abi::ShutdownFn m_shutdown; ///< null once moved from: nothing to shut down
    nvml_abi::ErrorStringFn m_error_string;
    nvml_abi::DeviceGetMemoryInfoFn m_device_get_memory_info;
    std::vector<nvml_abi::Device> m_devices;
    GpuInventory m_inventory;
};

/// A dlopen'ed NVML with its entry points resolved; dlclose on destruction.
class NvmlLibrary
{
  public:
    /// Opens `name_or_path` (RTLD_NOW | RTLD_LOCAL) and resolves the symbols; the error carries
    /// dlerror's text. Required symbols missing is an error; optional ones are left null.
    static tl::expected<NvmlLibrary, OpenError> open(const std::string& name_or_path);

    NvmlLibrary(NvmlLibrary&&) noexcept = default;
    NvmlLibrary& operator=(NvmlLibrary&&) noexcept = default;
    NvmlLibrary(const NvmlLibrary&) = delete;
    NvmlLibrary& operator=(const NvmlLibrary&) = delete;
    ~NvmlLibrary() = default;

    /// The file the dynamic loader actually opened.
    [[nodiscard]] const std::string& path() const { return m_path; }

    /// Initialises NVML, reads every GPU, shuts NVML down. Init failure and zero GPUs come back
    /// as inventory states; a failing call after a successful init is an error.
    [[nodiscard]] Result<GpuInventory> query() const;

    /// Initialises NVML and keeps it initialised for the session's lifetime. Init failure and
    /// zero GPUs are errors here (a session is only useful with a GPU to read).
    [[nodiscard]] Result<NvmlSession> open_session() const;

  private:
    struct Symbols
    {
        nvml_abi::InitV2Fn init_v2 = nullptr;
        nvml_abi::ShutdownFn shutdown = nullptr;
        nvml_abi::ErrorStringFn error_string = nullptr;
        nvml_abi::SystemGetDriverVersionFn system_get_driver_version = nullptr;
        nvml_abi::SystemGetNvmlVersionFn system_get_nvml_version = nullptr; // optional
        nvml_abi::DeviceGetCountV2Fn device_get_count_v2 = nullptr;
        nvml_abi::DeviceGetHandleByIndexV2Fn device_get_handle_by_index_v2 = nullptr;
        nvml_abi::DeviceGetNameFn device_get_name = nullptr;
        nvml_abi::DeviceGetUuidFn device_get_uuid = nullptr;
        nvml_abi::DeviceGetMemoryInfoFn device_get_memory_info = nullptr;
        nvml_abi::DeviceGetUtilizationRatesFn device_get_utilization_rates = nullptr; // optional
        nvml_abi::DeviceGetTemperatureFn device_get_temperature = nullptr;            // optional
        nvml_abi::DeviceGetPowerUsageFn device_get_power_usage = nullptr;             // optional
        nvml_abi::DeviceGetComputeRunningProcessesV3Fn device_get_compute_running_processes_v3 =
            nullptr; // optional
    };

    struct DlCloser
    {
        void operator()(void* handle) const noexcept;
    };

    NvmlLibrary(std::unique_ptr<void, DlCloser> handle, std::string path, Symbols symbols);

    [[nodiscard]] std::string error_text(nvml_abi::Return code) const;
    [[nodiscard]] Result<GpuDevice> query_device(unsigned int index) const;

    std::unique_ptr<void, DlCloser> m_handle;
    std::string m_path;
    Symbols m_symbols;
};

/// Loads NVML as `options` say and reads the GPU inventory. Library not found, init failure
/// and zero GPUs are states; an unloadable explicit library is an error naming
/// GPUMOD_NVML_LIBRARY.
Result<GpuInventory> query_gpus(const LoadOptions& options);

/// query_gpus with the explicit library taken from GPUMOD_NVML_LIBRARY.
Result<GpuInventory> query_gpus();

} // namespace gpumod::nvml
