#include "adapters/nvml/nvml_library.hpp"

#include "adapters/posix/environment.hpp"

#include <fmt/format.h>

#include <array>
#include <cstddef>
#include <utility>

#include <dlfcn.h>
#include <link.h>

namespace gpumod::nvml {
namespace {

// The C layout NVML writes into; a mismatch here would corrupt memory silently.
static_assert(sizeof(nvml_abi::Memory) == 24);
static_assert(sizeof(nvml_abi::Utilization) == 8);
static_assert(offsetof(nvml_abi::ProcessInfo, used_gpu_memory) == 8);
static_assert(offsetof(nvml_abi::ProcessInfo, gpu_instance_id) == 16);
static_assert(sizeof(nvml_abi::ProcessInfo) == 24);

constexpr const char* k_env_library = "GPUMOD_NVML_LIBRARY";

/// Process lists can grow between the sizing call and the fetch; retry a few times.
constexpr int k_process_query_attempts = 3;
constexpr unsigned int k_process_slack = 8;

std::string last_dlerror()
{
    const char* text = dlerror();
    return text == nullptr ? std::string("unknown dynamic loader error") : std::string(text);
}

template <typename Fn> Fn resolve(void* handle, const char* name)
{
    // POSIX guarantees dlsym's object pointer converts to a function pointer.
    return reinterpret_cast<Fn>(dlsym(handle, name));
}

/// The path the loader picked for a soname, so status can say which file it used.
std::string loaded_path(void* handle, const std::string& fallback)
{
    link_map* map = nullptr;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr && map->l_name != nullptr &&
        map->l_name[0] != '\0') {
        return map->l_name;
    }
    return fallback;
}

/// A NUL-terminated string from a fixed buffer, even if the library filled it completely.
template <std::size_t N> std::string from_buffer(std::array<char, N>& buffer)
{
    buffer[N - 1] = '\0';
    return std::string(buffer.data());
}

/// Pairs a successful nvmlInit_v2 with nvmlShutdown (NVML reference-counts inits).
class InitGuard
{
  public:
    explicit InitGuard(nvml_abi::ShutdownFn shutdown) : m_shutdown(shutdown) {}
    InitGuard(const InitGuard&) = delete;
    InitGuard& operator=(const InitGuard&) = delete;
    ~InitGuard() { m_shutdown(); }

  private:
    nvml_abi::ShutdownFn m_shutdown;
};

} // namespace

void NvmlLibrary::DlCloser::operator()(void* handle) const noexcept
{
    dlclose(handle);
}

NvmlLibrary::NvmlLibrary(std::unique_ptr<void, DlCloser> handle, std::string path, Symbols symbols)
    : m_handle(std::move(handle)), m_path(std::move(path)), m_symbols(symbols)
{
}

