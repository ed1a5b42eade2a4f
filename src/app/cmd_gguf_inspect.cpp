// TODO(#3): bootstrap placeholder, replaced by the real command in this session.
#include <ostream>

#include "app/commands.hpp"
#include "app/exit_codes.hpp"

namespace gpumod::app {
int cmd_gguf_inspect(const GlobalOptions&, const GgufInspectOptions&, std::ostream&,
                     std::ostream& err)
{
    err << "gpumod gguf inspect: not built yet\n";
    return k_exit_failure;
}
} // namespace gpumod::app
