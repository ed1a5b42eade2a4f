#pragma once

// Reading llama-server's log: why a start failed (the tail, classified into a next step the
// user can take) and when the server became ready (its own "listening" line). Pure text in,
// values out; the supervisor feeds it bytes from the service's log file.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpumod {

/// Why a service failed to start, as far as its log tells.
enum class FailureKind
{
    port_in_use,        ///< "couldn't bind HTTP server socket" / "Address already in use"
    unknown_flag,       ///< "error: invalid argument: --flag"
    model_file_missing, ///< "failed to open GGUF file ... (No such file or directory)"
    out_of_memory,      ///< CUDA/host allocation failures while loading
    model_load_failed,  ///< "failed to load model" for any other reason (bad file, arch)
    unknown,            ///< none of the above matched
};

/// "port_in_use", "unknown_flag", "model_file_missing", "out_of_memory", "model_load_failed",
/// "unknown" (stable words for --json).
std::string_view failure_kind_word(FailureKind kind);

/// A classified failure: what it is, the log line that says so, and what to do next.
struct LogDiagnosis
{
    FailureKind kind = FailureKind::unknown;
    std::string matched_line; ///< "" for unknown
    std::string summary;      ///< one phrase, e.g. "the model file does not exist"
    std::string next_step;    ///< an action, e.g. "check model: in the preset"
};

/// Classifies a log tail (case-insensitive; the most specific cause wins, e.g. a missing file
/// over the generic "failed to load model" printed after it).
LogDiagnosis classify_log_tail(std::string_view tail);

/// What a log line says about readiness.
enum class ReadinessSignal
{
    none,
    model_loaded, ///< "model loaded" (weights in memory; may not be listening yet)
    listening,    ///< the server's final "listening on" line: it serves requests now
};

/// The signal in one line. Older builds print "HTTP server is listening" *before* loading;
/// that line is not readiness and gives `none`.
ReadinessSignal readiness_signal(std::string_view line);

/// llama-server's own timestamp at the start of a line ("M.SS.mmm.uuu " = time since its logger
/// started), in microseconds; nullopt when the line has none (built without timestamps).
std::optional<int64_t> parse_log_timestamp_us(std::string_view line);

/// Splits a byte stream into complete lines across arbitrary chunk boundaries.
class LineSplitter
{
  public:
    /// Adds bytes; returns the lines completed by them (without the newline).
    std::vector<std::string> feed(std::string_view bytes);

  private:
    std::string m_partial;
};

} // namespace gpumod
