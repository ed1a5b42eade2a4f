#include "core/report/render_markdown.hpp"

#include <cctype>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/report/report_cells.hpp"
#include "core/report/report_format.hpp"
#include "core/report/text_table.hpp"

namespace gpumod::report {
namespace {

std::string cell_text(const std::string& text)
{
    // A model or level named like an HTML tag ("<FIFO> & more") would be dropped by a code
    // forge's sanitizer: a '<' that opens a tag is escaped (outside `code spans`, which show
    // their content literally). Other Markdown in cells (**yes**, p<0.001) is meant.
    std::string out;
    out.reserve(text.size());
    bool in_code = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const char next = i + 1 < text.size() ? text[i + 1] : '\0';
        const bool opens_tag = std::isalpha(static_cast<unsigned char>(next)) != 0 ||
                               next == '/' || next == '!' || next == '?';
        if (c == '`') {
            in_code = !in_code;
            out.push_back(c);
        } else if (c == '|') {
            out += "\\|";
        } else if (c == '\n' || c == '\r' || c == '\t') {
            out.push_back(' ');
        } else if (!in_code && c == '<' && opens_tag) {
            out += "&lt;";
        } else {
            out.push_back(c);
        }
    }
    // A cell must not end in whitespace either: the padding decides the width.
    while (!out.empty() && out.back() == ' ') {
        out.pop_back();
    }
    return out;
}

std::string code(const std::string& text)
{
    if (text.empty()) {
        return k_missing;
    }
    // A backtick inside would end the span early; such names are shown as they are.
    return text.find('`') == std::string::npos ? "`" + text + "`" : text;
}

void heading(std::string& out, int level, const std::string& text)
{
    out += "\n" + std::string(static_cast<std::size_t>(level), '#') + " " + text + "\n\n";
}

void paragraph(std::string& out, const std::string& text)
{
    out += text + "\n";
}

// ---------------------------------------------------------------- sections

void verdict_section(std::string& out, const Comparison& c)
{
    heading(out, 2, "Verdict");
    for (const auto& verdict : c.verdicts) {
        out += "- " + verdict.sentence + "\n";
    }
    if (!c.warnings.empty()) {
        out += "\n";
        for (const auto& warning : c.warnings) {
            out += "> **Warning:** " + warning + "\n>\n";
        }
        // The blockquote's last empty line would leave a dangling ">".
        out.resize(out.size() - 2);
    }
}

void fact_table(std::string& out, const std::vector<FactRow>& rows, const Comparison& c,
                bool with_effect)
{
    MarkdownTable table;
    table.add_column("Aspect");
    table.add_column(c.label_base);
    table.add_column(c.label_cand);
    table.add_column("Differs");
    if (with_effect) {
        table.add_column("Effect on the comparison");
    }
    for (const auto& row : rows) {
        std::vector<std::string> cells{row.aspect, or_dash(row.base), or_dash(row.cand),
                                       row.differs ? "**yes**" : "no"};
        if (with_effect) {
            cells.push_back(row.differs ? or_dash(row.effect) : "same: no confound");
        }
        table.add_row(std::move(cells));
    }
    out += table.render();
}

void caveat_section(std::string& out, const Comparison& c)
{
    heading(out, 2, "Caveats: what differs besides the model");
    for (const auto& verdict : c.verdicts) {
        if (verdict.topic == "confounds") {
            paragraph(out, verdict.sentence);
            out += "\n";
        }
    }
    fact_table(out, c.caveats, c, true);
}

void setup_section(std::string& out, const Comparison& c)
{
    heading(out, 2, "Setup");
    fact_table(out, c.setup, c, false);
}

void models_section(std::string& out, const Comparison& c)
{
    heading(out, 2, "Models tested");
    MarkdownTable table;
    for (const char* header : {"Variant", "Run", "Model file"}) {
        table.add_column(header);
    }
    table.add_column("Size", MarkdownTable::Align::right);
    table.add_column("Parameters", MarkdownTable::Align::right);
    table.add_column("Quantization");
    table.add_column("Bits per weight", MarkdownTable::Align::right);
    table.add_column("Context", MarkdownTable::Align::right);
    table.add_column("llama.cpp build");
    table.add_column("SHA-256");
    for (const ModelInfo* m : {&c.model_base, &c.model_cand}) {
        std::string quant = or_dash(m->quantization);
        if (!m->file_name_quant.empty() && m->file_name_quant != m->quantization &&
            !m->quantization.empty()) {
            quant += " (" + m->file_name_quant + ")";
        }
        table.add_row(
            {m->label, code(m->run_id), code(m->file_name), or_missing(m->size_bytes, format_size),
             or_missing(m->parameters, format_parameters), quant, fixed(m->bits_per_weight, 2),
             or_missing(m->context, format_count), or_dash(m->server_build),
             m->sha256.empty() ? std::string(k_missing) : code(m->sha256.substr(0, 16))});
    }
    out += table.render();
    out += "\nBits per weight = model file size × 8 / parameter count (from the GGUF header), so "
           "it includes the metadata and every tensor, MTP heads too.\n";
}

void summary_section(std::string& out, const Comparison& c)
{
    heading(out, 3, "Summary");
    const int level = static_cast<int>(std::lround(100.0 * c.options.confidence));
    MarkdownTable table;
    table.add_column("Variant");
    table.add_column("Iterations", MarkdownTable::Align::right);
    table.add_column("Mean score", MarkdownTable::Align::right);
    table.add_column("SD", MarkdownTable::Align::right);
    table.add_column(fmt::format("{}% CI (t)", level), MarkdownTable::Align::right);
    table.add_column("Mean TPS", MarkdownTable::Align::right);
    table.add_column("Draft acceptance (pooled)", MarkdownTable::Align::right);
    table.add_column("Draft acceptance (mean per request)", MarkdownTable::Align::right);
    table.add_column("Wall", MarkdownTable::Align::right);
    for (const RunSummaryRow* r : {&c.summary_base, &c.summary_cand}) {
        table.add_row(
            {r->label, std::to_string(r->iterations), fixed(r->mean), fixed(r->sd),
             or_missing(r->ci, [](const stats::Interval& i) { return format_interval(i); }),
             fixed(r->mean_tps), pct(r->acceptance_pooled), pct(r->acceptance_mean_per_request),
             or_missing(r->wall_s, format_elapsed)});
    }
    const auto& d = c.delta;
    const auto signed1 = [](double v) { return format_signed(v); };
    table.add_row(
        {"Δ (candidate − base)", "", or_missing(d.mean, signed1), or_missing(d.sd, signed1),
         d.ci_overlap ? (*d.ci_overlap ? "overlap" : "disjoint") : k_missing,
         or_missing(d.tps_percent, [](double v) { return format_signed(v, 2) + "%"; }),
         or_missing(d.acceptance_pooled_pp, [](double v) { return format_pp(v); }),
         or_missing(d.acceptance_mean_per_request_pp, [](double v) { return format_pp(v); }),
         or_missing(d.wall_s, [](double v) {
             return (v > 0 ? "+" : v < 0 ? "-" : "") + format_elapsed(std::abs(v));
         })});
    out += table.render();
    const int possible = std::max(c.summary_base.possible, c.summary_cand.possible);
    out += fmt::format(
        "\nScore: points per complete iteration (of {}). Mean TPS: mean of the attempts' "
        "generation speed in tokens/s as the server measured it. Draft acceptance: pooled = sum "
        "accepted / sum drafted (compare runs by this); mean per request = unweighted mean of "
        "each request's accepted / drafted.\n",
        possible);
}

std::string scores_list(const IterationScores& s)
{
    std::vector<std::string> items;
    for (const auto& points : s.points) {
        items.push_back(points ? std::to_string(*points) : "incomplete");
    }
    std::string out;
    for (const auto& item : items) {
        out += (out.empty() ? "" : ", ") + item;
    }
    return or_dash(out);
}

std::string counts_text(const IterationScores& s)
{
    std::vector<std::pair<int, int>> counts(s.counts.begin(), s.counts.end());
    // Most frequent score first, then the higher score.
    std::sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first > b.first;
    });
    std::string out;
    for (const auto& [score, n] : counts) {
        out += fmt::format("{}{}× {}", out.empty() ? "" : ", ", n, score);
    }
    return or_dash(out);
}

