#pragma once

// Shared vocabulary of the statistics core: intervals and argument checks with messages that
// name the offending argument, so a report can say which input was unusable.

#include <cstdint>
#include <string_view>

#include "core/base/error.hpp"

namespace gpumod::stats {

/// A closed interval [low, high] on the scale of the estimate it belongs to.
struct Interval
{
    double low = 0.0;
    double high = 0.0;

    /// True when `value` lies in [low, high].
    [[nodiscard]] bool contains(double value) const { return low <= value && value <= high; }
    /// high - low.
    [[nodiscard]] double width() const { return high - low; }
};

/// Successes out of trials, e.g. 18 passes out of 20 attempts.
struct Counts
{
    std::uint64_t successes = 0;
    std::uint64_t trials = 0;
};

/// Fails unless 0 < confidence < 1; the message names `name`.
Status check_confidence(double confidence, std::string_view name = "confidence");

/// Fails unless 0 < value < 1 (an open-interval probability such as alpha or power).
Status check_open_probability(double value, std::string_view name);

/// Fails unless trials > 0 and successes <= trials; the message names `name`.
Status check_counts(Counts counts, std::string_view name);

} // namespace gpumod::stats
