#include "core/report/render_html.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/report/html_document.hpp"
#include "core/report/report_cells.hpp"
#include "core/report/report_format.hpp"
#include "core/report/svg_chart.hpp"
#include "core/report/xml_text.hpp"

// Sections, tables and cells follow render_markdown.cpp one for one (the unit test compares
// the two reports' tables cell by cell), so a reader sees the same numbers in both; the HTML
// adds charts under the tables they illustrate.

namespace gpumod::report {
namespace {

std::string count_cell(std::uint64_t value)
{
    return format_count(static_cast<std::int64_t>(value));
}

int confidence_level(const Comparison& c)
{
    return static_cast<int>(std::lround(100.0 * c.options.confidence));
}

/// A paragraph that starts with a bold lead ("Paired analysis used:").
std::string lead_paragraph(std::string_view lead, std::string_view text)
{
    return "<p><strong>" + escape_xml(lead) + "</strong> " + escape_xml(text) + "</p>\n";
}

/// Legend names that say which side a colour is, with the run's label.
std::vector<std::string> side_names(const Comparison& c)
{
    return {"base: " + c.label_base, "candidate: " + c.label_cand};
}

std::optional<ChartInterval> chart_interval(const std::optional<stats::Interval>& interval,
                                            double scale = 1.0)
{
    if (!interval) {
        return std::nullopt;
    }
    return ChartInterval{interval->low * scale, interval->high * scale};
}

std::optional<double> scaled(const std::optional<double>& value, double scale)
{
    return value ? std::optional<double>(*value * scale) : std::nullopt;
}

// ---------------------------------------------------------------- sections

std::string verdict_section(const Comparison& c)
{
    std::string out = html_heading(2, "Verdict", "verdict");
    out += "<ul class=\"verdicts\">\n";
    for (const auto& verdict : c.verdicts) {
        out += verdict.difference
                   ? "<li><strong>" + escape_xml(verdict.sentence) + "</strong></li>\n"
                   : "<li>" + escape_xml(verdict.sentence) + "</li>\n";
    }
    out += "</ul>\n";
    for (const auto& warning : c.warnings) {
        out += "<p class=\"warning\"><strong>Warning:</strong> " + escape_xml(warning) + "</p>\n";
    }
    return out;
}

std::string fact_table(const std::vector<FactRow>& rows, const Comparison& c, bool with_effect)
{
    HtmlTable table;
    table.add_column("Aspect");
    table.add_column(c.label_base);
    table.add_column(c.label_cand);
    table.add_column("Differs");
    if (with_effect) {
        table.add_column("Effect on the comparison");
    }
    for (const auto& row : rows) {
        std::vector<std::string> cells{row.aspect, or_dash(row.base), or_dash(row.cand),
                                       row.differs ? "yes" : "no"};
        if (with_effect) {
            cells.push_back(row.differs ? or_dash(row.effect) : "same: no confound");
        }
        table.add_row(std::move(cells), row.differs ? "differs" : "");
    }
    return table.render();
}

std::string caveat_section(const Comparison& c)
{
    std::string out = html_heading(2, "Caveats: what differs besides the model", "caveats");
    for (const auto& verdict : c.verdicts) {
        if (verdict.topic == "confounds") {
            out += html_paragraph(verdict.sentence);
        }
    }
    out += fact_table(c.caveats, c, true);
    return out;
}

std::string setup_section(const Comparison& c)
{
    return html_heading(2, "Setup", "setup") + fact_table(c.setup, c, false);
}

std::string models_section(const Comparison& c)
{
    std::string out = html_heading(2, "Models tested", "models");
    HtmlTable table;
    table.add_column("Variant");
    table.add_column("Run", Align::left, CellFormat::code);
    table.add_column("Model file", Align::left, CellFormat::code);
    table.add_column("Size", Align::right);
    table.add_column("Parameters", Align::right);
    table.add_column("Quantization");
    table.add_column("Bits per weight", Align::right);
    table.add_column("Context", Align::right);
    table.add_column("llama.cpp build");
    table.add_column("SHA-256", Align::left, CellFormat::code);
    for (const ModelInfo* m : {&c.model_base, &c.model_cand}) {
        std::string quant = or_dash(m->quantization);
        if (!m->file_name_quant.empty() && m->file_name_quant != m->quantization &&
            !m->quantization.empty()) {
            quant += " (" + m->file_name_quant + ")";
        }
        table.add_row({m->label, or_dash(m->run_id), or_dash(m->file_name),
                       or_missing(m->size_bytes, format_size),
                       or_missing(m->parameters, format_parameters), quant,
                       fixed(m->bits_per_weight, 2), or_missing(m->context, format_count),
                       or_dash(m->server_build),
                       m->sha256.empty() ? std::string(k_missing) : m->sha256.substr(0, 16)});
    }
    out += table.render();
    out += html_paragraph("Bits per weight = model file size × 8 / parameter count (from the GGUF "
                          "header), so it includes the metadata and every tensor, MTP heads too.",
                          "note");
    return out;
}

std::string summary_charts(const Comparison& c)
{
    const int level = confidence_level(c);
    const RunSummaryRow& base = c.summary_base;
    const RunSummaryRow& cand = c.summary_cand;
    std::string out;

    PointChart scores;
    scores.title = fmt::format("Mean score per iteration with {}% CI (t)", level);
    scores.x_label = fmt::format("points (of {})", std::max(base.possible, cand.possible));
    scores.series = side_names(c);
    scores.format = ChartNumberFormat{1, ""};
    scores.x_min = 0.0;
    scores.x_max = static_cast<double>(std::max(base.possible, cand.possible));
    if (*scores.x_max <= 0.0) {
        scores.x_max.reset();
    }
    scores.rows = {
        PointRow{"base", 0, base.mean, chart_interval(base.ci),
                 fmt::format("{} iterations", base.iterations)},
        PointRow{"candidate", 1, cand.mean, chart_interval(cand.ci),
                 fmt::format("{} iterations", cand.iterations)},
    };
    out += html_figure(render_point_chart(scores));

    if (base.mean_tps || cand.mean_tps) {
        PointChart tps;
        tps.title = "Mean generation speed (server tokens/s)";
        tps.x_label = "tokens per second";
        tps.series = side_names(c);
        tps.format = ChartNumberFormat{1, " tok/s"};
        tps.include_zero = true;
        tps.rows = {
            PointRow{"base", 0, base.mean_tps, std::nullopt,
                     fmt::format("mean of {} attempts", base.tps_attempts)},
            PointRow{"candidate", 1, cand.mean_tps, std::nullopt,
                     fmt::format("mean of {} attempts", cand.tps_attempts)},
        };
        std::string caption;
        if (c.speed_tests.welch) {
            const auto& w = *c.speed_tests.welch;
            caption = fmt::format("Difference (candidate − base): {} tokens/s, {}% CI {} "
                                  "(Welch's t-test, p = {}).",
                                  format_signed(w.mean_difference), level, format_interval(w.ci),
                                  format_p(w.p_value));
        }
        out += html_figure(render_point_chart(tps), caption);
    }
    return out;
}

std::string summary_section(const Comparison& c)
{
    const int level = confidence_level(c);
    std::string out = html_heading(3, "Summary", "summary");
    HtmlTable table;
    table.add_column("Variant");
    table.add_column("Iterations", Align::right);
    table.add_column("Mean score", Align::right);
    table.add_column("SD", Align::right);
    table.add_column(fmt::format("{}% CI (t)", level), Align::right);
    table.add_column("Mean TPS", Align::right);
    table.add_column("Draft acceptance (pooled)", Align::right);
    table.add_column("Draft acceptance (mean per request)", Align::right);
    table.add_column("Wall", Align::right);
    for (const RunSummaryRow* r : {&c.summary_base, &c.summary_cand}) {
        table.add_row({r->label, std::to_string(r->iterations), fixed(r->mean), fixed(r->sd),
                       interval_cell(r->ci), fixed(r->mean_tps), pct(r->acceptance_pooled),
                       pct(r->acceptance_mean_per_request), or_missing(r->wall_s, format_elapsed)});
    }
    const auto& d = c.delta;
    const auto signed1 = [](double v) { return format_signed(v); };
    table.add_row(
        {"Δ (candidate − base)", "", or_missing(d.mean, signed1), or_missing(d.sd, signed1),
         d.ci_overlap ? (*d.ci_overlap ? "overlap" : "disjoint") : k_missing,
         or_missing(d.tps_percent, [](double v) { return format_signed(v, 2) + "%"; }),
         or_missing(d.acceptance_pooled_pp, [](double v) { return format_pp(v); }),
         or_missing(d.acceptance_mean_per_request_pp, [](double v) { return format_pp(v); }),
         or_missing(d.wall_s,
                    [](double v) {
                        return (v > 0 ? "+" : v < 0 ? "-" : "") + format_elapsed(std::abs(v));
                    })},
        "delta");
    out += table.render();
    const int possible = std::max(c.summary_base.possible, c.summary_cand.possible);
    out += html_paragraph(
        fmt::format(
            "Score: points per complete iteration (of {}). Mean TPS: mean of the attempts' "
            "generation speed in tokens/s as the server measured it. Draft acceptance: pooled = "
            "sum accepted / sum drafted (compare runs by this); mean per request = unweighted "
            "mean of each request's accepted / drafted.",
            possible),
        "note");
    out += summary_charts(c);
    return out;
}

std::string scores_list(const IterationScores& s)
{
    std::string out;
    for (const auto& points : s.points) {
        out += (out.empty() ? "" : ", ") + (points ? std::to_string(*points) : "incomplete");
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

DotSeries dot_series(const IterationScores& s, const std::string& name, const std::string& lane)
{
    DotSeries series;
    series.name = name;
    series.lane_label = lane;
    for (std::size_t i = 0; i < s.points.size(); ++i) {
        if (!s.points[i]) {
            continue; // incomplete iterations are listed in the table, not scored
        }
        series.values.push_back(static_cast<double>(*s.points[i]));
        series.labels.push_back(i < s.iterations.size()
                                    ? fmt::format("iteration {}", s.iterations[i])
                                    : fmt::format("iteration {}", i + 1));
    }
    return series;
}

std::string distribution_section(const Comparison& c)
{
    std::string out = html_heading(3, "Score distribution per iteration", "distribution");
    HtmlTable table;
    table.add_column("Variant");
    table.add_column("Scores (iteration order)");
    table.add_column("Counts");
    table.add_column("Min", Align::right);
    table.add_column("Max", Align::right);
    for (const auto& [s, r] :
         {std::pair{&c.scores_base, &c.summary_base}, std::pair{&c.scores_cand, &c.summary_cand}}) {
        table.add_row(
            {s->label, scores_list(*s), counts_text(*s), fixed(r->min, 0), fixed(r->max, 0)});
    }
    out += table.render();

    DotPlot plot;
    plot.title = "Score per iteration";
    const int possible = std::max(c.scores_base.possible, c.scores_cand.possible);
    plot.x_label = fmt::format("points (of {}); dashed line: mean", possible);
    plot.format = ChartNumberFormat{0, ""};
    plot.x_min = 0.0;
    if (possible > 0) {
        plot.x_max = static_cast<double>(possible);
        plot.bin_width = 1.0; // scores are whole points: only equal scores stack
    }
    plot.series = {dot_series(c.scores_base, "base: " + c.label_base, "base"),
                   dot_series(c.scores_cand, "candidate: " + c.label_cand, "candidate")};
    out += html_figure(render_dot_plot(plot));
    return out;
}

std::string levels_section(const Comparison& c)
{
    std::string out = html_heading(3, "Level pass rates", "levels");
    HtmlTable table;
    table.add_column("Level");
    table.add_column("Task");
    table.add_column("Points", Align::right);
    table.add_column(c.label_base, Align::right);
    table.add_column("Wilson 95% (base)", Align::right);
    table.add_column(c.label_cand, Align::right);
    table.add_column("Wilson 95% (candidate)", Align::right);
    table.add_column("Fisher p", Align::right);
    for (const auto& level : c.levels) {
        table.add_row({level.level, or_dash(level.title), std::to_string(level.points),
                       pass_text(level.base), wilson_text(level.base), pass_text(level.cand),
                       wilson_text(level.cand), p_cell(level.fisher_p)});
    }
    out += table.render();

    GroupedBarChart chart;
    chart.title = "Pass rate per level with Wilson 95% intervals";
    chart.y_label = "pass rate";
    chart.format = ChartNumberFormat{1, "%"};
    chart.y_min = 0.0;
    chart.y_max = 100.0;
    BarSeries base{"base: " + c.label_base, {}};
    BarSeries cand{"candidate: " + c.label_cand, {}};
    const auto bar = [](const PassRate& rate) {
        if (rate.attempts == 0) {
            return ChartBar{std::nullopt, std::nullopt, "not attempted"};
        }
        return ChartBar{scaled(rate.rate, 100.0), chart_interval(rate.wilson, 100.0),
                        fmt::format("{}/{} passed", rate.passed, rate.attempts)};
    };
    for (const auto& level : c.levels) {
        chart.groups.push_back(level.level);
        base.bars.push_back(bar(level.base));
        cand.bars.push_back(bar(level.cand));
    }
    chart.series = {base, cand};
    out += html_figure(render_grouped_bar_chart(chart),
                       "Bars: share of attempts that passed; whiskers: Wilson 95% score interval.");
    return out;
}

std::string drafts_section(const Comparison& c)
{
    std::string out = html_heading(3, "Speculative decoding (draft / MTP)", "drafts");
    if (!c.has_drafts) {
        out += html_paragraph("Neither run recorded draft tokens (no speculative decoding, or a "
                              "server that does not report it).");
        return out;
    }
    HtmlTable table;
    table.add_column("Variant");
    table.add_column("Spec type");
    table.add_column("n_max", Align::right);
    table.add_column("Requests with drafts", Align::right);
    table.add_column("Total drafted", Align::right);
    table.add_column("Drafts accepted", Align::right);
    table.add_column("Pooled acceptance", Align::right);
    table.add_column("Mean per-request acceptance", Align::right);
    for (const DraftRow* d : {&c.drafts_base, &c.drafts_cand}) {
        table.add_row({d->label, or_dash(d->spec_type), or_missing(d->n_max, format_count),
                       fmt::format("{}/{}", d->requests_with_drafts, d->requests),
                       or_missing(d->drafted, format_count), or_missing(d->accepted, format_count),
                       pct(d->pooled), pct(d->mean_per_request)});
    }
    out += table.render();
    out += html_paragraph(
        "Pooled acceptance = sum accepted / sum drafted over all requests: the share of draft "
        "tokens kept, the figure to compare. Mean per-request acceptance = unweighted mean of "
        "accepted / drafted per request: a short request counts as much as a long one.",
        "note");

    PointChart chart;
    chart.title = "Draft acceptance";
    chart.x_label = "accepted / drafted";
    chart.series = side_names(c);
    chart.format = ChartNumberFormat{1, "%"};
    chart.x_min = 0.0;
    chart.x_max = 100.0;
    const auto counts = [](const DraftRow& d) {
        return d.drafted && d.accepted
                   ? fmt::format("{} of {} draft tokens accepted", format_count(*d.accepted),
                                 format_count(*d.drafted))
                   : std::string();
    };
    chart.rows = {
        PointRow{"pooled: base", 0, scaled(c.drafts_base.pooled, 100.0), std::nullopt,
                 counts(c.drafts_base)},
        PointRow{"pooled: candidate", 1, scaled(c.drafts_cand.pooled, 100.0), std::nullopt,
                 counts(c.drafts_cand)},
        PointRow{"per request: base", 0, scaled(c.drafts_base.mean_per_request, 100.0),
                 std::nullopt, "unweighted mean of per-request ratios"},
        PointRow{"per request: candidate", 1, scaled(c.drafts_cand.mean_per_request, 100.0),
                 std::nullopt, "unweighted mean of per-request ratios"},
    };
    out += html_figure(render_point_chart(chart),
                       "Pooled = sum accepted / sum drafted; per request = mean of each "
                       "request's ratio.");
    return out;
}

std::string wall_section(const Comparison& c)
{
    std::string out = html_heading(3, "Wall clock", "wall");
    HtmlTable table;
    table.add_column("Variant");
    table.add_column("Iterations", Align::right);
    table.add_column("Wall (whole run)", Align::right);
    table.add_column("Per iteration", Align::right);
    table.add_column("Generation (sum of requests)", Align::right);
    table.add_column("Generation per iteration", Align::right);
    table.add_column("Validation (pytest)", Align::right);
    for (const WallRow* w : {&c.wall_base, &c.wall_cand}) {
        table.add_row(
            {w->label, std::to_string(w->iterations), or_missing(w->wall_s, format_elapsed),
             or_missing(w->per_iteration_s, format_elapsed), format_elapsed(w->generation_s),
             or_missing(w->mean_iteration_generation_s, format_elapsed),
             format_elapsed(w->validation_s)});
    }
    out += table.render();
    out += html_paragraph("Wall is the time from the run's creation to its last recorded attempt; "
                          "a resumed run includes the pause.",
                          "note");
    return out;
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

std::string smoke_section(const Comparison& c)
{
    if (!c.smoke_base || !c.smoke_cand) {
        return "";
    }
    std::string out = html_heading(3, "Smoke runs", "smoke");
    out += html_paragraph("One level repeated in a fresh chat per attempt: a pass rate free of "
                          "the multi-level conversation.");
    HtmlTable table;
    table.add_column("Variant");
    table.add_column("Run", Align::left, CellFormat::code);
    table.add_column("Level");
    table.add_column("Pass", Align::right);
    table.add_column("Rate", Align::right);
    table.add_column("Wilson 95% CI", Align::right);
    table.add_column("Mean duration", Align::right);
    table.add_column("Mean tokens", Align::right);
    table.add_column("Mean tokens (passes)", Align::right);
    table.add_column("Failure modes");
    const auto tokens = [](double v) {
        return format_count(static_cast<std::int64_t>(std::llround(v)));
    };
    for (const SmokeRow* s : {&*c.smoke_base, &*c.smoke_cand}) {
        table.add_row({s->label, or_dash(s->run_id), or_dash(s->level),
                       fmt::format("{}/{}", s->pass.passed, s->pass.attempts), pct(s->pass.rate),
                       wilson_text(s->pass), or_missing(s->mean_duration_s, format_elapsed),
                       or_missing(s->mean_tokens, tokens),
                       or_missing(s->mean_tokens_passes, tokens), failures_text(*s)});
    }
    out += table.render();

    GroupedBarChart chart;
    chart.title = "Smoke pass rate with Wilson 95% intervals";
    chart.y_label = "pass rate";
    chart.format = ChartNumberFormat{1, "%"};
    chart.y_min = 0.0;
    chart.y_max = 100.0;
    const bool same_level = c.smoke_base->level == c.smoke_cand->level;
    chart.groups = {same_level ? or_dash(c.smoke_base->level) : "smoke"};
    for (const SmokeRow* s : {&*c.smoke_base, &*c.smoke_cand}) {
        const bool is_base = s == &*c.smoke_base;
        chart.series.push_back(
            BarSeries{(is_base ? "base: " : "candidate: ") + s->label,
                      {ChartBar{scaled(s->pass.rate, 100.0), chart_interval(s->pass.wilson, 100.0),
                                fmt::format("{}/{} passed", s->pass.passed, s->pass.attempts)}}});
    }
    out += html_figure(render_grouped_bar_chart(chart));
    return out;
}

std::string statistics_section(const Comparison& c)
{
    const int level = confidence_level(c);
    std::string out = html_heading(2, "Statistics", "statistics");
    out += html_paragraph(fmt::format("Every estimate is candidate − base ({} − {}); intervals "
                                      "are {}%, p-values two-sided. Resampling uses seed {}.",
                                      c.label_cand, c.label_base, level, c.options.seed));
    if (c.pairing.paired) {
        out += lead_paragraph("Paired analysis used:",
                              fmt::format("both runs share the suite, levels, iterations and "
                                          "per-attempt seeds ({} shared items).",
                                          c.pairing.shared_items));
    } else {
        std::string reasons;
        for (const auto& r : c.pairing.reasons) {
            reasons += (reasons.empty() ? "" : "; ") + r;
        }
        out += lead_paragraph("Independent samples:", "paired tests (McNemar, paired t) are not "
                                                      "used because " +
                                                          reasons + ".");
    }

    out += html_heading(3, "Scores per iteration", "stats-scores");
    HtmlTable scores;
    scores.add_column("Method");
    scores.add_column("Estimate", Align::right);
    scores.add_column(fmt::format("{}% CI", level), Align::right);
    scores.add_column("p", Align::right);
    scores.add_column("Detail");
    const auto& t = c.score_tests;
    if (t.welch) {
        scores.add_row({"Welch's t-test", format_signed(t.welch->mean_difference),
                        format_interval(t.welch->ci), format_p(t.welch->p_value),
                        fmt::format("t = {}, df = {}", format_fixed(t.welch->t, 2),
                                    format_fixed(t.welch->df, 1))});
    }
    if (t.permutation) {
        const auto& perm = *t.permutation;
        scores.add_row({"Permutation test (difference of means)",
                        format_signed(perm.observed_difference), k_missing, format_p(perm.p_value),
                        perm.exact
                            ? fmt::format("exact, {} relabellings", count_cell(perm.permutations))
                            : fmt::format("{} random relabellings, seed {}",
                                          count_cell(perm.permutations), perm.seed)});
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
        const std::string detail =
            fmt::format("{} resamples, seed {}", count_cell(b.resamples), b.seed);
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
                        fmt::format("{} resamples, seed {}", count_cell(b.resamples), b.seed)});
    }
    out += scores.render();
    for (const auto& note : t.notes) {
        out += html_paragraph("Not computed: " + note + ".", "note");
    }

    out += html_heading(3, "Pass counts by level", "stats-levels");
    HtmlTable levels;
    levels.add_column("Level");
    levels.add_column(c.label_base, Align::right);
    levels.add_column(c.label_cand, Align::right);
    levels.add_column("Difference", Align::right);
    levels.add_column("Fisher p", Align::right);
    if (c.pairing.paired) {
        levels.add_column("Only base / only candidate", Align::right);
        levels.add_column("McNemar p", Align::right);
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
    HtmlTable combined;
    combined.add_column("Method");
    combined.add_column("Statistic", Align::right);
    combined.add_column("p", Align::right);
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
        out += html_heading(3, "Smoke pass rates", "stats-smoke");
        HtmlTable smoke;
        smoke.add_column("Method");
        smoke.add_column("Estimate", Align::right);
        smoke.add_column(fmt::format("{}% CI", level), Align::right);
        smoke.add_column("p", Align::right);
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

    out += html_heading(3, "Speed", "stats-speed");
    if (c.speed_tests.welch) {
        const auto& w = *c.speed_tests.welch;
        HtmlTable speed;
        speed.add_column("Method");
        speed.add_column("Estimate (tokens/s)", Align::right);
        speed.add_column(fmt::format("{}% CI", level), Align::right);
        speed.add_column("p", Align::right);
        speed.add_column("Detail");
        speed.add_row({"Welch's t-test on the attempts' tokens/s", format_signed(w.mean_difference),
                       format_interval(w.ci), format_p(w.p_value),
                       fmt::format("{} and {} attempts", c.summary_base.tps_attempts,
                                   c.summary_cand.tps_attempts)});
        out += speed.render();
    } else {
        out += html_paragraph("Not tested: tokens/s was not recorded for at least two attempts "
                              "of both runs by the same measure.");
    }

    out += html_heading(3, "Planning: how many attempts it takes", "planning");
    HtmlTable planning;
    planning.add_column("Question");
    planning.add_column("Attempts per side", Align::right);
    planning.add_column("Attempts now", Align::right);
    planning.add_column("Power now", Align::right);
    planning.add_column("Smallest detectable change now");
    for (const auto& row : c.planning) {
        const std::string detectable =
            row.detectable_rate ? fmt::format("{} → {}", format_percent(row.rate_base, 0),
                                              format_percent(*row.detectable_rate, 0))
                                : std::string(k_missing);
        planning.add_row({row.question,
                          row.per_side ? count_cell(row.per_side->per_side) : or_dash(row.note),
                          or_missing(row.n_now, [](double n) { return format_fixed(n, 0); }),
                          pct(row.power_now, 0), detectable});
    }
    out += planning.render();
    out += html_paragraph(fmt::format("Two-sided test of two proportions at alpha {}, {:.0f}% "
                                      "power; \"power now\" is the chance that the attempts "
                                      "already run detect that difference.",
                                      c.options.alpha, 100.0 * c.options.power),
                          "note");
    return out;
}

std::string methodology_section(const Comparison& c)
{
    std::string out = html_heading(2, "Methodology", "methodology");
    HtmlTable table;
    table.add_column("Aspect");
    table.add_column("Configuration");
    for (const auto& row : c.methodology) {
        const std::string value =
            row.differs ? fmt::format("{}: {}; {}: {}", c.label_base, or_dash(row.base),
                                      c.label_cand, or_dash(row.cand))
                        : or_dash(row.base);
        table.add_row({row.aspect, value}, row.differs ? "differs" : "");
    }
    out += table.render();
    if (!c.methods.empty()) {
        out += "<ul class=\"methods\">\n";
        for (const auto& method : c.methods) {
            out += "<li><strong>" + escape_xml(method.name) +
                   "</strong>: " + escape_xml(method.description) + "</li>\n";
        }
        out += "</ul>\n";
    }
    return out;
}

std::string files_section(const Comparison& c)
{
    std::string out = html_heading(2, "Files", "files");
    HtmlTable table;
    table.add_column("Role");
    table.add_column("Source", Align::left, CellFormat::code);
    table.add_column("Run", Align::left, CellFormat::code);
    for (const auto& file : c.files) {
        table.add_row({file.role, or_dash(file.source), or_dash(file.run_id)});
    }
    out += table.render();
    return out;
}

std::string contents(bool smoke)
{
    std::vector<std::pair<const char*, const char*>> entries{
        {"verdict", "Verdict"},
        {"caveats", "Caveats"},
        {"setup", "Setup"},
        {"models", "Models tested"},
        {"summary", "Summary"},
        {"distribution", "Score distribution"},
        {"levels", "Level pass rates"},
        {"drafts", "Speculative decoding"},
        {"wall", "Wall clock"},
    };
    if (smoke) {
        entries.emplace_back("smoke", "Smoke runs");
    }
    entries.insert(
        entries.end(),
        {{"statistics", "Statistics"}, {"methodology", "Methodology"}, {"files", "Files"}});
    std::string out = "<nav class=\"toc\"><ul>\n";
    for (const auto& [id, text] : entries) {
        out += fmt::format("<li><a href=\"#{}\">{}</a></li>\n", id, text);
    }
    out += "</ul></nav>\n";
    return out;
}

} // namespace

std::string render_html(const Comparison& c)
{
    const bool smoke = c.smoke_base && c.smoke_cand;
    const std::string title = fmt::format("{} vs {}", c.label_base, c.label_cand);
    std::string body = html_heading(1, title);
    body += "<p>Comparison of benchmark run <code>" + escape_xml(c.model_base.run_id) +
            "</code> (base: " + escape_xml(c.label_base) + ") with <code>" +
            escape_xml(c.model_cand.run_id) + "</code> (candidate: " + escape_xml(c.label_cand) +
            ")";
    if (smoke) {
        body += ", with smoke runs <code>" + escape_xml(c.smoke_base->run_id) +
                "</code> and <code>" + escape_xml(c.smoke_cand->run_id) + "</code>";
    }
    body += ". Every number below is computed by gpumod from the recorded attempts, and each "
            "statistic names its method (<a href=\"#methodology\">Methodology</a>). Differences "
            "are candidate − base.</p>\n";
    body += contents(smoke);
    body += verdict_section(c);
    body += caveat_section(c);
    body += setup_section(c);
    body += models_section(c);
    body += html_heading(2, "Results", "results");
    body += summary_section(c);
    body += distribution_section(c);
    body += levels_section(c);
    body += drafts_section(c);
    body += wall_section(c);
    body += smoke_section(c);
    body += statistics_section(c);
    body += methodology_section(c);
    body += files_section(c);
    return html_page(title, body);
}

} // namespace gpumod::report
