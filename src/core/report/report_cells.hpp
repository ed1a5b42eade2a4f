#pragma once

// Table cells both report renderers (Markdown and HTML) show the same way: a missing value
// reads k_missing, rates as percentages, pass counts as "k/n (p%)".

#include <optional>
#include <string>

#include "core/report/comparison.hpp"

namespace gpumod::report {

/// `text`, or k_missing when it is empty.
std::string or_dash(const std::string& text);

/// A ratio as a percentage with `decimals` decimals, or k_missing.
std::string pct(const std::optional<double>& ratio, int decimals = 1);

/// A number with `decimals` decimals, or k_missing.
std::string fixed(const std::optional<double>& value, int decimals = 1);

/// "14/15 (93%)", or k_missing when there were no attempts.
std::string pass_text(const PassRate& rate);

/// The Wilson interval of a pass rate as percentages, or k_missing.
std::string wilson_text(const PassRate& rate);

/// An interval with `decimals` decimals, or k_missing.
std::string interval_cell(const std::optional<stats::Interval>& interval, int decimals = 1);

/// A p-value as reports print it, or k_missing.
std::string p_cell(const std::optional<double>& p);

} // namespace gpumod::report
