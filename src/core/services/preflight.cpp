#include "core/services/preflight.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "core/plan/memory_model.hpp"

namespace gpumod {
namespace {

constexpr double k_mib_d = 1024.0 * 1024.0;

std::string mib(uint64_t bytes)
{
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / k_mib_d);
}

std::string gpu_label(const PreflightGpu& gpu)
{
    return fmt::format("GPU{}", gpu.index);
}

uint64_t adjusted_free(const GpuDevice& device, const FreeMemoryDelta& delta)
{
    const auto it = delta.find(device.index);
    if (it == delta.end()) {
        return device.memory.free_bytes;
    }
    const auto free =
        static_cast<long double>(device.memory.free_bytes) + static_cast<long double>(it->second);
    const auto total = static_cast<long double>(device.memory.total_bytes);
    return static_cast<uint64_t>(std::clamp(free, 0.0L, total));
}

/// "GPU0 needs 470.2 MiB, 100.0 MiB free; GPU1 ..." over the GPUs with a prediction.
std::string needs_line(const PreflightVerdict& v)
{
    std::string line;
    for (const auto& [index, needs] : v.needs_by_gpu) {
        const auto free = v.free_by_gpu.find(index);
        line += fmt::format("{}GPU{} needs {} of {} free", line.empty() ? "" : "; ", index,
                            mib(needs), free == v.free_by_gpu.end() ? "?" : mib(free->second));
    }
    return line;
}

std::string component_list(const plan::Components& c)
{
    const std::pair<const char*, uint64_t> rows[] = {
        {"weights", c.weights},
        {"KV cache", c.kv_cache},
        {"recurrent state", c.recurrent_state},
        {"draft weights", c.draft_weights},
        {"draft KV cache", c.draft_kv_cache},
        {"MTP context", c.mtp_context},
        {"compute buffer", c.compute_buffer},
        {"output buffer", c.output_buffer},
        {"runtime overhead (est.)", c.runtime_overhead}};
    std::string text;
    for (const auto& [name, bytes] : rows) {
        if (bytes > 0) {
            text += fmt::format("{}{} {}", text.empty() ? "" : ", ", name, mib(bytes));
        }
    }
    return text;
}

/// Fills needs/free per GPU from a plan; `names` maps the plan's device names to indices.
void take_needs(PreflightVerdict& v, const plan::MemoryPlan& p,
                const std::map<std::string, uint32_t>& names)
{
    v.needs_by_gpu.clear();
    for (const auto& d : p.devices) {
        if (auto it = names.find(d.device.name); d.device.gpu && it != names.end()) {
            v.needs_by_gpu[it->second] = d.components.total();
            v.free_by_gpu[it->second] = d.device.free_bytes.value_or(0);
        }
    }
}

std::string breakdown(const plan::MemoryPlan& p, std::span<const PreflightGpu> gpus)
{
    std::string text;
    for (const auto& d : p.devices) {
        if (!d.device.gpu) {
            continue;
        }
        const uint64_t total = d.components.total();
        const uint64_t free = d.device.free_bytes.value_or(0);
        const auto gpu = std::find_if(gpus.begin(), gpus.end(), [&](const PreflightGpu& g) {
            return gpu_label(g) == d.device.name;
        });
        text += fmt::format("  {}{}: {} needed {} {} free ({} layers): {}\n", d.device.name,
                            gpu == gpus.end() ? "" : " (" + gpu->name + ")", mib(total),
                            total > free ? ">" : "<=", mib(free), d.layers,
                            component_list(d.components));
    }
    return text;
}

std::string fallback_lines(const std::vector<plan::Fallback>& fallbacks)
{
    if (fallbacks.empty()) {
        return "  no fallback the planner knows fits\n";
    }
    std::string text = "  fallbacks, best first:\n";
    for (const auto& f : fallbacks) {
        text += fmt::format("    {}. {}: {} {}{}\n", f.rank, f.change, mib(f.predicted_total),
                            f.fits ? "fits" : "does not fit",
                            f.note.empty() ? "" : " (" + f.note + ")");
    }
    return text;
}

} // namespace

std::string_view preflight_outcome_word(PreflightVerdict::Outcome outcome)
{
    switch (outcome) {
    case PreflightVerdict::Outcome::fits:
        return "fits";
    case PreflightVerdict::Outcome::does_not_fit:
        return "does not fit";
    case PreflightVerdict::Outcome::not_checked:
        break;
    }
    return "not checked";
}

PreflightVerdict preflight_not_checked(std::string why)
{
    PreflightVerdict v;
    v.summary = "not checked: " + why;
    return v;
}

