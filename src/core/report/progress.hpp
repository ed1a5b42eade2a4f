#pragma once

// One-line progress for long runs ("bench run  [#####.....]  18/75  24%  pass 15/18  elapsed
// 3m12s  ETA 10m08s"). Pure: the caller supplies the elapsed time and the terminal width;
// adapters/posix/progress_printer.hpp decides when and where to print it.

#include <cstddef>
#include <optional>
#include <string>

namespace gpumod::report {

/// How many judged units passed ("pass 15/18").
struct PassCount
{
    std::size_t passed = 0;
    std::size_t judged = 0;

    bool operator==(const PassCount&) const = default;
};

/// Everything one progress line shows.
struct ProgressSnapshot
{
    std::string label; ///< e.g. "bench run"; may be dropped when the width is tight
    std::size_t total = 0;
    std::size_t done = 0; ///< clamped to total when rendering
    std::optional<PassCount> pass;
    double elapsed_seconds = 0;

    bool operator==(const ProgressSnapshot&) const = default;
};

/// Bar width when the width does not limit it (and its upper bound when it does).
inline constexpr std::size_t k_progress_bar_max = 40;
/// Narrower than this, the bar is left out rather than drawn uselessly small.
inline constexpr std::size_t k_progress_bar_min = 10;

/// Seconds as "0s", "45s", "3m12s", "1h02m05s" (rounded to the nearest second; negative or
/// not finite reads "0s").
std::string format_duration(double seconds);

/// Remaining seconds, extrapolating the mean time per finished unit: elapsed / done ×
/// (total − done). nullopt before the first unit finishes; 0 when all are done.
std::optional<double> eta_seconds(const ProgressSnapshot& snapshot);

/// The progress line, never wider than `width` columns (0: no limit). When space runs out the
/// bar shrinks, then parts are dropped in this order: bar, label, elapsed, pass count, percent;
/// what remains is cut at the width. `show_bar` false leaves the bar out (for logs).
std::string render_progress(const ProgressSnapshot& snapshot, std::size_t width,
                            bool show_bar = true);

} // namespace gpumod::report