tl::expected<NvmlLibrary, OpenError> NvmlLibrary::open(const std::string& name_or_path)
{
    dlerror(); // clear any stale error so the text we report is ours
    std::unique_ptr<void, DlCloser> handle(dlopen(name_or_path.c_str(), RTLD_NOW | RTLD_LOCAL));
    if (!handle) {
        return tl::unexpected(OpenError{Error{last_dlerror()}, false});
    }
    std::string path = loaded_path(handle.get(), name_or_path);

    void* h = handle.get();
    Symbols s;
    s.init_v2 = resolve<nvml_abi::InitV2Fn>(h, "nvmlInit_v2");
    s.shutdown = resolve<nvml_abi::ShutdownFn>(h, "nvmlShutdown");
    s.error_string = resolve<nvml_abi::ErrorStringFn>(h, "nvmlErrorString");
    s.system_get_driver_version =
        resolve<nvml_abi::SystemGetDriverVersionFn>(h, "nvmlSystemGetDriverVersion");
    s.system_get_nvml_version =
        resolve<nvml_abi::SystemGetNvmlVersionFn>(h, "nvmlSystemGetNVMLVersion");
    s.device_get_count_v2 = resolve<nvml_abi::DeviceGetCountV2Fn>(h, "nvmlDeviceGetCount_v2");
    s.device_get_handle_by_index_v2 =
        resolve<nvml_abi::DeviceGetHandleByIndexV2Fn>(h, "nvmlDeviceGetHandleByIndex_v2");
    s.device_get_name = resolve<nvml_abi::DeviceGetNameFn>(h, "nvmlDeviceGetName");
    s.device_get_uuid = resolve<nvml_abi::DeviceGetUuidFn>(h, "nvmlDeviceGetUUID");
    s.device_get_memory_info =
        resolve<nvml_abi::DeviceGetMemoryInfoFn>(h, "nvmlDeviceGetMemoryInfo");
    s.device_get_utilization_rates =
        resolve<nvml_abi::DeviceGetUtilizationRatesFn>(h, "nvmlDeviceGetUtilizationRates");
    s.device_get_temperature =
        resolve<nvml_abi::DeviceGetTemperatureFn>(h, "nvmlDeviceGetTemperature");
    s.device_get_power_usage =
        resolve<nvml_abi::DeviceGetPowerUsageFn>(h, "nvmlDeviceGetPowerUsage");
    s.device_get_compute_running_processes_v3 =
        resolve<nvml_abi::DeviceGetComputeRunningProcessesV3Fn>(
            h, "nvmlDeviceGetComputeRunningProcesses_v3");

    const std::array<std::pair<const char*, bool>, 9> required = {{
        {"nvmlInit_v2", s.init_v2 != nullptr},
        {"nvmlShutdown", s.shutdown != nullptr},
        {"nvmlErrorString", s.error_string != nullptr},
        {"nvmlSystemGetDriverVersion", s.system_get_driver_version != nullptr},
        {"nvmlDeviceGetCount_v2", s.device_get_count_v2 != nullptr},
        {"nvmlDeviceGetHandleByIndex_v2", s.device_get_handle_by_index_v2 != nullptr},
        {"nvmlDeviceGetName", s.device_get_name != nullptr},
        {"nvmlDeviceGetUUID", s.device_get_uuid != nullptr},
        {"nvmlDeviceGetMemoryInfo", s.device_get_memory_info != nullptr},
    }};
    std::string missing;
    for (const auto& [name, found] : required) {
        if (!found) {
            missing += missing.empty() ? name : fmt::format(", {}", name);
        }
    }
    if (!missing.empty()) {
        return tl::unexpected(OpenError{
            Error{fmt::format("{} is not a usable NVML library (missing {}; the NVIDIA driver may "
                              "be too old)",
                              path, missing)},
            true});
    }
    return NvmlLibrary(std::move(handle), std::move(path), s);
}

std::string NvmlLibrary::error_text(nvml_abi::Return code) const
{
    const char* text = m_symbols.error_string(code);
    return fmt::format("{} (NVML error {})", text == nullptr ? "unknown error" : text, code);
}

Result<GpuInventory> NvmlLibrary::query() const
{
    GpuInventory inventory;
    inventory.library = m_path;

    const nvml_abi::Return init = m_symbols.init_v2();
    if (init != nvml_abi::k_success) {
        inventory.state = NvmlState::unavailable;
        inventory.detail = fmt::format("nvmlInit_v2 failed: {}", error_text(init));
        return inventory;
    }
    const InitGuard guard(m_symbols.shutdown);

    std::array<char, nvml_abi::k_system_version_buffer_size> version{};
    if (m_symbols.system_get_driver_version(
            version.data(), nvml_abi::k_system_version_buffer_size) == nvml_abi::k_success) {
        inventory.driver_version = from_buffer(version);
    }
    if (m_symbols.system_get_nvml_version != nullptr) {
        version.fill('\0');
        if (m_symbols.system_get_nvml_version(
                version.data(), nvml_abi::k_system_version_buffer_size) == nvml_abi::k_success) {
            inventory.nvml_version = from_buffer(version);
        }
    }

    unsigned int count = 0;
    const nvml_abi::Return counted = m_symbols.device_get_count_v2(&count);
    if (counted != nvml_abi::k_success) {
        return fail(fmt::format("nvmlDeviceGetCount_v2 failed: {}", error_text(counted)));
    }
    if (count == 0) {
        inventory.state = NvmlState::no_devices;
        inventory.detail = "NVML reports 0 GPUs";
        return inventory;
    }
    for (unsigned int index = 0; index < count; ++index) {
        auto device = query_device(index);
        if (!device) {
            return tl::unexpected(
                device.error().with_context(fmt::format("while reading GPU {}", index)));
        }
        inventory.gpus.push_back(std::move(*device));
    }
    inventory.state = NvmlState::ok;
    return inventory;
}

NvmlSession::NvmlSession(nvml_abi::ShutdownFn shutdown, nvml_abi::ErrorStringFn error_string,
                         nvml_abi::DeviceGetMemoryInfoFn device_get_memory_info)
    : m_shutdown(shutdown), m_error_string(error_string),
      m_device_get_memory_info(device_get_memory_info)
{
}

NvmlSession::NvmlSession(NvmlSession&& other) noexcept
    : m_shutdown(std::exchange(other.m_shutdown, nullptr)), m_error_string(other.m_error_string),
      m_device_get_memory_info(other.m_device_get_memory_info),
      m_devices(std::move(other.m_devices)), m_inventory(std::move(other.m_inventory))
{
}

