#pragma once

// Sampler files (YAML) -> bench::Sampler, and the lookup that lets `--sampler` take either a
// built-in preset name or a file (docs/suites.md, "Samplers").

#include <filesystem>
#include <string_view>

#include "core/base/error.hpp"
#include "core/bench/run_types.hpp"

namespace gpumod::bench {

/// Reads a sampler file: keys name (default: the file's stem), temperature, top_p, top_k,
/// min_p, presence_penalty, repeat_penalty, enable_thinking; absent keys stay unset. Unknown
/// keys, wrong types and out-of-range values are errors naming file:line:column.
Result<Sampler> load_sampler_file(const std::filesystem::path& file);

/// A built-in preset by name, else the sampler file at that path. The error lists the
/// built-in names.
Result<Sampler> resolve_sampler(std::string_view name_or_file);

} // namespace gpumod::bench
