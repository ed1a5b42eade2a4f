#include "core/gguf/inspect_render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>

#include "core/report/text_table.hpp"

namespace gpumod::gguf {

namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is not valid
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i)
{
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char b0 = byte(i);
    if (b0 < 0x80U) {
        return 1;
    }
    std::size_t n = 0;
    uint32_t cp = 0;
    uint32_t min_cp = 0;
    if ((b0 & 0xE0U) == 0xC0U) {
        n = 2;
        cp = b0 & 0x1FU;
        min_cp = 0x80;
    } else if ((b0 & 0xF0U) == 0xE0U) {
        n = 3;
        cp = b0 & 0x0FU;
        min_cp = 0x800;
    } else if ((b0 & 0xF8U) == 0xF0U) {
        n = 4;
        cp = b0 & 0x07U;
        min_cp = 0x10000;
    } else {
        return 0;
    }
    if (i + n > text.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < n; ++k) {
        if ((byte(i + k) & 0xC0U) != 0x80U) {
            return 0;
        }
        cp = (cp << 6U) | (byte(i + k) & 0x3FU);
    }
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

void append_escaped_byte(std::string& out, unsigned char c)
{
    switch (c) {
    case '\n':
        out += "\\n";
        return;
    case '\t':
        out += "\\t";
        return;
    case '\r':
        out += "\\r";
        return;
    case '"':
        out += "\\\"";
        return;
    case '\\':
        out += "\\\\";
        return;
    default:
        break;
    }
    if (c < 0x20U || c == 0x7FU || c >= 0x80U) {
        out += fmt::format("\\x{:02x}", c);
        return;
    }
    out += static_cast<char>(c);
}

uint64_t saturating_add(uint64_t a, uint64_t b)
{
    return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

std::string render_value_impl(std::string_view key, const Value& value, std::size_t max_items);

std::string render_array(std::string_view key, const Array& array, std::size_t max_items)
{
    const std::size_t shown = shown_array_items(key, array, max_items);
    std::string out = "[";
    for (std::size_t i = 0; i < shown; ++i) {
        if (i > 0) {
            out += ", ";
        }
        out += render_value_impl(key, array.items[i], max_items);
    }
    if (shown < array.items.size()) {
        out += fmt::format("{}… ({} items, {})", shown > 0 ? ", " : "",
                           group_digits(array.items.size()),
                           value_type_name(array.element_type));
    }
    out += "]";
    return out;
}

std::string render_value_impl(std::string_view key, const Value& value, std::size_t max_items)
{
    return std::visit(
        [&](const auto& v) -> std::string {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string>) {
                return quote_string(v);
            } else if constexpr (std::is_same_v<T, Array>) {
                return render_array(key, v, max_items);
            } else if constexpr (std::is_same_v<T, bool>) {
                return v ? "true" : "false";
            } else if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, int8_t>) {
                // fmt would print 8-bit integers as characters.
                return fmt::format("{}", static_cast<int>(v));
            } else {
                // Floats print in their shortest round-trip form.
                return fmt::format("{}", v);
            }
        },
        value.data);
}

// Names (keys, tensor names) print bare unless they need escaping or cutting.
std::string plain_or_quoted(std::string_view name)
{
    std::string quoted = quote_string(name);
    if (quoted.size() == name.size() + 2 && !name.empty()) {
        return std::string(name);
    }
    return quoted;
}

// Each line of `text` (which ends with a newline) after the first `skip` lines, indented.
std::string indented(const std::string& text, std::size_t skip = 0)
{
    std::string out;
    std::size_t pos = 0;
    std::size_t line = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        end = end == std::string::npos ? text.size() : end + 1;
        if (line++ >= skip) {
            out += "  ";
            out.append(text, pos, end - pos);
        }
        pos = end;
    }
    return out;
}

std::string shard_note(const ShardSummary& shard)
{
    if (!shard.header_only) {
        return "present";
    }
    const uint64_t wanted = shard.data_end - shard.data_offset;
    const uint64_t present =
        shard.file_bytes > shard.data_offset ? shard.file_bytes - shard.data_offset : 0;
    if (present == 0) {
        return "absent";
    }
    return fmt::format("truncated ({} of {} bytes)", group_digits(present), group_digits(wanted));
}

} // namespace

std::size_t shown_array_items(std::string_view key, const Array& array, std::size_t max_items)
{
    std::size_t limit = max_items;
    if (key.starts_with("tokenizer.ggml.")) {
        limit = std::min(limit, k_max_tokenizer_items);
    }
    return std::min(limit, array.items.size());
}

