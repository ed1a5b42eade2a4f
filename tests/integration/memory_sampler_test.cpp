// The GPU memory sampler against tests/fakes/fake_nvml.cpp: used memory comes from a file the
// test rewrites (FAKE_NVML_USED_MIB_FILE), so peaks over time can be checked without a GPU.

#include "adapters/nvml/memory_sampler.hpp"

#include "../support/temp_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <dlfcn.h>

namespace gpumod::nvml {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// Sets (or unsets) an environment variable for one test and restores it afterwards. Only
/// changed while no sampler thread runs: setenv races with the fake's getenv.
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

/// The used-memory file the fake reads on every call, replaced atomically (write + rename) so
/// the sampler thread never reads a half-written number.
class UsedMemoryFile
{
  public:
    UsedMemoryFile() : m_path(m_dir.path() / "used"), m_env("FAKE_NVML_USED_MIB_FILE", nullptr)
    {
        ::setenv("FAKE_NVML_USED_MIB_FILE", m_path.c_str(), 1);
    }

    void set(const std::string& mib_per_gpu)
    {
        const fs::path temporary = m_dir.path() / "used.tmp";
        {
            std::ofstream out(temporary);
            out << mib_per_gpu << "\n";
        }
        fs::rename(temporary, m_path);
    }

  private:
    gpumod::testing::TempDir m_dir;
    fs::path m_path;
    ScopedEnv m_env;
};

/// Waits until the sampler has taken `more` samples beyond `from`; false after 5 s.
bool wait_for_samples(const MemorySampler& sampler, std::size_t from, std::size_t more)
{
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (sampler.sample_count() < from + more) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

TEST(MemorySampler, DescribesTheFakeGpusAndReadsTheirMemory)
{
    const ScopedEnv count("FAKE_NVML_GPU_COUNT", nullptr);
    auto sampler = MemorySampler::start(fake_options());
    ASSERT_TRUE(sampler) << sampler.error().message;

    EXPECT_THAT(sampler->device_descriptions(),
                ::testing::ElementsAre("NVIDIA GeForce RTX 4090 (24564 MiB)",
                                       "NVIDIA H100 80GB HBM3 (81559 MiB)"));
    EXPECT_EQ(sampler->driver_version(), "550.54.15");
    EXPECT_DOUBLE_EQ(sampler->current_used_mib(), 3072.0 + 527.0);
    EXPECT_THAT(sampler->current_used_mib_per_device(), ::testing::ElementsAre(3072.0, 527.0));
    EXPECT_EQ(sampler->period(), 50ms);
    EXPECT_GE(sampler->sample_count(), 1U); // start takes one before returning
}

TEST(MemorySampler, WindowKeepsThePeakSeenWhileItWasOpen)
{
    const ScopedEnv count("FAKE_NVML_GPU_COUNT", nullptr);
    UsedMemoryFile used;
    used.set("1000 500");
    auto sampler = MemorySampler::start(fake_options(), 10ms);
    ASSERT_TRUE(sampler) << sampler.error().message;

    const WindowId whole = sampler->open_window();
    // The spike lasts a few background ticks and is gone before the window closes: only the
    // thread can have seen it.
    used.set("8000 600");
    ASSERT_TRUE(wait_for_samples(*sampler, sampler->sample_count(), 3));
    EXPECT_DOUBLE_EQ(sampler->current_used_mib(), 8600.0);
    used.set("2000 500");
    ASSERT_TRUE(wait_for_samples(*sampler, sampler->sample_count(), 3));
    const WindowId after = sampler->open_window();
    const WindowStats after_stats = sampler->close_window(after);
    const WindowStats whole_stats = sampler->close_window(whole);

    EXPECT_DOUBLE_EQ(whole_stats.peak_used_mib, 8600.0);
    EXPECT_THAT(whole_stats.peak_used_mib_per_device, ::testing::ElementsAre(8000.0, 600.0));
    EXPECT_GE(whole_stats.samples, 8U);
    // Opened after the spike: it never saw it.
    EXPECT_DOUBLE_EQ(after_stats.peak_used_mib, 2500.0);
    EXPECT_DOUBLE_EQ(sampler->current_used_mib(), 2500.0);
}

TEST(MemorySampler, WindowShorterThanThePeriodStillGetsItsOwnSamples)
{
    const ScopedEnv count("FAKE_NVML_GPU_COUNT", "1");
    UsedMemoryFile used;
    used.set("4096");
    auto sampler = MemorySampler::start(fake_options(), 10s);
    ASSERT_TRUE(sampler) << sampler.error().message;

    const WindowId id = sampler->open_window();
    const WindowStats stats = sampler->close_window(id);
    EXPECT_EQ(stats.samples, 2U); // one on open, one on close, none from the sleeping thread
    EXPECT_DOUBLE_EQ(stats.peak_used_mib, 4096.0);
    EXPECT_THAT(sampler->device_descriptions(),
                ::testing::ElementsAre("NVIDIA GeForce RTX 4090 (24564 MiB)"));

    // Closing twice (or an id never handed out) gives empty stats rather than stale ones.
    EXPECT_EQ(sampler->close_window(id).samples, 0U);
    EXPECT_EQ(sampler->close_window(9999).samples, 0U);
}

TEST(MemorySampler, SamplesAtLeastTenTimesASecond)
{
    const ScopedEnv count("FAKE_NVML_GPU_COUNT", nullptr);
    auto sampler = MemorySampler::start(fake_options(), 50ms);
    ASSERT_TRUE(sampler) << sampler.error().message;

    const WindowId id = sampler->open_window();
    std::this_thread::sleep_for(1s);
    const WindowStats stats = sampler->close_window(id);
    // 20 ticks plus the two synchronous samples; at least 10 Hz is the promise, and the
    // scheduler does not catch up in bursts, so it is never much more than 22 either.
    EXPECT_GE(stats.samples, 10U);
    EXPECT_LE(stats.samples, 25U);
}

TEST(MemorySampler, WindowsFromManyThreadsAtOnce)
{
    const ScopedEnv count("FAKE_NVML_GPU_COUNT", nullptr);
    auto sampler = MemorySampler::start(fake_options(), 1ms);
    ASSERT_TRUE(sampler) << sampler.error().message;

    std::vector<std::vector<WindowStats>> seen(4);
    {
        std::vector<std::jthread> workers;
        for (std::size_t t = 0; t < seen.size(); ++t) {
            workers.emplace_back([&sampler, &out = seen[t]] {
                for (int i = 0; i < 50; ++i) {
                    const WindowId id = sampler->open_window();
                    std::this_thread::sleep_for(std::chrono::microseconds(200));
                    out.push_back(sampler->close_window(id));
                }
            });
        }
    }
    for (const auto& per_thread : seen) {
        ASSERT_EQ(per_thread.size(), 50U);
        for (const auto& stats : per_thread) {
            EXPECT_GE(stats.samples, 2U);
            EXPECT_DOUBLE_EQ(stats.peak_used_mib, 3072.0 + 527.0);
        }
    }
    sampler->stop();
    const std::size_t after_stop = sampler->sample_count();
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(sampler->sample_count(), after_stop); // the thread is gone
    const WindowId id = sampler->open_window();
    EXPECT_EQ(sampler->close_window(id).samples, 2U); // windows still work, synchronously
}

TEST(MemorySampler, FailedReadsKeepTheLastValueAndAreCounted)
{
    const ScopedEnv count("FAKE_NVML_GPU_COUNT", nullptr);
    const ScopedEnv lost("FAKE_NVML_GPU_LOST", nullptr);
    auto sampler = MemorySampler::start(fake_options(), 10s); // the thread stays asleep
    ASSERT_TRUE(sampler) << sampler.error().message;

    ::setenv("FAKE_NVML_GPU_LOST", "1", 1);
    const WindowId id = sampler->open_window();
    const WindowStats stats = sampler->close_window(id);
    EXPECT_EQ(stats.samples, 0U);
    EXPECT_EQ(sampler->failed_reads(), 2U);
    ASSERT_TRUE(sampler->last_error());
    EXPECT_THAT(*sampler->last_error(), ::testing::HasSubstr("GPU 1"));
    EXPECT_THAT(*sampler->last_error(), ::testing::HasSubstr("GPU is lost"));
    EXPECT_DOUBLE_EQ(sampler->current_used_mib(), 3072.0 + 527.0);
}

TEST(MemorySampler, NoGpuOrNoDriverIsAnErrorSayingWhy)
{
    {
        const ScopedEnv count("FAKE_NVML_GPU_COUNT", "0");
        auto sampler = MemorySampler::start(fake_options());
        ASSERT_FALSE(sampler);
        EXPECT_THAT(sampler.error().message, ::testing::HasSubstr("0 GPUs"));
    }
    {
        const ScopedEnv init("FAKE_NVML_INIT_FAIL", "1");
        auto sampler = MemorySampler::start(fake_options());
        ASSERT_FALSE(sampler);
        EXPECT_THAT(sampler.error().message, ::testing::HasSubstr("nvmlInit_v2 failed"));
    }
    {
        LoadOptions missing;
        missing.explicit_library = "/nonexistent/libnvidia-ml.so";
        auto sampler = MemorySampler::start(missing);
        ASSERT_FALSE(sampler);
        EXPECT_THAT(sampler.error().message, ::testing::HasSubstr("GPUMOD_NVML_LIBRARY"));
    }
    {
        LoadOptions none;
        none.default_names = {"libgpumod-no-such-nvml.so.1"};
        auto sampler = MemorySampler::start(none);
        ASSERT_FALSE(sampler);
        EXPECT_THAT(sampler.error().message, ::testing::HasSubstr("no NVIDIA GPU"));
    }
    {
        auto sampler = MemorySampler::start(fake_options(), 0ms);
        ASSERT_FALSE(sampler);
        EXPECT_THAT(sampler.error().message, ::testing::HasSubstr("period"));
    }
}

TEST(MemorySampler, ShutsNvmlDownWhenDestroyedAndWhenMoved)
{
    const ScopedEnv count("FAKE_NVML_GPU_COUNT", nullptr);
    // Hold the fake loaded ourselves so its init counter survives the sampler's dlclose.
    void* handle = dlopen(GPUMOD_FAKE_NVML_PATH, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle, nullptr);
    auto init_count = reinterpret_cast<int (*)()>(dlsym(handle, "fake_nvml_init_count"));
    ASSERT_NE(init_count, nullptr);
    {
        auto first = MemorySampler::start(fake_options(), 5ms);
        ASSERT_TRUE(first) << first.error().message;
        EXPECT_EQ(init_count(), 1);
        MemorySampler moved = std::move(*first);
        auto second = MemorySampler::start(fake_options(), 5ms);
        ASSERT_TRUE(second) << second.error().message;
        EXPECT_EQ(init_count(), 2);
        moved = std::move(*second); // the first sampler's thread and session end here
        EXPECT_EQ(init_count(), 1);
        EXPECT_TRUE(wait_for_samples(moved, moved.sample_count(), 2));
    }
    EXPECT_EQ(init_count(), 0);
    dlclose(handle);
}

} // namespace
} // namespace gpumod::nvml
