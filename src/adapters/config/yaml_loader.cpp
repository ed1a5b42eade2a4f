#include "adapters/config/yaml_loader.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

extern char** environ; // NOLINT: POSIX declares it for programs to declare themselves

namespace gpumod::config {
namespace fs = std::filesystem;

namespace {

SourcePosition to_position(const YAML::Mark& mark)
{
    if (mark.line < 0 || mark.column < 0) {
        return {};
    }
    return SourcePosition{mark.line + 1, mark.column + 1};
}

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

// One key of a mapping with where it and its value are.
struct Entry
{
    std::string key;
    std::string path; ///< dotted path, for positions and messages
    YAML::Node value;
    SourcePosition key_position;
    SourcePosition value_position; ///< the key's position when the value is empty or a collection
};

// Reads one file's YAML into typed values, collecting every problem instead of stopping at
// the first, so that `validate` can list them all at once.
class Reader
{
public:
    explicit Reader(fs::path file) : m_file(std::move(file)) {}

    const fs::path& file() const { return m_file; }
    bool ok() const { return m_problems.empty(); }

    // In file order, as an editor shows them (keys are visited in name order).
    std::vector<ConfigProblem>& problems()
    {
        std::stable_sort(m_problems.begin(), m_problems.end(), [](const auto& a, const auto& b) {
            return std::pair{a.position.line, a.position.column} < std::pair{b.position.line, b.position.column};
        });
        return m_problems;
    }

    void problem(SourcePosition at, std::string message)
    {
        m_problems.push_back(ConfigProblem{m_file, at, std::move(message)});
    }

    // The single document of the file, which must be a mapping.
    std::optional<YAML::Node> load_root()
    {
        std::ifstream in(m_file, std::ios::binary);
        if (!in) {
            std::error_code ec(errno, std::generic_category());
            problem({}, fmt::format("cannot read: {}", ec.message()));
            return std::nullopt;
        }
        std::stringstream text;
        text << in.rdbuf();
        std::vector<YAML::Node> docs;
        try {
            docs = YAML::LoadAll(text.str());
        } catch (const YAML::ParserException& e) {
            problem(to_position(e.mark), fmt::format("YAML syntax error: {}", e.msg));
            return std::nullopt;
        } catch (const YAML::Exception& e) {
            problem(to_position(e.mark), fmt::format("YAML error: {}", e.msg));
            return std::nullopt;
        }
        if (docs.empty() || docs.front().IsNull()) {
            problem({1, 1}, "the file is empty; expected a mapping such as 'id: my-service'");
            return std::nullopt;
        }
        if (docs.size() > 1) {
            problem(to_position(docs[1].Mark()), "more than one YAML document ('---') in one file");
            return std::nullopt;
        }
        if (!docs.front().IsMap()) {
            problem(to_position(docs.front().Mark()),
                    fmt::format("expected a mapping of keys, got {}", describe_node(docs.front())));
            return std::nullopt;
        }
        return docs.front();
    }

    // The entries of `map`; unknown and repeated keys are problems (with a likely
    // correction), and so is a missing required key.
    std::map<std::string, Entry> entries(const YAML::Node& map, const std::string& prefix,
                                         const std::vector<std::string>& known,
                                         const std::vector<std::string>& required,
                                         SourcePosition map_position,
                                         const std::function<std::string(const std::string&)>& hint = {})
    {
        std::map<std::string, Entry> result;
        for (auto it = map.begin(); it != map.end(); ++it) {
            const auto key_position = to_position(it->first.Mark());
            if (!it->first.IsScalar()) {
                problem(key_position, "keys must be plain words");
                continue;
            }
            const std::string key = it->first.Scalar();
            const std::string path = prefix.empty() ? key : prefix + "." + key;
            if (std::find(known.begin(), known.end(), key) == known.end()) {
                std::string extra;
                if (hint) {
                    extra = hint(key);
                }
                if (extra.empty()) {
                    if (auto guess = closest_match(key, known)) {
                        extra = fmt::format(" (did you mean '{}'?)", *guess);
                    } else {
                        extra = fmt::format(" (known keys: {})", fmt::join(known, ", "));
                    }
                }
                problem(key_position, fmt::format("unknown key '{}'{}", path, extra));
                continue;
            }
            if (const auto seen = result.find(key); seen != result.end()) {
                problem(key_position, fmt::format("key '{}' appears twice (first at line {})", path,
                                                  seen->second.key_position.line));
                continue;
            }
            const YAML::Node value = it->second;
            SourcePosition value_position = key_position;
            if (value.IsScalar()) {
                value_position = to_position(value.Mark());
            }
            result.emplace(key, Entry{key, path, value, key_position, value_position});
        }
        for (const auto& key : required) {
            if (result.count(key) == 0) {
                problem(map_position, fmt::format("missing required key '{}'",
                                                  prefix.empty() ? key : prefix + "." + key));
            }
        }
        return result;
    }

