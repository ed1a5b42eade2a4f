#include "adapters/nvml/memory_sampler.hpp"

#include "adapters/posix/clock.hpp"
#include "adapters/posix/environment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stop_token>
#include <utility>

namespace gpumod::nvml {
namespace {

constexpr double k_bytes_per_mib = 1024.0 * 1024.0;
constexpr std::uint64_t k_mib = 1024ULL * 1024ULL;
constexpr const char* k_env_library = "GPUMOD_NVML_LIBRARY";

double to_mib(std::uint64_t bytes)
{
    return static_cast<double>(bytes) / k_bytes_per_mib;
}

} // namespace

struct MemorySampler::State
{
    State(NvmlLibrary lib, NvmlSession nvml, std::chrono::milliseconds every)
        : library(std::move(lib)), session(std::move(nvml)), period(every)
    {
    }

    /// Reads every GPU once and folds the reading into the latest value and every open window.
    /// Called with `mutex` held, so a window never misses or double-counts a sample.
    void sample_locked()
    {
        auto memory = session.read_memory();
        if (!memory) {
            ++failures;
            last_error = memory.error().message;
            return;
        }
        latest_total_mib = 0;
        latest_mib.resize(memory->size());
        for (std::size_t i = 0; i < memory->size(); ++i) {
            latest_mib[i] = to_mib((*memory)[i].used_bytes);
            latest_total_mib += latest_mib[i];
        }
        ++samples;
        for (auto& [id, window] : windows) {
            window.peak_used_mib = std::max(window.peak_used_mib, latest_total_mib);
            window.peak_used_mib_per_device.resize(latest_mib.size(), 0.0);
            for (std::size_t i = 0; i < latest_mib.size(); ++i) {
                window.peak_used_mib_per_device[i] =
                    std::max(window.peak_used_mib_per_device[i], latest_mib[i]);
            }
            ++window.samples;
        }
    }

    NvmlLibrary library;
    NvmlSession session; // after library: NVML shuts down before the library is unloaded
    std::chrono::milliseconds period;

