#pragma once

// `gpumod preset ...` and `gpumod mode list|show|validate|create`, plus the wiring the
// service side shares: where configuration lives and how to load it.

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "adapters/config/yaml_loader.hpp"
#include "app/commands.hpp"
#include "core/config/render_argv.hpp"

namespace gpumod::app {

/// Where presets and modes are read from on this machine.
struct ConfigLocation
{
    std::filesystem::path user_dir;             ///< $XDG_CONFIG_HOME/gpumod
    std::optional<config::BundledDir> bundled;  ///< shipped presets/ and modes/
    config::ConfigDirs dirs;                    ///< search order, user's first
};

/// The user's config dir and the bundled dir (GPUMOD_DATA_DIR, <exe>/../share/gpumod, source
/// tree). Fails when neither XDG_CONFIG_HOME nor HOME is usable, or GPUMOD_DATA_DIR is bad.
Result<ConfigLocation> locate_config();

/// Every preset and mode on the search path, expanded with this process's environment.
Result<config::Catalog> load_config_catalog();

/// argv[0] for rendering: the llama-server gpumod would run (GPUMOD_LLAMA_SERVER, PATH,
/// cache), else plain "llama-server".
config::RenderPrograms render_programs();

/// `gpumod preset list`: valid presets as a table; files with problems on stderr (exit 1).
int cmd_preset_list(const GlobalOptions& global, std::ostream& out, std::ostream& err);

/// `gpumod preset show ID`: every field, the file it came from, and the command line.
int cmd_preset_show(const GlobalOptions& global, const std::string& id, std::ostream& out,
                    std::ostream& err);

/// `gpumod preset cmd ID`: the exact command line (with its environment) the service runs.
int cmd_preset_cmd(const GlobalOptions& global, const std::string& id, std::ostream& out,
                   std::ostream& err);

/// `gpumod preset validate [PATH...]`: structure, values, duplicate ids and model files of
/// the given files/directories (default: the search path). Exit 1 when anything is wrong.
int cmd_preset_validate(const GlobalOptions& global, const std::vector<std::filesystem::path>& paths,
                        std::ostream& out, std::ostream& err);

/// `gpumod mode list`.
int cmd_mode_list(const GlobalOptions& global, std::ostream& out, std::ostream& err);

/// `gpumod mode show ID`: the mode and, per service, driver, port and model.
int cmd_mode_show(const GlobalOptions& global, const std::string& id, std::ostream& out,
                  std::ostream& err);

/// `gpumod mode validate [PATH...]`: mode files checked against the presets on the search path.
int cmd_mode_validate(const GlobalOptions& global, const std::vector<std::filesystem::path>& paths,
                      std::ostream& out, std::ostream& err);

struct ModeCreateOptions
{
    std::string id;
    std::vector<std::string> services; ///< preset ids, in start order
    std::optional<std::string> name;
    std::optional<std::string> description;
};

/// `gpumod mode create ID --services a,b`: writes <user dir>/modes/ID.yaml atomically; refuses
/// an id that already exists anywhere on the search path, and unknown services.
int cmd_mode_create(const GlobalOptions& global, const ModeCreateOptions& options, std::ostream& out,
                    std::ostream& err);

} // namespace gpumod::app
