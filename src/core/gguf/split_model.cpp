#include "core/gguf/split_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

namespace gpumod::gguf {

namespace {

// llama.cpp formats shard names with "%s-%05d-of-%05d.gguf".
constexpr std::string_view k_suffix = ".gguf";
constexpr std::string_view k_of = "-of-";
constexpr size_t k_digits = 5;

std::optional<uint32_t> parse_digits(std::string_view text)
{
    if (text.size() != k_digits) {
        return std::nullopt;
    }
    uint32_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    return value;
}

// A split key as an unsigned number; gguf-split writes u16 / i32 but other writers vary.
Result<std::optional<uint64_t>> split_number(const GgufHeader& header, std::string_view key)
{
    const Value* value = header.find(key);
    if (value == nullptr) {
        return std::optional<uint64_t>{};
    }
    auto number = value->as_uint();
    if (!number) {
        return fail(fmt::format("{} must be a non-negative integer, not {}", key,
                                value_type_name(value->type())));
    }
    return std::optional<uint64_t>{*number};
}

} // namespace

std::optional<SplitName> parse_split_name(std::string_view file_name)
{
    // Shortest: "-00001-of-00001.gguf" after a prefix of at least one character.
    constexpr size_t k_tail = 1 + k_digits + k_of.size() + k_digits + k_suffix.size();
    if (file_name.size() <= k_tail || !file_name.ends_with(k_suffix)) {
        return std::nullopt;
    }
    const std::string_view tail = file_name.substr(file_name.size() - k_tail);
    if (tail[0] != '-' || tail.substr(1 + k_digits, k_of.size()) != k_of) {
        return std::nullopt;
    }
    auto number = parse_digits(tail.substr(1, k_digits));
    auto count = parse_digits(tail.substr(1 + k_digits + k_of.size(), k_digits));
    if (!number || !count || *number == 0 || *number > *count) {
        return std::nullopt;
    }
    return SplitName{std::string(file_name.substr(0, file_name.size() - k_tail)), *number, *count};
}

std::string split_file_name(std::string_view prefix, uint32_t number, uint32_t count)
{
    return fmt::format("{}-{:05}-of-{:05}.gguf", prefix, number, count);
}

std::vector<std::string> split_sibling_names(const SplitName& name)
{
    std::vector<std::string> names;
    names.reserve(name.count);
    for (uint32_t i = 1; i <= name.count; ++i) {
        names.push_back(split_file_name(name.prefix, i, name.count));
    }
    return names;
}

Result<SplitInfo> split_info(const GgufHeader& header)
{
    auto no = split_number(header, k_split_no_key);
    if (!no) {
        return tl::unexpected(no.error());
    }
    auto count = split_number(header, k_split_count_key);
    if (!count) {
        return tl::unexpected(count.error());
    }
    auto tensors = split_number(header, k_split_tensors_count_key);
    if (!tensors) {
        return tl::unexpected(tensors.error());
    }
    SplitInfo info;
    info.tensors = *tensors;
    if (!no->has_value() && !count->has_value()) {
        return info;
    }
    if (!no->has_value() || !count->has_value()) {
        return fail(fmt::format("{} and {} must appear together", k_split_no_key,
                                k_split_count_key));
    }
    // gguf-split numbers shards from 0 in the metadata and from 1 in file names.
    if (**count == 0 || **count > 99999 || **no >= **count) {
        return fail(fmt::format("{} {} is not a shard of {} {}", k_split_no_key, **no,
                                k_split_count_key, **count));
    }
    info.number = static_cast<uint32_t>(**no) + 1;
    info.count = static_cast<uint32_t>(**count);
    return info;
}

uint64_t tensor_data_end(const GgufHeader& header)
{
    uint64_t end = header.data_offset;
    for (const TensorInfo& t : header.tensors) {
        // The reader guarantees these sums fit for files it accepted against their real size;
        // saturate anyway so a header parsed against a larger assumed size cannot wrap.
        const uint64_t start = header.data_offset + t.offset;
        const uint64_t stop = start < header.data_offset || t.byte_size > UINT64_MAX - start
                                  ? UINT64_MAX
                                  : start + t.byte_size;
        end = std::max(end, stop);
    }
    return end;
}

bool is_header_only(const GgufHeader& header)
{
    return !header.tensors.empty() && tensor_data_end(header) > header.file_size;
}

bool ModelView::header_only() const
{
    return std::any_of(shards.begin(), shards.end(),
                       [](const ShardSummary& s) { return s.header_only; });
}

Result<ModelView> merge_shards(std::vector<ShardHeader> shards)
{
    if (shards.empty()) {
        return fail("no GGUF file given");
    }
    ModelView view;
    const auto shard_count = static_cast<uint32_t>(shards.size());
    uint64_t total_tensors = 0;
    std::optional<uint64_t> declared_tensors;
    for (uint32_t i = 0; i < shard_count; ++i) {
        const ShardHeader& shard = shards[i];
        auto info = split_info(shard.header);
        if (!info) {
            return tl::unexpected(info.error().with_context(fmt::format("'{}'", shard.name)));
        }
        if (info->count != shard_count || info->number != i + 1) {
            return fail(fmt::format("'{}': split metadata says shard {} of {}, expected shard {} "
                                    "of {}",
                                    shard.name, info->number, info->count, i + 1, shard_count));
        }
        if (i == 0) {
            declared_tensors = info->tensors;
        } else if (info->tensors && declared_tensors && *info->tensors != *declared_tensors) {
            return fail(fmt::format("'{}': {} is {}, but shard 1 says {}", shard.name,
                                    k_split_tensors_count_key, *info->tensors, *declared_tensors));
        }
        total_tensors += shard.header.tensors.size();
    }
    if (shard_count > 1 && declared_tensors && *declared_tensors != total_tensors) {
        return fail(fmt::format("'{}': {} is {}, but the {} shards hold {} tensors",
                                shards[0].name, k_split_tensors_count_key, *declared_tensors,
                                shard_count, total_tensors));
    }

    GgufHeader& merged = view.header;
    GgufHeader& first = shards[0].header;
    merged.version = first.version;
    merged.alignment = first.alignment;
    merged.data_offset = first.data_offset;
    // Moved, not copied: a vocabulary is hundreds of thousands of values.
    merged.metadata = std::move(shards[0].header.metadata);
    merged.tensors.reserve(static_cast<size_t>(total_tensors));
    view.tensor_shard.reserve(static_cast<size_t>(total_tensors));
    std::unordered_map<std::string_view, uint32_t> owner;
    for (uint32_t i = 0; i < shard_count; ++i) {
        ShardHeader& shard = shards[i];
        GgufHeader& h = shard.header;
        ShardSummary summary{shard.name,    h.version,    h.alignment,
                             h.file_size,   h.header_size, h.data_offset,
                             tensor_data_end(h), h.tensors.size(), is_header_only(h)};
        merged.file_size += h.file_size;
        merged.header_size += h.header_size;
        for (TensorInfo& t : h.tensors) {
            merged.tensors.push_back(std::move(t));
            view.tensor_shard.push_back(i);
        }
        view.shards.push_back(std::move(summary));
    }
    // Names are checked after the moves so the map's views point into their final home.
    for (size_t k = 0; k < merged.tensors.size(); ++k) {
        const auto [it, inserted] = owner.emplace(merged.tensors[k].name, view.tensor_shard[k]);
        if (!inserted) {
            return fail(fmt::format("tensor '{}' appears in both '{}' and '{}'",
                                    merged.tensors[k].name, view.shards[it->second].name,
                                    view.shards[view.tensor_shard[k]].name));
        }
    }
    return view;
}

} // namespace gpumod::gguf
