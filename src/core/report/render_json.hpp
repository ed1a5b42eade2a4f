#pragma once

// The comparison as JSON (`"schema": "gpumod.bench.compare/1"`): every computed number under
// stable keys, ratios as fractions (0.757, not 75.7), differences as candidate - base, unset
// numbers as null. docs/report.md lists the keys. Pure.

#include <string>
#include <string_view>

#include "core/report/comparison.hpp"

namespace gpumod::report {

/// The `schema` member of a comparison JSON.
inline constexpr std::string_view k_compare_schema = "gpumod.bench.compare/1";

/// The whole comparison, pretty-printed (2-space indent, fixed member order, trailing newline).
std::string render_json(const Comparison& comparison);

} // namespace gpumod::report