NvmlSession& NvmlSession::operator=(NvmlSession&& other) noexcept
{
    if (this != &other) {
        if (m_shutdown != nullptr) {
            m_shutdown();
        }
        m_shutdown = std::exchange(other.m_shutdown, nullptr);
        m_error_string = other.m_error_string;
        m_device_get_memory_info = other.m_device_get_memory_info;
        m_devices = std::move(other.m_devices);
        m_inventory = std::move(other.m_inventory);
    }
    return *this;
}

NvmlSession::~NvmlSession()
{
    if (m_shutdown != nullptr) {
        m_shutdown();
    }
}

Result<std::vector<GpuMemory>> NvmlSession::read_memory() const
{
    std::vector<GpuMemory> result;
    result.reserve(m_devices.size());
    for (std::size_t index = 0; index < m_devices.size(); ++index) {
        nvml_abi::Memory memory{};
        const nvml_abi::Return rc = m_device_get_memory_info(m_devices[index], &memory);
        if (rc != nvml_abi::k_success) {
            const char* text = m_error_string(rc);
            return fail(fmt::format("nvmlDeviceGetMemoryInfo failed on GPU {}: {} (NVML error {})",
                                    index, text == nullptr ? "unknown error" : text, rc));
        }
        result.push_back(GpuMemory{memory.total, memory.used, memory.free});
    }
    return result;
}

Result<NvmlSession> NvmlLibrary::open_session() const
{
    const nvml_abi::Return init = m_symbols.init_v2();
    if (init != nvml_abi::k_success) {
        return fail(fmt::format("nvmlInit_v2 failed: {}", error_text(init)));
    }
    // From here the session owns the init: every early return shuts NVML down again.
    NvmlSession session(m_symbols.shutdown, m_symbols.error_string,
                        m_symbols.device_get_memory_info);
    GpuInventory& inventory = session.m_inventory;
    inventory.library = m_path;

    std::array<char, nvml_abi::k_system_version_buffer_size> version{};
    if (m_symbols.system_get_driver_version(
            version.data(), nvml_abi::k_system_version_buffer_size) == nvml_abi::k_success) {
        inventory.driver_version = from_buffer(version);
    }

    unsigned int count = 0;
    const nvml_abi::Return counted = m_symbols.device_get_count_v2(&count);
    if (counted != nvml_abi::k_success) {
        return fail(fmt::format("nvmlDeviceGetCount_v2 failed: {}", error_text(counted)));
    }
    if (count == 0) {
        return fail("NVML reports 0 GPUs");
    }
    for (unsigned int index = 0; index < count; ++index) {
        nvml_abi::Device handle = nullptr;
        const nvml_abi::Return rc = m_symbols.device_get_handle_by_index_v2(index, &handle);
        if (rc != nvml_abi::k_success) {
            return fail(fmt::format("nvmlDeviceGetHandleByIndex_v2 failed on GPU {}: {}", index,
                                    error_text(rc)));
        }
        auto device = query_device(index);
        if (!device) {
            return tl::unexpected(
                device.error().with_context(fmt::format("while reading GPU {}", index)));
        }
        session.m_devices.push_back(handle);
        inventory.gpus.push_back(std::move(*device));
    }
    inventory.state = NvmlState::ok;
    return session;
}

