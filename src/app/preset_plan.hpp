#pragma once

// A preset as the planner sees it: the llama-server flags its service runs with. They are read
// back from the rendered command line (config::to_service_spec, then
// parse_llama_server_args), so the typed options and the flags in extra_args both count, and
// `gpumod plan PRESET`, `gpumod preset cmd PRESET` and the services' preflight gate agree.

#include "core/base/error.hpp"
#include "core/config/preset.hpp"
#include "core/services/server_args.hpp"

namespace gpumod::app {

/// The memory-relevant llama-server flags of a llama.cpp preset, with the model path filled
/// in; fails (naming the preset and its file) for the vllm and command drivers and for a
/// preset without a model.
Result<LlamaServerArgs> preset_server_args(const config::Preset& preset);

} // namespace gpumod::app