std::string value_type_label(const Value& value)
{
    const Array* array = value.as_array();
    if (array == nullptr) {
        return std::string(value_type_name(value.type()));
    }
    if (array->element_type == ValueType::array && !array->items.empty()) {
        return fmt::format("array[{}]", value_type_label(array->items.front()));
    }
    return fmt::format("array[{}]", value_type_name(array->element_type));
}

std::string quote_string(std::string_view text, std::size_t max_code_points)
{
    std::string out = "\"";
    std::size_t code_points = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        if (code_points == max_code_points) {
            out += fmt::format("\"… ({} bytes)", group_digits(text.size()));
            return out;
        }
        const std::size_t n = utf8_sequence_length(text, i);
        if (n <= 1) {
            append_escaped_byte(out, static_cast<unsigned char>(text[i]));
            i += 1;
        } else {
            out.append(text.substr(i, n));
            i += n;
        }
        ++code_points;
    }
    out += "\"";
    return out;
}

std::string render_value(std::string_view key, const Value& value, std::size_t max_items)
{
    return render_value_impl(key, value, max_items);
}

std::string group_digits(uint64_t n)
{
    std::string digits = fmt::format("{}", n);
    std::string out;
    out.reserve(digits.size() + digits.size() / 3);
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) {
            out += ',';
        }
        out += digits[i];
    }
    return out;
}

std::string format_bytes(uint64_t bytes)
{
    static constexpr std::array<std::string_view, 6> k_units{"KiB", "MiB", "GiB",
                                                              "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        return fmt::format("{} bytes", bytes);
    }
    auto scaled = static_cast<double>(bytes) / 1024.0;
    std::size_t unit = 0;
    while (scaled >= 1024.0 && unit + 1 < k_units.size()) {
        scaled /= 1024.0;
        ++unit;
    }
    return fmt::format("{:.2f} {} ({} bytes)", scaled, k_units[unit], group_digits(bytes));
}

std::string format_shape(std::span<const uint64_t> shape)
{
    return fmt::format("[{}]", fmt::join(shape, ", "));
}

std::vector<TensorTypeTotal> tensor_type_totals(std::span<const TensorInfo> tensors)
{
    std::map<uint32_t, TensorTypeTotal> by_id;
    for (const TensorInfo& t : tensors) {
        TensorTypeTotal& total = by_id[static_cast<uint32_t>(t.type)];
        total.type = t.type;
        total.count += 1;
        auto elements = element_count(t.shape);
        total.elements = saturating_add(total.elements, elements ? *elements : UINT64_MAX);
        total.bytes = saturating_add(total.bytes, t.byte_size);
    }
    std::vector<TensorTypeTotal> totals;
    totals.reserve(by_id.size());
    for (const auto& [id, total] : by_id) {
        totals.push_back(total);
    }
    // Stable: equal byte totals keep the map's type-id order.
    std::stable_sort(totals.begin(), totals.end(),
                     [](const TensorTypeTotal& a, const TensorTypeTotal& b) {
                         return a.bytes > b.bytes;
                     });
    return totals;
}

std::string header_only_note(const ModelView& model)
{
    if (!model.header_only()) {
        return {};
    }
    uint64_t wanted = 0;
    uint64_t present = 0;
    for (const ShardSummary& shard : model.shards) {
        wanted = saturating_add(wanted, shard.data_end - shard.data_offset);
        const uint64_t have =
            shard.file_bytes > shard.data_offset ? shard.file_bytes - shard.data_offset : 0;
        present = saturating_add(present, std::min(have, shard.data_end - shard.data_offset));
    }
    if (present == 0) {
        return "header only: tensor data absent";
    }
    return fmt::format("header only: tensor data truncated ({} of {} bytes present)",
                       group_digits(present), group_digits(wanted));
}

