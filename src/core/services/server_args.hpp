#pragma once

// What a server's command line asks of GPU memory, read back from the exact argv a service
// runs (the preset's typed options rendered by config::render_argv, plus its extra_args).
// Reading the argv rather than the preset means the preflight gate judges what really runs,
// flags in extra_args included, and works for services rebuilt from their records. Pure.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/plan/plan_request.hpp"

namespace gpumod {

/// The memory-relevant part of a llama-server command line.
struct LlamaServerArgs
{
    plan::PlanRequest request;              ///< llama-server's defaults where a flag is absent
    std::optional<std::string> model;       ///< -m
    std::optional<std::string> draft_model; ///< -md
    std::optional<std::string> mmproj;      ///< --mmproj
    bool ctx_pinned = false; ///< -c given: llama-server's --fit leaves the context alone
    bool ngl_pinned = false; ///< -ngl given as a count or "all": --fit leaves the layers alone
    bool fit = true;         ///< --fit on (llama-server 0.7.0's default) unless "--fit off"
    std::vector<std::string> notes; ///< values that could not be read and were ignored
};

/// Reads llama-server flags from `args` (argv without the program). Short and long spellings
/// and "--flag=value" are understood; other flags are skipped. A draft model without
/// --spec-type counts as draft-simple, as llama-server runs it.
LlamaServerArgs parse_llama_server_args(std::span<const std::string> args);

/// The memory-relevant part of a `vllm serve` command line.
struct VllmArgs
{
    double gpu_memory_utilization = 0.9; ///< vLLM's default
    uint32_t tensor_parallel_size = 1;
    std::vector<std::string> notes;
};

/// Reads --gpu-memory-utilization and --tensor-parallel-size (-tp) from `args` (argv without
/// the program).
VllmArgs parse_vllm_args(std::span<const std::string> args);

} // namespace gpumod
