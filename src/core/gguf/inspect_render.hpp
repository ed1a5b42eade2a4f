#pragma once

// What `gpumod gguf inspect` shows, rendered from a ModelView: a text summary for terminals
// and the pieces a JSON view is built from (the JSON itself is built at the app edge). Long
// arrays are summarized as `[a, b, c, … (248320 items, string)]`; the tokenizer's vocabulary
// arrays are never shown whole, however large the requested item limit. Pure.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/gguf/gguf_types.hpp"
#include "core/gguf/model_architecture.hpp"
#include "core/gguf/split_model.hpp"

namespace gpumod::gguf {

/// Default for --max-array-items.
inline constexpr std::size_t k_default_max_array_items = 8;
/// Items of a tokenizer.ggml.* array shown at most, whatever --max-array-items says.
inline constexpr std::size_t k_max_tokenizer_items = 64;
/// Code points of a string shown in text output before it is cut with "…".
inline constexpr std::size_t k_max_string_display = 120;

/// Choices of the text rendering.
struct InspectTextOptions
{
    bool tensors = false; ///< list every tensor
    std::size_t max_array_items = k_default_max_array_items;
};

/// How many items of `array` (stored under metadata `key`) are shown for a limit of
/// `max_items`.
std::size_t shown_array_items(std::string_view key, const Array& array, std::size_t max_items);

/// The type as a reader would name it: "uint32", "string", "array[string]",
/// "array[array[int32]]".
std::string value_type_label(const Value& value);

/// `text` quoted, with control characters, quotes, backslashes and invalid UTF-8 escaped,
/// cut after `max_code_points` code points with "…" and the full length in bytes.
std::string quote_string(std::string_view text, std::size_t max_code_points = k_max_string_display);

/// One metadata value for a terminal: numbers, true/false, quoted strings, arrays summarized
/// beyond `max_items` (nested arrays too). `key` selects the tokenizer limit.
std::string render_value(std::string_view key, const Value& value, std::size_t max_items);

/// `n` with thousands separators: 1234567 -> "1,234,567".
std::string group_digits(uint64_t n);

/// Bytes in binary units with the exact count: "1.50 MiB (1,572,864 bytes)"; small counts
/// are just "512 bytes".
std::string format_bytes(uint64_t bytes);

/// A shape as ggml lists it, ne[0] first: "[4096, 151936]"; "[]" for a scalar.
std::string format_shape(std::span<const uint64_t> shape);

/// Count, elements and bytes of the tensors of one type.
struct TensorTypeTotal
{
    TensorType type = TensorType::f32;
    uint64_t count = 0;
    uint64_t elements = 0; ///< saturates at UINT64_MAX
    uint64_t bytes = 0;    ///< saturates at UINT64_MAX
};

/// Totals per tensor type, largest byte total first (ties by type id).
std::vector<TensorTypeTotal> tensor_type_totals(std::span<const TensorInfo> tensors);

/// The note for a model lacking tensor data: "header only: tensor data absent" when no shard
/// holds any, else "header only: tensor data truncated (X of Y bytes present)"; empty when
/// every tensor's data is present.
std::string header_only_note(const ModelView& model);

/// Most blocks a header may declare before inspect derives its architecture: far above any
/// real model, low enough that a hostile block_count cannot make per-layer tables huge.
inline constexpr uint64_t k_max_inspect_layers = 65536;

/// The derived architecture (derive_architecture()), or why it could not be derived; refuses
/// block counts above k_max_inspect_layers.
Result<ModelArchitecture> inspect_architecture(const GgufHeader& header);

/// What one layer is, for reports: "attention", "attention (SWA)", "recurrent", "nextn",
/// "nextn (recurrent)", or "none" (neither attention nor recurrent).
std::string layer_kind(const LayerGeometry& layer);

/// Layer indices as compact ranges: {0,1,2,4,5,6,8} -> "0-2, 4-6, 8"; past `max_ranges`
/// ranges the rest is "…".
std::string format_ranges(std::span<const uint32_t> indices, std::size_t max_ranges = 12);

/// The "architecture" section: name, layers (main stack and nextn/MTP), embedding,
/// vocabulary, training context, layers grouped by kind with heads / KV heads / head sizes,
/// sliding window, recurrent state sizes, experts, MLA, weights, and the assumptions made;
/// or the reason it could not be derived.
std::string render_architecture_text(const Result<ModelArchitecture>& architecture);

/// The whole text summary: file and shards, version and alignment, sizes, data presence,
/// metadata, tensor type totals, the tensor table when asked, and `extra_sections` (already
/// rendered, e.g. the derived architecture) at the end.
std::string render_inspect_text(const ModelView& model, const InspectTextOptions& options,
                                std::string_view extra_sections = {});

} // namespace gpumod::gguf
