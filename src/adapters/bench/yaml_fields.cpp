#include "adapters/bench/yaml_fields.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace gpumod::bench {
namespace {

std::string describe_node(const YAML::Node& node)
{
    switch (node.Type()) {
    case YAML::NodeType::Map:
        return "a mapping";
    case YAML::NodeType::Sequence:
        return "a list";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
        return "nothing";
    case YAML::NodeType::Scalar:
        break;
    }
    return fmt::format("'{}'", node.Scalar());
}

// Quoted scalars carry the tag "!": '25' is text, not a number, as in Python's YAML.
bool is_plain_scalar(const YAML::Node& node)
{
    return node.IsScalar() && node.Tag() != "!";
}

std::size_t edit_distance(const std::string& a, const std::string& b)
{
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

} // namespace

YamlMark YamlFile::mark_of(const YAML::Node& node)
{
    const auto mark = node.Mark();
    if (mark.line < 0 || mark.column < 0) {
        return {};
    }
    return YamlMark{mark.line + 1, mark.column + 1};
}

std::string YamlFile::where(YamlMark at) const
{
    if (at.line <= 0) {
        return m_file.string();
    }
    return fmt::format("{}:{}:{}", m_file.string(), at.line, at.column);
}

Error YamlFile::error() const
{
    auto problems = m_problems;
    std::stable_sort(problems.begin(), problems.end(), [](const auto& a, const auto& b) {
        return std::pair{a.first.line, a.first.column} < std::pair{b.first.line, b.first.column};
    });
    std::string text;
    for (const auto& [at, message] : problems) {
        if (!text.empty()) {
            text += '\n';
        }
        text += where(at) + ": " + message;
    }
    return Error{text};
}

void YamlFile::problem(YamlMark at, std::string message)
{
    m_problems.emplace_back(at, std::move(message));
}

std::optional<YAML::Node> YamlFile::load_mapping()
{
    std::ifstream in(m_file, std::ios::binary);
    if (!in) {
        const std::error_code ec(errno, std::generic_category());
        problem({}, fmt::format("cannot read: {}", ec.message()));
        return std::nullopt;
    }
    std::stringstream text;
    text << in.rdbuf();
    std::vector<YAML::Node> docs;
    try {
        docs = YAML::LoadAll(text.str());
    } catch (const YAML::Exception& e) {
        const YamlMark at = e.mark.line < 0 ? YamlMark{} : YamlMark{e.mark.line + 1, e.mark.column + 1};
        problem(at, fmt::format("YAML syntax error: {}", e.msg));
        return std::nullopt;
    }
    if (docs.empty() || docs.front().IsNull()) {
        problem({1, 1}, "the file is empty; expected a mapping of keys");
        return std::nullopt;
    }
    if (docs.size() > 1) {
        problem(mark_of(docs[1]), "more than one YAML document ('---') in one file");
        return std::nullopt;
    }
    if (!docs.front().IsMap()) {
        problem(mark_of(docs.front()),
                fmt::format("expected a mapping of keys, got {}", describe_node(docs.front())));
        return std::nullopt;
    }
    return docs.front();
}

std::map<std::string, YamlEntry> YamlFile::entries(const YAML::Node& map, const std::string& prefix,
                                                   const std::vector<std::string>& known,
                                                   const std::vector<std::string>& required)
{
    const auto full = [&](const std::string& key) { return prefix.empty() ? key : prefix + "." + key; };
    std::map<std::string, YamlEntry> result;
    for (auto it = map.begin(); it != map.end(); ++it) {
        const auto key_at = mark_of(it->first);
        if (!it->first.IsScalar()) {
            problem(key_at, "keys must be plain words");
            continue;
        }
        const std::string key = it->first.Scalar();
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            const auto closest = std::min_element(known.begin(), known.end(), [&](const auto& a, const auto& b) {
                return edit_distance(key, a) < edit_distance(key, b);
            });
            if (closest != known.end() && edit_distance(key, *closest) <= 2) {
                problem(key_at, fmt::format("unknown key '{}' (did you mean '{}'?)", full(key), *closest));
            } else {
                problem(key_at, fmt::format("unknown key '{}' (known keys: {})", full(key), fmt::join(known, ", ")));
            }
            continue;
        }
        if (const auto seen = result.find(key); seen != result.end()) {
            problem(key_at, fmt::format("key '{}' appears twice (first at line {})", full(key),
                                        seen->second.key_at.line));
            continue;
        }
        const YAML::Node value = it->second;
        const auto value_at = value.IsScalar() ? mark_of(value) : key_at;
        result.emplace(key, YamlEntry{full(key), value, key_at, value_at});
    }
    for (const auto& key : required) {
        if (result.count(key) == 0) {
            problem(mark_of(map), fmt::format("missing required key '{}'", full(key)));
        }
    }
    return result;
}

