// A test-only stand-in for NVIDIA's libnvidia-ml.so: the same C entry points, returning two
// known GPUs, so the real dlopen/dlsym path in gpumod runs without a GPU.
//
// It deliberately declares its own types instead of including src/adapters/nvml/nvml_abi.hpp:
// it plays NVIDIA's side of the ABI, and sharing the header would hide a layout mistake in it.
// It depends on nothing of ours (it is dlopen'ed into sanitized test binaries and gpumod).
//
// Fault injection, read on every call from the environment:
//   FAKE_NVML_GPU_COUNT=N       report N GPUs (0, 1 or 2; default 2)
//   FAKE_NVML_INIT_FAIL=1       nvmlInit_v2 returns NVML_ERROR_DRIVER_NOT_LOADED (9)
//   FAKE_NVML_NOT_SUPPORTED=1   utilization, temperature, power, processes: NOT_SUPPORTED (3)
//   FAKE_NVML_GPU_LOST=1        nvmlDeviceGetMemoryInfo on GPU 1 returns GPU_IS_LOST (15)
//   FAKE_NVML_USED_MIB_FILE=P   nvmlDeviceGetMemoryInfo reads used MiB from file P on every call:
//                               whitespace-separated numbers, the i-th for GPU i; a missing or
//                               unreadable number leaves that GPU at its built-in value (so a
//                               test can change memory over time by replacing the file)

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// nvmlReturn_t values, from NVIDIA's documented enum.
constexpr int k_success = 0;
constexpr int k_uninitialized = 1;
constexpr int k_invalid_argument = 2;
constexpr int k_not_supported = 3;
constexpr int k_insufficient_size = 7;
constexpr int k_driver_not_loaded = 9;
constexpr int k_gpu_is_lost = 15;

struct FakeMemory // nvmlMemory_t (v1)
{
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
};

struct FakeUtilization // nvmlUtilization_t
{
    unsigned int gpu;
    unsigned int memory;
};

struct FakeProcessInfo // nvmlProcessInfo_t as taken by the _v3 process queries
{
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
};

struct FakeDevice
{
    const char* name;
    const char* uuid;
    unsigned long long total;
    unsigned long long used;
    unsigned int utilization;
    unsigned int temperature;
    unsigned int power_mw;
    unsigned int process_count;
    FakeProcessInfo process; // only meaningful when process_count == 1
};

constexpr unsigned long long k_mib = 1024ULL * 1024ULL;

// The values tests assert; keep tests/integration/nvml_test.cpp and docs/status.md in step.
constexpr FakeDevice k_devices[2] = {
    {"NVIDIA GeForce RTX 4090", "GPU-8f6e3c2a-1b4d-4e5f-9a7b-0c1d2e3f4a5b", 24564 * k_mib,
     3072 * k_mib, 37, 61, 285500, 1,
     FakeProcessInfo{4242, 2816 * k_mib, 0xFFFFFFFFu, 0xFFFFFFFFu}},
    {"NVIDIA H100 80GB HBM3", "GPU-2d7c9b1e-5f3a-4c8d-b6e0-7a9f1c3e5d24", 81559 * k_mib,
     527 * k_mib, 0, 34, 70250, 0, FakeProcessInfo{0, 0, 0, 0}},
};

// NVML reference-counts nvmlInit/nvmlShutdown; the fake mirrors that so tests can check that
// every init is paired with a shutdown (see fake_nvml_init_count).
std::atomic<int> g_init_count{0};

bool env_is(const char* name, const char* value)
{
    const char* actual = std::getenv(name); // NOLINT(concurrency-mt-unsafe)
    return actual != nullptr && std::strcmp(actual, value) == 0;
}

unsigned int device_count()
{
    const char* text = std::getenv("FAKE_NVML_GPU_COUNT"); // NOLINT(concurrency-mt-unsafe)
    if (text == nullptr) {
        return 2;
    }
    const long count = std::strtol(text, nullptr, 10);
    if (count <= 0) {
        return 0;
    }
    return count >= 2 ? 2U : static_cast<unsigned int>(count);
}

bool initialized()
{
    return g_init_count.load() > 0;
}

const FakeDevice* as_device(const void* handle)
{
    for (unsigned int i = 0; i < device_count(); ++i) {
        if (handle == &k_devices[i]) {
            return &k_devices[i];
        }
    }
    return nullptr;
}

/// GPU `index`'s used MiB from FAKE_NVML_USED_MIB_FILE, or `fallback` when unset or unreadable.
unsigned long long used_bytes(unsigned int index, unsigned long long fallback)
{
    const char* path = std::getenv("FAKE_NVML_USED_MIB_FILE"); // NOLINT(concurrency-mt-unsafe)
    if (path == nullptr) {
        return fallback;
    }
    std::FILE* file = std::fopen(path, "r");
    if (file == nullptr) {
        return fallback;
    }
    unsigned long long mib = 0;
    bool found = false;
    for (unsigned int i = 0; i <= index; ++i) {
        found = std::fscanf(file, "%llu", &mib) == 1; // NOLINT(cert-err34-c)
        if (!found) {
            break;
        }
    }
    std::fclose(file);
    return found ? mib * k_mib : fallback;
}

int copy_string(const char* value, char* buffer, unsigned int length)
{
    if (buffer == nullptr) {
        return k_invalid_argument;
    }
    const std::size_t needed = std::strlen(value) + 1;
    if (length < needed) {
        return k_insufficient_size;
    }
    std::memcpy(buffer, value, needed);
    return k_success;
}

} // namespace

