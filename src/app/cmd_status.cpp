#include "adapters/nvml/nvml_library.hpp"
#include "adapters/posix/environment.hpp"
#include "app/cmd_services.hpp"
#include "app/commands.hpp"
#include "core/report/text_table.hpp"
#include "app/exit_codes.hpp"
#include "core/gpu/gpu_info.hpp"

#include <fmt/format.h>
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

    // Services are part of the picture but never make status fail: a database problem is
    // reported in place of the list.
    const auto overview = services_overview(global);
    if (global.json) {
        auto j = inventory_json(*inventory);
        if (overview) {
            j["mode"] = overview->current_mode ? nlohmann::json(*overview->current_mode)
                                               : nlohmann::json(nullptr);
            j["services"] = nlohmann::json::array();
            for (const auto& s : overview->services) {
                j["services"].push_back(
                    {{"id", s.id}, {"state", s.state}, {"pid", s.pid}, {"port", s.port}});
            }
        } else {
            j["services_error"] = overview.error().message;
        }
        out << j.dump(2) << '\n';
    } else {
        out << render_gpu_table(*inventory);
        if (overview) {
            out << fmt::format("\nmode: {}\n", overview->current_mode.value_or("(none)"));
            if (overview->services.empty()) {
                out << "services: none running\n";
            } else {
                TextTable table;
                table.add_column("service");
                table.add_column("state");
                table.add_column("pid", Align::right);
                table.add_column("port", Align::right);
                for (const auto& s : overview->services) {
                    table.add_row({s.id, s.state, std::to_string(s.pid), std::to_string(s.port)});
                }
                out << table.render();
            }
        } else {
            out << "\nservices: unknown (" << overview.error().message << ")\n";
        }
    }
    if (inventory->state == NvmlState::unavailable) {
        // The NVIDIA library is installed, so the user expects a GPU: say how to get it back.
        err << k_next_step_unavailable << '\n';
        return k_exit_environment;
    }
    return k_exit_ok;
}

} // namespace gpumod::app
