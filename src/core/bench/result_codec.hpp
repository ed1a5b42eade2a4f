#pragma once

// JSON <-> benchmark run types: the result file (`gpumod.bench.result/1`) and the pieces the
// run store keeps in SQLite (config, facts, one attempt). Decoding is strict: every field the
// encoder writes is required unless its type is optional (then absent and null both mean
// unset), and errors name the JSON path ("attempts[3].outcome: missing"). Unknown members are
// ignored so that later additions within the same schema version stay readable.
//
// Round trips are exact (RunRecord::operator==), doubles included, with two exceptions that
// JSON cannot carry: invalid UTF-8 in strings is replaced by U+FFFD, and non-finite doubles
// are written as null (an optional reads back unset, a required one as NaN).

#include <string>
#include <string_view>

#include "core/base/error.hpp"
#include "core/bench/run_types.hpp"

namespace gpumod::bench {

/// The `schema` member of every result file this build writes and the only one it reads.
inline constexpr std::string_view k_result_schema = "gpumod.bench.result/1";

/// The run's settings as one compact JSON object (the result file's "config").
std::string encode_run_config(const RunConfig& config);

/// Reads what encode_run_config wrote; errors name the path ("sampler.top_k: expected ...").
Result<RunConfig> decode_run_config(std::string_view json);

/// One attempt as one compact JSON object (an element of the result file's "attempts").
std::string encode_attempt(const AttemptRecord& attempt);

/// Reads what encode_attempt wrote.
Result<AttemptRecord> decode_attempt(std::string_view json);

/// The run's facts as one compact JSON object {"server","model","environment"}.
std::string encode_run_facts(const RunRecord& run);

/// Reads what encode_run_facts wrote into run.server, run.model and run.environment; leaves
/// `run` untouched on error.
Status decode_run_facts(std::string_view json, RunRecord& run);

/// The whole result file, pretty-printed (2-space indent, members in a fixed order, trailing
/// newline). `summary_json`, when not empty, is a JSON object from the summary encoder,
/// embedded as "summary"; text that is not JSON is recorded there as {"error": "..."} so the
/// attempts are never lost to a summary bug.
std::string encode_result_file(const RunRecord& run, std::string_view summary_json = {});

/// Reads a result file. Fails on invalid JSON, a missing or different "schema", a missing
/// required member or one of the wrong type. "summary" is derived data and is not read.
Result<RunRecord> decode_result_file(std::string_view json);

} // namespace gpumod::bench
