#include "core/stats/distributions.hpp"

#include <cmath>

#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <fmt/format.h>

namespace gpumod::stats {
namespace {

namespace bm = boost::math;

// Boost.Math throws on domain and evaluation errors by default. Exceptions must not leave this
// file (house rule), so every error becomes a NaN that the wrappers below turn into a Result.
using NoThrowPolicy =
    bm::policies::policy<bm::policies::domain_error<bm::policies::errno_on_error>,
                         bm::policies::pole_error<bm::policies::errno_on_error>,
                         bm::policies::overflow_error<bm::policies::errno_on_error>,
                         bm::policies::underflow_error<bm::policies::ignore_error>,
                         bm::policies::denorm_error<bm::policies::ignore_error>,
                         bm::policies::evaluation_error<bm::policies::errno_on_error>,
                         bm::policies::rounding_error<bm::policies::errno_on_error>,
                         bm::policies::indeterminate_result_error<bm::policies::errno_on_error>>;

Result<double> finite_or_fail(double value, const char* what)
{
    if (!std::isfinite(value)) {
        return fail(fmt::format("{}: numerical evaluation failed", what));
    }
    return value;
}

Status check_df(double df)
{
    if (!(df > 0.0) || std::isinf(df)) {
        return fail(fmt::format("df: degrees of freedom must be positive and finite, got {}", df));
    }
    return {};
}

Status check_p(double p)
{
    if (!(p > 0.0 && p < 1.0)) {
        return fail(fmt::format("p: probability must be strictly between 0 and 1, got {}", p));
    }
    return {};
}

} // namespace

Result<double> normal_cdf(double x)
{
    if (!std::isfinite(x)) {
        return fail(fmt::format("x: must be finite, got {}", x));
    }
    const bm::normal_distribution<double, NoThrowPolicy> dist;
    return finite_or_fail(bm::cdf(dist, x), "normal cdf");
}

Result<double> normal_quantile(double p)
{
    if (auto ok = check_p(p); !ok) {
        return tl::unexpected(ok.error());
    }
    const bm::normal_distribution<double, NoThrowPolicy> dist;
    return finite_or_fail(bm::quantile(dist, p), "normal quantile");
}

Result<double> student_t_cdf(double x, double df)
{
    if (auto ok = check_df(df); !ok) {
        return tl::unexpected(ok.error());
    }
    if (std::isnan(x)) {
        return fail("x: must not be NaN");
    }
    if (std::isinf(x)) {
        return x > 0 ? 1.0 : 0.0;
    }
    const bm::students_t_distribution<double, NoThrowPolicy> dist(df);
    return finite_or_fail(bm::cdf(dist, x), "student t cdf");
}

Result<double> student_t_quantile(double p, double df)
{
    if (auto ok = check_df(df); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_p(p); !ok) {
        return tl::unexpected(ok.error());
    }
    const bm::students_t_distribution<double, NoThrowPolicy> dist(df);
    return finite_or_fail(bm::quantile(dist, p), "student t quantile");
}

Result<double> chi_squared_upper_tail(double x, double df)
{
    if (auto ok = check_df(df); !ok) {
        return tl::unexpected(ok.error());
    }
    if (std::isnan(x)) {
        return fail("x: must not be NaN");
    }
    if (x <= 0.0) {
        return 1.0;
    }
    if (std::isinf(x)) {
        return 0.0;
    }
    const bm::chi_squared_distribution<double, NoThrowPolicy> dist(df);
    return finite_or_fail(bm::cdf(bm::complement(dist, x)), "chi-squared upper tail");
}

Result<double> binomial_cdf(std::uint64_t k, std::uint64_t n, double p)
{
    if (!(p >= 0.0 && p <= 1.0)) {
        return fail(fmt::format("p: probability must be in [0, 1], got {}", p));
    }
    if (k > n) {
        return fail(fmt::format("k: successes ({}) exceed trials n ({})", k, n));
    }
    const bm::binomial_distribution<double, NoThrowPolicy> dist(static_cast<double>(n), p);
    return finite_or_fail(bm::cdf(dist, static_cast<double>(k)), "binomial cdf");
}

} // namespace gpumod::stats
