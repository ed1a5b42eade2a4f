#pragma once

// Who a model is, for benchmark records and comparison reports: parameter count, quantization
// and the general.* names, read from a GGUF header; and the quantization tag a file name
// carries ("...-UD-IQ4_XS.gguf"), for models gpumod cannot open. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/gguf/gguf_reader.hpp"

namespace gpumod::gguf {

/// What a GGUF header says about the model's identity; unset where the header is silent.
struct ModelIdentity
{
    uint64_t parameters = 0;                 ///< sum of the tensors' elements (saturating)
    std::optional<std::string> quantization; ///< file type name ("Q4_K_M"), see below
    std::optional<std::string> architecture; ///< general.architecture
    std::optional<std::string> name;         ///< general.name
    std::optional<std::string> basename;     ///< general.basename (the family, e.g. "Qwen3.6")
    std::optional<std::string> finetune;     ///< general.finetune
    std::optional<std::string> size_label;   ///< general.size_label ("35B-A3B")
};

/// llama.cpp's name of a general.file_type value (llama_ftype: 15 -> "Q4_K_M", 30 ->
/// "IQ4_XS"); nullopt for ids llama.cpp does not define.
std::optional<std::string_view> file_type_name(uint32_t file_type);

/// The identity of the model whose (merged) header this is. The quantization is the
/// general.file_type name, else the tensor type holding most bytes ("mostly q4_K").
ModelIdentity identify_model(const GgufHeader& header);

/// The quantization tag in a model file name, as written there: "Qwen3.6-35B-UD-IQ4_XS.gguf"
/// -> "UD-IQ4_XS", "model.Q4_K_M.gguf" -> "Q4_K_M", "x-f16.gguf" -> "F16"; nullopt when the
/// name carries none.
std::optional<std::string> quantization_from_file_name(std::string_view file_name);

} // namespace gpumod::gguf
