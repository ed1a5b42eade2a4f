#pragma once

// Hand-built GGUF headers shaped like real architectures, for the architecture and planner
// tests: only the metadata and tensor infos the planner reads, no tensor data.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/gguf/gguf_reader.hpp"
#include "core/gguf/gguf_types.hpp"

namespace gpumod::testing {

class HeaderBuilder
{
public:
    explicit HeaderBuilder(std::string arch) : m_arch(std::move(arch))
    {
        set("general.architecture", gguf::Value(m_arch));
    }

    /// Sets `<arch>.<key>` to a uint32.
    HeaderBuilder& u32(const std::string& key, uint32_t value)
    {
        return set(m_arch + "." + key, gguf::Value(value));
    }

    /// Sets `<arch>.<key>` to an array of uint32 (one value per layer).
    HeaderBuilder& u32_array(const std::string& key, const std::vector<uint32_t>& values)
    {
        gguf::Array array;
        array.element_type = gguf::ValueType::uint32;
        for (uint32_t v : values) {
            array.items.emplace_back(v);
        }
        return set(m_arch + "." + key, gguf::Value(std::move(array)));
    }

    HeaderBuilder& set(const std::string& key, gguf::Value value)
    {
        m_header.metadata.push_back(gguf::MetadataEntry{key, std::move(value)});
        return *this;
    }

    /// Adds a tensor with `bytes` bytes (shape and type are not read by the planner).
    HeaderBuilder& tensor(const std::string& name, uint64_t bytes, std::vector<uint64_t> shape = {})
    {
        gguf::TensorInfo t;
        t.name = name;
        t.shape = shape.empty() ? std::vector<uint64_t>{bytes / 4} : std::move(shape);
        t.type = gguf::TensorType::f32;
        t.byte_size = bytes;
        m_header.tensors.push_back(std::move(t));
        return *this;
    }

    /// Adds `per_layer` bytes of attention/FFN tensors to every block 0..n-1.
    HeaderBuilder& blocks(uint32_t n, uint64_t per_layer)
    {
        for (uint32_t il = 0; il < n; ++il) {
            tensor("blk." + std::to_string(il) + ".attn_k.weight", per_layer / 2);
            tensor("blk." + std::to_string(il) + ".ffn_up.weight", per_layer - per_layer / 2);
        }
        return *this;
    }

    [[nodiscard]] const gguf::GgufHeader& header() const { return m_header; }

private:
    std::string m_arch;
    gguf::GgufHeader m_header;
};

/// Llama-3.1-8B's geometry: 32 layers, 4096 wide, 32 heads / 8 KV heads of 128, 14336 FFN,
/// 128256 tokens, 131072 context; weights 1 GiB per... scaled (8 GiB of blocks).
inline HeaderBuilder llama8b()
{
    HeaderBuilder b("llama");
    b.u32("block_count", 32)
        .u32("embedding_length", 4096)
        .u32("attention.head_count", 32)
        .u32("attention.head_count_kv", 8)
        .u32("feed_forward_length", 14336)
        .u32("context_length", 131072)
        .u32("vocab_size", 128256)
        .blocks(32, uint64_t{218} << 20U)
        .tensor("token_embd.weight", uint64_t{525} << 20U)
        .tensor("output.weight", uint64_t{525} << 20U)
        .tensor("output_norm.weight", 16384);
    return b;
}

} // namespace gpumod::testing
