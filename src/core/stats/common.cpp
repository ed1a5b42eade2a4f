#include "core/stats/common.hpp"

#include <cmath>

#include <fmt/format.h>

namespace gpumod::stats {

Status check_confidence(double confidence, std::string_view name)
{
    return check_open_probability(confidence, name);
}

Status check_open_probability(double value, std::string_view name)
{
    // Written so that NaN fails too.
    if (!(value > 0.0 && value < 1.0)) {
        return fail(fmt::format("{}: must be strictly between 0 and 1, got {}", name, value));
    }
    return {};
}

Status check_counts(Counts counts, std::string_view name)
{
    if (counts.trials == 0) {
        return fail(fmt::format("{}: trials must be at least 1, got 0", name));
    }
    if (counts.successes > counts.trials) {
        return fail(fmt::format("{}: successes ({}) exceed trials ({})", name, counts.successes,
                                counts.trials));
    }
    return {};
}

} // namespace gpumod::stats
