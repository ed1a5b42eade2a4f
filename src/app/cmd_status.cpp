#include "adapters/nvml/nvml_library.hpp"
#include "adapters/posix/environment.hpp"
#include "app/commands.hpp"
#include "app/exit_codes.hpp"
#include "core/gpu/gpu_info.hpp"

#include <nlohmann/json.hpp>

#include <ostream>

namespace gpumod::app {
namespace {

constexpr const char* k_next_step_explicit_library =
    "next step: point GPUMOD_NVML_LIBRARY at a loadable libnvidia-ml.so, or unset it to use the "
    "system's NVML";
constexpr const char* k_next_step_unavailable =
    "next step: run `nvidia-smi`; if it fails too, the NVIDIA driver is not loaded or does not "
    "match its library (reboot after a driver update, or reinstall the driver)";

template <typename T> nlohmann::json optional_json(const std::optional<T>& value)
{
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json gpu_json(const GpuDevice& gpu)
{
    nlohmann::json processes = nullptr;
    if (gpu.processes) {
        processes = nlohmann::json::array();
        for (const auto& process : *gpu.processes) {
            processes.push_back(
                {{"pid", process.pid}, {"used_bytes", optional_json(process.used_bytes)}});
        }
    }
    nlohmann::json power_w = nullptr;
    if (gpu.power_mw) {
        power_w = static_cast<double>(*gpu.power_mw) / 1000.0;
    }
    return {
        {"index", gpu.index},
        {"name", gpu.name},
        {"uuid", gpu.uuid},
        {"memory",
         {{"total_bytes", gpu.memory.total_bytes},
          {"used_bytes", gpu.memory.used_bytes},
          {"free_bytes", gpu.memory.free_bytes}}},
        {"utilization_percent", optional_json(gpu.utilization_percent)},
        {"temperature_c", optional_json(gpu.temperature_c)},
        {"power_w", power_w},
        {"processes", processes},
    };
}

nlohmann::json inventory_json(const GpuInventory& inventory)
{
    nlohmann::json gpus = nlohmann::json::array();
    for (const auto& gpu : inventory.gpus) {
        gpus.push_back(gpu_json(gpu));
    }
    return {
        {"state", std::string(nvml_state_word(inventory.state))},
        {"message", describe_nvml_state(inventory)},
        {"nvml_library", optional_json(inventory.library)},
        {"driver_version", optional_json(inventory.driver_version)},
        {"nvml_version", optional_json(inventory.nvml_version)},
        {"gpus", gpus},
    };
}

nlohmann::json error_json(const std::string& message)
{
    return {
        {"state", "error"},          {"message", message},      {"nvml_library", nullptr},
        {"driver_version", nullptr}, {"nvml_version", nullptr}, {"gpus", nlohmann::json::array()},
    };
}

} // namespace

int cmd_status(const GlobalOptions& global, std::ostream& out, std::ostream& err)
{
    const auto inventory = nvml::query_gpus();
    if (!inventory) {
        if (global.json) {
            out << error_json(inventory.error().message).dump(2) << '\n';
        }
        // An explicit library is the first suspect; otherwise the driver is.
        const auto explicit_library = posix::get_env("GPUMOD_NVML_LIBRARY");
        const bool is_explicit = explicit_library && !explicit_library->empty();
        err << "gpumod status: " << inventory.error().message << '\n'
            << (is_explicit ? k_next_step_explicit_library : k_next_step_unavailable) << '\n';
        return k_exit_environment;
    }

    if (global.json) {
        out << inventory_json(*inventory).dump(2) << '\n';
    } else {
        out << render_gpu_table(*inventory);
    }
    if (inventory->state == NvmlState::unavailable) {
        // The NVIDIA library is installed, so the user expects a GPU: say how to get it back.
        err << k_next_step_unavailable << '\n';
        return k_exit_environment;
    }
    return k_exit_ok;
}

} // namespace gpumod::app
