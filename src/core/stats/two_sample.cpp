#include "core/stats/two_sample.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/stats/distributions.hpp"

namespace gpumod::stats {
namespace {

double as_double(std::size_t v)
{
    return static_cast<double>(v);
}

Status check_sample(std::span<const double> values, std::string_view name, std::size_t minimum)
{
    if (values.size() < minimum) {
        return fail(
            fmt::format("{}: need at least {} values, got {}", name, minimum, values.size()));
    }
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i])) {
            return fail(fmt::format("{}: element {} is not finite ({})", name, i, values[i]));
        }
    }
    return {};
}

struct Moments
{
    double mean = 0.0;
    double variance = 0.0; // divisor n - 1
};

Moments moments(std::span<const double> values)
{
    const double n = as_double(values.size());
    const double m = std::accumulate(values.begin(), values.end(), 0.0) / n;
    double squares = 0.0;
    for (const double v : values) {
        squares += (v - m) * (v - m);
    }
    return Moments{m, squares / (n - 1.0)};
}

// Fills the t-based fields of `r` from its mean difference, standard error and df.
Status finish_t_test(TTestResult& r, double confidence)
{
    r.t = r.mean_difference / r.standard_error;
    auto lower = student_t_cdf(-std::abs(r.t), r.df);
    if (!lower) {
        return tl::unexpected(lower.error());
    }
    r.p_value = std::min(1.0, 2.0 * *lower);
    auto q = student_t_quantile(1.0 - (1.0 - confidence) / 2.0, r.df);
    if (!q) {
        return tl::unexpected(q.error());
    }
    r.confidence = confidence;
    r.ci = Interval{r.mean_difference - *q * r.standard_error,
                    r.mean_difference + *q * r.standard_error};
    return {};
}

// Midranks (1-based) of `values`: ties share the mean of the ranks they span.
std::vector<double> midranks(std::span<const double> values, bool& has_ties, double& tie_term)
{
    std::vector<std::size_t> order(values.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
    std::vector<double> ranks(values.size());
    has_ties = false;
    tie_term = 0.0;
    std::size_t i = 0;
    while (i < order.size()) {
        std::size_t j = i;
        while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) {
            ++j;
        }
        const double rank = (as_double(i) + as_double(j)) / 2.0 + 1.0;
        for (std::size_t k = i; k <= j; ++k) {
            ranks[order[k]] = rank;
        }
        const double t = as_double(j - i + 1);
        if (j > i) {
            has_ties = true;
            tie_term += t * t * t - t;
        }
        i = j + 1;
    }
    return ranks;
}

// Counts of U = 0 .. m*n under the null: U + m(m+1)/2 is the rank sum of m ranks chosen
// from 1 .. m+n, so count subsets by size and sum. All additions, no cancellation.
std::vector<double> exact_u_counts(std::size_t m, std::size_t n)
{
    const std::size_t total = m + n;
    const std::size_t max_sum = m * (2 * total - m + 1) / 2;
    std::vector<std::vector<double>> ways(m + 1, std::vector<double>(max_sum + 1, 0.0));
    ways[0][0] = 1.0;
    for (std::size_t rank = 1; rank <= total; ++rank) {
        for (std::size_t size = std::min(rank, m); size >= 1; --size) {
            auto& row = ways[size];
            const auto& prev = ways[size - 1];
            for (std::size_t s = max_sum; s >= rank; --s) {
                row[s] += prev[s - rank];
            }
        }
    }
    const std::size_t offset = m * (m + 1) / 2;
    std::vector<double> counts(m * n + 1, 0.0);
    for (std::size_t u = 0; u <= m * n; ++u) {
        counts[u] = ways[m][u + offset];
    }
    return counts;
}

// C(n, k) capped at `cap` + 1 so callers can tell "more than cap" without overflow.
std::uint64_t binomial_capped(std::uint64_t n, std::uint64_t k, std::uint64_t cap)
{
    k = std::min(k, n - k);
    double c = 1.0;
    for (std::uint64_t i = 1; i <= k; ++i) {
        c = c * static_cast<double>(n - k + i) / static_cast<double>(i);
        if (c > static_cast<double>(cap)) {
            return cap + 1;
        }
    }
    return static_cast<std::uint64_t>(std::llround(c));
}

} // namespace