std::string render_inspect_text(const ModelView& model, const InspectTextOptions& options,
                                std::string_view extra_sections)
{
    const GgufHeader& h = model.header;
    std::string out;
    out += fmt::format("{}\n", model.shards.empty() ? std::string("(no file)")
                                                     : model.shards.front().name);
    out += fmt::format("  GGUF version {}, alignment {}\n", h.version, h.alignment);
    out += fmt::format("  file size    {}\n", format_bytes(h.file_size));
    out += fmt::format("  header       {}\n", format_bytes(h.header_size));
    const std::string note = header_only_note(model);
    out += fmt::format("  tensor data  {}\n", note.empty() ? "present" : note);

    if (model.is_split()) {
        out += fmt::format("\nshards ({})\n", model.shards.size());
        TextTable table;
        table.add_column("#", Align::right);
        table.add_column("file");
        table.add_column("bytes", Align::right);
        table.add_column("header", Align::right);
        table.add_column("tensors", Align::right);
        table.add_column("data");
        for (std::size_t i = 0; i < model.shards.size(); ++i) {
            const ShardSummary& s = model.shards[i];
            table.add_row({fmt::format("{}", i + 1), s.name, group_digits(s.file_bytes),
                           group_digits(s.header_bytes), group_digits(s.tensor_count),
                           shard_note(s)});
        }
        out += table.render();
    }

    out += fmt::format("\nmetadata ({} keys)\n", h.metadata.size());
    if (!h.metadata.empty()) {
        TextTable table;
        table.add_column("key");
        table.add_column("type");
        table.add_column("value");
        for (const MetadataEntry& entry : h.metadata) {
            table.add_row({plain_or_quoted(entry.key), value_type_label(entry.value),
                           render_value(entry.key, entry.value, options.max_array_items)});
        }
        out += table.render();
    }

    const auto totals = tensor_type_totals(h.tensors);
    uint64_t all_bytes = 0;
    uint64_t all_elements = 0;
    for (const TensorTypeTotal& t : totals) {
        all_bytes = saturating_add(all_bytes, t.bytes);
        all_elements = saturating_add(all_elements, t.elements);
    }
    out += fmt::format("\ntensors ({}, {} parameters, {})\n", group_digits(h.tensors.size()),
                       group_digits(all_elements), format_bytes(all_bytes));
    if (!totals.empty()) {
        TextTable table;
        table.add_column("type");
        table.add_column("tensors", Align::right);
        table.add_column("elements", Align::right);
        table.add_column("bytes", Align::right);
        table.add_column("share", Align::right);
        for (const TensorTypeTotal& t : totals) {
            const double share =
                all_bytes == 0 ? 0.0
                               : 100.0 * static_cast<double>(t.bytes) / static_cast<double>(all_bytes);
            table.add_row({std::string(tensor_type_info(t.type).name), group_digits(t.count),
                           group_digits(t.elements), group_digits(t.bytes),
                           fmt::format("{:.1f}%", share)});
        }
        out += table.render();
    }

    if (options.tensors && !h.tensors.empty()) {
        out += "\n";
        TextTable table;
        table.add_column("#", Align::right);
        table.add_column("name");
        table.add_column("type");
        table.add_column("shape");
        table.add_column("bytes", Align::right);
        table.add_column("offset", Align::right);
        if (model.is_split()) {
            table.add_column("shard", Align::right);
        }
        for (std::size_t i = 0; i < h.tensors.size(); ++i) {
            const TensorInfo& t = h.tensors[i];
            std::vector<std::string> row{fmt::format("{}", i), plain_or_quoted(t.name),
                                         std::string(tensor_type_info(t.type).name),
                                         format_shape(t.shape), group_digits(t.byte_size),
                                         group_digits(t.offset)};
            if (model.is_split() && i < model.tensor_shard.size()) {
                row.push_back(fmt::format("{}", model.tensor_shard[i] + 1));
            }
            table.add_row(std::move(row));
        }
        out += table.render();
    } else if (!h.tensors.empty()) {
        out += "(--tensors lists every tensor)\n";
    }

    if (!extra_sections.empty()) {
        out += "\n";
        out += extra_sections;
        if (!extra_sections.ends_with('\n')) {
            out += '\n';
        }
    }
    return out;
}

Result<ModelArchitecture> inspect_architecture(const GgufHeader& header)
{
    const Value* arch_name = header.find("general.architecture");
    const std::string* name = arch_name == nullptr ? nullptr : arch_name->as_string();
    if (name != nullptr) {
        const Value* blocks = header.find(*name + ".block_count");
        const auto count = blocks == nullptr ? std::nullopt : blocks->as_uint();
        if (count && *count > k_max_inspect_layers) {
            return fail(fmt::format("{}.block_count {} is more than the {} blocks any model has",
                                    *name, *count, k_max_inspect_layers));
        }
    }
    return derive_architecture(header);
}

std::string layer_kind(const LayerGeometry& layer)
{
    std::string kind;
    if (layer.recurrent) {
        kind = "recurrent";
    } else if (layer.attention) {
        kind = layer.swa ? "attention (SWA)" : "attention";
    } else {
        kind = "none";
    }
    if (layer.nextn) {
        return kind == "attention" ? "nextn" : fmt::format("nextn ({})", kind);
    }
    return kind;
}

std::string format_ranges(std::span<const uint32_t> indices, std::size_t max_ranges)
{
    std::vector<std::string> ranges;
    std::size_t i = 0;
    while (i < indices.size()) {
        if (ranges.size() == max_ranges) {
            ranges.emplace_back("…");
            break;
        }
        std::size_t j = i;
        while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) {
            ++j;
        }
        ranges.push_back(j == i ? fmt::format("{}", indices[i])
                                : fmt::format("{}-{}", indices[i], indices[j]));
        i = j + 1;
    }
    return fmt::format("{}", fmt::join(ranges, ", "));
}

