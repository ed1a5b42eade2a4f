#pragma once

// `gpumod plan --oracle`: asks llama.cpp's llama-fit-params (when it can be found) for its
// own estimate of the planned configuration and for its --fit answer, and shows both beside
// ours. The oracle never changes the plan's verdict or exit code: whatever goes wrong with it
// is reported in its section.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/plan/fit_params_oracle.hpp"
#include "core/plan/memory_model.hpp"

namespace gpumod::app {

/// What the oracle said, or why it could not say anything.
struct OracleReport
{
    bool available = false; ///< found; runs may still have failed (see the errors)
    std::string error;      ///< why it is not available: not found, a bad override
    std::string path;
    std::string found_by;
    std::string version; ///< its "version:" line's value; empty when it did not say
    std::vector<std::string> not_passed;

    std::vector<std::string> estimate_argv;
    std::optional<std::vector<plan::OracleDeviceEstimate>> estimate;
    std::string estimate_error;

    std::vector<std::string> fit_argv; ///< empty: the fit was not asked for
    std::optional<plan::OracleFittedArgs> fitted;
    bool cannot_fit = false; ///< it answered that nothing fits the free memory
    std::string fit_error;   ///< why the answer is missing (cannot_fit included)
};

/// Finds llama-fit-params and runs it for `query` (each run bounded by 60 s).
OracleReport ask_fit_params_oracle(const plan::OracleQuery& query);

/// What ours says for the comparison: the main prediction, the projector bytes its weights
/// include, and our --fit answer when one was computed.
struct OurSide
{
    const plan::MemoryPlan* plan = nullptr;
    uint64_t projector_bytes = 0;
    std::optional<plan::ResolvedConfig> fit;
    uint32_t n_layer = 0; ///< the model's blocks: -ngl n_layer + 1 means all, as -1 does
};

/// The `oracle` object of `gpumod plan --json`.
nlohmann::json oracle_json(const OracleReport& report, const OurSide& ours);

/// The text section: one line when the oracle is not available, else its estimate beside
/// ours per device and component, its --fit answer beside ours, and what it was not told.
void render_oracle(std::ostream& out, const OracleReport& report, const OurSide& ours);

} // namespace gpumod::app
