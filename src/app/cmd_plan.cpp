// `gpumod plan`: reads the model's header (never the weights), finds the devices (NVML, a
// named or sized --gpu, or host memory for the CPU backend), predicts memory per component
// with the pure planner, judges it against free memory and ranks fallbacks.

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <regex>
#include <sstream>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

#include "adapters/gguf/model_files.hpp"
#include "adapters/nvml/nvml_library.hpp"
#include "app/cmd_presets.hpp"
#include "app/commands.hpp"
#include "app/exit_codes.hpp"
#include "app/plan_oracle.hpp"
#include "app/preset_plan.hpp"
#include "core/gguf/model_architecture.hpp"
#include "core/plan/fallbacks.hpp"
#include "core/plan/gpu_catalog.hpp"
#include "core/plan/memory_model.hpp"
#include "core/plan/plan_request.hpp"
#include "core/report/text_table.hpp"

namespace gpumod::app {

namespace {

plan::Backend gpu_backend(const PlanOptions& options)
{
    return options.backend == "vulkan" ? plan::Backend::vulkan : plan::Backend::cuda;
}

namespace fs = std::filesystem;
using nlohmann::json;
using plan::DeviceSpec;
using plan::MemoryPlan;
using plan::PlanRequest;

constexpr uint64_t k_mib = uint64_t{1} << 20U;

struct UsageError
{
    std::string message;
    int code = k_exit_usage;
};

struct LoadedModel
{
    fs::path path;
    gguf::ModelView view;
    gguf::ModelArchitecture arch;
};

tl::expected<LoadedModel, UsageError> load_model(const fs::path& path, const char* what)
{
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        return tl::unexpected(UsageError{
            fmt::format("{} '{}' not found; check the path (gpumod dev make-model FILE writes a "
                        "tiny test model)",
                        what, path.string()),
            k_exit_environment});
    }
    auto view = gguf::read_model_files(path);
    if (!view) {
        return tl::unexpected(UsageError{
            fmt::format("{} '{}' is not a readable GGUF model: {}; pass a .gguf file "
                        "(gpumod gguf inspect FILE shows what is wrong)",
                        what, path.string(), view.error().message)});
    }
    auto arch = gguf::derive_architecture(view->header);
    if (!arch) {
        return tl::unexpected(UsageError{fmt::format("{} '{}': {}", what, path.string(),
                                                     arch.error().message)});
    }
    return LoadedModel{path, std::move(*view), std::move(*arch)};
}

// The llama-server flags of preset `id` (see preset_plan.hpp). An id that is no preset is a
// usage error that names the closest preset id and where to find them.
tl::expected<LlamaServerArgs, UsageError> preset_args_for(const std::string& id)
{
    auto catalog = load_config_catalog();
    if (!catalog) {
        return tl::unexpected(UsageError{
            fmt::format("'{}' is not a .gguf file, and presets cannot be read: {}", id,
                        catalog.error().message),
            k_exit_environment});
    }
    const config::Preset* preset = catalog->find_preset(id);
    if (preset == nullptr) {
        std::vector<std::string> ids;
        for (const auto& p : catalog->presets) {
            ids.push_back(p.id);
        }
        const auto guess = config::closest_match(id, ids);
        return tl::unexpected(UsageError{fmt::format(
            "'{}' is neither a GGUF file nor a preset id{}; pass the path of a .gguf model or "
            "a preset id from `gpumod preset list`",
            id, guess ? fmt::format(" (did you mean preset '{}'?)", *guess) : "")});
    }
    auto args = preset_server_args(*preset);
    if (!args) {
        return tl::unexpected(UsageError{args.error().message});
    }
    return std::move(*args);
}

tl::expected<gguf::TensorType, UsageError> cache_type(const std::optional<std::string>& text,
                                                      const char* flag)
{
    if (!text) {
        return gguf::TensorType::f16;
    }
    static const std::vector<std::string> allowed{"f32",  "f16",    "bf16", "q8_0", "q4_0",
                                                  "q4_1", "iq4_nl", "q5_0", "q5_1"};
    std::string lower = *text;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (std::find(allowed.begin(), allowed.end(), lower) == allowed.end()) {
        return tl::unexpected(UsageError{fmt::format(
            "{} '{}' is not a cache type llama-server accepts (f32, f16, bf16, q8_0, q4_0, q4_1, "
            "iq4_nl, q5_0, q5_1)",
            flag, *text)});
    }
    return gguf::find_tensor_type(lower)->type;
}

std::optional<uint64_t> host_available_bytes()
{
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    uint64_t value = 0;
    std::string unit;
    while (meminfo >> key >> value >> unit) {
        if (key == "MemAvailable:") {
            return value * 1024;
        }
    }
    return std::nullopt;
}

struct Devices
{
    std::vector<DeviceSpec> gpus;
    std::optional<uint64_t> host_free;
    std::string source; ///< how the devices were found, in words
};

tl::expected<Devices, UsageError> find_devices(const PlanOptions& options)
{
    Devices devices;
    devices.host_free = host_available_bytes();
    if (options.gpu && (*options.gpu == "none" || *options.gpu == "cpu")) {
        devices.source = "--gpu none: planning for llama-server's CPU backend against host "
                         "memory (MemAvailable)";
        return devices;
    }
    if (options.gpu && *options.gpu != "auto") {
        auto capacity = plan::resolve_gpu(*options.gpu);
        if (!capacity) {
            return tl::unexpected(UsageError{capacity.error().message});
        }
        DeviceSpec gpu;
        gpu.name = "GPU0";
        gpu.gpu = true;
        gpu.backend = gpu_backend(options);
        gpu.free_bytes = capacity->bytes;
        gpu.label = capacity->label;
        devices.gpus.push_back(gpu);
        devices.source = fmt::format("--gpu {}: {} ({} backend, whole memory free)",
                                     *options.gpu, capacity->label, options.backend);
        return devices;
    }
    auto inventory = nvml::query_gpus();
    if (inventory && inventory->state == NvmlState::ok && !inventory->gpus.empty()) {
        for (const auto& g : inventory->gpus) {
            DeviceSpec gpu;
            gpu.name = fmt::format("GPU{}", g.index);
            gpu.gpu = true;
            gpu.backend = gpu_backend(options);
            gpu.free_bytes = g.memory.free_bytes;
            gpu.label = fmt::format("{} (NVML: {} MiB free of {} MiB)", g.name,
                                    g.memory.free_bytes / k_mib, g.memory.total_bytes / k_mib);
            devices.gpus.push_back(gpu);
        }
        devices.source = fmt::format("{} NVIDIA GPU(s) through NVML, {} backend",
                                     devices.gpus.size(), options.backend);
        return devices;
    }
    const std::string why = inventory ? describe_nvml_state(*inventory) : inventory.error().message;
    devices.source = fmt::format("{}: planning for llama-server's CPU backend against host "
                                 "memory (MemAvailable); --gpu NAME|SIZE plans for a GPU instead",
                                 why);
    return devices;
}

// Another quantization of the same model beside it: the same name once the quant tag is
// taken out ("Model-Q4_K_M.gguf" and "Model-Q3_K_S.gguf").
const std::regex& quant_tag()
{
    static const std::regex re(
        R"((^|[-_.])(I?Q[1-8]_[A-Z0-9]+(_[A-Z0-9]+)?|Q[1-8]_K|F16|BF16|F32|MXFP4|TQ[12]_0)(?=[-_.]|$))",
        std::regex::icase);
    return re;
}

std::optional<std::string> stem_without_quant(const fs::path& path)
{
    const std::string stem = path.stem().string();
    std::smatch m;
    if (!std::regex_search(stem, m, quant_tag())) {
        return std::nullopt;
    }
    return m.prefix().str() + m[1].str() + "*" + m.suffix().str();
}

std::vector<fs::path> sibling_quants(const fs::path& model)
{
    std::vector<fs::path> out;
    auto key = stem_without_quant(model);
    if (!key) {
        return out;
    }
    std::error_code ec;
    const fs::path dir = model.has_parent_path() ? model.parent_path() : fs::path(".");
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const fs::path& p = entry.path();
        if (p.extension() != ".gguf" || fs::equivalent(p, model, ec)) {
            continue;
        }
        if (auto other = stem_without_quant(p); other && *other == *key) {
            out.push_back(p);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

json components_json(const plan::Components& c)
{
    return json{{"weights", c.weights},
                {"kv_cache", c.kv_cache},
                {"recurrent_state", c.recurrent_state},
                {"draft_weights", c.draft_weights},
                {"draft_kv_cache", c.draft_kv_cache},
                {"mtp_context", c.mtp_context},
                {"compute_buffer", c.compute_buffer},
                {"output_buffer", c.output_buffer},
                {"runtime_overhead", c.runtime_overhead}};
}

json config_json(const plan::ResolvedConfig& c)
{
    return json{{"n_ctx", c.n_ctx},
                {"n_ctx_per_slot", c.n_ctx_per_slot},
                {"parallel", c.n_seq},
                {"kv_unified", c.kv_unified},
                {"cache_type_k", gguf::tensor_type_info(c.cache_type_k).name},
                {"cache_type_v", gguf::tensor_type_info(c.cache_type_v).name},
                {"flash_attn", c.flash_attn},
                {"n_gpu_layers", c.n_gpu_layers},
                {"n_cpu_moe", c.n_cpu_moe},
                {"spec_type", plan::spec_type_name(c.spec_type)},
                {"n_batch", c.n_batch},
                {"n_ubatch", c.n_ubatch},
                {"swa_full", c.swa_full},
                {"op_offload", c.op_offload},
                {"cache_type_k_draft", gguf::tensor_type_info(c.draft_cache_type_k).name},
                {"cache_type_v_draft", gguf::tensor_type_info(c.draft_cache_type_v).name}};
}

// Devices shown: the GPUs and the host; without GPUs only the host.
json devices_json(const MemoryPlan& p, uint64_t margin)
{
    json out = json::array();
    for (const auto& d : p.devices) {
        const bool host = !d.device.gpu;
        const std::optional<uint64_t> free = d.device.free_bytes;
        const uint64_t total = d.components.total();
        json j{{"name", d.device.name},
               {"kind", host ? "host" : "gpu"},
               {"backend", plan::backend_name(d.device.backend)},
               {"components", components_json(d.components)},
               {"total", total},
               {"layers", d.layers}};
        if (free) {
            j["free"] = *free;
            j["headroom"] = static_cast<int64_t>(*free) - static_cast<int64_t>(total) -
                            static_cast<int64_t>(margin);
        } else {
            j["free"] = nullptr;
            j["headroom"] = nullptr;
        }
        out.push_back(std::move(j));
    }
    return out;
}

std::string mib(uint64_t bytes)
{
    return fmt::format("{:.1f}", static_cast<double>(bytes) / static_cast<double>(k_mib));
}

void render_plan(std::ostream& out, const MemoryPlan& p)
{
    const auto& c = p.config;
    out << fmt::format("config: ctx {} ({} per slot, {} slot{}, {}), K {} V {}, flash-attn {}, "
                       "GPU layers {}{}{}\n",
                       c.n_ctx, c.n_ctx_per_slot, c.n_seq, c.n_seq == 1 ? "" : "s",
                       c.n_seq == 1 ? "one KV stream" : c.kv_unified ? "unified KV" : "KV per slot",
                       gguf::tensor_type_info(c.cache_type_k).name,
                       gguf::tensor_type_info(c.cache_type_v).name, c.flash_attn ? "on" : "off",
                       c.n_gpu_layers,
                       c.n_cpu_moe > 0 ? fmt::format(", experts of {} layers on CPU", c.n_cpu_moe)
                                       : "",
                       c.spec_type != plan::SpecType::none
                           ? fmt::format(", spec {}", plan::spec_type_name(c.spec_type))
                           : "");
    for (const auto& d : p.devices) {
        const uint64_t total = d.components.total();
        const std::optional<uint64_t> free = d.device.free_bytes;
        out << fmt::format("\n{} ({}{}{})\n", d.device.name,
                           d.device.gpu ? plan::backend_name(d.device.backend) : "host",
                           d.device.label.empty() ? "" : ", ",
                           d.device.label);
        TextTable table;
        table.add_column("component");
        table.add_column("MiB", Align::right);
        table.add_column("share", Align::right);
        const plan::Components& k = d.components;
        const std::pair<const char*, uint64_t> rows[] = {
            {"weights", k.weights},
            {"KV cache", k.kv_cache},
            {"recurrent state", k.recurrent_state},
            {"draft weights", k.draft_weights},
            {"draft KV cache", k.draft_kv_cache},
            {"MTP context", k.mtp_context},
            {"compute buffer", k.compute_buffer},
            {"output buffer", k.output_buffer},
            {"runtime overhead (est.)", k.runtime_overhead}};
        for (const auto& [name, bytes] : rows) {
            if (bytes == 0) {
                continue;
            }
            table.add_row({name, mib(bytes),
                           fmt::format("{:.1f}%", total == 0 ? 0.0
                                                             : 100.0 * static_cast<double>(bytes) /
                                                                   static_cast<double>(total))});
        }
        table.add_row({"total", mib(total), ""});
        if (free) {
            table.add_row({"free", mib(*free), ""});
        }
        out << table.render();
    }
}

void render_fallbacks(std::ostream& out, const std::vector<plan::Fallback>& fallbacks)
{
    if (fallbacks.empty()) {
        return;
    }
    out << "\nfallbacks:\n";
    TextTable table;
    table.add_column("#", Align::right);
    table.add_column("change");
    table.add_column("MiB", Align::right);
    table.add_column("fits");
    table.add_column("note");
    for (const auto& f : fallbacks) {
        table.add_row({std::to_string(f.rank), f.change, mib(f.predicted_total),
                       f.fits ? "yes" : "no", f.note});
    }
    out << table.render();
}

std::string verdict_message(plan::Verdict verdict, const MemoryPlan& p, uint64_t margin)
{
    switch (verdict) {
    case plan::Verdict::fits:
        return fmt::format("fits: {} MiB needed{}", mib(p.checked_total()),
                           margin > 0 ? fmt::format(" (plus {} MiB margin)", margin / k_mib) : "");
    case plan::Verdict::does_not_fit: {
        std::string worst;
        for (const auto& d : p.devices) {
            const bool checked = d.device.gpu || p.devices.size() == 1;
            if (checked && d.device.free_bytes &&
                d.components.total() + margin > *d.device.free_bytes) {
                worst += fmt::format("{}{}: {} MiB needed + {} MiB margin > {} MiB free",
                                     worst.empty() ? "" : "; ", d.device.name,
                                     mib(d.components.total()), margin / k_mib,
                                     mib(*d.device.free_bytes));
            }
        }
        return "does not fit: " + worst;
    }
    case plan::Verdict::unknown_capacity:
        break;
    }
    return fmt::format("{} MiB needed; free memory unknown", mib(p.checked_total()));
}

} // namespace

int cmd_plan(const GlobalOptions& global, const PlanOptions& options, std::ostream& out,
             std::ostream& err)
{
    auto usage = [&](const UsageError& e) {
        err << "gpumod plan: " << e.message << "\n";
        return e.code;
    };
    // A preset id plans the command line its service runs; flags given here override it.
    std::optional<LlamaServerArgs> preset;
    fs::path model_path(options.model_or_preset);
    std::error_code ec;
    if (model_path.extension() != ".gguf" && !fs::exists(model_path, ec)) {
        auto args = preset_args_for(options.model_or_preset);
        if (!args) {
            return usage(args.error());
        }
        preset = std::move(*args);
        model_path = *preset->model;
    }
    auto model = load_model(model_path, preset ? "the preset's model" : "model");
    if (!model) {
        return usage(model.error());
    }

    PlanRequest request = preset ? preset->request : PlanRequest{};
    if (options.ctx) {
        request.n_ctx = *options.ctx;
    }
    if (options.parallel) {
        request.parallel = *options.parallel;
    }
    for (auto [text, flag, type] :
         {std::tuple{&options.cache_type_k, "--cache-type-k", &request.cache_type_k},
          std::tuple{&options.cache_type_v, "--cache-type-v", &request.cache_type_v},
          std::tuple{&options.cache_type_k_draft, "--cache-type-k-draft",
                     &request.draft_cache_type_k},
          std::tuple{&options.cache_type_v_draft, "--cache-type-v-draft",
                     &request.draft_cache_type_v}}) {
        if (!*text) {
            continue;
        }
        auto parsed = cache_type(*text, flag);
        if (!parsed) {
            return usage(parsed.error());
        }
        *type = *parsed;
    }
    if (options.flash_attn) {
        request.flash_attn = *options.flash_attn == "on"    ? plan::FlashAttn::on
                             : *options.flash_attn == "off" ? plan::FlashAttn::off
                                                            : plan::FlashAttn::automatic;
    }
    if (options.n_gpu_layers) {
        request.n_gpu_layers = *options.n_gpu_layers;
    }
    if (options.n_cpu_moe) {
        if (*options.n_cpu_moe < 0) {
            return usage(UsageError{"--n-cpu-moe must be 0 or more"});
        }
        request.n_cpu_moe = static_cast<uint32_t>(*options.n_cpu_moe);
    }
    if (options.spec_draft_n_max) {
        if (*options.spec_draft_n_max < 1) {
            return usage(UsageError{"--spec-draft-n-max must be 1 or more"});
        }
        request.spec_draft_n_max = static_cast<uint32_t>(*options.spec_draft_n_max);
    }
    if (options.n_batch) {
        request.n_batch = *options.n_batch;
    }
    if (options.n_ubatch) {
        request.n_ubatch = *options.n_ubatch;
    }
    if (request.n_batch == 0 || request.n_ubatch == 0) {
        return usage(UsageError{"--batch-size and --ubatch-size must be 1 or more"});
    }
    if (options.kv_unified) {
        request.kv_unified = *options.kv_unified;
    }
    request.swa_full = request.swa_full || options.swa_full;
    request.op_offload = request.op_offload && !options.no_op_offload;

    std::vector<std::string> extra_notes;
    std::optional<fs::path> model_draft = options.model_draft;
    std::optional<fs::path> mmproj = options.mmproj;
    if (preset) {
        if (!model_draft && preset->draft_model) {
            model_draft = fs::path(*preset->draft_model);
        }
        if (!mmproj && preset->mmproj) {
            mmproj = fs::path(*preset->mmproj);
        }
        extra_notes.push_back(fmt::format("preset '{}': its service's llama-server flags, "
                                          "under the ones given on this command line",
                                          options.model_or_preset));
        for (const auto& note : preset->notes) {
            extra_notes.push_back(fmt::format("preset '{}': {}", options.model_or_preset, note));
        }
    }
    if (options.spec_type) {
        request.spec_type = *options.spec_type == "draft-mtp"      ? plan::SpecType::draft_mtp
                            : *options.spec_type == "draft-simple" ? plan::SpecType::draft_simple
                                                                   : plan::SpecType::none;
    } else if (options.model_draft && request.spec_type == plan::SpecType::none) {
        request.spec_type = plan::SpecType::draft_simple;
        extra_notes.push_back("--model-draft without --spec-type: planned as draft-simple");
    }

    std::optional<LoadedModel> draft;
    if (request.spec_type == plan::SpecType::draft_simple) {
        if (!model_draft) {
            return usage(UsageError{"--spec-type draft-simple needs --model-draft FILE (a small "
                                    "model with the same vocabulary)"});
        }
        auto d = load_model(*model_draft, "draft model");
        if (!d) {
            return usage(d.error());
        }
        draft = std::move(*d);
    }
    uint64_t mmproj_bytes = 0;
    if (mmproj) {
        auto mm = gguf::read_model_files(*mmproj);
        if (!mm) {
            return usage(UsageError{fmt::format("--mmproj '{}': {}", mmproj->string(),
                                                mm.error().message),
                                    fs::exists(*mmproj, ec) ? k_exit_usage
                                                            : k_exit_environment});
        }
        for (const auto& t : mm->header.tensors) {
            mmproj_bytes += t.byte_size;
        }
    }

    auto devices = find_devices(options);
    if (!devices) {
        return usage(devices.error());
    }
    std::vector<DeviceSpec> gpus = devices->gpus;
    const uint64_t margin = options.margin_mib.value_or(0) * k_mib;
    plan::PlanInputs inputs{&model->arch, gpus, draft ? &draft->arch : nullptr, margin,
                            devices->host_free};

    auto make_plan = [&](const PlanRequest& r) -> Result<MemoryPlan> {
        auto p = plan::plan_memory(model->arch, r, gpus, inputs.draft, devices->host_free);
        if (p && mmproj_bytes > 0) {
            p->devices.front().components.weights += mmproj_bytes;
            p->notes.push_back("--mmproj: the projector's tensors count in weights on the first "
                               "device (its encoder compute buffer is not modelled)");
        }
        return p;
    };

    // --fit: as given, as llama-server's --fit on would change it, or both.
    const bool ctx_pinned = options.ctx.has_value() || (preset && preset->ctx_pinned);
    const bool ngl_pinned = options.n_gpu_layers.has_value() || (preset && preset->ngl_pinned);
    // A preset that runs with --fit off is planned as given, like its service starts.
    const std::string fit_setting =
        options.fit.value_or(preset && !preset->fit ? "off" : "");
    std::optional<plan::FitOutcome> fit;
    if (!gpus.empty() && fit_setting != "off" && (!ctx_pinned || !ngl_pinned)) {
        fit = plan::fit_like_llama_server(inputs, request, ctx_pinned, ngl_pinned);
    }
    const bool fit_mode = fit_setting == "on" && fit.has_value();
    const PlanRequest primary_request = fit_mode ? fit->request : request;

    auto primary = make_plan(primary_request);
    if (!primary) {
        return usage(UsageError{primary.error().message});
    }
    for (auto& note : extra_notes) {
        primary->notes.push_back(note);
    }
    const plan::Verdict verdict = plan::judge(*primary, margin);

    // Fallbacks: other quantizations beside the file or given with --candidates.
    std::vector<plan::Fallback> fallbacks;
    if (verdict == plan::Verdict::does_not_fit) {
        std::vector<plan::Candidate> candidates;
        std::vector<fs::path> paths = options.candidates;
        if (paths.empty()) {
            paths = sibling_quants(model_path);
        }
        for (const auto& p : paths) {
            auto c = load_model(p, "candidate");
            if (c && (options.candidates.size() > 0 ||
                      c->arch.tensor_bytes < model->arch.tensor_bytes)) {
                candidates.push_back(plan::Candidate{p.string(), std::move(c->arch)});
            }
        }
        fallbacks = plan::rank_fallbacks(inputs, primary_request, candidates);
    }

    // --oracle: llama-fit-params' answer for the same configuration, beside ours. Whatever
    // happens to it, the verdict and the exit code stay ours.
    std::optional<OracleReport> oracle;
    OurSide our_side{&*primary, mmproj_bytes, std::nullopt, model->arch.n_layer};
    if (options.oracle) {
        plan::OracleQuery query;
        query.model_path = model_path.string();
        query.config = primary->config;
        query.cpu_only = gpus.empty();
        query.assumed_gpu = !gpus.empty() && options.gpu && *options.gpu != "auto";
        query.margin_mib = options.margin_mib;
        query.mmproj = mmproj.has_value();
        query.model_draft = draft.has_value();
        query.vulkan = !gpus.empty() && options.backend == "vulkan";
        if (ctx_pinned) {
            query.pinned_ctx = request.n_ctx;
        }
        if (ngl_pinned) {
            query.pinned_ngl = request.n_gpu_layers;
        }
        if (fit) {
            // Its --fit starts from the configuration as given, as ours did.
            auto as_given = fit_mode ? make_plan(request) : Result<MemoryPlan>(*primary);
            auto fitted = fit_mode ? Result<MemoryPlan>(*primary) : make_plan(fit->request);
            if (as_given && fitted) {
                query.fit_from = as_given->config;
                our_side.fit = fitted->config;
            }
        }
        oracle = ask_fit_params_oracle(query);
    }

    const std::string message = verdict_message(verdict, *primary, margin);
    if (global.json) {
        json j;
        j["model"] = {{"path", model_path.string()},
                      {"preset", preset ? json(options.model_or_preset) : json(nullptr)},
                      {"architecture", model->arch.name},
                      {"file_bytes", model->view.header.file_size},
                      {"shards", model->view.shards.size()},
                      {"header_only", model->view.header_only()}};
        json assumptions = json::array();
        for (const auto& a : model->arch.assumptions) {
            assumptions.push_back(a);
        }
        for (const auto& a : primary->notes) {
            assumptions.push_back(a);
        }
        assumptions.push_back(devices->source);
        j["assumptions"] = std::move(assumptions);
        j["mode"] = fit_mode ? "fit" : "as_given";
        j["config"] = config_json(primary->config);
        j["devices"] = devices_json(*primary, margin);
        j["verdict"] = plan::verdict_name(verdict);
        j["message"] = message;
        j["mtp_detail"] = {{"kv_cache", primary->mtp.kv_cache},
                           {"compute_buffer", primary->mtp.compute_buffer},
                           {"output_buffer", primary->mtp.output_buffer}};
        json fb = json::array();
        for (const auto& f : fallbacks) {
            fb.push_back({{"rank", f.rank},
                          {"kind", plan::fallback_kind_name(f.kind)},
                          {"change", f.change},
                          {"args", f.args},
                          {"predicted_total", f.predicted_total},
                          {"fits", f.fits},
                          {"note", f.note}});
        }
        j["fallbacks"] = std::move(fb);
        if (fit && !fit_mode) {
            json fj{{"changed", fit->changed}, {"note", fit->note}};
            if (fit->changed) {
                if (auto fp = make_plan(fit->request)) {
                    fj["config"] = config_json(fp->config);
                    fj["devices"] = devices_json(*fp, margin);
                    fj["verdict"] = plan::verdict_name(plan::judge(*fp, margin));
                }
            }
            j["fit"] = std::move(fj);
        }
        if (oracle) {
            j["oracle"] = oracle_json(*oracle, our_side);
        }
        out << j.dump(2) << "\n";
    } else {
        if (preset) {
            out << fmt::format("preset: {}\n", options.model_or_preset);
        }
        out << fmt::format("model: {} ({}, {} layers{}, {} MiB of tensors{})\n",
                           model_path.string(), model->arch.name, model->arch.n_layer,
                           model->arch.n_nextn > 0
                               ? fmt::format(" + {} MTP", model->arch.n_nextn)
                               : "",
                           mib(model->arch.tensor_bytes),
                           model->view.header_only() ? ", header only" : "");
        out << "devices: " << devices->source << "\n";
        out << (fit_mode ? "mode: as llama-server --fit on would set it\n"
                         : "mode: the configuration as given\n");
        render_plan(out, *primary);
        out << "\nverdict: " << message << "\n";
        if (fit && !fit_mode) {
            out << "llama-server --fit on (its default): " << fit->note << "\n";
        }
        render_fallbacks(out, fallbacks);
        const auto& notes = primary->notes;
        if (!model->arch.assumptions.empty() || !notes.empty()) {
            out << "\nassumptions:\n";
            for (const auto& a : model->arch.assumptions) {
                out << "  - " << a << "\n";
            }
            for (const auto& a : notes) {
                out << "  - " << a << "\n";
            }
        }
        if (oracle) {
            render_oracle(out, *oracle, our_side);
        }
    }
    return verdict == plan::Verdict::does_not_fit ? k_exit_failure : k_exit_ok;
}

} // namespace gpumod::app
