#pragma once

// Typed, located reading of small YAML files (suite.yaml, level.yaml, sampler files) for the
// bench adapters: every problem becomes "file:line:column: what to fix" (1-based). Internal to
// src/adapters/bench; the core never sees YAML::Node.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/base/error.hpp"

namespace gpumod::bench {

/// A place in a YAML file, 1-based; 0 when unknown.
struct YamlMark
{
    int line = 0;
    int column = 0;
};

/// One key of a mapping, with where the key and its value are.
struct YamlEntry
{
    std::string path; ///< "levels[2].points", for messages
    YAML::Node value;
    YamlMark key_at;
    YamlMark value_at; ///< the key's place when the value is empty or a collection
};

/// A text item of a list and where it is.
struct YamlItem
{
    std::string text;
    YamlMark at;
};

/// One YAML file being read; collects problems rather than stopping at the first, so a user
/// sees every mistake in the file at once.
class YamlFile
{
public:
    explicit YamlFile(std::filesystem::path file) : m_file(std::move(file)) {}

    /// The file's path as given.
    [[nodiscard]] const std::filesystem::path& file() const { return m_file; }
    /// True while no problem was recorded.
    [[nodiscard]] bool ok() const { return m_problems.empty(); }
    /// Every problem, in file order, one "file:line:column: message" per line.
    [[nodiscard]] Error error() const;
    /// "file:line:column" for a place in this file (for messages about another file).
    [[nodiscard]] std::string where(YamlMark at) const;

    /// Records a problem at `at`.
    void problem(YamlMark at, std::string message);

    /// Reads and parses the file, which must hold one YAML document that is a mapping.
    std::optional<YAML::Node> load_mapping();

    /// The mapping's keys; unknown keys (with a likely correction), repeated keys and missing
    /// required keys are problems. `prefix` names the mapping in messages ("" at the top).
    std::map<std::string, YamlEntry> entries(const YAML::Node& map, const std::string& prefix,
                                             const std::vector<std::string>& known,
                                             const std::vector<std::string>& required);

    /// A text value (any scalar).
    std::optional<std::string> text(const YamlEntry& e);
    /// A whole number in [min, max], written unquoted.
    std::optional<std::int64_t> integer(const YamlEntry& e, std::int64_t min, std::int64_t max);
    /// A finite number, written unquoted.
    std::optional<double> number(const YamlEntry& e);
    /// true/false (also yes/no, on/off), written unquoted.
    std::optional<bool> boolean(const YamlEntry& e);
    /// A list of text values.
    std::optional<std::vector<YamlItem>> text_list(const YamlEntry& e);

    /// The 1-based place of a node.
    static YamlMark mark_of(const YAML::Node& node);

private:
    std::filesystem::path m_file;
    std::vector<std::pair<YamlMark, std::string>> m_problems;
};

} // namespace gpumod::bench