Result<GpuDevice> NvmlLibrary::query_device(unsigned int index) const
{
    nvml_abi::Device handle = nullptr;
    nvml_abi::Return rc = m_symbols.device_get_handle_by_index_v2(index, &handle);
    if (rc != nvml_abi::k_success) {
        return fail(fmt::format("nvmlDeviceGetHandleByIndex_v2 failed: {}", error_text(rc)));
    }

    GpuDevice device;
    device.index = index;

    std::array<char, nvml_abi::k_device_name_buffer_size> name{};
    rc = m_symbols.device_get_name(handle, name.data(), nvml_abi::k_device_name_buffer_size);
    if (rc != nvml_abi::k_success) {
        return fail(fmt::format("nvmlDeviceGetName failed: {}", error_text(rc)));
    }
    device.name = from_buffer(name);

    std::array<char, nvml_abi::k_device_uuid_buffer_size> uuid{};
    rc = m_symbols.device_get_uuid(handle, uuid.data(), nvml_abi::k_device_uuid_buffer_size);
    if (rc != nvml_abi::k_success) {
        return fail(fmt::format("nvmlDeviceGetUUID failed: {}", error_text(rc)));
    }
    device.uuid = from_buffer(uuid);

    nvml_abi::Memory memory{};
    rc = m_symbols.device_get_memory_info(handle, &memory);
    if (rc != nvml_abi::k_success) {
        return fail(fmt::format("nvmlDeviceGetMemoryInfo failed: {}", error_text(rc)));
    }
    device.memory = GpuMemory{memory.total, memory.used, memory.free};

    // Optional readings: a missing symbol or any failure (NOT_SUPPORTED on many consumer
    // cards, NO_PERMISSION in containers) leaves the field absent.
    if (m_symbols.device_get_utilization_rates != nullptr) {
        nvml_abi::Utilization utilization{};
        if (m_symbols.device_get_utilization_rates(handle, &utilization) == nvml_abi::k_success) {
            device.utilization_percent = utilization.gpu;
        }
    }
    if (m_symbols.device_get_temperature != nullptr) {
        unsigned int celsius = 0;
        if (m_symbols.device_get_temperature(handle, nvml_abi::k_temperature_gpu, &celsius) ==
            nvml_abi::k_success) {
            device.temperature_c = celsius;
        }
    }
    if (m_symbols.device_get_power_usage != nullptr) {
        unsigned int milliwatts = 0;
        if (m_symbols.device_get_power_usage(handle, &milliwatts) == nvml_abi::k_success) {
            device.power_mw = milliwatts;
        }
    }
    if (m_symbols.device_get_compute_running_processes_v3 != nullptr) {
        // Sizing call first: NVML answers SUCCESS for none, INSUFFICIENT_SIZE with the count.
        unsigned int needed = 0;
        rc = m_symbols.device_get_compute_running_processes_v3(handle, &needed, nullptr);
        if (rc == nvml_abi::k_success) {
            device.processes.emplace();
        }
        for (int attempt = 0;
             rc == nvml_abi::k_error_insufficient_size && attempt < k_process_query_attempts;
             ++attempt) {
            std::vector<nvml_abi::ProcessInfo> infos(needed + k_process_slack);
            auto filled = static_cast<unsigned int>(infos.size());
            rc = m_symbols.device_get_compute_running_processes_v3(handle, &filled, infos.data());
            if (rc == nvml_abi::k_success) {
                std::vector<GpuProcess> processes;
                for (unsigned int i = 0; i < filled && i < infos.size(); ++i) {
                    const auto& info = infos[i];
                    GpuProcess process;
                    process.pid = info.pid;
                    if (info.used_gpu_memory != nvml_abi::k_value_not_available) {
                        process.used_bytes = info.used_gpu_memory;
                    }
                    processes.push_back(process);
                }
                device.processes = std::move(processes);
            }
            needed = filled;
        }
    }
    return device;
}

Result<GpuInventory> query_gpus(const LoadOptions& options)
{
    if (options.explicit_library) {
        const std::string& requested = *options.explicit_library;
        auto library = NvmlLibrary::open(requested);
        if (!library) {
            return fail(fmt::format("cannot load the NVML library {}={}: {}", k_env_library,
                                    requested, library.error().error.message));
        }
        auto inventory = library->query();
        if (!inventory) {
            return tl::unexpected(inventory.error().with_context(
                fmt::format("while querying NVML ({})", library->path())));
        }
        inventory->requested_library = requested;
        return inventory;
    }

    GpuInventory not_found;
    not_found.state = NvmlState::library_not_found;
    not_found.requested_library =
        options.default_names.empty() ? std::string() : options.default_names.front();
    for (const auto& name : options.default_names) {
        auto library = NvmlLibrary::open(name);
        if (!library) {
            if (library.error().library_loaded) {
                GpuInventory unusable;
                unusable.state = NvmlState::unavailable;
                unusable.requested_library = name;
                unusable.detail = library.error().error.message;
                return unusable;
            }
            // Keep the first loader message: it is about the name people expect.
            if (not_found.detail.empty()) {
                not_found.detail = library.error().error.message;
            }
            continue;
        }
        auto inventory = library->query();
        if (!inventory) {
            return tl::unexpected(inventory.error().with_context(
                fmt::format("while querying NVML ({})", library->path())));
        }
        inventory->requested_library = name;
        return inventory;
    }
    return not_found;
}

Result<GpuInventory> query_gpus()
{
    LoadOptions options;
    options.explicit_library = posix::get_env(k_env_library);
    if (options.explicit_library && options.explicit_library->empty()) {
        // dlopen("") would hand back the main program; an empty override means "not set".
        options.explicit_library.reset();
    }
    return query_gpus(options);
}

} // namespace gpumod::nvml
