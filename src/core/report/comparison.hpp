#pragma once

// The comparison of two benchmark runs (and optionally one smoke run each), as a typed model
// holding every number a report shows: what differs between the runs besides the model
// (confounds), per-run summaries with a delta row, per-level pass rates, draft acceptance,
// wall time, smoke pass rates, the statistical tests with their methods, sample-size planning,
// and verdict sentences generated from those numbers. Pure: computed from RunRecords only,
// so Markdown, JSON and HTML renderers all show the same numbers. docs/report.md explains
// each part.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bench/run_types.hpp"
#include "core/stats/bootstrap.hpp"
#include "core/stats/common.hpp"
#include "core/stats/power.hpp"
#include "core/stats/proportions.hpp"
#include "core/stats/random.hpp"
#include "core/stats/two_sample.hpp"

namespace gpumod::report {

/// Choices of a comparison; every default is printed in the report's methodology.
struct CompareOptions
{
    std::string label_base; ///< "" -> derived from the model file name or the run id
    std::string label_cand;
    std::uint64_t seed = stats::k_default_seed; ///< bootstrap and sampled permutations
    std::uint64_t bootstrap_resamples = 10000;
    std::uint64_t permutation_resamples = 100000;
    double alpha = 0.05;      ///< a p-value below this is called a difference in verdicts
    double confidence = 0.95; ///< of every interval
    double power = 0.8;       ///< sample-size planning
    /// The planning question every report answers: attempts per side to tell these apart.
    double planning_rate_high = 0.95;
    double planning_rate_low = 0.90;
    /// Level id -> task title (from the suite, when the app can load it); optional.
    std::map<std::string, std::string> level_titles;
    /// Where each run came from, for the Files section ("result_x.json", "database run x").
    std::string source_base;
    std::string source_cand;
    std::string source_base_smoke;
    std::string source_cand_smoke;
};

/// Which side of the comparison.
enum class Side
{
    base,
    cand,
};

/// One recorded setting of both runs and whether it differs.
struct FactRow
{
    std::string key;    ///< stable id for JSON ("quantization")
    std::string aspect; ///< "Quantization"
    std::string base;   ///< "" when not recorded
    std::string cand;
    bool differs = false;
    /// A confound: a setting that can change scores or speed, so a difference here means a
    /// delta cannot be attributed to the model alone. Environment facts (host, gpumod
    /// version) are not.
    bool confound = false;
    std::string effect; ///< generated note on what the difference means, "" when none
};

/// The model one run served.
struct ModelInfo
{
    std::string label;
    std::string run_id;
    std::string file_name;
    std::optional<std::int64_t> size_bytes;
    std::string sha256;
    std::optional<std::int64_t> parameters;
    std::string quantization;              ///< GGUF file type, else the file name's tag, else ""
    std::string file_name_quant;           ///< the tag in the file name ("UD-IQ4_XS"), "" when none
    std::optional<double> bits_per_weight; ///< size_bytes * 8 / parameters
    std::string family;                    ///< general.basename / name, else ""
    std::string finetune;
    std::optional<std::int64_t> context; ///< server n_ctx, else argv -c
    std::string server_build;
};

/// One run's headline numbers: the Summary table's row.
struct RunSummaryRow
{
    std::string label;
    std::size_t iterations = 0; ///< complete iterations the score statistics use
    std::optional<double> mean;
    std::optional<double> sd;
    std::optional<stats::Interval> ci; ///< t-based, `confidence`
    std::optional<double> min;
    std::optional<double> max;
    int possible = 0;               ///< points of a full iteration
    std::optional<double> mean_tps; ///< mean of the attempts' server tokens/s
    std::size_t tps_attempts = 0;
    std::optional<double> acceptance_pooled;           ///< sum accepted / sum drafted
    std::optional<double> acceptance_mean_per_request; ///< mean of per-request ratios
    std::optional<double> wall_s;                      ///< run created -> last update
};

/// The Summary table's delta row: candidate minus base.
struct SummaryDelta
{
    std::optional<double> mean;
    std::optional<double> sd;
    /// True when the two t intervals overlap (nullopt when either is missing).
    std::optional<bool> ci_overlap;
    std::optional<double> tps_percent;          ///< 100 * (cand - base) / base
    std::optional<double> acceptance_pooled_pp; ///< percentage points
    std::optional<double> acceptance_mean_per_request_pp;
    std::optional<double> wall_s;
};

/// Scores of one run's iterations in order (incomplete iterations are listed but unscored).
struct IterationScores
{
    std::string label;
    std::vector<int> iterations;            ///< iteration numbers
    std::vector<std::optional<int>> points; ///< nullopt: the iteration is incomplete
    int possible = 0;
    std::map<int, int> counts;           ///< score -> iterations with it (complete only)
    std::vector<double> per_iteration_s; ///< generation time (sum of request times)
};

/// k of n with its Wilson interval.
struct PassRate
{
    int passed = 0;
    int attempts = 0;
    std::optional<double> rate;
    std::optional<stats::Interval> wilson;
};

/// One level of both runs with Fisher's exact test.
struct LevelRow
{
    std::string level;
    std::string title;
    int points = 0;
    PassRate base;
    PassRate cand;
    std::optional<double> fisher_p; ///< nullopt when a side has no attempts
    /// Paired runs only: per-level exact McNemar on the iterations both ran.
    std::optional<stats::PairedCounts> pairs;
    std::optional<double> mcnemar_p;
};

/// Speculative decoding of one run.
struct DraftRow
{
    std::string label;
    std::string spec_type;                ///< argv --spec-type ("draft-mtp"), "" when unknown
    std::optional<std::int64_t> n_max;    ///< argv --spec-draft-n-max / --draft-max
    std::string draft_model;              ///< argv -md file name
    std::size_t requests = 0;             ///< scored attempts
    std::size_t requests_with_drafts = 0; ///< attempts that reported drafts > 0
    std::optional<std::int64_t> drafted;
    std::optional<std::int64_t> accepted;
    std::optional<double> pooled;
    std::optional<double> mean_per_request;
};

/// Wall clock of one run.
struct WallRow
{
    std::string label;
    std::size_t iterations = 0;            ///< iterations with at least one record
    std::optional<double> wall_s;          ///< created -> last update
    std::optional<double> per_iteration_s; ///< wall_s / iterations
    double generation_s = 0;               ///< sum of request times
    double validation_s = 0;               ///< sum of pytest times
    std::optional<double> mean_iteration_generation_s;
};

/// One outcome class among a smoke run's failures, with the attempts it hit.
struct FailureMode
{
    std::string outcome;       ///< "budget_exhausted"
    std::vector<int> attempts; ///< attempt numbers
};

/// One smoke run: one level repeated in fresh chats.
struct SmokeRow
{
    std::string label;
    std::string run_id;
    std::string level;
    PassRate pass;
    std::optional<double> mean_duration_s;    ///< mean request time
    std::optional<double> mean_tokens;        ///< completion tokens, every scored attempt
    std::optional<double> mean_tokens_passes; ///< completion tokens of passing attempts
    std::vector<FailureMode> failures;        ///< by class, most frequent first
    std::size_t infrastructure_failures = 0;  ///< never scored
};

/// Tests on the iteration scores.
struct ScoreTests
{
    std::optional<stats::TTestResult> welch;
    std::optional<stats::PermutationResult> permutation;
    std::optional<stats::MannWhitneyResult> mann_whitney;
    std::optional<stats::BootstrapResult> bootstrap; ///< independent: cand - base
    std::optional<stats::TTestResult> paired_t;      ///< paired runs only
    std::optional<stats::BootstrapResult> paired_bootstrap;
    std::vector<std::string> notes; ///< why a test is missing
};

/// Whether both runs asked the same questions with the same seeds, so items can be paired.
struct Pairing
{
    bool paired = false;
    std::vector<std::string> reasons; ///< why not (empty when paired)
    std::size_t shared_items = 0;     ///< (iteration, level) recorded in both
};

/// Tests on pass counts by level.
struct LevelTests
{
    std::optional<stats::CmhResult> cmh;      ///< levels as strata, Yates-corrected
    std::optional<stats::PairedCounts> pairs; ///< paired runs: every shared item
    std::optional<double> mcnemar_p;
};

/// Tests on the two smoke pass rates (cand - base).
struct SmokeTests
{
    std::optional<stats::ProportionDifference> newcombe;
    std::optional<double> fisher_p;
};

/// Welch's t-test on the attempts' server tokens/s.
struct SpeedTests
{
    std::optional<stats::TTestResult> welch;
};

/// One sample-size question and its answer.
struct PlanningRow
{
    std::string key;      ///< stable id for JSON
    std::string question; ///< in words
    double rate_base = 0;
    double rate_cand = 0;
    std::optional<stats::SampleSize> per_side;
    std::optional<double> n_now;           ///< the attempts per side the data has
    std::optional<double> power_now;       ///< power of n_now for this difference
    std::optional<double> detectable_rate; ///< lowest rate n_now detects below rate_base
    std::string note;                      ///< why a number is missing
};

/// A conclusion in words, generated from the numbers next to it.
struct Verdict
{
    std::string topic; ///< "scores", "level L1", "smoke", "speed", "drafts", "confounds"
    std::string sentence;
    bool difference = false; ///< the data show a difference at `alpha`
};

/// One method the report used, named and described.
struct MethodNote
{
    std::string name;
    std::string description;
};

/// One input file of the report.
struct FileRow
{
    std::string role;   ///< "base run", "candidate smoke"
    std::string source; ///< path or "database run <id>"
    std::string run_id;
};

/// The whole comparison.
struct Comparison
{
    std::string label_base;
    std::string label_cand;
    CompareOptions options;
    std::vector<FactRow> caveats; ///< settings that can confound (confound = true)
    std::vector<FactRow> setup;   ///< the environment fingerprint
    ModelInfo model_base;
    ModelInfo model_cand;
    RunSummaryRow summary_base;
    RunSummaryRow summary_cand;
    SummaryDelta delta;
    IterationScores scores_base;
    IterationScores scores_cand;
    std::vector<LevelRow> levels; ///< levels of either run, base's order first
    DraftRow drafts_base;
    DraftRow drafts_cand;
    bool has_drafts = false; ///< either run recorded draft counts
    WallRow wall_base;
    WallRow wall_cand;
    std::optional<SmokeRow> smoke_base;
    std::optional<SmokeRow> smoke_cand;
    Pairing pairing;
    ScoreTests score_tests;
    LevelTests level_tests;
    SmokeTests smoke_tests;
    SpeedTests speed_tests;
    std::vector<PlanningRow> planning;
    std::vector<Verdict> verdicts;
    std::vector<MethodNote> methods;
    std::vector<FactRow> methodology; ///< the run settings table (sampler, max_tokens, ...)
    std::vector<FileRow> files;
    std::vector<std::string> warnings; ///< incomplete runs, mismatched suites, ...
};

/// Checks that the inputs can be compared: base and cand are suite runs (kind run), the smoke
/// runs (when given) are smoke runs, and each has at least one recorded attempt. The message
/// names the offending input and what to pass instead.
Status check_comparable(const bench::RunRecord& base, const bench::RunRecord& cand,
                        const bench::RunRecord* base_smoke, const bench::RunRecord* cand_smoke);

/// Compares two runs (and their smoke runs, either both or neither): every number and
/// verdict of the report. Tests that cannot be computed (too few iterations, no variance)
/// are left unset with a note, never guessed.
Comparison compare_runs(const bench::RunRecord& base, const bench::RunRecord& cand,
                        const bench::RunRecord* base_smoke, const bench::RunRecord* cand_smoke,
                        const CompareOptions& options);

/// The label a run gets when none is given: the model file name without ".gguf", or the
/// run id when the file name is unknown.
std::string default_label(const bench::RunRecord& run);

/// Argv value of the first of `flags` present ("-c 4096" or "--ctx-size=4096").
std::optional<std::string> argv_flag(const std::vector<std::string>& argv,
                                     std::initializer_list<std::string_view> flags);

} // namespace gpumod::report