VisibleGpus visible_gpus(std::span<const GpuDevice> devices,
                         const std::optional<std::string>& cuda_visible_devices,
                         const FreeMemoryDelta& delta)
{
    VisibleGpus out;
    auto take = [&](const GpuDevice& d) {
        out.gpus.push_back(
            PreflightGpu{d.index, d.name, d.memory.total_bytes, adjusted_free(d, delta)});
    };
    if (!cuda_visible_devices) {
        for (const auto& d : devices) {
            take(d);
        }
        return out;
    }
    out.note = fmt::format("CUDA_VISIBLE_DEVICES={}", *cuda_visible_devices);
    std::string_view rest = *cuda_visible_devices;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string_view entry = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        while (!entry.empty() && entry.front() == ' ') {
            entry.remove_prefix(1);
        }
        const GpuDevice* found = nullptr;
        uint32_t index = 0;
        const auto [ptr, ec] = std::from_chars(entry.data(), entry.data() + entry.size(), index);
        if (ec == std::errc() && ptr == entry.data() + entry.size()) {
            for (const auto& d : devices) {
                found = d.index == index ? &d : found;
            }
        } else if (entry.rfind("GPU-", 0) == 0) {
            for (const auto& d : devices) {
                found = d.uuid.rfind(entry, 0) == 0 ? &d : found;
            }
        }
        if (found == nullptr) {
            break; // CUDA ignores this entry and every one after it
        }
        take(*found);
    }
    return out;
}

PreflightVerdict judge_llama_server(const LlamaPreflightInputs& in,
                                    std::span<const PreflightGpu> gpus)
{
    const LlamaServerArgs& args = *in.args;
    std::vector<plan::DeviceSpec> devices;
    std::map<std::string, uint32_t> names;
    for (const auto& gpu : gpus) {
        plan::DeviceSpec d;
        d.name = gpu_label(gpu);
        d.gpu = true;
        d.backend = in.backend;
        d.free_bytes = gpu.free_bytes;
        d.label = gpu.name;
        devices.push_back(d);
        names[d.name] = gpu.index;
    }
    const plan::PlanInputs inputs{in.model, devices, in.draft, 0, std::nullopt};
    auto make_plan = [&](const plan::PlanRequest& r) {
        auto p = plan::plan_memory(*in.model, r, devices, in.draft);
        if (p && in.mmproj_bytes > 0 && !p->devices.empty()) {
            p->devices.front().components.weights += in.mmproj_bytes;
        }
        return p;
    };
    auto primary = make_plan(args.request);
    if (!primary) {
        return preflight_not_checked(fmt::format("the planner cannot predict this configuration "
                                                 "({}); llama-server will say more",
                                                 primary.error().message));
    }
    PreflightVerdict v;
    v.basis = "planner";
    take_needs(v, *primary, names);
    if (plan::judge(*primary, 0) == plan::Verdict::fits) {
        v.outcome = PreflightVerdict::Outcome::fits;
        v.summary = "fits: " + needs_line(v);
        return v;
    }
    // llama-server (0.7.0, --fit on by default) lowers what the preset left unpinned.
    std::string fit_note;
    if (args.fit && (!args.ctx_pinned || !args.ngl_pinned)) {
        const auto fit =
            plan::fit_like_llama_server(inputs, args.request, args.ctx_pinned, args.ngl_pinned);
        if (fit.changed) {
            if (auto fitted = make_plan(fit.request);
                fitted && plan::judge(*fitted, 0) == plan::Verdict::fits) {
                PreflightVerdict f;
                f.basis = "planner";
                f.outcome = PreflightVerdict::Outcome::fits;
                take_needs(f, *fitted, names);
                f.summary = fmt::format("fits once llama-server's --fit adjusts it ({}): {}",
                                        fit.note, needs_line(f));
                return f;
            }
            fit_note = fmt::format("  llama-server's --fit would change it ({}) and it would "
                                   "still not fit\n",
                                   fit.note);
        }
    }
    v.outcome = PreflightVerdict::Outcome::does_not_fit;
    v.summary = "does not fit: " + needs_line(v);
    v.fallbacks = plan::rank_fallbacks(inputs, args.request, {});
    v.detail = breakdown(*primary, gpus) + fit_note + fallback_lines(v.fallbacks);
    return v;
}