std::optional<std::string> YamlFile::text(const YamlEntry& e)
{
    if (!e.value.IsScalar()) {
        problem(e.value_at, fmt::format("'{}' must be a text value, got {}", e.path, describe_node(e.value)));
        return std::nullopt;
    }
    return e.value.Scalar();
}

std::optional<std::int64_t> YamlFile::integer(const YamlEntry& e, std::int64_t min, std::int64_t max)
{
    std::int64_t value = 0;
    bool parsed = false;
    if (is_plain_scalar(e.value)) {
        const std::string& s = e.value.Scalar();
        const auto* end = s.data() + s.size();
        const auto [ptr, ec] = std::from_chars(s.data(), end, value);
        parsed = ec == std::errc() && ptr == end && !s.empty();
    }
    if (!parsed) {
        problem(e.value_at, fmt::format("'{}' must be a whole number (unquoted), got {}", e.path,
                                        describe_node(e.value)));
        return std::nullopt;
    }
    if (value < min || value > max) {
        problem(e.value_at, fmt::format("'{}' must be between {} and {}, got {}", e.path, min, max, value));
        return std::nullopt;
    }
    return value;
}

std::optional<double> YamlFile::number(const YamlEntry& e)
{
    if (is_plain_scalar(e.value)) {
        const std::string& s = e.value.Scalar();
        double value = 0;
        const auto* end = s.data() + s.size();
        const auto [ptr, ec] = std::from_chars(s.data(), end, value);
        if (ec == std::errc() && ptr == end && !s.empty() && std::isfinite(value)) {
            return value;
        }
    }
    problem(e.value_at, fmt::format("'{}' must be a number (unquoted), got {}", e.path, describe_node(e.value)));
    return std::nullopt;
}

std::optional<bool> YamlFile::boolean(const YamlEntry& e)
{
    if (is_plain_scalar(e.value)) {
        static const std::vector<std::string> yes{"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
        static const std::vector<std::string> no{"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
        const auto& s = e.value.Scalar();
        if (std::find(yes.begin(), yes.end(), s) != yes.end()) {
            return true;
        }
        if (std::find(no.begin(), no.end(), s) != no.end()) {
            return false;
        }
    }
    problem(e.value_at, fmt::format("'{}' must be true or false, got {}", e.path, describe_node(e.value)));
    return std::nullopt;
}

std::optional<std::vector<YamlItem>> YamlFile::text_list(const YamlEntry& e)
{
    if (!e.value.IsSequence()) {
        problem(e.value_at, fmt::format("'{}' must be a list such as [a, b], got {}", e.path, describe_node(e.value)));
        return std::nullopt;
    }
    std::vector<YamlItem> items;
    bool good = true;
    for (std::size_t i = 0; i < e.value.size(); ++i) {
        const YAML::Node item = e.value[i];
        if (!item.IsScalar()) {
            problem(mark_of(item), fmt::format("'{}[{}]' must be a text value, got {}", e.path, i, describe_node(item)));
            good = false;
            continue;
        }
        items.push_back(YamlItem{item.Scalar(), mark_of(item)});
    }
    if (!good) {
        return std::nullopt;
    }
    return items;
}

} // namespace gpumod::bench
