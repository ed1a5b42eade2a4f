#pragma once

// Our own minimal declarations of the NVML C ABI: only the types, values and function shapes
// gpumod calls, so the build needs no NVIDIA header (libnvidia-ml-dev is non-free in Debian).
// Values and layouts were checked against several independent copies of NVIDIA's nvml.h enum
// and structs; the versioned entry points (`_v2`, `_v3`) are resolved explicitly with dlsym,
// because the unversioned names are legacy v1 entry points with different semantics.

#include <climits>

namespace gpumod::nvml_abi {

/// nvmlReturn_t: a C enum, int-sized on every ABI NVML ships for.
using Return = int;

inline constexpr Return k_success = 0;
inline constexpr Return k_error_uninitialized = 1;
inline constexpr Return k_error_invalid_argument = 2;
inline constexpr Return k_error_not_supported = 3;
inline constexpr Return k_error_no_permission = 4;
inline constexpr Return k_error_not_found = 6;
inline constexpr Return k_error_insufficient_size = 7;
inline constexpr Return k_error_driver_not_loaded = 9;
inline constexpr Return k_error_lib_rm_version_mismatch = 18;
inline constexpr Return k_error_unknown = 999;

/// nvmlDevice_t: an opaque handle owned by the library.
struct DeviceOpaque;
using Device = DeviceOpaque*;

/// nvmlTemperatureSensors_t value for the GPU die sensor.
inline constexpr int k_temperature_gpu = 0;

/// Buffer sizes: the largest each call documents (name v2 = 96, UUID v2 = 96, versions = 80).
inline constexpr unsigned int k_device_name_buffer_size = 96;
inline constexpr unsigned int k_device_uuid_buffer_size = 96;
inline constexpr unsigned int k_system_version_buffer_size = 80;

/// NVML_VALUE_NOT_AVAILABLE as seen in an unsigned long long field (e.g. usedGpuMemory).
inline constexpr unsigned long long k_value_not_available = ULLONG_MAX;

/// nvmlMemory_t (v1), filled by nvmlDeviceGetMemoryInfo; bytes.
struct Memory
{
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
};

/// nvmlUtilization_t; percent over the driver's last sample period.
struct Utilization
{
    unsigned int gpu;
    unsigned int memory;
};

/// nvmlProcessInfo_t as taken by nvmlDeviceGetComputeRunningProcesses_v3 (the v2-era layout with
/// MIG instance ids; the `_v1` entry point takes a two-field struct and must not be mixed up).
struct ProcessInfo
{
    unsigned int pid;
    unsigned long long used_gpu_memory; ///< bytes, or k_value_not_available
    unsigned int gpu_instance_id;
    unsigned int compute_instance_id;
};

// Function shapes, named after the symbol they are resolved from.
using InitV2Fn = Return (*)();
using ShutdownFn = Return (*)();
using ErrorStringFn = const char* (*)(Return);
using SystemGetDriverVersionFn = Return (*)(char*, unsigned int);
using SystemGetNvmlVersionFn = Return (*)(char*, unsigned int);
using DeviceGetCountV2Fn = Return (*)(unsigned int*);
using DeviceGetHandleByIndexV2Fn = Return (*)(unsigned int, Device*);
using DeviceGetNameFn = Return (*)(Device, char*, unsigned int);
using DeviceGetUuidFn = Return (*)(Device, char*, unsigned int);
using DeviceGetMemoryInfoFn = Return (*)(Device, Memory*);
using DeviceGetUtilizationRatesFn = Return (*)(Device, Utilization*);
using DeviceGetTemperatureFn = Return (*)(Device, int, unsigned int*);
using DeviceGetPowerUsageFn = Return (*)(Device, unsigned int*); ///< milliwatts
using DeviceGetComputeRunningProcessesV3Fn = Return (*)(Device, unsigned int*, ProcessInfo*);

} // namespace gpumod::nvml_abi
