#include "core/plan/fallbacks.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>

namespace gpumod::plan {

namespace {

constexpr uint32_t k_ctx_step = 256;

std::optional<MemoryPlan> try_plan(const PlanInputs& inputs, const PlanRequest& request,
                                   const gguf::ModelArchitecture* model = nullptr)
{
    auto plan = plan_memory(model != nullptr ? *model : *inputs.model, request, inputs.gpus,
                            inputs.draft, inputs.host_free);
    if (!plan) {
        return std::nullopt;
    }
    return std::move(*plan);
}

bool fits(const PlanInputs& inputs, const PlanRequest& request, uint64_t margin)
{
    auto plan = try_plan(inputs, request);
    return plan && judge(*plan, margin) == Verdict::fits;
}

// Largest value in [lo, hi] for which `ok` holds, `ok` being monotone (true then false).
template <typename Pred>
std::optional<uint32_t> largest_true(uint32_t lo, uint32_t hi, Pred ok)
{
    if (lo > hi || !ok(lo)) {
        return std::nullopt;
    }
    while (lo < hi) {
        const uint32_t mid = lo + (hi - lo + 1) / 2;
        if (ok(mid)) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    return lo;
}

// Smallest value in [lo, hi] for which `ok` holds, `ok` being monotone (false then true).
template <typename Pred>
std::optional<uint32_t> smallest_true(uint32_t lo, uint32_t hi, Pred ok)
{
    if (lo > hi || !ok(hi)) {
        return std::nullopt;
    }
    while (lo < hi) {
        const uint32_t mid = lo + (hi - lo) / 2;
        if (ok(mid)) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

uint32_t resolved_ctx(const PlanInputs& inputs, const PlanRequest& request)
{
    return request.n_ctx == 0 ? inputs.model->context_length : request.n_ctx;
}

bool wider_than(gguf::TensorType type, gguf::TensorType than)
{
    return gguf::tensor_type_info(type).block_bytes * gguf::tensor_type_info(than).block_size >
           gguf::tensor_type_info(than).block_bytes * gguf::tensor_type_info(type).block_size;
}

} // namespace

std::string_view verdict_name(Verdict verdict)
{
    switch (verdict) {
    case Verdict::fits:
        return "fits";
    case Verdict::does_not_fit:
        return "does_not_fit";
    case Verdict::unknown_capacity:
        break;
    }
    return "unknown_capacity";
}

Verdict judge(const MemoryPlan& plan, uint64_t margin_bytes)
{
    const bool any_gpu = std::any_of(plan.devices.begin(), plan.devices.end(),
                                     [](const DevicePlan& d) { return d.device.gpu; });
    bool unknown = false;
    for (const auto& d : plan.devices) {
        if (d.device.gpu != any_gpu) {
            continue;
        }
        if (!d.device.free_bytes) {
            unknown = true;
            continue;
        }
        const uint64_t need = d.components.total() + margin_bytes;
        if (need > *d.device.free_bytes) {
            return Verdict::does_not_fit;
        }
    }
    return unknown ? Verdict::unknown_capacity : Verdict::fits;
}

std::optional<uint32_t> largest_fitting_ctx(const PlanInputs& inputs, const PlanRequest& request,
                                            uint32_t upper)
{
    PlanRequest r = request;
    auto steps = largest_true(1, std::max(1U, upper / k_ctx_step), [&](uint32_t k) {
        r.n_ctx = k * k_ctx_step;
        return fits(inputs, r, inputs.margin_bytes);
    });
    if (!steps) {
        return std::nullopt;
    }
    return *steps * k_ctx_step;
}

FitOutcome fit_like_llama_server(const PlanInputs& inputs, const PlanRequest& request,
                                 bool ctx_pinned, bool ngl_pinned, uint64_t target_bytes,
                                 uint32_t min_ctx)
{
    FitOutcome out{request, false, ""};
    if (inputs.gpus.empty()) {
        out.note = "no GPU: --fit leaves the configuration as it is";
        return out;
    }
    PlanInputs fit_inputs = inputs;
    fit_inputs.margin_bytes = target_bytes;
    if (fits(fit_inputs, request, target_bytes)) {
        out.note = "fits with the --fit target free: --fit changes nothing";
        return out;
    }
    std::vector<std::string> changes;
    PlanRequest& r = out.request;
    if (!ctx_pinned) {
        const uint32_t current = resolved_ctx(inputs, request);
        const uint32_t floor_ctx = std::min(min_ctx, current);
        auto best = largest_fitting_ctx(fit_inputs, r, current);
        if (best && *best >= floor_ctx) {
            r.n_ctx = *best;
            out.changed = true;
            out.note = fmt::format("--fit lowers the context to {}", *best);
            return out;
        }
        r.n_ctx = floor_ctx;
        changes.push_back(fmt::format("context {}", floor_ctx));
    }
    if (!ngl_pinned) {
        if (inputs.model->is_moe() && request.n_cpu_moe == 0) {
            auto n = smallest_true(1, inputs.model->n_layer, [&](uint32_t k) {
                PlanRequest t = r;
                t.n_cpu_moe = k;
                return fits(fit_inputs, t, target_bytes);
            });
            if (n) {
                r.n_cpu_moe = *n;
                changes.push_back(fmt::format("experts of {} layers to the host", *n));
                out.changed = true;
                out.note = "--fit sets " + fmt::format("{}", fmt::join(changes, ", "));
                return out;
            }
        }
        auto ngl = largest_true(0, inputs.model->n_layer + 1, [&](uint32_t k) {
            PlanRequest t = r;
            t.n_gpu_layers = static_cast<int32_t>(k);
            return fits(fit_inputs, t, target_bytes);
        });
        r.n_gpu_layers = static_cast<int32_t>(ngl.value_or(0));
        changes.push_back(fmt::format("{} GPU layers", r.n_gpu_layers));
    }
    out.changed = !changes.empty();
    out.note = changes.empty() ? "--fit cannot change pinned settings; llama-server would try "
                                 "to load as given"
                               : "--fit sets " + fmt::format("{}", fmt::join(changes, ", "));
    return out;
}

std::string_view fallback_kind_name(FallbackKind kind)
{
    switch (kind) {
    case FallbackKind::reduce_ctx:
        return "reduce_ctx";
    case FallbackKind::kv_q8_0:
        return "kv_q8_0";
    case FallbackKind::kv_q4_0:
        return "kv_q4_0";
    case FallbackKind::fewer_slots:
        return "fewer_slots";
    case FallbackKind::no_mtp:
        return "no_mtp";
    case FallbackKind::cpu_moe:
        return "cpu_moe";
    case FallbackKind::fewer_gpu_layers:
        return "fewer_gpu_layers";
    case FallbackKind::smaller_quant:
        break;
    }
    return "smaller_quant";
}

std::vector<Fallback> rank_fallbacks(const PlanInputs& inputs, const PlanRequest& request,
                                     std::span<const Candidate> candidates)
{
    std::vector<Fallback> out;
    const uint64_t margin = inputs.margin_bytes;
    auto add = [&](FallbackKind kind, const PlanRequest& r, std::vector<std::string> args,
                   std::string note, const gguf::ModelArchitecture* model = nullptr) {
        auto plan = try_plan(inputs, r, model);
        if (!plan) {
            return;
        }
        Fallback f;
        f.kind = kind;
        f.args = std::move(args);
        f.change = fmt::format("{}", fmt::join(f.args, " "));
        f.predicted_total = plan->checked_total();
        f.fits = judge(*plan, margin) == Verdict::fits;
        f.note = std::move(note);
        out.push_back(std::move(f));
    };

    const uint32_t ctx = resolved_ctx(inputs, request);
    if (auto best = largest_fitting_ctx(inputs, request, ctx); best && *best < ctx) {
        PlanRequest r = request;
        r.n_ctx = *best;
        const uint32_t slots = effective_slots(request.parallel);
        const bool unified = request.kv_unified.value_or(request.parallel <= 0);
        add(FallbackKind::reduce_ctx, r, {"--ctx-size", std::to_string(*best)},
            unified ? fmt::format("largest context that fits, shared by {} slots", slots)
                    : fmt::format("largest context that fits: {} tokens per slot", *best / slots));
    }
    const std::array<std::pair<FallbackKind, gguf::TensorType>, 2> kv_types{
        {{FallbackKind::kv_q8_0, gguf::TensorType::q8_0},
         {FallbackKind::kv_q4_0, gguf::TensorType::q4_0}}};
    for (const auto& [kind, type] : kv_types) {
        if (!wider_than(request.cache_type_k, type) && !wider_than(request.cache_type_v, type)) {
            continue;
        }
        PlanRequest r = request;
        r.cache_type_k = type;
        r.cache_type_v = type;
        const std::string name(gguf::tensor_type_info(type).name);
        std::vector<std::string> args{"--cache-type-k", name, "--cache-type-v", name};
        if (request.flash_attn == FlashAttn::off) {
            args.insert(args.end(), {"--flash-attn", "on"});
        }
        r.flash_attn = FlashAttn::on;
        add(kind, r, args, "quantized KV cache (needs flash attention)");
    }
    if (effective_slots(request.parallel) > 1) {
        PlanRequest r = request;
        r.parallel = 1;
        add(FallbackKind::fewer_slots, r, {"--parallel", "1"},
            "one slot: less recurrent state and output buffer; the context is no longer shared");
    }
    if (request.spec_type != SpecType::none) {
        PlanRequest r = request;
        r.spec_type = SpecType::none;
        add(FallbackKind::no_mtp, r, {"--spec-type", "none"},
            request.spec_type == SpecType::draft_mtp ? "no MTP head and no MTP context"
                                                     : "no draft model");
    }
    if (!inputs.gpus.empty() && inputs.model->is_moe()) {
        auto n = smallest_true(request.n_cpu_moe + 1, inputs.model->n_layer, [&](uint32_t k) {
            PlanRequest t = request;
            t.n_cpu_moe = k;
            return fits(inputs, t, margin);
        });
        PlanRequest r = request;
        r.n_cpu_moe = n.value_or(inputs.model->n_layer);
        add(FallbackKind::cpu_moe, r, {"--n-cpu-moe", std::to_string(r.n_cpu_moe)},
            n ? "smallest number of layers whose experts stay in host memory"
              : "even all experts in host memory do not fit");
    }
    if (!inputs.gpus.empty()) {
        const uint32_t slots = inputs.model->n_layer + 1;
        const uint32_t current = request.n_gpu_layers < 0
                                     ? slots
                                     : std::min(static_cast<uint32_t>(request.n_gpu_layers), slots);
        if (current > 0) {
            auto ngl = largest_true(0, current - 1, [&](uint32_t k) {
                PlanRequest t = request;
                t.n_gpu_layers = static_cast<int32_t>(k);
                return fits(inputs, t, margin);
            });
            PlanRequest r = request;
            r.n_gpu_layers = static_cast<int32_t>(ngl.value_or(0));
            add(FallbackKind::fewer_gpu_layers, r,
                {"--n-gpu-layers", std::to_string(r.n_gpu_layers)},
                r.n_gpu_layers == 0
                    ? std::string("everything on the CPU (much slower)")
                    : fmt::format("the output and {} of {} blocks on the GPU (the rest run on "
                                  "the CPU, slower)",
                                  r.n_gpu_layers - 1, inputs.model->n_layer));
        }
    }
    for (const auto& candidate : candidates) {
        add(FallbackKind::smaller_quant, request, {"--model", candidate.path},
            "another quantization of the same model", &candidate.model);
    }

    std::stable_sort(out.begin(), out.end(), [](const Fallback& a, const Fallback& b) {
        if (a.fits != b.fits) {
            return a.fits;
        }
        if (a.fits) {
            return false; // keep the preference order among those that fit
        }
        return a.predicted_total < b.predicted_total;
    });
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i].rank = static_cast<uint32_t>(i + 1);
    }
    return out;
}

} // namespace gpumod::plan
