#include "core/services/state_paths.hpp"

namespace gpumod {
namespace {

std::optional<std::filesystem::path> absolute_or_none(const std::optional<std::string>& value)
{
    if (!value || value->empty() || !std::filesystem::path(*value).is_absolute()) {
        return std::nullopt;
    }
    return std::filesystem::path(*value);
}

} // namespace

Result<std::filesystem::path> resolve_state_dir(const std::optional<std::string>& xdg_state_home,
                                                const std::optional<std::string>& home)
{
    if (auto base = absolute_or_none(xdg_state_home)) {
        return *base / "gpumod";
    }
    if (auto h = absolute_or_none(home)) {
        return *h / ".local" / "state" / "gpumod";
    }
    return fail("cannot place service logs: neither XDG_STATE_HOME nor HOME is set to an "
                "absolute path; set one of them");
}

std::filesystem::path service_log_path(const std::filesystem::path& state_dir,
                                       const std::string& service_id)
{
    return state_dir / "logs" / (service_id + ".log");
}

std::filesystem::path switch_lock_path(const std::filesystem::path& state_dir)
{
    return state_dir / "mode-switch.lock";
}

} // namespace gpumod