void distribution_section(std::string& out, const Comparison& c)
{
    heading(out, 3, "Score distribution per iteration");
    MarkdownTable table;
    table.add_column("Variant");
    table.add_column("Scores (iteration order)");
    table.add_column("Counts");
    table.add_column("Min", MarkdownTable::Align::right);
    table.add_column("Max", MarkdownTable::Align::right);
    for (const auto& [s, r] :
         {std::pair{&c.scores_base, &c.summary_base}, std::pair{&c.scores_cand, &c.summary_cand}}) {
        table.add_row(
            {s->label, scores_list(*s), counts_text(*s), fixed(r->min, 0), fixed(r->max, 0)});
    }
    out += table.render();
}

void levels_section(std::string& out, const Comparison& c)
{
    heading(out, 3, "Level pass rates");
    // Titles come from the suite when it is still on disk; without any, the column goes.
    const bool titles = std::any_of(c.levels.begin(), c.levels.end(),
                                    [](const LevelRow& l) { return !l.title.empty(); });
    MarkdownTable table;
    table.add_column("Level");
    if (titles) {
        table.add_column("Task");
    }
    table.add_column("Points", MarkdownTable::Align::right);
    table.add_column(c.label_base, MarkdownTable::Align::right);
    table.add_column("Wilson 95% (base)", MarkdownTable::Align::right);
    table.add_column(c.label_cand, MarkdownTable::Align::right);
    table.add_column("Wilson 95% (candidate)", MarkdownTable::Align::right);
    table.add_column("Fisher p", MarkdownTable::Align::right);
    for (const auto& level : c.levels) {
        std::vector<std::string> cells{level.level};
        if (titles) {
            cells.push_back(or_dash(level.title));
        }
        for (const auto& cell :
             {std::to_string(level.points), pass_text(level.base), wilson_text(level.base),
              pass_text(level.cand), wilson_text(level.cand), p_cell(level.fisher_p)}) {
            cells.push_back(cell);
        }
        table.add_row(std::move(cells));
    }
    out += table.render();
}

