#pragma once

// Named sampler presets: the settings model vendors recommend for coding, so that runs can
// say "thinking-coding" instead of repeating five numbers (docs/suites.md, "Samplers").

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bench/run_types.hpp"

namespace gpumod::bench {

/// The built-in preset with this name, or nullopt.
std::optional<Sampler> builtin_sampler(std::string_view name);

/// Names of every built-in preset, in the order docs list them.
std::vector<std::string> builtin_sampler_names();

} // namespace gpumod::bench
