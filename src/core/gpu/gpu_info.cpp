#include "core/gpu/gpu_info.hpp"

#include "core/report/text_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>

namespace gpumod {
namespace {

std::string or_dash(const std::optional<uint32_t>& value, std::string_view suffix)
{
    if (!value) {
        return "-";
    }
    return fmt::format("{}{}", *value, suffix);
}

std::string join_names(const std::vector<GpuDevice>& gpus)
{
    std::string names;
    for (const auto& gpu : gpus) {
        if (!names.empty()) {
            names += ", ";
        }
        names += gpu.name;
    }
    return names;
}

} // namespace

std::string_view nvml_state_word(NvmlState state)
{
    switch (state) {
    case NvmlState::ok:
        return "ok";
    case NvmlState::library_not_found:
    case NvmlState::no_devices:
        return "no_gpu";
    case NvmlState::unavailable:
        return "nvml_unavailable";
    }
    return "nvml_unavailable";
}

std::string describe_nvml_state(const GpuInventory& inventory)
{
    switch (inventory.state) {
    case NvmlState::ok: {
        const std::size_t count = inventory.gpus.size();
        return fmt::format("{} NVIDIA GPU{} (driver {}): {}", count, count == 1 ? "" : "s",
                           inventory.driver_version.value_or("unknown"),
                           join_names(inventory.gpus));
    }
    case NvmlState::library_not_found:
        return fmt::format("No NVIDIA GPU found (NVML library {} not found)",
                           inventory.requested_library);
    case NvmlState::no_devices:
        if (inventory.driver_version) {
            return fmt::format("No NVIDIA GPU found (NVIDIA driver {} reports 0 GPUs)",
                               *inventory.driver_version);
        }
        return "No NVIDIA GPU found (NVML reports 0 GPUs)";
    case NvmlState::unavailable:
        return fmt::format("NVML unavailable ({}): {}",
                           inventory.library.value_or(inventory.requested_library),
                           inventory.detail);
    }
    return inventory.detail;
}

std::string format_bytes(uint64_t bytes)
{
    if (bytes < 1024) {
        return fmt::format("{} B", bytes);
    }
    static constexpr std::array<std::string_view, 5> k_units = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    for (;;) {
        value /= 1024.0;
        ++unit;
        // GiB and up get two decimals: 23.99 GiB tells a 24 GiB card from a 24 GB one.
        const int decimals = unit >= 3 ? 2 : 1;
        const double scale = decimals == 2 ? 100.0 : 10.0;
        const double rounded = std::round(value * scale) / scale;
        // Move up a unit rather than print "1024.0 MiB".
        if (rounded >= 1024.0 && unit + 1 < k_units.size()) {
            continue;
        }
        return fmt::format("{:.{}f} {}", value, decimals, k_units[unit]);
    }
}

std::string format_power(uint32_t milliwatts)
{
    // Integer arithmetic so the same reading always prints the same text.
    const uint64_t tenths = (uint64_t{milliwatts} + 50) / 100;
    if (tenths % 10 == 0) {
        return fmt::format("{} W", tenths / 10);
    }
    return fmt::format("{}.{} W", tenths / 10, tenths % 10);
}

std::string render_gpu_table(const GpuInventory& inventory)
{
    if (inventory.gpus.empty()) {
        return describe_nvml_state(inventory) + '\n';
    }
    TextTable gpus;
    gpus.add_column("GPU", Align::right);
    gpus.add_column("NAME");
    gpus.add_column("MEMORY USED / TOTAL", Align::right);
    gpus.add_column("FREE", Align::right);
    gpus.add_column("UTIL", Align::right);
    gpus.add_column("TEMP", Align::right);
    gpus.add_column("POWER", Align::right);
    for (const auto& gpu : inventory.gpus) {
        gpus.add_row({fmt::format("{}", gpu.index), gpu.name,
                      fmt::format("{} / {}", format_bytes(gpu.memory.used_bytes),
                                  format_bytes(gpu.memory.total_bytes)),
                      format_bytes(gpu.memory.free_bytes), or_dash(gpu.utilization_percent, "%"),
                      or_dash(gpu.temperature_c, " C"),
                      gpu.power_mw ? format_power(*gpu.power_mw) : std::string("-")});
    }
    std::string text = gpus.render();

    TextTable processes;
    processes.add_column("GPU", Align::right);
    processes.add_column("PID", Align::right);
    processes.add_column("GPU MEMORY", Align::right);
    bool any_process = false;
    for (const auto& gpu : inventory.gpus) {
        for (const auto& process : gpu.processes.value_or(std::vector<GpuProcess>{})) {
            processes.add_row(
                {fmt::format("{}", gpu.index), fmt::format("{}", process.pid),
                 process.used_bytes ? format_bytes(*process.used_bytes) : std::string("-")});
            any_process = true;
        }
    }
    if (any_process) {
        text += '\n';
        text += processes.render();
    }

    text += fmt::format("\nDriver {}, NVML {}", inventory.driver_version.value_or("unknown"),
                        inventory.nvml_version.value_or("unknown"));
    if (inventory.library) {
        text += fmt::format(" ({})", *inventory.library);
    }
    text += '\n';
    return text;
}

} // namespace gpumod