void drafts_section(std::string& out, const Comparison& c)
{
    heading(out, 3, "Speculative decoding (draft / MTP)");
    if (!c.has_drafts) {
        paragraph(out, "Neither run recorded draft tokens (no speculative decoding, or a server "
                       "that does not report it).");
        return;
    }
    MarkdownTable table;
    table.add_column("Variant");
    table.add_column("Spec type");
    table.add_column("n_max", MarkdownTable::Align::right);
    table.add_column("Requests with drafts", MarkdownTable::Align::right);
    table.add_column("Total drafted", MarkdownTable::Align::right);
    table.add_column("Drafts accepted", MarkdownTable::Align::right);
    table.add_column("Pooled acceptance", MarkdownTable::Align::right);
    table.add_column("Mean per-request acceptance", MarkdownTable::Align::right);
    for (const DraftRow* d : {&c.drafts_base, &c.drafts_cand}) {
        table.add_row({d->label, or_dash(d->spec_type), or_missing(d->n_max, format_count),
                       fmt::format("{}/{}", d->requests_with_drafts, d->requests),
                       or_missing(d->drafted, format_count), or_missing(d->accepted, format_count),
                       pct(d->pooled), pct(d->mean_per_request)});
    }
    out += table.render();
    out += "\nPooled acceptance = sum accepted / sum drafted over all requests: the share of "
           "draft tokens kept, the figure to compare. Mean per-request acceptance = unweighted "
           "mean of accepted / drafted per request: a short request counts as much as a long "
           "one.\n";
}

void wall_section(std::string& out, const Comparison& c)
{
    heading(out, 3, "Wall clock");
    MarkdownTable table;
    table.add_column("Variant");
    table.add_column("Iterations", MarkdownTable::Align::right);
    table.add_column("Wall (whole run)", MarkdownTable::Align::right);
    table.add_column("Per iteration", MarkdownTable::Align::right);
    table.add_column("Generation (sum of requests)", MarkdownTable::Align::right);
    table.add_column("Generation per iteration", MarkdownTable::Align::right);
    table.add_column("Validation (pytest)", MarkdownTable::Align::right);
    for (const WallRow* w : {&c.wall_base, &c.wall_cand}) {
        table.add_row(
            {w->label, std::to_string(w->iterations), or_missing(w->wall_s, format_elapsed),
             or_missing(w->per_iteration_s, format_elapsed), format_elapsed(w->generation_s),
             or_missing(w->mean_iteration_generation_s, format_elapsed),
             format_elapsed(w->validation_s)});
    }
    out += table.render();
    out += "\nWall is the time from the run's creation to its last recorded attempt; a resumed "
           "run includes the pause.\n";
}

