#pragma once

// A small seeded generator of our own. std::uniform_int_distribution and friends are not
// specified bit-for-bit, so the same seed gives different resamples under libstdc++ and libc++;
// a report must come out the same wherever it is regenerated.

#include <cstdint>

namespace gpumod::stats {

/// The seed every resampling method uses unless the caller gives another; reports print it.
inline constexpr std::uint64_t k_default_seed = 20260526;

/// SplitMix64 (Steele, Lea & Flood 2014): 64-bit state, period 2^64, passes BigCrush.
class SplitMix64
{
  public:
    /// Starts the sequence at `seed`; equal seeds give equal sequences on every platform.
    explicit SplitMix64(std::uint64_t seed) : m_state(seed) {}

    /// Next 64 uniformly distributed bits.
    std::uint64_t next();

    /// Uniform integer in [0, bound) without modulo bias (rejection sampling); bound must be > 0.
    std::uint64_t uniform_below(std::uint64_t bound);

    /// Uniform double in [0, 1) with 53 random bits.
    double uniform_unit();

  private:
    std::uint64_t m_state;
};

} // namespace gpumod::stats
