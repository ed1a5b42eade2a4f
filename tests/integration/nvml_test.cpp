// The real dlopen/dlsym path against tests/fakes/fake_nvml.cpp, a library with two known GPUs.

#include "adapters/nvml/nvml_library.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include <dlfcn.h>

namespace gpumod::nvml {
namespace {

constexpr uint64_t k_mib = 1024ULL * 1024ULL;

/// Sets (or unsets) an environment variable for one test and restores it afterwards, because
/// the fake reads its fault switches from the process environment.
class ScopedEnv
{
  public:
    ScopedEnv(const char* name, const char* value) : m_name(name)
    {
        if (const char* old = std::getenv(name)) { // NOLINT(concurrency-mt-unsafe)
            m_old = old;
        }
        if (value == nullptr) {
            ::unsetenv(name);
        } else {
            ::setenv(name, value, 1);
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
    ~ScopedEnv()
    {
        if (m_old) {
            ::setenv(m_name.c_str(), m_old->c_str(), 1);
        } else {
            ::unsetenv(m_name.c_str());
        }
    }

  private:
    std::string m_name;
    std::optional<std::string> m_old;
};

LoadOptions fake_options()
{
    LoadOptions options;
    options.explicit_library = GPUMOD_FAKE_NVML_PATH;
    return options;
}

/// The fake's own init counter, read through a handle the test holds so the library (and its
/// counter) stays loaded between queries.
class FakeProbe
{
  public:
    FakeProbe() : m_handle(dlopen(GPUMOD_FAKE_NVML_PATH, RTLD_NOW | RTLD_LOCAL))
    {
        if (m_handle != nullptr) {
            m_init_count = reinterpret_cast<int (*)()>(dlsym(m_handle, "fake_nvml_init_count"));
        }
    }
    FakeProbe(const FakeProbe&) = delete;
    FakeProbe& operator=(const FakeProbe&) = delete;
    ~FakeProbe()
    {
        if (m_handle != nullptr) {
            dlclose(m_handle);
        }
    }
    [[nodiscard]] bool ok() const { return m_init_count != nullptr; }
    [[nodiscard]] int init_count() const { return m_init_count(); }

  private:
    void* m_handle;
    int (*m_init_count)() = nullptr;
};

TEST(Nvml, ReadsTheFakeGpusExactly)
{
    const ScopedEnv count("FAKE_NVML_GPU_COUNT", nullptr);
    const ScopedEnv init("FAKE_NVML_INIT_FAIL", nullptr);
    const ScopedEnv unsupported("FAKE_NVML_NOT_SUPPORTED", nullptr);
    const ScopedEnv lost("FAKE_NVML_GPU_LOST", nullptr);

    auto inventory = query_gpus(fake_options());
    ASSERT_TRUE(inventory.has_value()) << inventory.error().message;
    EXPECT_EQ(inventory->state, NvmlState::ok);
    EXPECT_EQ(inventory->requested_library, GPUMOD_FAKE_NVML_PATH);
    EXPECT_EQ(inventory->library, std::optional<std::string>(GPUMOD_FAKE_NVML_PATH));
    EXPECT_EQ(inventory->driver_version, std::optional<std::string>("550.54.15"));
    EXPECT_EQ(inventory->nvml_version, std::optional<std::string>("12.550.54.15"));
    ASSERT_EQ(inventory->gpus.size(), 2U);

    const GpuDevice& rtx = inventory->gpus[0];
    EXPECT_EQ(rtx.index, 0U);
    EXPECT_EQ(rtx.name, "NVIDIA GeForce RTX 4090");
    EXPECT_EQ(rtx.uuid, "GPU-8f6e3c2a-1b4d-4e5f-9a7b-0c1d2e3f4a5b");
    EXPECT_EQ(rtx.memory.total_bytes, 25757220864ULL);
    EXPECT_EQ(rtx.memory.used_bytes, 3072 * k_mib);
    EXPECT_EQ(rtx.memory.free_bytes, 22535995392ULL);
    EXPECT_EQ(rtx.utilization_percent, std::optional<uint32_t>(37));
    EXPECT_EQ(rtx.temperature_c, std::optional<uint32_t>(61));
    EXPECT_EQ(rtx.power_mw, std::optional<uint32_t>(285500));
    ASSERT_TRUE(rtx.processes.has_value());
    ASSERT_EQ(rtx.processes->size(), 1U);
    EXPECT_EQ((*rtx.processes)[0].pid, 4242U);
    EXPECT_EQ((*rtx.processes)[0].used_bytes, std::optional<uint64_t>(2816 * k_mib));

    const GpuDevice& h100 = inventory->gpus[1];
    EXPECT_EQ(h100.index, 1U);
    EXPECT_EQ(h100.name, "NVIDIA H100 80GB HBM3");
    EXPECT_EQ(h100.uuid, "GPU-2d7c9b1e-5f3a-4c8d-b6e0-7a9f1c3e5d24");
    EXPECT_EQ(h100.memory.total_bytes, 85520809984ULL);
    EXPECT_EQ(h100.memory.used_bytes, 552599552ULL);
    EXPECT_EQ(h100.memory.free_bytes, 84968210432ULL);
    EXPECT_EQ(h100.utilization_percent, std::optional<uint32_t>(0));
    EXPECT_EQ(h100.temperature_c, std::optional<uint32_t>(34));
    EXPECT_EQ(h100.power_mw, std::optional<uint32_t>(70250));
    ASSERT_TRUE(h100.processes.has_value());
    EXPECT_TRUE(h100.processes->empty());
}

TEST(Nvml, EveryInitIsPairedWithAShutdown)
{
    const FakeProbe probe;
    ASSERT_TRUE(probe.ok()) << dlerror();
    const ScopedEnv init("FAKE_NVML_INIT_FAIL", nullptr);
    const ScopedEnv lost("FAKE_NVML_GPU_LOST", nullptr);
    ASSERT_EQ(probe.init_count(), 0);
    ASSERT_TRUE(query_gpus(fake_options()).has_value());
    EXPECT_EQ(probe.init_count(), 0);

    // Also on the error path out of the middle of a query.
    const ScopedEnv lost_now("FAKE_NVML_GPU_LOST", "1");
    ASSERT_FALSE(query_gpus(fake_options()).has_value());
    EXPECT_EQ(probe.init_count(), 0);
}

TEST(Nvml, ExplicitLibraryFromTheEnvironment)
{
    const ScopedEnv library("GPUMOD_NVML_LIBRARY", GPUMOD_FAKE_NVML_PATH);
    const ScopedEnv count("FAKE_NVML_GPU_COUNT", "1");
    const ScopedEnv init("FAKE_NVML_INIT_FAIL", nullptr);
    auto inventory = query_gpus();
    ASSERT_TRUE(inventory.has_value()) << inventory.error().message;
    EXPECT_EQ(inventory->state, NvmlState::ok);
    ASSERT_EQ(inventory->gpus.size(), 1U);
    EXPECT_EQ(inventory->gpus[0].name, "NVIDIA GeForce RTX 4090");
}

TEST(Nvml, MissingDefaultLibraryIsTheNoGpuState)
{
    LoadOptions options;
    options.default_names = {"libgpumod-test-no-such-nvml.so.1", "libgpumod-test-no-such-nvml.so"};
    auto inventory = query_gpus(options);
    ASSERT_TRUE(inventory.has_value()) << inventory.error().message;
    EXPECT_EQ(inventory->state, NvmlState::library_not_found);
    EXPECT_EQ(nvml_state_word(inventory->state), "no_gpu");
    EXPECT_EQ(inventory->requested_library, "libgpumod-test-no-such-nvml.so.1");
    EXPECT_FALSE(inventory->library.has_value());
    EXPECT_TRUE(inventory->gpus.empty());
    EXPECT_EQ(describe_nvml_state(*inventory),
              "No NVIDIA GPU found (NVML library libgpumod-test-no-such-nvml.so.1 not found)");
    EXPECT_NE(inventory->detail.find("libgpumod-test-no-such-nvml.so.1"), std::string::npos)
        << inventory->detail;
}

TEST(Nvml, DefaultNamesFindTheFakeLikeTheRealLibrary)
{
    // A path in default_names behaves like a soname the loader found.
    LoadOptions options;
    options.default_names = {"libgpumod-test-no-such-nvml.so.1", GPUMOD_FAKE_NVML_PATH};
    const ScopedEnv count("FAKE_NVML_GPU_COUNT", nullptr);
    const ScopedEnv init("FAKE_NVML_INIT_FAIL", nullptr);
    auto inventory = query_gpus(options);
    ASSERT_TRUE(inventory.has_value()) << inventory.error().message;
    EXPECT_EQ(inventory->state, NvmlState::ok);
    EXPECT_EQ(inventory->requested_library, GPUMOD_FAKE_NVML_PATH);
    EXPECT_EQ(inventory->gpus.size(), 2U);
}

TEST(Nvml, UnloadableExplicitLibraryIsAnErrorNamingTheVariable)
{
    LoadOptions options;
    options.explicit_library = "/nonexistent/gpumod-test/libnvidia-ml.so";
    auto inventory = query_gpus(options);
    ASSERT_FALSE(inventory.has_value());
    const std::string& message = inventory.error().message;
    EXPECT_NE(message.find("GPUMOD_NVML_LIBRARY=/nonexistent/gpumod-test/libnvidia-ml.so"),
              std::string::npos)
        << message;
    // dlerror's own words come through.
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
}

TEST(Nvml, ExplicitLibraryThatIsNotNvmlIsAnError)
{
    // libc loads fine but has none of NVML's symbols.
    LoadOptions options;
    options.explicit_library = "libc.so.6";
    auto inventory = query_gpus(options);
    ASSERT_FALSE(inventory.has_value());
    const std::string& message = inventory.error().message;
    EXPECT_NE(message.find("GPUMOD_NVML_LIBRARY=libc.so.6"), std::string::npos) << message;
    EXPECT_NE(message.find("missing nvmlInit_v2"), std::string::npos) << message;
}

TEST(Nvml, DefaultLibraryThatIsNotNvmlIsUnavailable)
{
    LoadOptions options;
    options.default_names = {"libc.so.6"};
    auto inventory = query_gpus(options);
    ASSERT_TRUE(inventory.has_value()) << inventory.error().message;
    EXPECT_EQ(inventory->state, NvmlState::unavailable);
    EXPECT_NE(inventory->detail.find("not a usable NVML library"), std::string::npos)
        << inventory->detail;
}

TEST(Nvml, DriverWithoutGpus)
{
    const ScopedEnv count("FAKE_NVML_GPU_COUNT", "0");
    const ScopedEnv init("FAKE_NVML_INIT_FAIL", nullptr);
    auto inventory = query_gpus(fake_options());
    ASSERT_TRUE(inventory.has_value()) << inventory.error().message;
    EXPECT_EQ(inventory->state, NvmlState::no_devices);
    EXPECT_EQ(nvml_state_word(inventory->state), "no_gpu");
    EXPECT_TRUE(inventory->gpus.empty());
    EXPECT_EQ(inventory->driver_version, std::optional<std::string>("550.54.15"));
    EXPECT_EQ(describe_nvml_state(*inventory),
              "No NVIDIA GPU found (NVIDIA driver 550.54.15 reports 0 GPUs)");
}

TEST(Nvml, InitFailureIsUnavailableWithNvmlsErrorString)
{
    const ScopedEnv init("FAKE_NVML_INIT_FAIL", "1");
    auto inventory = query_gpus(fake_options());
    ASSERT_TRUE(inventory.has_value()) << inventory.error().message;
    EXPECT_EQ(inventory->state, NvmlState::unavailable);
    EXPECT_EQ(nvml_state_word(inventory->state), "nvml_unavailable");
    EXPECT_EQ(inventory->detail, "nvmlInit_v2 failed: Driver Not Loaded (NVML error 9)");
    EXPECT_FALSE(inventory->driver_version.has_value());
    EXPECT_TRUE(inventory->gpus.empty());
}

TEST(Nvml, UnsupportedReadingsAreAbsentNotErrors)
{
    const ScopedEnv unsupported("FAKE_NVML_NOT_SUPPORTED", "1");
    const ScopedEnv init("FAKE_NVML_INIT_FAIL", nullptr);
    auto inventory = query_gpus(fake_options());
    ASSERT_TRUE(inventory.has_value()) << inventory.error().message;
    ASSERT_EQ(inventory->gpus.size(), 2U);
    for (const auto& gpu : inventory->gpus) {
        EXPECT_FALSE(gpu.utilization_percent.has_value());
        EXPECT_FALSE(gpu.temperature_c.has_value());
        EXPECT_FALSE(gpu.power_mw.has_value());
        EXPECT_FALSE(gpu.processes.has_value());
        EXPECT_GT(gpu.memory.total_bytes, 0U);
    }
}

TEST(Nvml, FailingCallAfterInitIsAnErrorWithContext)
{
    const ScopedEnv lost("FAKE_NVML_GPU_LOST", "1");
    const ScopedEnv init("FAKE_NVML_INIT_FAIL", nullptr);
    const ScopedEnv count("FAKE_NVML_GPU_COUNT", nullptr);
    auto inventory = query_gpus(fake_options());
    ASSERT_FALSE(inventory.has_value());
    EXPECT_NE(
        inventory.error().message.find(
            "while reading GPU 1: nvmlDeviceGetMemoryInfo failed: GPU is lost (NVML error 15)"),
        std::string::npos)
        << inventory.error().message;
}

} // namespace
} // namespace gpumod::nvml