std::string failures_text(const SmokeRow& s)
{
    std::string out;
    for (const auto& mode : s.failures) {
        std::string attempts;
        for (const int a : mode.attempts) {
            attempts += fmt::format("{}#{}", attempts.empty() ? "" : " ", a);
        }
        out += fmt::format("{}{} ×{} ({})", out.empty() ? "" : "; ", mode.outcome,
                           mode.attempts.size(), attempts);
    }
    if (s.infrastructure_failures > 0) {
        out += fmt::format("{}{} infrastructure (not scored)", out.empty() ? "" : "; ",
                           s.infrastructure_failures);
    }
    return out.empty() ? "none" : out;
}

void smoke_section(std::string& out, const Comparison& c)
{
    if (!c.smoke_base || !c.smoke_cand) {
        return;
    }
    heading(out, 3, "Smoke runs");
    paragraph(out, "One level repeated in a fresh chat per attempt: a pass rate free of the "
                   "multi-level conversation.");
    out += "\n";
    MarkdownTable table;
    table.add_column("Variant");
    table.add_column("Run");
    table.add_column("Level");
    table.add_column("Pass", MarkdownTable::Align::right);
    table.add_column("Rate", MarkdownTable::Align::right);
    table.add_column("Wilson 95% CI", MarkdownTable::Align::right);
    table.add_column("Mean duration", MarkdownTable::Align::right);
    table.add_column("Mean tokens", MarkdownTable::Align::right);
    table.add_column("Mean tokens (passes)", MarkdownTable::Align::right);
    table.add_column("Failure modes");
    for (const SmokeRow* s : {&*c.smoke_base, &*c.smoke_cand}) {
        const auto tokens = [](double v) {
            return format_count(static_cast<std::int64_t>(std::llround(v)));
        };
        table.add_row({s->label, code(s->run_id), or_dash(s->level),
                       fmt::format("{}/{}", s->pass.passed, s->pass.attempts), pct(s->pass.rate),
                       wilson_text(s->pass), or_missing(s->mean_duration_s, format_elapsed),
                       or_missing(s->mean_tokens, tokens),
                       or_missing(s->mean_tokens_passes, tokens), failures_text(*s)});
    }
    out += table.render();
}

