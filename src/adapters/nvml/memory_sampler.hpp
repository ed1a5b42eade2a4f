#pragma once

// GPU memory sampled on a background thread, so a benchmark can record idle and peak VRAM during
// generation. Callers open a "window" when a request starts and close it when it ends; the window
// reports the highest used memory seen while it was open. Several windows can be open at once
// (concurrent requests), from any thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "adapters/nvml/nvml_library.hpp"
#include "core/base/error.hpp"

namespace gpumod::nvml {

/// Identifies an open window; ids are never reused within one sampler.
using WindowId = std::uint64_t;

/// What a window saw between open_window and close_window.
struct WindowStats
{
    /// Highest used memory summed over all GPUs, in MiB (1 MiB = 2^20 bytes); 0 with no samples.
    double peak_used_mib = 0;
    /// Highest used memory per GPU, index order (each maximised on its own, so they need not
    /// come from the same sample as peak_used_mib).
    std::vector<double> peak_used_mib_per_device;
    /// Successful samples taken while the window was open, the ones at open and close included.
    std::size_t samples = 0;
};

/// Samples used memory of every GPU every `period` on its own std::jthread. All member
/// functions are thread-safe. Movable (a moved-from sampler may only be destroyed or assigned).
class MemorySampler
{
  public:
    /// 20 Hz: twice the 10 Hz the benchmark promises, at a negligible cost (one NVML call per GPU).
    static constexpr std::chrono::milliseconds k_default_period{50};

    /// Initialises NVML through `library` (taking ownership), takes a first sample and starts
    /// the thread. Fails when NVML does not initialise, reports no GPU, or cannot read memory.
    static Result<MemorySampler> start(NvmlLibrary library,
                                       std::chrono::milliseconds period = k_default_period);

    /// Loads NVML as `options` say (as query_gpus does) and starts sampling.
    static Result<MemorySampler> start(const LoadOptions& options,
                                       std::chrono::milliseconds period = k_default_period);

    /// Loads NVML as query_gpus does (GPUMOD_NVML_LIBRARY, else the driver's library) and
    /// starts sampling. The error says why there is no sampler ("no NVIDIA GPU: ...").
    static Result<MemorySampler> start_default(std::chrono::milliseconds period = k_default_period);

    MemorySampler(MemorySampler&& other) noexcept;
    MemorySampler& operator=(MemorySampler&& other) noexcept;
    MemorySampler(const MemorySampler&) = delete;
    MemorySampler& operator=(const MemorySampler&) = delete;
    ~MemorySampler();

    /// Opens a window and samples once right away, so even a window closed before the next tick
    /// has a value.
    WindowId open_window();

    /// Samples once more, closes the window and returns what it saw. An unknown or already
    /// closed id returns empty stats (samples == 0).
    WindowStats close_window(WindowId id);

    /// Used memory summed over all GPUs at the latest successful sample, in MiB.
    [[nodiscard]] double current_used_mib() const;

    /// Used memory per GPU at the latest successful sample, in MiB, index order.
    [[nodiscard]] std::vector<double> current_used_mib_per_device() const;

    /// One line per GPU, e.g. "NVIDIA H100 80GB HBM3 (81559 MiB)" (name and total memory).
    [[nodiscard]] std::vector<std::string> device_descriptions() const;

    /// The driver version NVML reported ("550.54.15"); "" when it would not say.
    [[nodiscard]] std::string driver_version() const;

    /// Successful samples since start, synchronous ones included.
    [[nodiscard]] std::size_t sample_count() const;

    /// Failed reads since start (a lost GPU, say); failed reads leave every value unchanged.
    [[nodiscard]] std::size_t failed_reads() const;

    /// The message of the latest failed read, if any.
    [[nodiscard]] std::optional<std::string> last_error() const;

    /// The period the background thread samples at.
    [[nodiscard]] std::chrono::milliseconds period() const;

    /// Stops the background thread and waits for it; idempotent. Windows still work afterwards,
    /// seeing only their synchronous samples.
    void stop();

  private:
    struct State;
    MemorySampler(std::unique_ptr<State> state, std::chrono::milliseconds period);

    std::unique_ptr<State> m_state; // before m_thread, so it is destroyed after the thread ends
    std::jthread m_thread;
};

} // namespace gpumod::nvml
