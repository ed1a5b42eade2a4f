#pragma once

// Runs the built gpumod binary the way a user would, for end-to-end tests.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "adapters/posix/process.hpp"

namespace gpumod::testing {

struct CliResult
{
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// Runs `gpumod ARGS...` with extra environment variables; fails the test on a timeout.
inline CliResult run_gpumod(const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(120))
{
    std::vector<std::string> argv{GPUMOD_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = posix::run_command(argv, timeout, env);
    CliResult result;
    if (!r) {
        result.err = r.error().message;
        return result;
    }
    result.exit_code = r->status.exited ? r->status.code : 128 + r->status.code;
    result.out = r->out;
    result.err = r->err;
    return result;
}

} // namespace gpumod::testing
