#include "core/bench/schedule.hpp"

namespace gpumod::bench {
namespace {

// SplitMix64's finalizer: every input bit affects every output bit, so neighbouring
// iterations and levels get unrelated seeds.
std::uint64_t mix(std::uint64_t value)
{
    value += 0x9e3779b97f4a7c15ULL;
    value = (value ^ (value >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    value = (value ^ (value >> 27U)) * 0x94d049bb133111ebULL;
    return value ^ (value >> 31U);
}

} // namespace

std::int64_t attempt_seed(std::uint64_t run_seed, int iteration, std::size_t level_index)
{
    std::uint64_t value = mix(run_seed);
    value = mix(value ^ static_cast<std::uint64_t>(iteration));
    value = mix(value ^ (static_cast<std::uint64_t>(level_index) << 32U));
    return static_cast<std::int64_t>(value & 0x7fffffffULL);
}

std::vector<Conversation> plan_conversations(const RunConfig& config)
{
    std::vector<Conversation> conversations;
    for (int iteration = 1; iteration <= config.iterations; ++iteration) {
        Conversation carried;
        for (std::size_t index = 0; index < config.level_ids.size(); ++index) {
            PlannedAttempt attempt{iteration, index, config.level_ids[index],
                                   attempt_seed(config.seed, iteration, index)};
            if (config.conversation == ConversationPolicy::carry) {
                carried.turns.push_back(std::move(attempt));
            } else {
                conversations.push_back(Conversation{{std::move(attempt)}});
            }
        }
        if (!carried.turns.empty()) {
            conversations.push_back(std::move(carried));
        }
    }
    return conversations;
}

AttemptKeys recorded_keys(const std::vector<AttemptRecord>& attempts)
{
    AttemptKeys keys;
    for (const auto& attempt : attempts) {
        keys.emplace(attempt.iteration, attempt.level);
    }
    return keys;
}

std::vector<Conversation> remaining_conversations(const RunConfig& config,
                                                  const AttemptKeys& recorded)
{
    std::vector<Conversation> remaining;
    for (auto& conversation : plan_conversations(config)) {
        bool all_recorded = true;
        for (const auto& turn : conversation.turns) {
            all_recorded = all_recorded && recorded.contains({turn.iteration, turn.level});
        }
        if (!all_recorded) {
            remaining.push_back(std::move(conversation));
        }
    }
    return remaining;
}

std::size_t planned_attempt_count(const RunConfig& config)
{
    return static_cast<std::size_t>(config.iterations > 0 ? config.iterations : 0) *
           config.level_ids.size();
}

} // namespace gpumod::bench