    std::optional<std::string> string(const Entry& e)
    {
        if (!e.value.IsScalar()) {
            problem(e.value_position,
                    fmt::format("'{}' must be a text value, got {}", e.path, describe_node(e.value)));
            return std::nullopt;
        }
        return e.value.Scalar();
    }

    std::optional<int64_t> integer(const Entry& e, int64_t min, int64_t max)
    {
        if (!e.value.IsScalar()) {
            problem(e.value_position,
                    fmt::format("'{}' must be a whole number, got {}", e.path, describe_node(e.value)));
            return std::nullopt;
        }
        const std::string& text = e.value.Scalar();
        int64_t value = 0;
        const auto* end = text.data() + text.size();
        const auto [ptr, ec] = std::from_chars(text.data(), end, value);
        if (ec != std::errc() || ptr != end || text.empty()) {
            problem(e.value_position, fmt::format("'{}' must be a whole number, got '{}'", e.path, text));
            return std::nullopt;
        }
        if (value < min || value > max) {
            problem(e.value_position,
                    fmt::format("'{}' must be between {} and {}, got {}", e.path, min, max, value));
            return std::nullopt;
        }
        return value;
    }

    std::optional<double> number(const Entry& e)
    {
        if (e.value.IsScalar()) {
            const std::string& text = e.value.Scalar();
            double value = 0;
            const auto* end = text.data() + text.size();
            const auto [ptr, ec] = std::from_chars(text.data(), end, value);
            if (ec == std::errc() && ptr == end && !text.empty()) {
                return value;
            }
        }
        problem(e.value_position, fmt::format("'{}' must be a number, got {}", e.path, describe_node(e.value)));
        return std::nullopt;
    }

