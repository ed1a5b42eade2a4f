#pragma once

// A mode: a named set of services that run together, started in the listed order
// (docs/presets.md). `blank` (no services) frees the GPU for benchmarks.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/config/preset.hpp"

namespace gpumod::config {

struct Mode
{
    std::string id;   ///< unique among modes, same rule as preset ids
    std::string name; ///< for people; defaults to the id
    std::string description;
    std::vector<std::string> services; ///< preset ids, in start order
    std::filesystem::path source_file;
    /// Positions of keys by dotted path ("id", "services", "services[1]").
    std::map<std::string, SourcePosition> positions;

    /// Position of `key` in source_file, or {0, 0} when the key was not in the file.
    [[nodiscard]] SourcePosition position_of(const std::string& key) const;
};

/// Checks a mode on its own and against the presets it names: valid id, every service a
/// known preset id, no service listed twice, no two services on the same host:port.
/// `presets` maps preset id to preset. Empty when the mode is valid.
std::vector<ConfigProblem> validate_mode(const Mode& mode,
                                         const std::map<std::string, const Preset*>& presets);

} // namespace gpumod::config
