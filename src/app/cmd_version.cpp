#include <ostream>

#include <nlohmann/json.hpp>

#include "app/commands.hpp"
#include "app/exit_codes.hpp"
#include "core/base/build_info.hpp"

namespace gpumod::app {

int cmd_version(const GlobalOptions& global, std::ostream& out, std::ostream& /*err*/)
{
    if (global.json) {
        nlohmann::json j{{"version", build_info::k_version},
                         {"git_commit", build_info::k_git_commit},
                         {"build_type", build_info::k_build_type}};
        out << j.dump(2) << '\n';
    } else {
        out << "gpumod " << build_info::k_version << " (commit " << build_info::k_git_commit
            << ", " << build_info::k_build_type << " build)\n";
    }
    return k_exit_ok;
}

} // namespace gpumod::app