extern "C" {

/// Test hook, not part of NVML: how many nvmlInit_v2 calls are not yet matched by nvmlShutdown.
int fake_nvml_init_count()
{
    return g_init_count.load();
}

int nvmlInit_v2()
{
    if (env_is("FAKE_NVML_INIT_FAIL", "1")) {
        return k_driver_not_loaded;
    }
    ++g_init_count;
    return k_success;
}

int nvmlShutdown()
{
    if (!initialized()) {
        return k_uninitialized;
    }
    --g_init_count;
    return k_success;
}

const char* nvmlErrorString(int result)
{
    switch (result) {
    case k_success:
        return "Success";
    case k_uninitialized:
        return "Uninitialized";
    case k_invalid_argument:
        return "Invalid Argument";
    case k_not_supported:
        return "Not Supported";
    case k_insufficient_size:
        return "Insufficient Size";
    case k_driver_not_loaded:
        return "Driver Not Loaded";
    case k_gpu_is_lost:
        return "GPU is lost";
    default:
        return "Unknown Error";
    }
}

int nvmlSystemGetDriverVersion(char* version, unsigned int length)
{
    if (!initialized()) {
        return k_uninitialized;
    }
    return copy_string("550.54.15", version, length);
}

int nvmlSystemGetNVMLVersion(char* version, unsigned int length)
{
    if (!initialized()) {
        return k_uninitialized;
    }
    return copy_string("12.550.54.15", version, length);
}

int nvmlDeviceGetCount_v2(unsigned int* count)
{
    if (!initialized()) {
        return k_uninitialized;
    }
    if (count == nullptr) {
        return k_invalid_argument;
    }
    *count = device_count();
    return k_success;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, const FakeDevice** device)
{
    if (!initialized()) {
        return k_uninitialized;
    }
    if (device == nullptr || index >= device_count()) {
        return k_invalid_argument;
    }
    *device = &k_devices[index];
    return k_success;
}

int nvmlDeviceGetName(const void* handle, char* name, unsigned int length)
{
    const FakeDevice* device = as_device(handle);
    if (!initialized()) {
        return k_uninitialized;
    }
    if (device == nullptr) {
        return k_invalid_argument;
    }
    return copy_string(device->name, name, length);
}

int nvmlDeviceGetUUID(const void* handle, char* uuid, unsigned int length)
{
    const FakeDevice* device = as_device(handle);
    if (!initialized()) {
        return k_uninitialized;
    }
    if (device == nullptr) {
        return k_invalid_argument;
    }
    return copy_string(device->uuid, uuid, length);
}

int nvmlDeviceGetMemoryInfo(const void* handle, FakeMemory* memory)
{
    const FakeDevice* device = as_device(handle);
    if (!initialized()) {
        return k_uninitialized;
    }
    if (device == nullptr || memory == nullptr) {
        return k_invalid_argument;
    }
    if (device == &k_devices[1] && env_is("FAKE_NVML_GPU_LOST", "1")) {
        return k_gpu_is_lost;
    }
    const auto index = static_cast<unsigned int>(device - k_devices);
    unsigned long long used = used_bytes(index, device->used);
    if (used > device->total) {
        used = device->total;
    }
    memory->total = device->total;
    memory->used = used;
    memory->free = device->total - used;
    return k_success;
}

int nvmlDeviceGetUtilizationRates(const void* handle, FakeUtilization* utilization)
{
    const FakeDevice* device = as_device(handle);
    if (!initialized()) {
        return k_uninitialized;
    }
    if (device == nullptr || utilization == nullptr) {
        return k_invalid_argument;
    }
    if (env_is("FAKE_NVML_NOT_SUPPORTED", "1")) {
        return k_not_supported;
    }
    utilization->gpu = device->utilization;
    utilization->memory = device->utilization / 2;
    return k_success;
}

int nvmlDeviceGetTemperature(const void* handle, int sensor, unsigned int* temperature)
{
    const FakeDevice* device = as_device(handle);
    if (!initialized()) {
        return k_uninitialized;
    }
    if (device == nullptr || temperature == nullptr || sensor != 0) {
        return k_invalid_argument;
    }
    if (env_is("FAKE_NVML_NOT_SUPPORTED", "1")) {
        return k_not_supported;
    }
    *temperature = device->temperature;
    return k_success;
}

int nvmlDeviceGetPowerUsage(const void* handle, unsigned int* power)
{
    const FakeDevice* device = as_device(handle);
    if (!initialized()) {
        return k_uninitialized;
    }
    if (device == nullptr || power == nullptr) {
        return k_invalid_argument;
    }
    if (env_is("FAKE_NVML_NOT_SUPPORTED", "1")) {
        return k_not_supported;
    }
    *power = device->power_mw;
    return k_success;
}

// Follows NVML's documented sizing protocol: with too small a buffer (or none), report the
// count needed and INSUFFICIENT_SIZE; with no processes, SUCCESS and a count of 0.
int nvmlDeviceGetComputeRunningProcesses_v3(const void* handle, unsigned int* count,
                                            FakeProcessInfo* infos)
{
    const FakeDevice* device = as_device(handle);
    if (!initialized()) {
        return k_uninitialized;
    }
    if (device == nullptr || count == nullptr) {
        return k_invalid_argument;
    }
    if (env_is("FAKE_NVML_NOT_SUPPORTED", "1")) {
        return k_not_supported;
    }
    if (*count < device->process_count || (infos == nullptr && device->process_count > 0)) {
        *count = device->process_count;
        return k_insufficient_size;
    }
    if (device->process_count > 0) {
        infos[0] = device->process;
    }
    *count = device->process_count;
    return k_success;
}

} // extern "C"
