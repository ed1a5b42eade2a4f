#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <ostream>
#include <system_error>

#include "adapters/gguf/model_files.hpp"
#include "app/commands.hpp"
#include "app/exit_codes.hpp"
#include "core/gguf/inspect_render.hpp"
#include "core/gguf/split_model.hpp"

namespace gpumod::app {

namespace {

using nlohmann::json;

json value_json(std::string_view key, const gguf::Value& value, std::size_t max_items)
{
    return std::visit(
        [&](const auto& v) -> json {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, gguf::Array>) {
                const std::size_t shown = gguf::shown_array_items(key, v, max_items);
                json items = json::array();
                for (std::size_t i = 0; i < shown; ++i) {
                    items.push_back(value_json(key, v.items[i], max_items));
                }
                return json{{"type", gguf::value_type_name(v.element_type)},
                            {"count", v.items.size()},
                            {"items", std::move(items)}};
            } else {
                // Non-finite floats become null, which JSON readers accept.
                return json(v);
            }
        },
        value.data);
}

json architecture_json(const Result<gguf::ModelArchitecture>& derived)
{
    if (!derived) {
        return json{{"error", derived.error().message}};
    }
    const gguf::ModelArchitecture& a = *derived;
    json layers = json::array();
    for (std::size_t i = 0; i < a.layers.size(); ++i) {
        const gguf::LayerGeometry& l = a.layers[i];
        layers.push_back({{"index", i},
                          {"kind", gguf::layer_kind(l)},
                          {"attention", l.attention},
                          {"recurrent", l.recurrent},
                          {"swa", l.swa},
                          {"nextn", l.nextn},
                          {"heads", l.n_head},
                          {"kv_heads", l.n_head_kv},
                          {"head_dim_k", l.head_dim_k},
                          {"head_dim_v", l.head_dim_v},
                          {"ffn", l.n_ff},
                          {"weight_bytes", l.weight_bytes},
                          {"expert_bytes", l.expert_bytes}});
    }
    return json{{"name", a.name},
                {"known", a.known},
                {"layers", a.n_layer},
                {"nextn_layers", a.n_nextn},
                {"embedding", a.n_embd},
                {"heads", a.n_head},
                {"vocabulary", a.n_vocab},
                {"context_length", a.context_length},
                {"sliding_window", a.sliding_window},
                {"experts", a.n_expert},
                {"experts_used", a.n_expert_used},
                {"expert_ff", a.expert_ff},
                {"shared_expert_ff", a.shared_expert_ff},
                {"kv_lora_rank", a.kv_lora_rank},
                {"rope_dim", a.rope_dim},
                {"ssm",
                 {{"conv_kernel", a.ssm.conv_kernel},
                  {"inner_size", a.ssm.inner_size},
                  {"state_size", a.ssm.state_size},
                  {"group_count", a.ssm.group_count},
                  {"time_step_rank", a.ssm.time_step_rank}}},
                {"tied_embeddings", a.tied_embeddings},
                {"tensor_bytes", a.tensor_bytes},
                {"token_embd_bytes", a.token_embd_bytes},
                {"output_bytes", a.output_bytes},
                {"per_layer", std::move(layers)},
                {"assumptions", a.assumptions}};
}

json inspect_json(const gguf::ModelView& model, const GgufInspectOptions& options)
{
    const gguf::GgufHeader& h = model.header;
    json j;
    j["file"] = options.file.string();
    j["version"] = h.version;
    j["alignment"] = h.alignment;
    j["file_bytes"] = h.file_size;
    j["header_bytes"] = h.header_size;
    j["header_only"] = model.header_only();
    if (model.header_only()) {
        j["note"] = gguf::header_only_note(model);
    }
    json shards = json::array();
    for (const gguf::ShardSummary& s : model.shards) {
        shards.push_back({{"file", s.name},
                          {"file_bytes", s.file_bytes},
                          {"header_bytes", s.header_bytes},
                          {"data_offset", s.data_offset},
                          {"tensor_count", s.tensor_count},
                          {"header_only", s.header_only}});
    }
    j["shards"] = std::move(shards);
    json metadata = json::object();
    for (const gguf::MetadataEntry& entry : h.metadata) {
        metadata[entry.key] = value_json(entry.key, entry.value, options.max_array_items);
    }
    j["metadata"] = std::move(metadata);
    j["tensor_count"] = h.tensors.size();
    if (options.tensors) {
        json tensors = json::array();
        for (std::size_t i = 0; i < h.tensors.size(); ++i) {
            const gguf::TensorInfo& t = h.tensors[i];
            tensors.push_back({{"name", t.name},
                               {"type", gguf::tensor_type_info(t.type).name},
                               {"shape", t.shape},
                               {"bytes", t.byte_size},
                               {"offset", t.offset},
                               {"shard", model.tensor_shard.at(i) + 1}});
        }
        j["tensors"] = std::move(tensors);
    }
    json types = json::object();
    for (const gguf::TensorTypeTotal& t : gguf::tensor_type_totals(h.tensors)) {
        types[std::string(gguf::tensor_type_info(t.type).name)] = {
            {"count", t.count}, {"elements", t.elements}, {"bytes", t.bytes}};
    }
    j["tensor_types"] = std::move(types);
    j["architecture"] = architecture_json(gguf::inspect_architecture(h));
    return j;
}

// A missing file, or a missing shard of a split model, is the environment's fault (exit 3);
// anything else wrong with the files is bad input (exit 2).
bool something_missing(const std::filesystem::path& file)
{
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
        return true;
    }
    const auto name = gguf::parse_split_name(file.filename().string());
    if (!name) {
        return false;
    }
    for (const std::string& sibling : gguf::split_sibling_names(*name)) {
        if (!std::filesystem::exists(file.parent_path() / sibling, ec)) {
            return true;
        }
    }
    return false;
}

} // namespace

int cmd_gguf_inspect(const GlobalOptions& global, const GgufInspectOptions& options,
                     std::ostream& out, std::ostream& err)
{
    auto model = gguf::read_model_files(options.file);
    if (!model) {
        err << "gpumod gguf inspect: " << model.error().message << "\n";
        return something_missing(options.file) ? k_exit_environment : k_exit_usage;
    }
    if (global.json) {
        // Metadata strings may hold invalid UTF-8; replace it rather than fail the dump.
        out << inspect_json(*model, options).dump(2, ' ', false, json::error_handler_t::replace)
            << "\n";
        return k_exit_ok;
    }
    const gguf::InspectTextOptions text{options.tensors, options.max_array_items};
    out << gguf::render_inspect_text(
        *model, text, gguf::render_architecture_text(gguf::inspect_architecture(model->header)));
    return k_exit_ok;
}

} // namespace gpumod::app
