#include "core/gpu/gpu_info.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace gpumod {
namespace {

constexpr uint64_t k_mib = 1024ULL * 1024ULL;

GpuInventory two_gpus()
{
    GpuInventory inventory;
    inventory.state = NvmlState::ok;
    inventory.requested_library = "libnvidia-ml.so.1";
    inventory.library = "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1";
    inventory.driver_version = "550.54.15";
    inventory.nvml_version = "12.550.54.15";

    GpuDevice rtx;
    rtx.index = 0;
    rtx.name = "NVIDIA GeForce RTX 4090";
    rtx.uuid = "GPU-a";
    rtx.memory = GpuMemory{24564 * k_mib, 3072 * k_mib, 21492 * k_mib};
    rtx.utilization_percent = 37;
    rtx.temperature_c = 61;
    rtx.power_mw = 285500;
    rtx.processes = std::vector<GpuProcess>{{4242, 2816 * k_mib}, {77, std::nullopt}};

    GpuDevice small;
    small.index = 1;
    small.name = "T4";
    small.uuid = "GPU-b";
    small.memory = GpuMemory{512 * k_mib, 0, 512 * k_mib};
    // No utilization, temperature, power or process list: the library lacked them.

    inventory.gpus = {rtx, small};
    return inventory;
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream stream(text);
    for (std::string line; std::getline(stream, line);) {
        lines.push_back(line);
    }
    return lines;
}

TEST(FormatBytes, UsesBinaryUnitsWithFixedDecimals)
{
    EXPECT_EQ(format_bytes(0), "0 B");
    EXPECT_EQ(format_bytes(1023), "1023 B");
    EXPECT_EQ(format_bytes(1024), "1.0 KiB");
    EXPECT_EQ(format_bytes(1536), "1.5 KiB");
    EXPECT_EQ(format_bytes(512 * k_mib), "512.0 MiB");
    EXPECT_EQ(format_bytes(1024 * k_mib), "1.00 GiB");
    EXPECT_EQ(format_bytes(24564 * k_mib), "23.99 GiB");
    EXPECT_EQ(format_bytes(81559 * k_mib), "79.65 GiB");
}

TEST(FormatBytes, MovesUpAUnitInsteadOfPrinting1024)
{
    EXPECT_EQ(format_bytes(1024 * k_mib - 1), "1.00 GiB");
    EXPECT_EQ(format_bytes(k_mib - 1), "1.0 MiB");
    EXPECT_EQ(format_bytes(1024ULL * 1024 * k_mib), "1.00 TiB");
}

TEST(FormatPower, WattsWithAtMostOneDecimal)
{
    EXPECT_EQ(format_power(285500), "285.5 W");
    EXPECT_EQ(format_power(70000), "70 W");
    EXPECT_EQ(format_power(70250), "70.3 W");
    EXPECT_EQ(format_power(999), "1 W");
    EXPECT_EQ(format_power(0), "0 W");
}

TEST(NvmlStateWord, MapsStatesToTheJsonVocabulary)
{
    EXPECT_EQ(nvml_state_word(NvmlState::ok), "ok");
    EXPECT_EQ(nvml_state_word(NvmlState::library_not_found), "no_gpu");
    EXPECT_EQ(nvml_state_word(NvmlState::no_devices), "no_gpu");
    EXPECT_EQ(nvml_state_word(NvmlState::unavailable), "nvml_unavailable");
}

TEST(DescribeNvmlState, OneLinePerState)
{
    EXPECT_EQ(describe_nvml_state(two_gpus()),
              "2 NVIDIA GPUs (driver 550.54.15): NVIDIA GeForce RTX 4090, T4");

    GpuInventory one = two_gpus();
    one.gpus.resize(1);
    one.driver_version.reset();
    EXPECT_EQ(describe_nvml_state(one), "1 NVIDIA GPU (driver unknown): NVIDIA GeForce RTX 4090");

    GpuInventory missing;
    missing.state = NvmlState::library_not_found;
    missing.requested_library = "libnvidia-ml.so.1";
    EXPECT_EQ(describe_nvml_state(missing),
              "No NVIDIA GPU found (NVML library libnvidia-ml.so.1 not found)");

    GpuInventory none;
    none.state = NvmlState::no_devices;
    none.driver_version = "550.54.15";
    EXPECT_EQ(describe_nvml_state(none),
              "No NVIDIA GPU found (NVIDIA driver 550.54.15 reports 0 GPUs)");

    GpuInventory broken;
    broken.state = NvmlState::unavailable;
    broken.requested_library = "libnvidia-ml.so.1";
    broken.library = "/lib/libnvidia-ml.so.1";
    broken.detail = "nvmlInit_v2 failed: Driver Not Loaded (NVML error 9)";
    EXPECT_EQ(describe_nvml_state(broken),
              "NVML unavailable (/lib/libnvidia-ml.so.1): nvmlInit_v2 failed: Driver Not Loaded "
              "(NVML error 9)");
}

TEST(RenderGpuTable, EmptyInventoryIsItsDescription)
{
    GpuInventory missing;
    missing.state = NvmlState::library_not_found;
    missing.requested_library = "libnvidia-ml.so.1";
    EXPECT_EQ(render_gpu_table(missing),
              "No NVIDIA GPU found (NVML library libnvidia-ml.so.1 not found)\n");
}

TEST(RenderGpuTable, ExactLayout)
{
    const std::string expected =
        "GPU  NAME                      MEMORY USED / TOTAL       FREE  UTIL  TEMP    POWER\n"
        "---  -----------------------  --------------------  ---------  ----  ----  -------\n"
        "  0  NVIDIA GeForce RTX 4090  3.00 GiB / 23.99 GiB  20.99 GiB   37%  61 C  285.5 W\n"
        "  1  T4                            0 B / 512.0 MiB  512.0 MiB     -     -        -\n"
        "\n"
        "GPU   PID  GPU MEMORY\n"
        "---  ----  ----------\n"
        "  0  4242    2.75 GiB\n"
        "  0    77           -\n"
        "\n"
        "Driver 550.54.15, NVML 12.550.54.15 (/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1)\n";
    EXPECT_EQ(render_gpu_table(two_gpus()), expected);
}

TEST(RenderGpuTable, ColumnsLineUpWhateverTheNameLengths)
{
    GpuInventory inventory = two_gpus();
    inventory.gpus[1].name = "A much longer GPU name than the first one";
    const auto lines = lines_of(render_gpu_table(inventory));
    ASSERT_GE(lines.size(), 4U);
    const std::size_t free_end = lines[0].find("FREE") + 4;
    for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(lines[i].size(), lines[0].size()) << lines[i];
        EXPECT_EQ(lines[i].back() == ' ', false) << lines[i];
    }
    // The FREE column is right-aligned: every value ends where the header does.
    EXPECT_EQ(lines[2].substr(free_end - 9, 9), "20.99 GiB");
    EXPECT_EQ(lines[3].substr(free_end - 9, 9), "512.0 MiB");
    EXPECT_EQ(lines[3].find("A much longer GPU name"), lines[0].find("NAME"));
}

TEST(RenderGpuTable, NoProcessSectionWithoutProcesses)
{
    GpuInventory inventory = two_gpus();
    inventory.gpus[0].processes = std::vector<GpuProcess>{};
    const std::string text = render_gpu_table(inventory);
    EXPECT_EQ(text.find("PID"), std::string::npos);
    EXPECT_NE(text.find("Driver 550.54.15"), std::string::npos);
}

} // namespace
} // namespace gpumod
