#pragma once

// Benchmark suites on disk (docs/suites.md) -> bench::Suite: reads suite.yaml, each level's
// level.yaml, prompt.md and tests/, checks the same rules as tests/suites/check_suite.py, and
// computes the suite's content hash. Also finds a suite by name on the search path.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/error.hpp"
#include "core/bench/suite.hpp"
#include "core/config/expand.hpp"

namespace gpumod::bench {

/// Loads and validates the suite in `suite_dir`. Each problem names file:line:column
/// (1-based) and what to fix; the first file with problems stops the load.
Result<Suite> load_suite(const std::filesystem::path& suite_dir);

/// SHA-256 (hex) over a length-prefixed serialization of the name, version and, per level in
/// order, id, points, timeout, files, modules, prompt and every test file's path and bytes.
std::string suite_content_hash(const Suite& suite);

/// The directory of a suite: `name_or_path` itself when it contains '/' or is a directory
/// holding suite.yaml, else the first <dir>/<name> with a suite.yaml in `search_dirs`. The
/// error lists the directories searched and the suites found in them.
Result<std::filesystem::path> find_suite(std::string_view name_or_path,
                                         const std::vector<std::filesystem::path>& search_dirs);

/// Where suites are looked for, in order: every entry of $GPUMOD_SUITES_DIR (':'-separated),
/// $XDG_CONFIG_HOME/gpumod/suites (default ~/.config/gpumod/suites), then the bundled suites:
/// <executable dir>/../share/gpumod/suites, or in a development build the source tree's suites/.
std::vector<std::filesystem::path> default_suite_dirs(const config::EnvMap& env,
                                                      const std::filesystem::path& executable);

} // namespace gpumod::bench