Result<TTestResult> welch_t_test(std::span<const double> first, std::span<const double> second,
                                 double confidence)
{
    if (auto ok = check_confidence(confidence); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_sample(first, "first", 2); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_sample(second, "second", 2); !ok) {
        return tl::unexpected(ok.error());
    }
    const Moments a = moments(first);
    const Moments b = moments(second);
    const double va = a.variance / as_double(first.size());
    const double vb = b.variance / as_double(second.size());
    if (va + vb <= 0.0) {
        return fail("first, second: both samples are constant, so the t statistic is undefined");
    }
    TTestResult r;
    r.mean_difference = a.mean - b.mean;
    r.standard_error = std::sqrt(va + vb);
    r.df = (va + vb) * (va + vb) /
           (va * va / as_double(first.size() - 1) + vb * vb / as_double(second.size() - 1));
    if (auto ok = finish_t_test(r, confidence); !ok) {
        return tl::unexpected(ok.error());
    }
    return r;
}

Result<TTestResult> paired_t_test(std::span<const double> first, std::span<const double> second,
                                  double confidence)
{
    if (auto ok = check_confidence(confidence); !ok) {
        return tl::unexpected(ok.error());
    }
    if (first.size() != second.size()) {
        return fail(fmt::format("first, second: paired samples need equal lengths, got {} and {}",
                                first.size(), second.size()));
    }
    if (auto ok = check_sample(first, "first", 2); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_sample(second, "second", 2); !ok) {
        return tl::unexpected(ok.error());
    }
    std::vector<double> diffs(first.size());
    for (std::size_t i = 0; i < first.size(); ++i) {
        diffs[i] = first[i] - second[i];
    }
    const Moments d = moments(diffs);
    if (d.variance <= 0.0) {
        return fail("first, second: the paired differences are all equal, so the t statistic is "
                    "undefined");
    }
    TTestResult r;
    r.mean_difference = d.mean;
    r.standard_error = std::sqrt(d.variance / as_double(diffs.size()));
    r.df = as_double(diffs.size() - 1);
    if (auto ok = finish_t_test(r, confidence); !ok) {
        return tl::unexpected(ok.error());
    }
    return r;
}

Result<MannWhitneyResult> mann_whitney_u(std::span<const double> first,
                                         std::span<const double> second)
{
    if (auto ok = check_sample(first, "first", 1); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_sample(second, "second", 1); !ok) {
        return tl::unexpected(ok.error());
    }
    const std::size_t m = first.size();
    const std::size_t n = second.size();
    std::vector<double> pooled(first.begin(), first.end());
    pooled.insert(pooled.end(), second.begin(), second.end());
    MannWhitneyResult r;
    double tie_term = 0.0;
    const std::vector<double> ranks = midranks(pooled, r.has_ties, tie_term);
    const double rank_sum =
        std::accumulate(ranks.begin(), ranks.begin() + static_cast<std::ptrdiff_t>(m), 0.0);
    r.u = rank_sum - as_double(m) * as_double(m + 1) / 2.0;
    const double mn = as_double(m) * as_double(n);

    if (!r.has_ties && m < 50 && n < 50) {
        r.method = MannWhitneyMethod::exact;
        const std::vector<double> counts = exact_u_counts(m, n);
        const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
        // Without ties U is an integer.
        const auto u = static_cast<std::size_t>(std::llround(r.u));
        double tail = 0.0;
        if (r.u > mn / 2.0) {
            for (std::size_t k = u; k < counts.size(); ++k) {
                tail += counts[k];
            }
        } else {
            for (std::size_t k = 0; k <= u; ++k) {
                tail += counts[k];
            }
        }
        r.p_value = std::min(1.0, 2.0 * tail / total);
        return r;
    }

    r.method = MannWhitneyMethod::normal_approximation;
    const double big_n = as_double(m + n);
    const double variance = mn / 12.0 * ((big_n + 1.0) - tie_term / (big_n * (big_n - 1.0)));
    if (variance <= 0.0) {
        // Every value is tied: the ranks carry no information.
        r.p_value = 1.0;
        return r;
    }
    double z = r.u - mn / 2.0;
    const double correction = z > 0.0 ? 0.5 : (z < 0.0 ? -0.5 : 0.0);
    z = (z - correction) / std::sqrt(variance);
    auto lower = normal_cdf(-std::abs(z));
    if (!lower) {
        return tl::unexpected(lower.error());
    }
    r.p_value = std::min(1.0, 2.0 * *lower);
    return r;
}

