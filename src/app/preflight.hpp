#pragma once

// The preflight gate wired to the machine: what NVML reports free now, the headers of the
// service's model files, and the pure judgement (core/services/preflight).

#include "core/services/preflight.hpp"
#include "core/services/service_spec.hpp"

namespace gpumod::app {

/// The preflight gate for one service: its predicted GPU memory against what NVML reports
/// free now, plus `delta` (memory a switch is about to release or has promised). Never fails:
/// what it cannot check (no NVIDIA GPU, unreadable model) is "not checked" with the reason.
PreflightVerdict preflight(const ServiceSpec& spec, const FreeMemoryDelta& delta = {});

} // namespace gpumod::app
