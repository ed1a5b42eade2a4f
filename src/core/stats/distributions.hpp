#pragma once

// Probability distributions used by the tests and intervals. This is the only part of the
// statistics core that reaches Boost.Math; the Boost headers stay inside distributions.cpp so
// that every other file compiles without them.

#include <cstdint>

#include "core/base/error.hpp"

namespace gpumod::stats {

/// Standard normal CDF, P(Z <= x); x must be finite.
Result<double> normal_cdf(double x);

/// Standard normal quantile z with P(Z <= z) = p, for 0 < p < 1 (Boost.Math, exact to double
/// precision).
Result<double> normal_quantile(double p);

/// Student's t CDF with `df` > 0 degrees of freedom (non-integer df allowed, as Welch needs).
Result<double> student_t_cdf(double x, double df);

/// Student's t quantile t with P(T <= t) = p, for 0 < p < 1 and df > 0.
Result<double> student_t_quantile(double p, double df);

/// Upper tail P(X >= x) of the chi-squared distribution with `df` > 0 degrees of freedom.
Result<double> chi_squared_upper_tail(double x, double df);

/// Binomial CDF P(X <= k) for X ~ Binomial(n, p), 0 <= p <= 1, k <= n.
Result<double> binomial_cdf(std::uint64_t k, std::uint64_t n, double p);

} // namespace gpumod::stats