Result<PermutationResult> permutation_test(std::span<const double> first,
                                           std::span<const double> second,
                                           PermutationOptions options)
{
    if (auto ok = check_sample(first, "first", 1); !ok) {
        return tl::unexpected(ok.error());
    }
    if (auto ok = check_sample(second, "second", 1); !ok) {
        return tl::unexpected(ok.error());
    }
    if (options.resamples == 0) {
        return fail("options.resamples: must be at least 1, got 0");
    }
    std::vector<double> pooled(first.begin(), first.end());
    pooled.insert(pooled.end(), second.begin(), second.end());
    const std::size_t m = first.size();
    const std::size_t total_n = pooled.size();
    const double total = std::accumulate(pooled.begin(), pooled.end(), 0.0);
    const auto difference = [&](double first_sum) {
        return first_sum / as_double(m) - (total - first_sum) / as_double(total_n - m);
    };
    PermutationResult r;
    r.observed_difference = difference(std::accumulate(first.begin(), first.end(), 0.0));
    // Relabellings equal to the observed one in exact arithmetic must count as "at least as
    // extreme" even when summation order changes the last bits.
    double scale = 1.0;
    for (const double v : pooled) {
        scale = std::max(scale, std::abs(v));
    }
    const double threshold = std::abs(r.observed_difference) - 1e-9 * scale;

    const std::uint64_t combinations = binomial_capped(total_n, m, options.max_exact);
    if (combinations <= options.max_exact) {
        r.exact = true;
        r.permutations = combinations;
        std::vector<std::size_t> pick(m);
        std::iota(pick.begin(), pick.end(), std::size_t{0});
        std::uint64_t hits = 0;
        for (;;) {
            double sum = 0.0;
            for (const std::size_t i : pick) {
                sum += pooled[i];
            }
            if (std::abs(difference(sum)) >= threshold) {
                ++hits;
            }
            // Next m-subset of 0 .. total_n-1 in lexicographic order.
            std::size_t i = m;
            while (i > 0 && pick[i - 1] == total_n - m + i - 1) {
                --i;
            }
            if (i == 0) {
                break;
            }
            ++pick[i - 1];
            for (std::size_t j = i; j < m; ++j) {
                pick[j] = pick[j - 1] + 1;
            }
        }
        r.p_value = static_cast<double>(hits) / static_cast<double>(combinations);
        return r;
    }

    r.exact = false;
    r.permutations = options.resamples;
    r.seed = options.seed;
    SplitMix64 rng(options.seed);
    std::vector<double> work = pooled;
    std::uint64_t hits = 0;
    for (std::uint64_t k = 0; k < options.resamples; ++k) {
        // Partial Fisher-Yates: the first m slots become a uniform random m-subset.
        double sum = 0.0;
        for (std::size_t i = 0; i < m; ++i) {
            const auto j = i + static_cast<std::size_t>(rng.uniform_below(total_n - i));
            std::swap(work[i], work[j]);
            sum += work[i];
        }
        if (std::abs(difference(sum)) >= threshold) {
            ++hits;
        }
    }
    r.p_value = static_cast<double>(hits + 1) / static_cast<double>(options.resamples + 1);
    return r;
}

} // namespace gpumod::stats