    mutable std::mutex mutex;
    std::condition_variable_any wake; ///< only ever woken by a stop request
    double latest_total_mib = 0;
    std::vector<double> latest_mib;
    std::size_t samples = 0;
    std::size_t failures = 0;
    std::optional<std::string> last_error;
    WindowId next_id = 1;
    std::map<WindowId, WindowStats> windows;
};

MemorySampler::MemorySampler(std::unique_ptr<State> state, std::chrono::milliseconds period)
    : m_state(std::move(state))
{
    State* shared = m_state.get(); // heap-allocated: stays put when the sampler is moved
    m_thread = std::jthread([shared, period](const std::stop_token& stop) {
        std::unique_lock lock(shared->mutex);
        auto next = posix::monotonic_now() + period;
        while (!stop.stop_requested()) {
            // The predicate is never true: the wait ends at the deadline or on a stop request.
            shared->wake.wait_until(lock, stop, next, [] { return false; });
            if (stop.stop_requested()) {
                break;
            }
            shared->sample_locked();
            next += period;
            const auto now = posix::monotonic_now();
            if (next < now) {
                next = now + period; // fell behind (a slow read): skip ticks rather than burst
            }
        }
    });
}

Result<MemorySampler> MemorySampler::start(NvmlLibrary library, std::chrono::milliseconds period)
{
    if (period <= std::chrono::milliseconds::zero()) {
        return fail(fmt::format("sampling period must be positive, got {} ms", period.count()));
    }
    auto session = library.open_session();
    if (!session) {
        return tl::unexpected(session.error().with_context(
            fmt::format("while starting the GPU memory sampler ({})", library.path())));
    }
    auto state = std::make_unique<State>(std::move(library), std::move(*session), period);
    {
        const std::lock_guard lock(state->mutex);
        state->sample_locked();
        if (state->samples == 0) {
            return fail(fmt::format("while starting the GPU memory sampler: {}",
                                    state->last_error.value_or("no reading")));
        }
    }
    return MemorySampler(std::move(state), period);
}

Result<MemorySampler> MemorySampler::start(const LoadOptions& options,
                                           std::chrono::milliseconds period)
{
    if (options.explicit_library) {
        auto library = NvmlLibrary::open(*options.explicit_library);
        if (!library) {
            return fail(fmt::format("cannot load the NVML library {}={}: {}", k_env_library,
                                    *options.explicit_library, library.error().error.message));
        }
        return start(std::move(*library), period);
    }
    std::string first_error;
    for (const auto& name : options.default_names) {
        auto library = NvmlLibrary::open(name);
        if (library) {
            return start(std::move(*library), period);
        }
        if (library.error().library_loaded) {
            return tl::unexpected(library.error().error);
        }
        if (first_error.empty()) {
            first_error = library.error().error.message;
        }
    }
    return fail(fmt::format("no NVIDIA GPU: NVML library not found ({})",
                            first_error.empty() ? "no library names to try" : first_error));
}

Result<MemorySampler> MemorySampler::start_default(std::chrono::milliseconds period)
{
    LoadOptions options;
    options.explicit_library = posix::get_env(k_env_library);
    if (options.explicit_library && options.explicit_library->empty()) {
        options.explicit_library.reset(); // as query_gpus: empty means "not set"
    }
    return start(options, period);
}

MemorySampler::MemorySampler(MemorySampler&& other) noexcept = default;

MemorySampler& MemorySampler::operator=(MemorySampler&& other) noexcept
{
    if (this != &other) {
        // Our thread reads our state: end it before the state it points to goes away.
        stop();
        m_thread = std::move(other.m_thread);
        m_state = std::move(other.m_state);
    }
    return *this;
}

MemorySampler::~MemorySampler()
{
    stop();
}

WindowId MemorySampler::open_window()
{
    const std::lock_guard lock(m_state->mutex);
    const WindowId id = m_state->next_id++;
    m_state->windows.emplace(id, WindowStats{});
    m_state->sample_locked();
    return id;
}

WindowStats MemorySampler::close_window(WindowId id)
{
    const std::lock_guard lock(m_state->mutex);
    if (!m_state->windows.contains(id)) {
        return WindowStats{};
    }
    m_state->sample_locked();
    auto node = m_state->windows.extract(id);
    return std::move(node.mapped());
}

double MemorySampler::current_used_mib() const
{
    const std::lock_guard lock(m_state->mutex);
    return m_state->latest_total_mib;
}

std::vector<double> MemorySampler::current_used_mib_per_device() const
{
    const std::lock_guard lock(m_state->mutex);
    return m_state->latest_mib;
}

std::vector<std::string> MemorySampler::device_descriptions() const
{
    // The inventory is written once before the thread starts and never again: no lock needed.
    std::vector<std::string> lines;
    for (const auto& gpu : m_state->session.inventory().gpus) {
        lines.push_back(fmt::format("{} ({} MiB)", gpu.name, gpu.memory.total_bytes / k_mib));
    }
    return lines;
}

std::string MemorySampler::driver_version() const
{
    return m_state->session.inventory().driver_version.value_or("");
}

std::size_t MemorySampler::sample_count() const
{
    const std::lock_guard lock(m_state->mutex);
    return m_state->samples;
}

std::size_t MemorySampler::failed_reads() const
{
    const std::lock_guard lock(m_state->mutex);
    return m_state->failures;
}

std::optional<std::string> MemorySampler::last_error() const
{
    const std::lock_guard lock(m_state->mutex);
    return m_state->last_error;
}

std::chrono::milliseconds MemorySampler::period() const
{
    return m_state->period;
}

void MemorySampler::stop()
{
    if (m_thread.joinable()) {
        m_thread.request_stop();
        m_thread.join();
    }
}

} // namespace gpumod::nvml
