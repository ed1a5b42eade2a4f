#pragma once

// Real llama-server for end-to-end tests: generated tiny models, started through gpumod's
// own launcher (process adapter + HTTP client). Tests skip with a reason when no
// llama-server is available (scripts/test always provides one).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "app/llama_launch.hpp"
#include "core/base/error.hpp"

namespace gpumod::testing {

/// The llama-server to test against: GPUMOD_LLAMA_SERVER, else the locator's answer.
std::optional<std::filesystem::path> llama_server_for_tests();

/// Writes a tiny model with the built gpumod binary (`gpumod dev make-model`).
Result<std::filesystem::path> make_model(const std::filesystem::path& dir, const std::string& name,
                                         const std::vector<std::string>& extra_args);

/// Starts llama-server on `model` with `args` (threads pinned to 1 for quiet timings).
Result<app::RunningLlamaServer> start_server(const std::filesystem::path& dir,
                                             const std::filesystem::path& model,
                                             std::vector<std::string> args);

/// Starts llama-server on a random-weight model constrained by a one-string grammar, so
/// every chat reply is exactly `<think>reasoning</think>reply` whatever its length.
Result<app::RunningLlamaServer> start_scripted_by_grammar(const std::filesystem::path& dir,
                                                          const std::string& reasoning,
                                                          const std::string& reply,
                                                          std::vector<std::string> args = {});

} // namespace gpumod::testing