void statistics_section(std::string& out, const Comparison& c)
{
    heading(out, 2, "Statistics");
    const int level = static_cast<int>(std::lround(100.0 * c.options.confidence));
    paragraph(out, fmt::format("Every estimate is candidate − base ({} − {}); intervals are {}%, "
                               "p-values two-sided. Resampling uses seed {}.",
                               c.label_cand, c.label_base, level, c.options.seed));
    out += "\n";
    if (c.pairing.paired) {
        paragraph(out, fmt::format("**Paired analysis used:** both runs share the suite, levels, "
                                   "iterations and per-attempt seeds ({} shared items).",
                                   c.pairing.shared_items));
    } else {
        std::string reasons;
        for (const auto& r : c.pairing.reasons) {
            reasons += (reasons.empty() ? "" : "; ") + r;
        }
        paragraph(out, "**Independent samples:** paired tests (McNemar, paired t) are not used "
                       "because " +
                           reasons + ".");
    }

    heading(out, 3, "Scores per iteration");
    MarkdownTable scores;
    scores.add_column("Method");
    scores.add_column("Estimate", MarkdownTable::Align::right);
    scores.add_column(fmt::format("{}% CI", level), MarkdownTable::Align::right);
    scores.add_column("p", MarkdownTable::Align::right);
    scores.add_column("Detail");
    const auto& t = c.score_tests;
    if (t.welch) {
        scores.add_row({"Welch's t-test", format_signed(t.welch->mean_difference),
                        format_interval(t.welch->ci), format_p(t.welch->p_value),
                        fmt::format("t = {}, df = {}", format_fixed(t.welch->t, 2),
                                    format_fixed(t.welch->df, 1))});
    }
    if (t.permutation) {
        scores.add_row(
            {"Permutation test (difference of means)",
             format_signed(t.permutation->observed_difference), k_missing,
             format_p(t.permutation->p_value),
             t.permutation->exact
                 ? fmt::format("exact, {} relabellings",
                               format_count(static_cast<std::int64_t>(t.permutation->permutations)))
                 : fmt::format("{} random relabellings, seed {}",
                               format_count(static_cast<std::int64_t>(t.permutation->permutations)),
                               t.permutation->seed)});
    }
    if (t.mann_whitney) {
        scores.add_row({"Mann-Whitney U test",
                        fmt::format("U = {}", format_fixed(t.mann_whitney->u, 1)), k_missing,
                        format_p(t.mann_whitney->p_value),
                        t.mann_whitney->method == stats::MannWhitneyMethod::exact
                            ? "exact"
                            : "normal approximation with tie correction"});
    }
    if (t.bootstrap) {
        const auto& b = *t.bootstrap;
        const std::string detail = fmt::format(
            "{} resamples, seed {}", format_count(static_cast<std::int64_t>(b.resamples)), b.seed);
        scores.add_row({"Bootstrap, percentile", format_signed(b.observed_difference),
                        format_interval(b.percentile_ci), k_missing, detail});
        scores.add_row({"Bootstrap, BCa", format_signed(b.observed_difference),
                        interval_cell(b.bca_ci), k_missing,
                        b.bca_ci ? detail : "not defined: every replicate on one side"});
    }
    if (t.paired_t) {
        scores.add_row({"Paired t-test", format_signed(t.paired_t->mean_difference),
                        format_interval(t.paired_t->ci), format_p(t.paired_t->p_value),
                        fmt::format("t = {}, df = {}", format_fixed(t.paired_t->t, 2),
                                    format_fixed(t.paired_t->df, 0))});
    }
    if (t.paired_bootstrap) {
        const auto& b = *t.paired_bootstrap;
        scores.add_row({"Paired bootstrap, percentile", format_signed(b.observed_difference),
                        format_interval(b.percentile_ci), k_missing,
                        fmt::format("{} resamples, seed {}",
                                    format_count(static_cast<std::int64_t>(b.resamples)), b.seed)});
    }
    out += scores.render();
    for (const auto& note : t.notes) {
        out += "\nNot computed: " + note + ".\n";
    }

    heading(out, 3, "Pass counts by level");
    MarkdownTable levels;
    levels.add_column("Level");
    levels.add_column(c.label_base, MarkdownTable::Align::right);
    levels.add_column(c.label_cand, MarkdownTable::Align::right);
    levels.add_column("Difference", MarkdownTable::Align::right);
    levels.add_column("Fisher p", MarkdownTable::Align::right);
    if (c.pairing.paired) {
        levels.add_column("Only base / only candidate", MarkdownTable::Align::right);
        levels.add_column("McNemar p", MarkdownTable::Align::right);
    }
    for (const auto& row : c.levels) {
        std::vector<std::string> cells{row.level, pass_text(row.base), pass_text(row.cand),
                                       row.base.rate && row.cand.rate
                                           ? format_pp(*row.cand.rate - *row.base.rate)
                                           : std::string(k_missing),
                                       p_cell(row.fisher_p)};
        if (c.pairing.paired) {
            cells.push_back(
                row.pairs ? fmt::format("{} / {}", row.pairs->second_only, row.pairs->first_only)
                          : std::string(k_missing));
            cells.push_back(p_cell(row.mcnemar_p));
        }
        levels.add_row(std::move(cells));
    }
    out += levels.render();
    out += "\n";
    MarkdownTable combined;
    combined.add_column("Method");
    combined.add_column("Statistic", MarkdownTable::Align::right);
    combined.add_column("p", MarkdownTable::Align::right);
    combined.add_column("Detail");
    if (c.level_tests.cmh) {
        const auto& cmh = *c.level_tests.cmh;
        combined.add_row({"Cochran-Mantel-Haenszel (levels as strata)",
                          fmt::format("χ² = {}", format_fixed(cmh.statistic, 2)),
                          format_p(cmh.p_value),
                          fmt::format("{} of {} levels informative; common odds ratio {}",
                                      cmh.informative_strata, c.levels.size(),
                                      or_missing(cmh.common_odds_ratio,
                                                 [](double v) { return format_fixed(v, 2); }))});
    }
    if (c.pairing.paired && c.level_tests.pairs) {
        const auto& pairs = *c.level_tests.pairs;
        combined.add_row({"Exact McNemar (all items)",
                          fmt::format("{} vs {}", pairs.second_only, pairs.first_only),
                          p_cell(c.level_tests.mcnemar_p),
                          fmt::format("passed only by base vs only by candidate; {} both, {} "
                                      "neither",
                                      pairs.both, pairs.neither)});
    } else {
        combined.add_row({"Exact McNemar", k_missing, k_missing,
                          "not used: the runs are not paired (see above)"});
    }
    out += combined.render();

    if (c.smoke_base && c.smoke_cand) {
        heading(out, 3, "Smoke pass rates");
        MarkdownTable smoke;
        smoke.add_column("Method");
        smoke.add_column("Estimate", MarkdownTable::Align::right);
        smoke.add_column(fmt::format("{}% CI", level), MarkdownTable::Align::right);
        smoke.add_column("p", MarkdownTable::Align::right);
        if (c.smoke_tests.newcombe) {
            const auto& nd = *c.smoke_tests.newcombe;
            smoke.add_row(
                {"Newcombe hybrid score interval (difference of rates)", format_pp(nd.difference),
                 fmt::format("[{}, {}]", format_pp(nd.ci.low), format_pp(nd.ci.high)), k_missing});
        }
        smoke.add_row(
            {"Fisher's exact test", k_missing, k_missing, p_cell(c.smoke_tests.fisher_p)});
        out += smoke.render();
    }

    heading(out, 3, "Speed");
    if (c.speed_tests.welch) {
        const auto& w = *c.speed_tests.welch;
        MarkdownTable speed;
        speed.add_column("Method");
        speed.add_column("Estimate (tokens/s)", MarkdownTable::Align::right);
        speed.add_column(fmt::format("{}% CI", level), MarkdownTable::Align::right);
        speed.add_column("p", MarkdownTable::Align::right);
        speed.add_column("Detail");
        speed.add_row({"Welch's t-test on the attempts' tokens/s", format_signed(w.mean_difference),
                       format_interval(w.ci), format_p(w.p_value),
                       fmt::format("{} and {} attempts", c.summary_base.tps_attempts,
                                   c.summary_cand.tps_attempts)});
        out += speed.render();
    } else {
        paragraph(out, "Not tested: tokens/s was not recorded for at least two attempts of both "
                       "runs by the same measure.");
    }

    heading(out, 3, "Planning: how many attempts it takes");
    MarkdownTable planning;
    planning.add_column("Question");
    planning.add_column("Attempts per side", MarkdownTable::Align::right);
    planning.add_column("Attempts now", MarkdownTable::Align::right);
    planning.add_column("Power now", MarkdownTable::Align::right);
    planning.add_column("Smallest detectable change now");
    for (const auto& row : c.planning) {
        const std::string detectable =
            row.detectable_rate ? fmt::format("{} → {}", format_percent(row.rate_base, 0),
                                              format_percent(*row.detectable_rate, 0))
                                : std::string(k_missing);
        planning.add_row({row.question,
                          row.per_side
                              ? format_count(static_cast<std::int64_t>(row.per_side->per_side))
                              : or_dash(row.note),
                          or_missing(row.n_now, [](double n) { return format_fixed(n, 0); }),
                          pct(row.power_now, 0), detectable});
    }
    out += planning.render();
    out += fmt::format("\nTwo-sided test of two proportions at alpha {}, {:.0f}% power; \"power "
                       "now\" is the chance that the attempts already run detect that "
                       "difference.\n",
                       c.options.alpha, 100.0 * c.options.power);
}

