#pragma once

// Speculative-decoding draft acceptance. Two different numbers carry the same everyday name;
// the seed report mixed them up (78.7% "mean acceptance" was a mean of per-iteration ratios,
// the pooled ratio is 75.7%), so both are computed here and each has its own label.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/base/error.hpp"

namespace gpumod::stats {

/// Label of DraftAcceptance::pooled_ratio for reports.
inline constexpr std::string_view k_pooled_acceptance_label =
    "pooled acceptance (sum accepted / sum drafted)";
/// Label of DraftAcceptance::mean_per_request_ratio for reports.
inline constexpr std::string_view k_mean_acceptance_label =
    "mean per-request acceptance (unweighted mean of accepted / drafted)";

/// Draft tokens proposed and accepted in one request (llama-server's draft_n and
/// draft_n_accepted).
struct DraftCounts
{
    std::uint64_t drafted = 0;
    std::uint64_t accepted = 0;
};

/// Both acceptance figures of a set of requests.
struct DraftAcceptance
{
    std::uint64_t total_drafted = 0;
    std::uint64_t total_accepted = 0;
    /// sum accepted / sum drafted: the share of all draft tokens that were kept; weights each
    /// request by its drafts. This is the figure to compare runs by.
    double pooled_ratio = 0.0;
    /// Unweighted mean over requests that drafted anything of accepted / drafted; a short
    /// request counts as much as a long one.
    double mean_per_request_ratio = 0.0;
    std::size_t requests = 0;             ///< requests given
    std::size_t requests_with_drafts = 0; ///< requests the mean is taken over
};

/// Pooled acceptance ratio and mean of per-request ratios. Fails on an empty list, on a request
/// with accepted > drafted (named by index), or when no request drafted anything.
Result<DraftAcceptance> draft_acceptance(std::span<const DraftCounts> requests);

} // namespace gpumod::stats
