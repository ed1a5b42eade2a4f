// `gpumod preset ...` and `gpumod mode list|show|validate|create` (issue #4, config side).
#include "cli/command_groups.hpp"

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/cmd_presets.hpp"
#include "app/commands.hpp"

namespace gpumod::cli {
namespace {

// Flag values live here: CLI11 binds options to references that must outlive parsing, which
// happens after the register function returns.
struct PresetFlags
{
    std::string preset_id;
    std::vector<std::filesystem::path> preset_paths;
    std::string mode_id;
    std::vector<std::filesystem::path> mode_paths;
    app::ModeCreateOptions create;
    std::string name;
    std::string description;
};

void add_json_flag(CLI::App& cmd, app::GlobalOptions& global)
{
    cmd.add_flag("--json", global.json, "print machine-readable JSON on stdout");
}

// The service side registers verbs on the same `mode` group; whoever comes first creates it.
CLI::App* find_or_add_group(CLI::App& app, const std::string& name, const std::string& description)
{
    for (auto* sub : app.get_subcommands({})) {
        if (sub->check_name(name)) {
            return sub;
        }
    }
    auto* group = app.add_subcommand(name, description);
    group->require_subcommand(1);
    return group;
}

} // namespace

void register_preset_commands(CLI::App& app, app::GlobalOptions& global, int& exit_code)
{
    auto flags = std::make_shared<PresetFlags>();
    auto& out = std::cout;
    auto& err = std::cerr;

    auto* preset = find_or_add_group(
        app, "preset",
        "presets: one model service each (YAML in $XDG_CONFIG_HOME/gpumod/presets, then the "
        "bundled ones; schema in docs/presets.md)");

    auto* list = preset->add_subcommand("list", "list the presets gpumod finds, and files with problems");
    add_json_flag(*list, global);
    list->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_preset_list(global, out, err);
    });

    auto* show = preset->add_subcommand("show", "show one preset: every setting, its file, its command line");
    show->add_option("id", flags->preset_id, "preset id")->required();
    add_json_flag(*show, global);
    show->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_preset_show(global, flags->preset_id, out, err);
    });

    auto* cmd = preset->add_subcommand(
        "cmd", "print the exact command line (and environment) the preset's service runs");
    cmd->add_option("id", flags->preset_id, "preset id")->required();
    add_json_flag(*cmd, global);
    cmd->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_preset_cmd(global, flags->preset_id, out, err);
    });

    auto* validate = preset->add_subcommand(
        "validate", "check preset files: keys, types, values, duplicate ids, model files exist; "
                    "every problem as file:line:column; exits 1 when any is found");
    validate->add_option("paths", flags->preset_paths,
                         "files or directories (default: every preset on the search path)");
    add_json_flag(*validate, global);
    validate->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_preset_validate(global, flags->preset_paths, out, err);
    });

    auto* mode = find_or_add_group(app, "mode",
                                   "modes: sets of services that run together (YAML in "
                                   "$XDG_CONFIG_HOME/gpumod/modes, then the bundled ones)");

    auto* mode_list = mode->add_subcommand("list", "list the modes gpumod finds");
    add_json_flag(*mode_list, global);
    mode_list->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_mode_list(global, out, err);
    });

    auto* mode_show = mode->add_subcommand("show", "show one mode and its services in start order");
    mode_show->add_option("id", flags->mode_id, "mode id")->required();
    add_json_flag(*mode_show, global);
    mode_show->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_mode_show(global, flags->mode_id, out, err);
    });

    auto* mode_validate = mode->add_subcommand(
        "validate", "check mode files against the presets found; exits 1 on any problem");
    mode_validate->add_option("paths", flags->mode_paths,
                              "files or directories (default: every mode on the search path)");
    add_json_flag(*mode_validate, global);
    mode_validate->callback([&global, &exit_code, &out, &err, flags] {
        exit_code = app::cmd_mode_validate(global, flags->mode_paths, out, err);
    });

    auto* create = mode->add_subcommand(
        "create", "write a new mode to $XDG_CONFIG_HOME/gpumod/modes/ID.yaml (never overwrites)");
    create->add_option("id", flags->create.id, "mode id ([a-z0-9][a-z0-9._-]*)")->required();
    create->add_option("--services", flags->create.services,
                       "preset ids in start order, comma-separated (none: an empty mode)")
        ->delimiter(',');
    create->add_option("--name", flags->name, "name for people (default: the id)");
    create->add_option("--description", flags->description, "one line on what the mode is for");
    add_json_flag(*create, global);
    create->callback([&global, &exit_code, &out, &err, flags, create] {
        if (create->count("--name") > 0) {
            flags->create.name = flags->name;
        }
        if (create->count("--description") > 0) {
            flags->create.description = flags->description;
        }
        exit_code = app::cmd_mode_create(global, flags->create, out, err);
    });
}

} // namespace gpumod::cli