void methodology_section(std::string& out, const Comparison& c)
{
    heading(out, 2, "Methodology");
    MarkdownTable table;
    table.add_column("Aspect");
    table.add_column("Configuration");
    for (const auto& row : c.methodology) {
        const std::string value =
            row.differs ? fmt::format("{}: {}; {}: {}", c.label_base, or_dash(row.base),
                                      c.label_cand, or_dash(row.cand))
                        : or_dash(row.base);
        table.add_row({row.aspect, value});
    }
    out += table.render();
    out += "\n";
    for (const auto& method : c.methods) {
        out += "- **" + method.name + "**: " + method.description + "\n";
    }
}

void files_section(std::string& out, const Comparison& c)
{
    heading(out, 2, "Files");
    MarkdownTable table;
    table.add_column("Role");
    table.add_column("Source");
    table.add_column("Run");
    for (const auto& file : c.files) {
        table.add_row({file.role, code(file.source), code(file.run_id)});
    }
    out += table.render();
}

} // namespace

void MarkdownTable::add_column(std::string header, Align align)
{
    m_headers.push_back(std::move(header));
    m_aligns.push_back(align);
}

void MarkdownTable::add_row(std::vector<std::string> cells)
{
    cells.resize(m_headers.size());
    m_rows.push_back(std::move(cells));
}

