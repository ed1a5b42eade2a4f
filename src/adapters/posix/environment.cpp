#include "adapters/posix/environment.hpp"

#include <cstdlib>

namespace gpumod::posix {

std::optional<std::string> get_env(const char* name)
{
    // getenv is the single point where the process environment is read.
    const char* value = std::getenv(name); // NOLINT(concurrency-mt-unsafe)
    if (value == nullptr) {
        return std::nullopt;
    }
    return std::string(value);
}

PathEnvironment path_environment()
{
    return PathEnvironment{get_env("HOME"), get_env("XDG_DATA_HOME"), get_env("XDG_CONFIG_HOME"),
                           get_env("XDG_CACHE_HOME"), get_env("GPUMOD_DB")};
}

} // namespace gpumod::posix
