#include "core/report/render_json.hpp"

#include <nlohmann/json.hpp>

namespace gpumod::report {
namespace {

using json = nlohmann::ordered_json;

template <typename T> json opt(const std::optional<T>& value)
{
    return value ? json(*value) : json(nullptr);
}

json interval(const stats::Interval& i)
{
    return json{{"low", i.low}, {"high", i.high}};
}

json interval(const std::optional<stats::Interval>& i)
{
    return i ? interval(*i) : json(nullptr);
}

json facts(const std::vector<FactRow>& rows)
{
    json out = json::array();
    for (const auto& row : rows) {
        out.push_back({{"key", row.key},
                       {"aspect", row.aspect},
                       {"base", row.base},
                       {"cand", row.cand},
                       {"differs", row.differs},
                       {"confound", row.confound},
                       {"effect", row.effect}});
    }
    return out;
}

json model(const ModelInfo& m)
{
    return {{"label", m.label},
            {"run_id", m.run_id},
            {"file_name", m.file_name},
            {"size_bytes", opt(m.size_bytes)},
            {"sha256", m.sha256},
            {"parameters", opt(m.parameters)},
            {"quantization", m.quantization},
            {"file_name_quantization", m.file_name_quant},
            {"bits_per_weight", opt(m.bits_per_weight)},
            {"family", m.family},
            {"finetune", m.finetune},
            {"context", opt(m.context)},
            {"server_build", m.server_build}};
}

json summary(const RunSummaryRow& r)
{
    return {{"label", r.label},
            {"iterations", r.iterations},
            {"possible", r.possible},
            {"mean", opt(r.mean)},
            {"sd", opt(r.sd)},
            {"ci_t", interval(r.ci)},
            {"min", opt(r.min)},
            {"max", opt(r.max)},
            {"mean_tps", opt(r.mean_tps)},
            {"tps_attempts", r.tps_attempts},
            {"acceptance_pooled", opt(r.acceptance_pooled)},
            {"acceptance_mean_per_request", opt(r.acceptance_mean_per_request)},
            {"wall_s", opt(r.wall_s)}};
}

json delta(const SummaryDelta& d)
{
    return {{"mean", opt(d.mean)},
            {"sd", opt(d.sd)},
            {"ci_overlap", opt(d.ci_overlap)},
            {"tps_percent", opt(d.tps_percent)},
            {"acceptance_pooled", opt(d.acceptance_pooled_pp)},
            {"acceptance_mean_per_request", opt(d.acceptance_mean_per_request_pp)},
            {"wall_s", opt(d.wall_s)}};
}

json scores(const IterationScores& s)
{
    json points = json::array();
    for (const auto& p : s.points) {
        points.push_back(opt(p));
    }
    json counts = json::object();
    for (const auto& [score, n] : s.counts) {
        counts[std::to_string(score)] = n;
    }
    return {{"label", s.label}, {"iterations", s.iterations},
            {"points", points}, {"possible", s.possible},
            {"counts", counts}, {"generation_s", s.per_iteration_s}};
}

json pass_rate(const PassRate& p)
{
    return {{"passed", p.passed},
            {"attempts", p.attempts},
            {"rate", opt(p.rate)},
            {"wilson", interval(p.wilson)}};
}

json paired_counts(const std::optional<stats::PairedCounts>& pairs)
{
    if (!pairs) {
        return nullptr;
    }
    return {{"both", pairs->both},
            {"cand_only", pairs->first_only},
            {"base_only", pairs->second_only},
            {"neither", pairs->neither}};
}

json levels(const std::vector<LevelRow>& rows)
{
    json out = json::array();
    for (const auto& row : rows) {
        out.push_back(
            {{"level", row.level},
             {"title", row.title},
             {"points", row.points},
             {"base", pass_rate(row.base)},
             {"cand", pass_rate(row.cand)},
             {"difference", row.base.rate && row.cand.rate ? json(*row.cand.rate - *row.base.rate)
                                                           : json(nullptr)},
             {"fisher_p", opt(row.fisher_p)},
             {"pairs", paired_counts(row.pairs)},
             {"mcnemar_p", opt(row.mcnemar_p)}});
    }
    return out;
}

json draft(const DraftRow& d)
{
    return {{"label", d.label},          {"spec_type", d.spec_type},
            {"n_max", opt(d.n_max)},     {"draft_model", d.draft_model},
            {"requests", d.requests},    {"requests_with_drafts", d.requests_with_drafts},
            {"drafted", opt(d.drafted)}, {"accepted", opt(d.accepted)},
            {"pooled", opt(d.pooled)},   {"mean_per_request", opt(d.mean_per_request)}};
}

json wall(const WallRow& w)
{
    return {{"label", w.label},
            {"iterations", w.iterations},
            {"wall_s", opt(w.wall_s)},
            {"per_iteration_s", opt(w.per_iteration_s)},
            {"generation_s", w.generation_s},
            {"validation_s", w.validation_s},
            {"mean_iteration_generation_s", opt(w.mean_iteration_generation_s)}};
}

json smoke(const std::optional<SmokeRow>& s)
{
    if (!s) {
        return nullptr;
    }
    json failures = json::array();
    for (const auto& f : s->failures) {
        failures.push_back({{"outcome", f.outcome}, {"attempts", f.attempts}});
    }
    return {{"label", s->label},
            {"run_id", s->run_id},
            {"level", s->level},
            {"pass", pass_rate(s->pass)},
            {"mean_duration_s", opt(s->mean_duration_s)},
            {"mean_tokens", opt(s->mean_tokens)},
            {"mean_tokens_passes", opt(s->mean_tokens_passes)},
            {"failures", failures},
            {"infrastructure_failures", s->infrastructure_failures}};
}

json t_test(const std::optional<stats::TTestResult>& t)
{
    if (!t) {
        return nullptr;
    }
    return {{"mean_difference", t->mean_difference},
            {"standard_error", t->standard_error},
            {"t", t->t},
            {"df", t->df},
            {"p", t->p_value},
            {"confidence", t->confidence},
            {"ci", interval(t->ci)}};
}

json bootstrap(const std::optional<stats::BootstrapResult>& b)
{
    if (!b) {
        return nullptr;
    }
    return {{"observed_difference", b->observed_difference},
            {"standard_error", b->standard_error},
            {"percentile_ci", interval(b->percentile_ci)},
            {"bca_ci", interval(b->bca_ci)},
            {"resamples", b->resamples},
            {"seed", b->seed},
            {"confidence", b->confidence}};
}

json statistics(const Comparison& c)
{
    const auto& t = c.score_tests;
    json permutation = nullptr;
    if (t.permutation) {
        permutation = {{"observed_difference", t.permutation->observed_difference},
                       {"p", t.permutation->p_value},
                       {"exact", t.permutation->exact},
                       {"permutations", t.permutation->permutations},
                       {"seed", t.permutation->seed}};
    }
    json mann_whitney = nullptr;
    if (t.mann_whitney) {
        mann_whitney = {{"u", t.mann_whitney->u},
                        {"p", t.mann_whitney->p_value},
                        {"method", t.mann_whitney->method == stats::MannWhitneyMethod::exact
                                       ? "exact"
                                       : "normal_approximation"},
                        {"ties", t.mann_whitney->has_ties}};
    }
    json cmh = nullptr;
    if (c.level_tests.cmh) {
        const auto& r = *c.level_tests.cmh;
        cmh = {{"statistic", r.statistic},
               {"p", r.p_value},
               {"common_odds_ratio", opt(r.common_odds_ratio)},
               {"informative_strata", r.informative_strata},
               {"observed", r.observed},
               {"expected", r.expected}};
    }
    json newcombe = nullptr;
    if (c.smoke_tests.newcombe) {
        const auto& n = *c.smoke_tests.newcombe;
        newcombe = {{"difference", n.difference},
                    {"confidence", n.confidence},
                    {"ci", interval(n.ci)},
                    {"cand_wilson", interval(n.first_ci)},
                    {"base_wilson", interval(n.second_ci)}};
    }
    return {
        {"direction", "cand - base"},
        {"pairing",
         {{"paired", c.pairing.paired},
          {"reasons", c.pairing.reasons},
          {"shared_items", c.pairing.shared_items}}},
        {"scores",
         {{"welch", t_test(t.welch)},
          {"permutation", permutation},
          {"mann_whitney", mann_whitney},
          {"bootstrap", bootstrap(t.bootstrap)},
          {"paired_t", t_test(t.paired_t)},
          {"paired_bootstrap", bootstrap(t.paired_bootstrap)},
          {"notes", t.notes}}},
        {"levels",
         {{"cmh", cmh},
          {"mcnemar_pairs", paired_counts(c.level_tests.pairs)},
          {"mcnemar_p", opt(c.level_tests.mcnemar_p)}}},
        {"smoke", {{"newcombe", newcombe}, {"fisher_p", opt(c.smoke_tests.fisher_p)}}},
        {"speed", {{"welch", t_test(c.speed_tests.welch)}}},
    };
}

json planning(const std::vector<PlanningRow>& rows)
{
    json out = json::array();
    for (const auto& row : rows) {
        out.push_back({{"key", row.key},
                       {"question", row.question},
                       {"rate_base", row.rate_base},
                       {"rate_cand", row.rate_cand},
                       {"per_side", row.per_side ? json(row.per_side->per_side) : json(nullptr)},
                       {"per_side_exact", row.per_side ? json(row.per_side->exact) : json(nullptr)},
                       {"n_now", opt(row.n_now)},
                       {"power_now", opt(row.power_now)},
                       {"detectable_rate", opt(row.detectable_rate)},
                       {"note", row.note}});
    }
    return out;
}

} // namespace

std::string render_json(const Comparison& c)
{
    const auto& o = c.options;
    json verdicts = json::array();
    for (const auto& v : c.verdicts) {
        verdicts.push_back(
            {{"topic", v.topic}, {"sentence", v.sentence}, {"difference", v.difference}});
    }
    json methods = json::array();
    for (const auto& m : c.methods) {
        methods.push_back({{"name", m.name}, {"description", m.description}});
    }
    json files = json::array();
    for (const auto& f : c.files) {
        files.push_back({{"role", f.role}, {"source", f.source}, {"run_id", f.run_id}});
    }
    json out = {
        {"schema", k_compare_schema},
        {"labels", {{"base", c.label_base}, {"cand", c.label_cand}}},
        {"options",
         {{"seed", o.seed},
          {"bootstrap_resamples", o.bootstrap_resamples},
          {"permutation_resamples", o.permutation_resamples},
          {"alpha", o.alpha},
          {"confidence", o.confidence},
          {"power", o.power},
          {"planning_rates", {o.planning_rate_high, o.planning_rate_low}}}},
        {"verdicts", verdicts},
        {"warnings", c.warnings},
        {"caveats", facts(c.caveats)},
        {"setup", facts(c.setup)},
        {"models", {{"base", model(c.model_base)}, {"cand", model(c.model_cand)}}},
        {"summary",
         {{"base", summary(c.summary_base)},
          {"cand", summary(c.summary_cand)},
          {"delta", delta(c.delta)}}},
        {"scores", {{"base", scores(c.scores_base)}, {"cand", scores(c.scores_cand)}}},
        {"levels", levels(c.levels)},
        {"drafts",
         {{"recorded", c.has_drafts},
          {"base", draft(c.drafts_base)},
          {"cand", draft(c.drafts_cand)}}},
        {"wall", {{"base", wall(c.wall_base)}, {"cand", wall(c.wall_cand)}}},
        {"smoke", c.smoke_base && c.smoke_cand
                      ? json{{"base", smoke(c.smoke_base)}, {"cand", smoke(c.smoke_cand)}}
                      : json(nullptr)},
        {"statistics", statistics(c)},
        {"planning", planning(c.planning)},
        {"methodology", facts(c.methodology)},
        {"methods", methods},
        {"files", files},
    };
    return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

} // namespace gpumod::report