std::string MarkdownTable::render() const
{
    const std::size_t columns = m_headers.size();
    std::vector<std::vector<std::string>> rows;
    rows.reserve(m_rows.size() + 1);
    std::vector<std::string> header;
    for (const auto& h : m_headers) {
        header.push_back(cell_text(h));
    }
    rows.push_back(std::move(header));
    for (const auto& row : m_rows) {
        std::vector<std::string> cells;
        for (const auto& cell : row) {
            cells.push_back(cell_text(cell));
        }
        rows.push_back(std::move(cells));
    }
    // GFM needs at least three dashes in the delimiter row.
    std::vector<std::size_t> widths(columns, 3);
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < columns; ++i) {
            widths[i] = std::max(widths[i], display_width(row[i]));
        }
    }
    const auto pad = [](const std::string& text, std::size_t width, Align align) {
        const std::string fill(width - display_width(text), ' ');
        return align == Align::right ? fill + text : text + fill;
    };
    std::string out;
    const auto line = [&](const std::vector<std::string>& cells) {
        out += "|";
        for (std::size_t i = 0; i < columns; ++i) {
            out += " " + pad(cells[i], widths[i], m_aligns[i]) + " |";
        }
        out += "\n";
    };
    line(rows.front());
    out += "|";
    for (std::size_t i = 0; i < columns; ++i) {
        out += " " +
               (m_aligns[i] == Align::right ? std::string(widths[i] - 1, '-') + ":"
                                            : std::string(widths[i], '-')) +
               " |";
    }
    out += "\n";
    for (std::size_t r = 1; r < rows.size(); ++r) {
        line(rows[r]);
    }
    return out;
}

std::string render_markdown(const Comparison& c)
{
    std::string out;
    out += fmt::format("# {} vs {}\n\n", c.label_base, c.label_cand);
    const bool smoke = c.smoke_base && c.smoke_cand;
    out += fmt::format(
        "Comparison of benchmark run `{}` (base: {}) with `{}` (candidate: {}){}. Every number "
        "below is computed by gpumod from the recorded attempts, and each statistic names its "
        "method ([Methodology](#methodology)). Differences are candidate − base.\n",
        c.model_base.run_id, c.label_base, c.model_cand.run_id, c.label_cand,
        smoke ? fmt::format(", with smoke runs `{}` and `{}`", c.smoke_base->run_id,
                            c.smoke_cand->run_id)
              : std::string());
    verdict_section(out, c);
    caveat_section(out, c);
    setup_section(out, c);
    models_section(out, c);
    heading(out, 2, "Results");
    // The "Results" heading is followed directly by its first subsection.
    out.resize(out.size() - 1);
    summary_section(out, c);
    distribution_section(out, c);
    levels_section(out, c);
    drafts_section(out, c);
    wall_section(out, c);
    smoke_section(out, c);
    statistics_section(out, c);
    methodology_section(out, c);
    files_section(out, c);
    return out;
}

} // namespace gpumod::report
