// TODO(#3): bootstrap placeholder, replaced by the real command in this session.
#include <ostream>

#include "app/commands.hpp"
#include "app/exit_codes.hpp"

namespace gpumod::app {
int cmd_plan(const GlobalOptions&, const PlanOptions&, std::ostream&, std::ostream& err)
{
    err << "gpumod plan: not built yet\n";
    return k_exit_failure;
}
} // namespace gpumod::app