std::string render_architecture_text(const Result<ModelArchitecture>& architecture)
{
    if (!architecture) {
        return fmt::format("architecture: not derived: {}\n", architecture.error().message);
    }
    const ModelArchitecture& a = *architecture;
    std::string out = fmt::format("architecture: {}{}\n", plain_or_quoted(a.name),
                                  a.known ? "" : " (generic path)");
    TextTable facts;
    facts.add_column("");
    facts.add_column("");
    facts.add_row({"layers", a.n_nextn > 0 ? fmt::format("{} + {} nextn/MTP", a.n_layer, a.n_nextn)
                                           : fmt::format("{}", a.n_layer)});
    facts.add_row({"embedding", group_digits(a.n_embd)});
    facts.add_row({"vocabulary", group_digits(a.n_vocab)});
    facts.add_row({"context", fmt::format("{} (training)", group_digits(a.context_length))});
    facts.add_row({"sliding window", a.sliding_window == 0 || !a.has_swa()
                                         ? std::string("none")
                                         : fmt::format("{} tokens", group_digits(a.sliding_window))});
    if (a.is_moe()) {
        std::string experts = fmt::format("{}, {} used per token, expert FFN {}", a.n_expert,
                                          a.n_expert_used, a.expert_ff);
        if (a.shared_expert_ff > 0) {
            experts += fmt::format(", shared FFN {}", a.shared_expert_ff);
        }
        facts.add_row({"experts", experts});
    }
    if (a.is_mla()) {
        facts.add_row({"MLA", fmt::format("kv_lora_rank {}, rope dims {}", a.kv_lora_rank,
                                          a.rope_dim)});
    }
    if (a.has_recurrent()) {
        facts.add_row({"recurrent state",
                       fmt::format("conv kernel {}, inner {}, state {}, groups {}, heads {}",
                                   a.ssm.conv_kernel, a.ssm.inner_size, a.ssm.state_size,
                                   a.ssm.group_count, a.ssm.time_step_rank)});
    }
    facts.add_row({"embeddings", a.tied_embeddings ? "tied (output reuses token_embd)" : "separate"});
    facts.add_row({"weights", fmt::format("{}; token_embd {}, output {}",
                                          format_bytes(a.tensor_bytes),
                                          format_bytes(a.token_embd_bytes),
                                          format_bytes(a.output_bytes))});
    // The table's empty header row and rule are dropped: these are labelled facts.
    out += indented(facts.render(), 2);

    // Layers with the same shape are listed once, with their indices.
    struct Group
    {
        std::string kind;
        const LayerGeometry* sample;
        std::vector<uint32_t> indices;
    };
    std::vector<Group> groups;
    for (std::size_t i = 0; i < a.layers.size(); ++i) {
        const LayerGeometry& l = a.layers[i];
        const std::string kind = layer_kind(l);
        auto same = [&](const Group& g) {
            const LayerGeometry& s = *g.sample;
            return g.kind == kind && s.n_head == l.n_head && s.n_head_kv == l.n_head_kv &&
                   s.head_dim_k == l.head_dim_k && s.head_dim_v == l.head_dim_v &&
                   s.n_ff == l.n_ff;
        };
        auto it = std::find_if(groups.begin(), groups.end(), same);
        if (it == groups.end()) {
            groups.push_back(Group{kind, &l, {}});
            it = groups.end() - 1;
        }
        it->indices.push_back(static_cast<uint32_t>(i));
    }
    if (!groups.empty()) {
        TextTable table;
        table.add_column("layers");
        table.add_column("kind");
        table.add_column("heads", Align::right);
        table.add_column("KV heads", Align::right);
        table.add_column("head dim K/V", Align::right);
        table.add_column("FFN", Align::right);
        for (const Group& g : groups) {
            const LayerGeometry& s = *g.sample;
            const bool attn = s.attention && !s.recurrent;
            table.add_row({fmt::format("{} ({})", format_ranges(g.indices), g.indices.size()), g.kind,
                           attn ? fmt::format("{}", s.n_head) : "-",
                           attn ? fmt::format("{}", s.n_head_kv) : "-",
                           attn ? fmt::format("{}/{}", s.head_dim_k, s.head_dim_v) : "-",
                           s.n_ff == 0 ? "-" : fmt::format("{}", s.n_ff)});
        }
        out += indented(table.render());
    }
    for (const std::string& assumption : a.assumptions) {
        out += fmt::format("  assumed: {}\n", assumption);
    }
    return out;
}

} // namespace gpumod::gguf
