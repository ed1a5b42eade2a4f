#pragma once

// The verdicts `gpumod doctor` reports. Pure: the app layer probes the machine and hands
// the findings here to be judged and rendered.

#include <string>
#include <vector>

namespace gpumod {

enum class CheckLevel
{
    ok,
    warning, ///< gpumod works, with less (no GPU, no sandbox)
    failure, ///< a required piece is missing: doctor exits 1
};

struct CheckResult
{
    std::string name;   ///< short id, e.g. "llama-server"
    CheckLevel level = CheckLevel::ok;
    std::string detail; ///< what was found ("version 11669 at /path")
    std::string fix;    ///< what to do about it; empty when level is ok
};

/// "ok", "warning" or "failure".
std::string to_string(CheckLevel level);

/// True when no check is a failure.
bool all_required_pass(const std::vector<CheckResult>& checks);

/// Aligned table: status mark, check, detail; then one "fix:" line per check that needs one.
std::string render_checks(const std::vector<CheckResult>& checks);

} // namespace gpumod
