#pragma once

// Which requests a run makes, in which chats, with which seeds. Pure and deterministic: the
// same RunConfig always yields the same conversations and seeds, which is what makes a resumed
// run reproduce an uninterrupted one decision for decision.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/bench/run_types.hpp"

namespace gpumod::bench {

/// One request to make: a level of an iteration.
struct PlannedAttempt
{
    int iteration = 1;
    std::size_t level_index = 0; ///< position in RunConfig::level_ids
    std::string level;
    std::int64_t seed = 0;

    bool operator==(const PlannedAttempt&) const = default;
};

/// Requests that share one chat, in order (fresh: exactly one; carry: an iteration's levels).
struct Conversation
{
    std::vector<PlannedAttempt> turns;
};

/// The sampling seed of one attempt: a mix of the run's seed, the iteration and the level's
/// position, in [0, 2^31) so every server accepts it.
std::int64_t attempt_seed(std::uint64_t run_seed, int iteration, std::size_t level_index);

/// Every conversation of the run, ordered by iteration then level.
std::vector<Conversation> plan_conversations(const RunConfig& config);

/// (iteration, level) pairs already recorded.
using AttemptKeys = std::set<std::pair<int, std::string>>;

/// Keys of the attempts in `attempts`.
AttemptKeys recorded_keys(const std::vector<AttemptRecord>& attempts);

/// The conversations that still have work: a conversation whose every turn is recorded is
/// dropped; a carry conversation with some turns recorded stays whole (the runner replays the
/// recorded turns as history and sends only the rest).
std::vector<Conversation> remaining_conversations(const RunConfig& config,
                                                  const AttemptKeys& recorded);

/// Number of attempts a complete run records.
std::size_t planned_attempt_count(const RunConfig& config);

} // namespace gpumod::bench
