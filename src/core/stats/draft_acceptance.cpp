#include "core/stats/draft_acceptance.hpp"

#include <limits>

#include <fmt/format.h>

namespace gpumod::stats {

Result<DraftAcceptance> draft_acceptance(std::span<const DraftCounts> requests)
{
    if (requests.empty()) {
        return fail("requests: need at least 1 request, got none");
    }
    DraftAcceptance a;
    a.requests = requests.size();
    double ratio_sum = 0.0;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const DraftCounts& r = requests[i];
        if (r.accepted > r.drafted) {
            return fail(fmt::format("requests[{}]: accepted ({}) exceeds drafted ({})", i,
                                    r.accepted, r.drafted));
        }
        if (a.total_drafted > std::numeric_limits<std::uint64_t>::max() - r.drafted) {
            return fail(fmt::format("requests[{}]: total drafted overflows 64 bits", i));
        }
        a.total_drafted += r.drafted;
        a.total_accepted += r.accepted;
        if (r.drafted > 0) {
            ++a.requests_with_drafts;
            ratio_sum += static_cast<double>(r.accepted) / static_cast<double>(r.drafted);
        }
    }
    if (a.total_drafted == 0) {
        return fail(fmt::format("requests: none of the {} requests drafted a token, so acceptance "
                                "is undefined",
                                requests.size()));
    }
    a.pooled_ratio = static_cast<double>(a.total_accepted) / static_cast<double>(a.total_drafted);
    a.mean_per_request_ratio = ratio_sum / static_cast<double>(a.requests_with_drafts);
    return a;
}

} // namespace gpumod::stats