    std::optional<bool> boolean(const Entry& e)
    {
        if (e.value.IsScalar() && e.value.Tag() != "!") {
            static const std::set<std::string> yes{"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
            static const std::set<std::string> no{"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
            if (yes.count(e.value.Scalar()) != 0) {
                return true;
            }
            if (no.count(e.value.Scalar()) != 0) {
                return false;
            }
        }
        problem(e.value_position,
                fmt::format("'{}' must be true or false, got {}", e.path, describe_node(e.value)));
        return std::nullopt;
    }

    // A list of text values; positions of items are recorded as "path[i]".
    std::optional<std::vector<std::string>> string_list(const Entry& e,
                                                        std::map<std::string, SourcePosition>& positions)
    {
        if (!e.value.IsSequence()) {
            problem(e.value_position, fmt::format("'{}' must be a list of text values such as "
                                                  "[--jinja], got {}",
                                                  e.path, describe_node(e.value)));
            return std::nullopt;
        }
        std::vector<std::string> items;
        bool good = true;
        for (std::size_t i = 0; i < e.value.size(); ++i) {
            const YAML::Node item = e.value[i];
            const auto at = to_position(item.Mark());
            positions[fmt::format("{}[{}]", e.path, i)] = at;
            if (!item.IsScalar()) {
                problem(at, fmt::format("'{}[{}]' must be a text value, got {}", e.path, i, describe_node(item)));
                good = false;
                continue;
            }
            items.push_back(item.Scalar());
        }
        if (!good) {
            return std::nullopt;
        }
        return items;
    }

    bool is_map(const Entry& e)
    {
        if (e.value.IsMap()) {
            return true;
        }
        problem(e.value_position, fmt::format("'{}' must be a mapping of keys, got {}", e.path,
                                              describe_node(e.value)));
        return false;
    }

private:
    fs::path m_file;
    std::vector<ConfigProblem> m_problems;
};

nlohmann::json to_json(const YAML::Node& node)
{
    switch (node.Type()) {
    case YAML::NodeType::Map: {
        auto object = nlohmann::json::object();
        for (auto it = node.begin(); it != node.end(); ++it) {
            object[it->first.Scalar()] = to_json(it->second);
        }
        return object;
    }
    case YAML::NodeType::Sequence: {
        auto array = nlohmann::json::array();
        for (const auto& item : node) {
            array.push_back(to_json(item));
        }
        return array;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
        return nullptr;
    case YAML::NodeType::Scalar:
        break;
    }
    const std::string& text = node.Scalar();
    if (node.Tag() == "!") { // quoted: always text
        return text;
    }
    if (text == "true" || text == "True" || text == "TRUE") {
        return true;
    }
    if (text == "false" || text == "False" || text == "FALSE") {
        return false;
    }
    const auto* end = text.data() + text.size();
    int64_t integer = 0;
    if (auto [ptr, ec] = std::from_chars(text.data(), end, integer); ec == std::errc() && ptr == end) {
        return integer;
    }
    double real = 0;
    if (auto [ptr, ec] = std::from_chars(text.data(), end, real); ec == std::errc() && ptr == end) {
        return real;
    }
    return text;
}

const std::vector<std::string> k_preset_keys{
    "id",          "name",     "driver", "host", "port", "model_path", "llamacpp", "vllm", "command",
    "env",         "startup_timeout_s", "health_path", "vram_budget_mb"};
const std::vector<std::string> k_llamacpp_keys{
    "ctx",        "parallel",     "cache_type_k",         "cache_type_v",     "flash_attn",
    "n_gpu_layers", "n_cpu_moe",  "speculative",          "mmproj",           "chat_template_kwargs",
    "reasoning_budget", "threads", "extra_args"};
const std::vector<std::string> k_speculative_keys{"type", "n_max", "draft_model"};
const std::vector<std::string> k_vllm_keys{"model",  "gpu_memory_utilization", "max_model_len",
                                           "max_num_seqs", "tensor_parallel_size", "dtype",
                                           "enforce_eager",
                                           "enable_sleep_mode", "extra_args"};
const std::vector<std::string> k_command_keys{"argv"};
const std::vector<std::string> k_mode_keys{"id", "name", "description", "services"};

constexpr int64_t k_int32_max = std::numeric_limits<int32_t>::max();
constexpr int64_t k_uint32_max = std::numeric_limits<uint32_t>::max();

class PresetReader
{
public:
    PresetReader(Reader& reader, const EnvMap& env, Preset& preset)
        : m_r(reader), m_env(env), m_p(preset)
    {
    }

    void read(const YAML::Node& root)
    {
        const auto top = m_r.entries(root, "", k_preset_keys, {"id"}, to_position(root.Mark()),
                                     [](const std::string& key) -> std::string {
                                         const auto& k = k_llamacpp_keys;
                                         if (std::find(k.begin(), k.end(), key) != k.end()) {
                                             return " (llama-server options go under 'llamacpp:')";
                                         }
                                         return "";
                                     });
        for (const auto& [key, e] : top) {
            m_p.positions[e.path] = e.value_position;
        }
        const auto get = [&](const char* key) -> const Entry* {
            const auto it = top.find(key);
            return it == top.end() ? nullptr : &it->second;
        };
        if (const auto* e = get("id")) {
            if (auto v = m_r.string(*e)) {
                m_p.id = *v;
                if (!is_valid_id(m_p.id)) {
                    m_r.problem(e->value_position,
                                fmt::format("invalid id '{}': use lower-case letters, digits, '.', "
                                            "'_' and '-', starting with a letter or digit (at most 64)",
                                            m_p.id));
                }
            }
        }
        if (const auto* e = get("name")) {
            if (auto v = m_r.string(*e)) {
                m_p.name = *v;
            }
        }
        if (m_p.name.empty()) {
            m_p.name = m_p.id;
        }
        if (const auto* e = get("driver")) {
            if (auto v = m_r.string(*e)) {
                if (auto driver = parse_driver(*v)) {
                    m_p.driver = *driver;
                } else {
                    m_r.problem(e->value_position,
                                fmt::format("unknown driver '{}' (one of: llamacpp, vllm, command)", *v));
                }
            }
        }
        if (const auto* e = get("host")) {
            if (auto v = m_r.string(*e)) {
                m_p.host = *v;
            }
        }
        if (const auto* e = get("port")) {
            if (auto v = m_r.integer(*e, 1, 65535)) {
                m_p.port = static_cast<uint16_t>(*v);
            }
        }
        if (const auto* e = get("model_path")) {
            m_p.model_path = path(*e);
        }
        if (const auto* e = get("env"); e != nullptr && !e->value.IsNull()) {
            read_env(*e);
        }
        if (const auto* e = get("startup_timeout_s")) {
            if (auto v = m_r.integer(*e, 1, 86400)) {
                m_p.startup_timeout_s = static_cast<uint32_t>(*v);
            }
        }
        if (const auto* e = get("health_path")) {
            if (auto v = m_r.string(*e)) {
                m_p.health_path = *v;
            }
        }
        if (const auto* e = get("vram_budget_mb")) {
            if (auto v = m_r.integer(*e, 1, int64_t{1} << 40)) {
                m_p.vram_budget_mb = static_cast<uint64_t>(*v);
            }
        }
        const std::pair<const char*, ServiceDriver> sections[] = {
            {"llamacpp", ServiceDriver::llamacpp}, {"vllm", ServiceDriver::vllm}, {"command", ServiceDriver::command}};
        for (const auto& [section, driver] : sections) {
            const auto* e = get(section);
            // "llamacpp:" with nothing under it sets nothing, like leaving it out.
            if (e == nullptr || e->value.IsNull()) {
                continue;
            }
            if (driver != m_p.driver) {
                m_r.problem(e->key_position,
                            fmt::format("section '{}' is for driver {}, but this preset's driver is {}",
                                        section, section, driver_name(m_p.driver)));
                continue;
            }
            if (!m_r.is_map(*e)) {
                continue;
            }
            switch (driver) {
            case ServiceDriver::llamacpp:
                read_llamacpp(*e);
                break;
            case ServiceDriver::vllm:
                read_vllm(*e);
                break;
            case ServiceDriver::command:
                read_command(*e);
                break;
            }
        }
    }

private:
    std::optional<std::string> expanded(const Entry& e, const std::string& text, SourcePosition at)
    {
        auto v = expand_variables(text, m_env);
        if (!v) {
            m_r.problem(at, fmt::format("in '{}': {}", e.path, v.error().message));
            return std::nullopt;
        }
        return *v;
    }

    std::optional<fs::path> path(const Entry& e)
    {
        auto text = m_r.string(e);
        if (!text) {
            return std::nullopt;
        }
        if (text->empty()) {
            m_r.problem(e.value_position, fmt::format("'{}' is empty", e.path));
            return std::nullopt;
        }
        std::string raw = *text;
        if (raw == "~" || raw.rfind("~/", 0) == 0) {
            raw = "${HOME}" + raw.substr(1);
        }
        auto v = expanded(e, raw, e.value_position);
        if (!v) {
            return std::nullopt;
        }
        fs::path p(*v);
        if (p.is_relative()) {
            p = m_r.file().parent_path() / p;
        }
        return p.lexically_normal();
    }

    std::vector<std::string> args(const Entry& e)
    {
        auto items = m_r.string_list(e, m_p.positions);
        if (!items) {
            return {};
        }
        std::vector<std::string> result;
        for (std::size_t i = 0; i < items->size(); ++i) {
            const auto at = m_p.position_of(fmt::format("{}[{}]", e.path, i));
            const auto& item = (*items)[i];
            if (!item.empty() && item.front() == '-' && item.find_first_of(" \t") != std::string::npos) {
                m_r.problem(at, fmt::format("'{}' holds a space: write each argument as its own "
                                            "item, e.g. [--temp, '0.6']",
                                            item));
                continue;
            }
            if (auto v = expanded(e, item, at)) {
                result.push_back(*v);
            }
        }
        return result;
    }

    void read_env(const Entry& e)
    {
        if (!m_r.is_map(e)) {
            return;
        }
        for (auto it = e.value.begin(); it != e.value.end(); ++it) {
            const auto at = to_position(it->first.Mark());
            const std::string name = it->first.IsScalar() ? it->first.Scalar() : std::string();
            Entry item{name, "env." + name, it->second, at,
                       it->second.IsScalar() ? to_position(it->second.Mark()) : at};
            m_p.positions[item.path] = item.value_position;
            if (m_p.env.count(name) != 0) {
                m_r.problem(at, fmt::format("environment variable '{}' appears twice", name));
                continue;
            }
            if (auto text = m_r.string(item)) {
                if (auto v = expanded(item, *text, item.value_position)) {
                    m_p.env[name] = *v;
                }
            }
        }
    }

    void read_llamacpp(const Entry& section)
    {
        auto& o = m_p.llamacpp;
        const auto entries = m_r.entries(section.value, "llamacpp", k_llamacpp_keys, {}, section.key_position);
        for (const auto& [key, e] : entries) {
            m_p.positions[e.path] = e.value_position;
            if (key == "ctx") {
                if (auto v = m_r.integer(e, 0, k_uint32_max)) {
                    o.ctx = static_cast<uint32_t>(*v);
                }
            } else if (key == "parallel") {
                if (auto v = m_r.integer(e, -1, k_int32_max)) {
                    o.parallel = static_cast<int32_t>(*v);
                }
            } else if (key == "cache_type_k" || key == "cache_type_v") {
                if (auto v = m_r.string(e)) {
                    (key == "cache_type_k" ? o.cache_type_k : o.cache_type_v) = *v;
                }
            } else if (key == "flash_attn") {
                read_flash_attn(e);
            } else if (key == "n_gpu_layers") {
                read_gpu_layers(e);
            } else if (key == "n_cpu_moe") {
                if (auto v = m_r.integer(e, 0, k_int32_max)) {
                    o.n_cpu_moe = static_cast<int32_t>(*v);
                }
            } else if (key == "speculative") {
                read_speculative(e);
            } else if (key == "mmproj") {
                o.mmproj = path(e);
            } else if (key == "chat_template_kwargs") {
                read_kwargs(e);
            } else if (key == "reasoning_budget") {
                if (auto v = m_r.integer(e, -1, k_int32_max)) {
                    o.reasoning_budget = static_cast<int32_t>(*v);
                }
            } else if (key == "threads") {
                if (auto v = m_r.integer(e, 1, 4096)) {
                    o.threads = static_cast<int32_t>(*v);
                }
            } else if (key == "extra_args") {
                o.extra_args = args(e);
            }
        }
    }

    void read_flash_attn(const Entry& e)
    {
        if (e.value.IsScalar()) {
            // YAML 1.1 reads a bare on/off as a boolean; both spellings mean the same here.
            static const std::map<std::string, FlashAttn> words{
                {"on", FlashAttn::on},   {"true", FlashAttn::on},   {"yes", FlashAttn::on},
                {"off", FlashAttn::off}, {"false", FlashAttn::off}, {"no", FlashAttn::off},
                {"auto", FlashAttn::automatic}};
            std::string word = e.value.Scalar();
            std::transform(word.begin(), word.end(), word.begin(),
                           [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
            if (const auto it = words.find(word); it != words.end()) {
                m_p.llamacpp.flash_attn = it->second;
                return;
            }
        }
        m_r.problem(e.value_position,
                    fmt::format("'{}' must be on, off or auto, got {}", e.path, describe_node(e.value)));
    }

    void read_gpu_layers(const Entry& e)
    {
        if (e.value.IsScalar()) {
            const std::string& text = e.value.Scalar();
            if (text == "all" || text == "-1") {
                m_p.llamacpp.n_gpu_layers = GpuLayers{GpuLayers::Kind::all, 0};
                return;
            }
            if (text == "auto") {
                m_p.llamacpp.n_gpu_layers = GpuLayers{GpuLayers::Kind::automatic, 0};
                return;
            }
            int32_t count = 0;
            const auto* end = text.data() + text.size();
            const auto [ptr, ec] = std::from_chars(text.data(), end, count);
            if (ec == std::errc() && ptr == end && !text.empty() && count >= 0) {
                m_p.llamacpp.n_gpu_layers = GpuLayers{GpuLayers::Kind::count, count};
                return;
            }
        }
        m_r.problem(e.value_position, fmt::format("'{}' must be a layer count >= 0, 'all' (or -1) "
                                                  "or 'auto', got {}",
                                                  e.path, describe_node(e.value)));
    }

    void read_speculative(const Entry& section)
    {
        if (!m_r.is_map(section)) {
            return;
        }
        auto& s = m_p.llamacpp.speculative;
        const auto entries = m_r.entries(section.value, section.path, k_speculative_keys, {}, section.key_position);
        for (const auto& [key, e] : entries) {
            m_p.positions[e.path] = e.value_position;
            if (key == "type") {
                if (e.value.IsSequence()) {
                    // A list of types is llama-server's comma-separated list.
                    std::map<std::string, SourcePosition> ignored;
                    if (auto items = m_r.string_list(e, ignored)) {
                        s.type = fmt::format("{}", fmt::join(*items, ","));
                    }
                } else if (auto v = m_r.string(e)) {
                    s.type = *v;
                }
            } else if (key == "n_max") {
                if (auto v = m_r.integer(e, 1, 1024)) {
                    s.n_max = static_cast<int32_t>(*v);
                }
            } else if (key == "draft_model") {
                s.draft_model = path(e);
            }
        }
    }

    void read_kwargs(const Entry& e)
    {
        nlohmann::json value;
        if (e.value.IsMap()) {
            value = to_json(e.value);
        } else if (e.value.IsScalar()) {
            // The same JSON text one would pass to llama-server.
            value = nlohmann::json::parse(e.value.Scalar(), nullptr, false);
            if (value.is_discarded() || !value.is_object()) {
                m_r.problem(e.value_position,
                            fmt::format("'{}' must be a mapping (or a JSON object text such as "
                                        "'{{\"enable_thinking\": true}}'), got {}",
                                        e.path, describe_node(e.value)));
                return;
            }
        } else {
            m_r.problem(e.value_position, fmt::format("'{}' must be a mapping such as "
                                                      "{{enable_thinking: true}}, got {}",
                                                      e.path, describe_node(e.value)));
            return;
        }
        m_p.llamacpp.chat_template_kwargs = value.dump();
    }

    void read_vllm(const Entry& section)
    {
        auto& o = m_p.vllm;
        const auto entries = m_r.entries(section.value, "vllm", k_vllm_keys, {"model"}, section.key_position);
        for (const auto& [key, e] : entries) {
            m_p.positions[e.path] = e.value_position;
            if (key == "model") {
                if (auto text = m_r.string(e)) {
                    if (auto v = expanded(e, *text, e.value_position)) {
                        o.model = *v;
                    }
                }
            } else if (key == "gpu_memory_utilization") {
                o.gpu_memory_utilization = m_r.number(e);
            } else if (key == "max_model_len" || key == "max_num_seqs" ||
                       key == "tensor_parallel_size") {
                if (auto v = m_r.integer(e, 1, k_uint32_max)) {
                    (key == "max_model_len"  ? o.max_model_len
                     : key == "max_num_seqs" ? o.max_num_seqs
                                             : o.tensor_parallel_size) = static_cast<uint32_t>(*v);
                }
            } else if (key == "dtype") {
                if (auto v = m_r.string(e)) {
                    o.dtype = *v;
                }
            } else if (key == "enforce_eager") {
                o.enforce_eager = m_r.boolean(e).value_or(false);
            } else if (key == "enable_sleep_mode") {
                o.enable_sleep_mode = m_r.boolean(e).value_or(false);
            } else if (key == "extra_args") {
                o.extra_args = args(e);
            }
        }
    }

    void read_command(const Entry& section)
    {
        const auto entries = m_r.entries(section.value, "command", k_command_keys, {"argv"}, section.key_position);
        for (const auto& [key, e] : entries) {
            m_p.positions[e.path] = e.value_position;
            m_p.command.argv = args(e);
        }
    }

    Reader& m_r;
    const EnvMap& m_env;
    Preset& m_p;
};

bool is_yaml_file(const fs::path& path)
{
    const auto ext = path.extension();
    return ext == ".yaml" || ext == ".yml";
}

// The YAML files directly inside `dir`, sorted by name; nothing when it does not exist.
std::vector<fs::path> yaml_files_in(const fs::path& dir, std::vector<ConfigProblem>& problems)
{
    std::vector<fs::path> files;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        return files;
    }
    fs::directory_iterator it(dir, ec);
    if (ec) {
        problems.push_back(ConfigProblem{dir, {}, fmt::format("cannot list: {}", ec.message())});
        return files;
    }
    for (const auto& entry : it) {
        std::error_code type_ec;
        if (is_yaml_file(entry.path()) && entry.is_regular_file(type_ec)) {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

// Adds `item` to `chosen` unless its id is taken: in the same directory that is a problem,
// from an earlier directory it is shadowing.
template <typename T>
void add_unique(std::map<std::string, std::pair<T, std::size_t>>& chosen, T item, std::size_t dir_index,
                const std::string& kind, Catalog& catalog)
{
    const auto it = chosen.find(item.id);
    if (it == chosen.end()) {
        const auto id = item.id;
        chosen.emplace(id, std::pair{std::move(item), dir_index});
        return;
    }
    const T& first = it->second.first;
    if (it->second.second == dir_index) {
        catalog.problems.push_back(ConfigProblem{
            item.source_file, item.position_of("id"),
            fmt::format("duplicate {} id '{}': also defined in {}:{}", kind, item.id,
                        first.source_file.string(), first.position_of("id").line)});
        return;
    }
    catalog.shadowed.push_back(Shadowed{kind, item.id, first.source_file, item.source_file});
}

} // namespace

ConfigResult<Preset> load_preset_file(const fs::path& file, const EnvMap& env)
{
    Reader reader(file);
    auto root = reader.load_root();
    if (!root) {
        return tl::unexpected(std::move(reader.problems()));
    }
    Preset preset;
    preset.source_file = file;
    PresetReader(reader, env, preset).read(*root);
    if (!reader.ok()) {
        return tl::unexpected(std::move(reader.problems()));
    }
    auto problems = validate_preset(preset);
    if (!problems.empty()) {
        return tl::unexpected(std::move(problems));
    }
    return preset;
}

ConfigResult<Mode> load_mode_file(const fs::path& file)
{
    Reader reader(file);
    auto root = reader.load_root();
    if (!root) {
        return tl::unexpected(std::move(reader.problems()));
    }
    Mode mode;
    mode.source_file = file;
    const auto entries = reader.entries(*root, "", k_mode_keys, {"id"}, to_position(root->Mark()));
    for (const auto& [key, e] : entries) {
        mode.positions[e.path] = e.value_position;
        if (key == "id") {
            mode.id = reader.string(e).value_or("");
        } else if (key == "name") {
            mode.name = reader.string(e).value_or("");
        } else if (key == "description") {
            mode.description = reader.string(e).value_or("");
        } else if (key == "services") {
            if (e.value.IsNull()) {
                continue; // "services:" with nothing after it: an empty mode
            }
            if (auto items = reader.string_list(e, mode.positions)) {
                mode.services = *items;
            }
        }
    }
    if (mode.name.empty()) {
        mode.name = mode.id;
    }
    if (!reader.ok()) {
        return tl::unexpected(std::move(reader.problems()));
    }
    return mode;
}

std::vector<ConfigProblem> check_model_files(const Preset& preset)
{
    std::vector<ConfigProblem> problems;
    const auto check = [&](const std::optional<fs::path>& path, const std::string& key) {
        if (!path) {
            return;
        }
        std::error_code ec;
        const auto status = fs::status(*path, ec);
        std::string message;
        if (!fs::exists(status)) {
            message = fmt::format("model file not found: {}", path->string());
            if (path->parent_path().filename() == "models" &&
                path->parent_path().parent_path().filename() == "gpumod") {
                message += fmt::format("; it is a tiny demo model: create it with 'gpumod dev "
                                       "make-model {}'",
                                       path->string());
            }
        } else if (!fs::is_regular_file(status)) {
            message = fmt::format("model path is not a regular file: {}", path->string());
        } else {
            return;
        }
        problems.push_back(ConfigProblem{preset.source_file, preset.position_of(key),
                                         fmt::format("{}: {}", key, message)});
    };
    check(preset.model_path, "model_path");
    check(preset.llamacpp.speculative.draft_model, "llamacpp.speculative.draft_model");
    check(preset.llamacpp.mmproj, "llamacpp.mmproj");
    return problems;
}

const Preset* Catalog::find_preset(const std::string& id) const
{
    const auto it = std::find_if(presets.begin(), presets.end(), [&](const Preset& p) { return p.id == id; });
    return it == presets.end() ? nullptr : &*it;
}

const Mode* Catalog::find_mode(const std::string& id) const
{
    const auto it = std::find_if(modes.begin(), modes.end(), [&](const Mode& m) { return m.id == id; });
    return it == modes.end() ? nullptr : &*it;
}

Catalog load_catalog(const ConfigDirs& dirs, const EnvMap& env)
{
    Catalog catalog;
    std::map<std::string, std::pair<Preset, std::size_t>> presets;
    for (std::size_t d = 0; d < dirs.preset_dirs.size(); ++d) {
        for (const auto& file : yaml_files_in(dirs.preset_dirs[d], catalog.problems)) {
            auto preset = load_preset_file(file, env);
            if (!preset) {
                auto& p = preset.error();
                catalog.problems.insert(catalog.problems.end(), p.begin(), p.end());
                continue;
            }
            add_unique(presets, std::move(*preset), d, "preset", catalog);
        }
    }
    for (auto& [id, entry] : presets) {
        catalog.presets.push_back(std::move(entry.first));
    }
    std::map<std::string, const Preset*> by_id;
    for (const auto& preset : catalog.presets) {
        by_id.emplace(preset.id, &preset);
    }
    std::map<std::string, std::pair<Mode, std::size_t>> modes;
    for (std::size_t d = 0; d < dirs.mode_dirs.size(); ++d) {
        for (const auto& file : yaml_files_in(dirs.mode_dirs[d], catalog.problems)) {
            auto mode = load_mode_file(file);
            if (!mode) {
                auto& p = mode.error();
                catalog.problems.insert(catalog.problems.end(), p.begin(), p.end());
                continue;
            }
            auto problems = validate_mode(*mode, by_id);
            if (!problems.empty()) {
                catalog.problems.insert(catalog.problems.end(), problems.begin(), problems.end());
                continue;
            }
            add_unique(modes, std::move(*mode), d, "mode", catalog);
        }
    }
    for (auto& [id, entry] : modes) {
        catalog.modes.push_back(std::move(entry.first));
    }
    return catalog;
}

ConfigResult<std::vector<fs::path>> expand_config_paths(const std::vector<fs::path>& paths)
{
    std::vector<fs::path> files;
    std::vector<ConfigProblem> problems;
    for (const auto& path : paths) {
        std::error_code ec;
        if (fs::is_directory(path, ec)) {
            auto found = yaml_files_in(path, problems);
            files.insert(files.end(), found.begin(), found.end());
        } else if (fs::exists(path, ec)) {
            files.push_back(path);
        } else {
            problems.push_back(ConfigProblem{path, {}, "no such file or directory"});
        }
    }
    if (!problems.empty()) {
        return tl::unexpected(std::move(problems));
    }
    return files;
}

std::string render_mode_yaml(const Mode& mode)
{
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "id" << YAML::Value << mode.id;
    out << YAML::Key << "name" << YAML::Value << (mode.name.empty() ? mode.id : mode.name);
    if (!mode.description.empty()) {
        out << YAML::Key << "description" << YAML::Value << mode.description;
    }
    out << YAML::Key << "services" << YAML::Value << YAML::BeginSeq;
    for (const auto& service : mode.services) {
        out << service;
    }
    out << YAML::EndSeq << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

Result<std::optional<BundledDir>> find_bundled_dir(const std::optional<std::string>& data_dir_env,
                                                   const fs::path& executable)
{
    std::error_code ec;
    if (data_dir_env && !data_dir_env->empty()) {
        if (!fs::is_directory(*data_dir_env, ec)) {
            return fail(fmt::format("GPUMOD_DATA_DIR={} is not a directory", *data_dir_env));
        }
        return BundledDir{fs::path(*data_dir_env), "GPUMOD_DATA_DIR"};
    }
    const auto has_config = [&](const fs::path& dir) {
        return fs::is_directory(dir / "presets", ec) || fs::is_directory(dir / "modes", ec);
    };
    if (!executable.empty()) {
        const auto installed = (executable.parent_path() / ".." / "share" / "gpumod").lexically_normal();
        if (has_config(installed)) {
            return BundledDir{installed, "installed"};
        }
    }
#ifdef GPUMOD_SOURCE_DIR
    const fs::path source(GPUMOD_SOURCE_DIR);
    if (has_config(source)) {
        return BundledDir{source, "source tree"};
    }
#endif
    return std::optional<BundledDir>{};
}

fs::path current_executable()
{
    std::error_code ec;
    auto path = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : path;
}

EnvMap process_environment()
{
    EnvMap env;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string_view text(*entry);
        const auto eq = text.find('=');
        if (eq != std::string_view::npos) {
            env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
        }
    }
    return env;
}

} // namespace gpumod::config
