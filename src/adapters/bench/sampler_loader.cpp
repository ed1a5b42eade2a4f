#include "adapters/bench/sampler_loader.hpp"

#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "adapters/bench/yaml_fields.hpp"
#include "core/bench/sampler.hpp"

namespace gpumod::bench {
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> k_sampler_keys{"name",     "temperature",      "top_p",          "top_k",
                                              "min_p",    "presence_penalty", "repeat_penalty", "enable_thinking"};

// A number in a range; `low_open` excludes the lower bound (top_p 0 would keep no token).
std::optional<double> bounded(YamlFile& file, const YamlEntry& e, double low, double high, bool low_open = false)
{
    auto value = file.number(e);
    if (!value) {
        return std::nullopt;
    }
    if ((low_open ? *value <= low : *value < low) || *value > high) {
        file.problem(e.value_at, fmt::format("'{}' must be in {}{}, {}], got {}", e.path, low_open ? "(" : "[", low,
                                             high, *value));
        return std::nullopt;
    }
    return value;
}

} // namespace

Result<Sampler> load_sampler_file(const fs::path& file_path)
{
    YamlFile file(file_path);
    const auto root = file.load_mapping();
    if (!root) {
        return tl::unexpected(file.error());
    }
    Sampler sampler;
    sampler.name = file_path.stem().string();
    const auto fields = file.entries(*root, "", k_sampler_keys, {});
    for (const auto& [key, e] : fields) {
        if (key == "name") {
            if (auto name = file.text(e)) {
                if (name->empty()) {
                    file.problem(e.value_at, "'name' is empty; leave it out to use the file's name");
                }
                sampler.name = *name;
            }
        } else if (key == "temperature") {
            sampler.temperature = bounded(file, e, 0.0, 5.0);
        } else if (key == "top_p") {
            sampler.top_p = bounded(file, e, 0.0, 1.0, true);
        } else if (key == "top_k") {
            sampler.top_k = file.integer(e, 0, std::numeric_limits<std::int32_t>::max());
        } else if (key == "min_p") {
            sampler.min_p = bounded(file, e, 0.0, 1.0);
        } else if (key == "presence_penalty") {
            sampler.presence_penalty = bounded(file, e, -2.0, 2.0);
        } else if (key == "repeat_penalty") {
            sampler.repeat_penalty = bounded(file, e, 0.0, 10.0, true);
        } else if (key == "enable_thinking") {
            sampler.enable_thinking = file.boolean(e);
        }
    }
    if (!file.ok()) {
        return tl::unexpected(file.error());
    }
    return sampler;
}

Result<Sampler> resolve_sampler(std::string_view name_or_file)
{
    if (auto builtin = builtin_sampler(name_or_file)) {
        return *builtin;
    }
    const fs::path path{std::string(name_or_file)};
    std::error_code ec;
    if (!name_or_file.empty() && fs::is_regular_file(path, ec)) {
        return load_sampler_file(path);
    }
    return fail(fmt::format("unknown sampler '{}': not a built-in preset ({}) and no such file; give one of those "
                            "names or the path of a sampler YAML file (docs/suites.md, \"Samplers\")",
                            name_or_file, fmt::join(builtin_sampler_names(), ", ")));
}

} // namespace gpumod::bench