PreflightVerdict judge_vllm(const VllmArgs& args, std::span<const PreflightGpu> gpus)
{
    PreflightVerdict v;
    v.basis = "vllm gpu_memory_utilization";
    if (gpus.size() < args.tensor_parallel_size) {
        v.outcome = PreflightVerdict::Outcome::does_not_fit;
        v.summary = fmt::format("does not fit: tensor_parallel_size {} needs {} GPUs, {} visible",
                                args.tensor_parallel_size, args.tensor_parallel_size, gpus.size());
        return v;
    }
    double largest_fraction = 1.0;
    for (std::size_t i = 0; i < args.tensor_parallel_size; ++i) {
        const auto& gpu = gpus[i];
        const auto needs = static_cast<uint64_t>(
            std::ceil(args.gpu_memory_utilization * static_cast<double>(gpu.total_bytes)));
        v.needs_by_gpu[gpu.index] = needs;
        v.free_by_gpu[gpu.index] = gpu.free_bytes;
        if (gpu.total_bytes > 0) {
            largest_fraction = std::min(largest_fraction, static_cast<double>(gpu.free_bytes) /
                                                              static_cast<double>(gpu.total_bytes));
        }
        if (needs > gpu.free_bytes) {
            v.outcome = PreflightVerdict::Outcome::does_not_fit;
        }
    }
    if (v.outcome != PreflightVerdict::Outcome::does_not_fit) {
        v.outcome = PreflightVerdict::Outcome::fits;
        v.summary = fmt::format("fits: vLLM takes {:.2f} of each GPU's memory: {}",
                                args.gpu_memory_utilization, needs_line(v));
        return v;
    }
    v.summary = fmt::format("does not fit: vLLM needs {:.2f} of each GPU's memory free: {}",
                            args.gpu_memory_utilization, needs_line(v));
    const double fraction = std::floor(largest_fraction * 100.0) / 100.0;
    v.detail = fraction >= 0.05
                   ? fmt::format("  fallback: vllm.gpu_memory_utilization {:.2f} or less (what is "
                                 "free now), or stop what holds the GPU (gpumod isolate ID)\n",
                                 fraction)
                   : "  fallback: stop what holds the GPU (gpumod isolate ID, gpumod mode "
                     "switch)\n";
    return v;
}

PreflightVerdict judge_budget(uint64_t budget_bytes, std::span<const PreflightGpu> gpus)
{
    if (gpus.empty()) {
        return preflight_not_checked("no GPU visible");
    }
    PreflightVerdict v;
    v.basis = "vram_budget_mb";
    uint64_t free_total = 0;
    uint64_t left = budget_bytes;
    for (const auto& gpu : gpus) {
        free_total += gpu.free_bytes;
        // Spread over the GPUs in order, so a switch can account for what each will hold.
        const uint64_t here = gpus.size() == 1 ? left : std::min(left, gpu.free_bytes);
        v.needs_by_gpu[gpu.index] = here;
        v.free_by_gpu[gpu.index] = gpu.free_bytes;
        left -= here;
    }
    if (left > 0) {
        v.needs_by_gpu[gpus.front().index] += left;
    }
    const std::string where =
        gpus.size() == 1 ? gpu_label(gpus.front()) : fmt::format("{} GPUs together", gpus.size());
    const bool fits = budget_bytes <= free_total;
    v.outcome = fits ? PreflightVerdict::Outcome::fits : PreflightVerdict::Outcome::does_not_fit;
    v.summary =
        fmt::format("{}: the preset's vram_budget_mb {} against {} free on {}",
                    fits ? "fits" : "does not fit", mib(budget_bytes), mib(free_total), where);
    if (!fits) {
        v.detail = "  fallback: stop what holds the GPU (gpumod isolate ID), or correct "
                   "vram_budget_mb when it overstates what the service needs\n";
    }
    return v;
}

PreflightDecision decide_preflight(const PreflightVerdict& verdict, bool force, bool gated)
{
    if (verdict.outcome != PreflightVerdict::Outcome::does_not_fit) {
        return PreflightDecision{false, "start proceeds"};
    }
    if (!gated) {
        return PreflightDecision{false, "not gated (putting back what ran before)"};
    }
    if (force) {
        return PreflightDecision{false, "started anyway (--force)"};
    }
    return PreflightDecision{true, "refused"};
}

std::string preflight_refusal_message(std::string_view service_id, const PreflightVerdict& verdict,
                                      std::string_view next_step)
{
    return fmt::format("service '{}' {}\n{}next step: {}", service_id, verdict.summary,
                       verdict.detail, next_step);
}

std::string preflight_event_detail(std::string_view service_id, const PreflightVerdict& verdict,
                                   std::string_view decision)
{
    std::string text = fmt::format("{}: {}", service_id, verdict.summary);
    if (!verdict.basis.empty()) {
        text += fmt::format(" [{}]", verdict.basis);
    }
    if (!decision.empty()) {
        text += fmt::format("; {}", decision);
    }
    return text;
}

} // namespace gpumod
