#pragma once

// GPUs to plan for without having them: named cards (memory as NVML reports it) and sizes
// such as "24GB", "24GiB" or "24576MiB". Pure.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/base/error.hpp"

namespace gpumod::plan {

/// A card gpumod knows by name.
struct GpuModel
{
    std::string_view id;    ///< what --gpu accepts, e.g. "rtx4090"
    std::string_view name;  ///< marketing name
    uint64_t memory_bytes;  ///< total memory as NVML reports it
};

/// Every named card.
std::span<const GpuModel> gpu_catalog();

/// A GPU capacity to plan against.
struct GpuCapacity
{
    std::string label; ///< "NVIDIA GeForce RTX 4090 (24564 MiB)" or "24 GiB"
    uint64_t bytes = 0;
};

/// Resolves --gpu NAME or SIZE (case-insensitive). Sizes take B, KB/MB/GB/TB (powers of
/// 1000) or KiB/MiB/GiB/TiB (powers of 1024), with an optional decimal part ("23.5GiB").
/// Fails naming the known cards when `text` is neither.
Result<GpuCapacity> resolve_gpu(std::string_view text);

} // namespace gpumod::plan
