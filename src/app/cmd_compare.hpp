#pragma once

// `gpumod bench compare BASE CAND [--smoke BASE_SMOKE CAND_SMOKE]`: the comparison report of
// two benchmark runs (core/report/comparison.hpp), written as report.md, report.json and
// report.html into a directory; stdout shows the Markdown, the JSON or the HTML's path.
// docs/report.md.

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "app/commands.hpp"

namespace gpumod::app {

/// Options of `gpumod bench compare`.
struct BenchCompareOptions
{
    std::string base; ///< result file path, or run id (prefix) in the database
    std::string cand;
    std::vector<std::string> smoke;           ///< none, or BASE_SMOKE and CAND_SMOKE
    std::optional<std::filesystem::path> out; ///< default ./gpumod-report-<base>-vs-<cand>/
    std::string format = "md";                ///< what stdout shows: md, json or html
    std::optional<std::string> label_base;
    std::optional<std::string> label_cand;
    std::optional<std::uint64_t> seed; ///< resampling seed (default: the statistics default)
};

/// `gpumod bench compare`. Exit 0 with the report written, 2 for bad arguments (unknown run,
/// unreadable file, wrong run kind, unknown format), 3 when the database or the output
/// directory cannot be used.
int cmd_bench_compare(const GlobalOptions& global, const BenchCompareOptions& options,
                      std::ostream& out, std::ostream& err);

} // namespace gpumod::app
