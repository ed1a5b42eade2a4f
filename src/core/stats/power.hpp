#pragma once

// Sample-size planning for pass rates: how many attempts per side it takes to tell two pass
// rates apart, the power a given number of attempts has, and the smallest difference it can
// detect. All use the normal approximation of the two-sample test of proportions with the
// pooled variance under the null (Fleiss, Levin & Paik 2003, eq. 4.14 without continuity
// correction), the formula of R's power.prop.test; two-sided.

#include <cstdint>

#include "core/base/error.hpp"

namespace gpumod::stats {

/// Attempts per side, as computed and rounded up.
struct SampleSize
{
    double exact = 0.0;         ///< the formula's real-valued n
    std::uint64_t per_side = 0; ///< ceil(exact): attempts each run needs
};

/// Attempts per side for a two-sided test at level `alpha` to detect p1 vs p2 with probability
/// `power`: n = (z(1-alpha/2) sqrt(2 pbar qbar) + z(power) sqrt(p1 q1 + p2 q2))^2 / (p1 - p2)^2
/// with pbar = (p1 + p2) / 2. For 95% vs 90% at alpha 0.05 and power 0.8 this is 435.
Result<SampleSize> sample_size_two_proportions(double p1, double p2, double alpha = 0.05,
                                               double power = 0.8);

/// Power of that test with `n_per_side` attempts per side (n > 0, real-valued allowed):
/// Phi((sqrt(n) |p1 - p2| - z(1-alpha/2) sqrt(2 pbar qbar)) / sqrt(p1 q1 + p2 q2)).
Result<double> power_two_proportions(double p1, double p2, double n_per_side, double alpha = 0.05);

enum class Direction
{
    below, ///< look for p2 < p1 (a regression)
    above, ///< look for p2 > p1 (an improvement)
};

/// The pass rate p2 nearest to p1 (on the side `direction`) that `n_per_side` attempts detect
/// with probability `power`; the minimal detectable difference is |p2 - p1|. Solved by
/// bisection on the power formula; fails when even p2 = 0 or 1 is not detectable.
Result<double> minimal_detectable_proportion(double p1, double n_per_side, double alpha = 0.05,
                                             double power = 0.8,
                                             Direction direction = Direction::below);

} // namespace gpumod::stats
