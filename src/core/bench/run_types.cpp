#include "core/bench/run_types.hpp"

#include <array>
#include <utility>

namespace gpumod::bench {
namespace {

// These names are stored in result files and the database: never rename one.
constexpr std::array<std::pair<ConversationPolicy, std::string_view>, 2> k_policies = {{
    {ConversationPolicy::fresh, "fresh"},
    {ConversationPolicy::carry, "carry"},
}};

constexpr std::array<std::pair<RunKind, std::string_view>, 2> k_kinds = {{
    {RunKind::run, "run"},
    {RunKind::smoke, "smoke"},
}};

constexpr std::array<std::pair<RunStatus, std::string_view>, 4> k_statuses = {{
    {RunStatus::running, "running"},
    {RunStatus::interrupted, "interrupted"},
    {RunStatus::aborted, "aborted"},
    {RunStatus::complete, "complete"},
}};

template <typename Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& names, Enum value)
{
    for (const auto& [candidate, name] : names) {
        if (candidate == value) {
            return name;
        }
    }
    return "unknown";
}

template <typename Enum, std::size_t N>
std::optional<Enum> value_of(const std::array<std::pair<Enum, std::string_view>, N>& names,
                             std::string_view text)
{
    for (const auto& [value, name] : names) {
        if (name == text) {
            return value;
        }
    }
    return std::nullopt;
}

} // namespace

std::string_view to_string(ConversationPolicy policy)
{
    return name_of(k_policies, policy);
}

std::string_view to_string(RunKind kind)
{
    return name_of(k_kinds, kind);
}

std::string_view to_string(RunStatus status)
{
    return name_of(k_statuses, status);
}

std::optional<ConversationPolicy> parse_conversation_policy(std::string_view text)
{
    return value_of(k_policies, text);
}

std::optional<RunKind> parse_run_kind(std::string_view text)
{
    return value_of(k_kinds, text);
}

std::optional<RunStatus> parse_run_status(std::string_view text)
{
    return value_of(k_statuses, text);
}

} // namespace gpumod::bench
