#include "core/config/mode.hpp"

#include <set>
#include <utility>

#include <fmt/format.h>

namespace gpumod::config {

SourcePosition Mode::position_of(const std::string& key) const
{
    const auto it = positions.find(key);
    return it == positions.end() ? SourcePosition{} : it->second;
}

std::vector<ConfigProblem> validate_mode(const Mode& mode,
                                         const std::map<std::string, const Preset*>& presets)
{
    std::vector<ConfigProblem> problems;
    const auto add = [&](const std::string& key, std::string message) {
        problems.push_back(ConfigProblem{mode.source_file, mode.position_of(key), std::move(message)});
    };
    if (!is_valid_id(mode.id)) {
        add("id", fmt::format("invalid id '{}': use lower-case letters, digits, '.', '_' and '-', "
                              "starting with a letter or digit (at most 64)",
                              mode.id));
    }
    std::vector<std::string> known;
    known.reserve(presets.size());
    for (const auto& [id, preset] : presets) {
        known.push_back(id);
    }
    std::set<std::string> seen;
    std::map<std::pair<std::string, uint16_t>, std::string> endpoints;
    for (std::size_t i = 0; i < mode.services.size(); ++i) {
        const auto& id = mode.services[i];
        const auto key = fmt::format("services[{}]", i);
        if (!seen.insert(id).second) {
            add(key, fmt::format("service '{}' is listed twice", id));
            continue;
        }
        const auto found = presets.find(id);
        if (found == presets.end()) {
            const auto guess = closest_match(id, known);
            add(key, fmt::format("unknown service '{}'{}", id,
                                 guess ? fmt::format(" (did you mean '{}'?)", *guess)
                                       : std::string(" (no preset has this id; see 'gpumod "
                                                     "preset list')")));
            continue;
        }
        const Preset& preset = *found->second;
        if (preset.port == 0) {
            continue;
        }
        const auto endpoint = std::pair{preset.host, preset.port};
        const auto [it, inserted] = endpoints.emplace(endpoint, id);
        if (!inserted) {
            add(key, fmt::format("services '{}' and '{}' both listen on {}:{}", it->second, id,
                                 preset.host, preset.port));
        }
    }
    return problems;
}

} // namespace gpumod::config
