#include "core/doctor/checks.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/report/text_table.hpp"

namespace gpumod {

std::string to_string(CheckLevel level)
{
    switch (level) {
    case CheckLevel::ok:
        return "ok";
    case CheckLevel::warning:
        return "warning";
    case CheckLevel::failure:
        return "failure";
    }
    return "unknown";
}

bool all_required_pass(const std::vector<CheckResult>& checks)
{
    return std::none_of(checks.begin(), checks.end(),
                        [](const CheckResult& c) { return c.level == CheckLevel::failure; });
}

std::string render_checks(const std::vector<CheckResult>& checks)
{
    TextTable table;
    table.add_column("status");
    table.add_column("check");
    table.add_column("detail");
    for (const auto& c : checks) {
        const char* mark = c.level == CheckLevel::ok        ? "ok"
                           : c.level == CheckLevel::warning ? "WARN"
                                                            : "FAIL";
        table.add_row({mark, c.name, c.detail});
    }
    std::string out = table.render();
    bool header_written = false;
    for (const auto& c : checks) {
        if (c.fix.empty() || c.level == CheckLevel::ok) {
            continue;
        }
        if (!header_written) {
            out += "\nHow to fix:\n";
            header_written = true;
        }
        out += fmt::format("  {}: {}\n", c.name, c.fix);
    }
    const auto failures = std::count_if(checks.begin(), checks.end(), [](const CheckResult& c) {
        return c.level == CheckLevel::failure;
    });
    const auto warnings = std::count_if(checks.begin(), checks.end(), [](const CheckResult& c) {
        return c.level == CheckLevel::warning;
    });
    out += fmt::format("\n{} checks: {} failed, {} warnings\n", checks.size(), failures, warnings);
    return out;
}

} // namespace gpumod
