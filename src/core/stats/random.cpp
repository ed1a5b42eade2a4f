#include "core/stats/random.hpp"

#include <cassert>

namespace gpumod::stats {

std::uint64_t SplitMix64::next()
{
    m_state += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = m_state;
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
}

std::uint64_t SplitMix64::uniform_below(std::uint64_t bound)
{
    assert(bound > 0);
    // Values below `threshold` would make some residues one draw more likely; 2^64 mod bound
    // is computed as (-bound) mod bound in unsigned arithmetic.
    const std::uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        const std::uint64_t r = next();
        if (r >= threshold) {
            return r % bound;
        }
    }
}

double SplitMix64::uniform_unit()
{
    return static_cast<double>(next() >> 11U) * 0x1.0p-53;
}

} // namespace gpumod::stats
