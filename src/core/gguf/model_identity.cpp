#include "core/gguf/model_identity.hpp"

#include <array>
#include <cctype>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/gguf/inspect_render.hpp"

namespace gpumod::gguf {
namespace {

/// llama.cpp's enum llama_ftype (include/llama.h); ids it retired are left out.
constexpr std::array<std::pair<uint32_t, std::string_view>, 35> k_file_types{{
    {0, "F32"},      {1, "F16"},      {2, "Q4_0"},       {3, "Q4_1"},    {7, "Q8_0"},
    {8, "Q5_0"},     {9, "Q5_1"},     {10, "Q2_K"},      {11, "Q3_K_S"}, {12, "Q3_K_M"},
    {13, "Q3_K_L"},  {14, "Q4_K_S"},  {15, "Q4_K_M"},    {16, "Q5_K_S"}, {17, "Q5_K_M"},
    {18, "Q6_K"},    {19, "IQ2_XXS"}, {20, "IQ2_XS"},    {21, "Q2_K_S"}, {22, "IQ3_XS"},
    {23, "IQ3_XXS"}, {24, "IQ1_S"},   {25, "IQ4_NL"},    {26, "IQ3_S"},  {27, "IQ3_M"},
    {28, "IQ2_S"},   {29, "IQ2_M"},   {30, "IQ4_XS"},    {31, "IQ1_M"},  {32, "BF16"},
    {36, "TQ1_0"},   {37, "TQ2_0"},   {38, "MXFP4_MOE"}, {39, "NVFP4"},  {40, "Q1_0"},
}};

std::optional<std::string> string_of(const GgufHeader& header, std::string_view key)
{
    if (const Value* value = header.find(key)) {
        if (const std::string* text = value->as_string(); text != nullptr && !text->empty()) {
            return *text;
        }
    }
    return std::nullopt;
}

std::string upper(std::string_view text)
{
    std::string out(text);
    for (char& c : out) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

bool is_alnum(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

/// "Q4_K_M", "IQ4_XS", "Q8_0", "TQ1_0", "BF16", "F16", "MXFP4_MOE" (upper case).
bool is_quant_token(const std::string& token)
{
    for (const char* plain : {"F32", "F16", "BF16", "FP16", "FP8", "MXFP4", "MXFP4_MOE", "NVFP4"}) {
        if (token == plain) {
            return true;
        }
    }
    std::size_t i = 0;
    if (token.rfind("IQ", 0) == 0 || token.rfind("TQ", 0) == 0) {
        i = 2;
    } else if (token.rfind('Q', 0) == 0) {
        i = 1;
    } else {
        return false;
    }
    if (i >= token.size() || std::isdigit(static_cast<unsigned char>(token[i])) == 0) {
        return false;
    }
    ++i;
    // Then "_PART" groups of letters and digits, nothing else ("Q4_K_M", "Q8_0").
    while (i < token.size()) {
        if (token[i] != '_' || i + 1 >= token.size()) {
            return false;
        }
        ++i;
        const std::size_t start = i;
        while (i < token.size() && is_alnum(token[i])) {
            ++i;
        }
        if (i == start) {
            return false;
        }
    }
    return true;
}

} // namespace

std::optional<std::string_view> file_type_name(uint32_t file_type)
{
    for (const auto& [id, name] : k_file_types) {
        if (id == file_type) {
            return name;
        }
    }
    return std::nullopt;
}

ModelIdentity identify_model(const GgufHeader& header)
{
    ModelIdentity identity;
    for (const TensorTypeTotal& total : tensor_type_totals(header.tensors)) {
        identity.parameters = total.elements > UINT64_MAX - identity.parameters
                                  ? UINT64_MAX
                                  : identity.parameters + total.elements;
    }
    if (const Value* value = header.find("general.file_type")) {
        if (const auto id = value->as_uint(); id && *id <= UINT32_MAX) {
            if (const auto name = file_type_name(static_cast<uint32_t>(*id))) {
                identity.quantization = std::string(*name);
            }
        }
    }
    // Unknown ids (1024 is llama.cpp's "guessed") fall back to what the tensors are.
    if (!identity.quantization) {
        const auto totals = tensor_type_totals(header.tensors);
        if (!totals.empty()) {
            identity.quantization =
                fmt::format("mostly {}", tensor_type_info(totals.front().type).name);
        }
    }
    identity.architecture = string_of(header, "general.architecture");
    identity.name = string_of(header, "general.name");
    identity.basename = string_of(header, "general.basename");
    identity.finetune = string_of(header, "general.finetune");
    identity.size_label = string_of(header, "general.size_label");
    return identity;
}

std::optional<std::string> quantization_from_file_name(std::string_view file_name)
{
    std::string_view stem = file_name;
    if (const auto slash = stem.find_last_of('/'); slash != std::string_view::npos) {
        stem.remove_prefix(slash + 1);
    }
    if (stem.size() > 5 && upper(stem.substr(stem.size() - 5)) == ".GGUF") {
        stem.remove_suffix(5);
    }
    // The tag is the last quantization-like token: it follows the model's own name, and a
    // split model's "-00001-of-00003" holds none.
    const std::string upper_stem = upper(stem);
    std::vector<std::string> tokens;
    std::string current;
    for (const char c : upper_stem) {
        if (c == '-' || c == '.' || c == ' ') {
            tokens.push_back(std::move(current));
            current.clear();
        } else {
            current.push_back(c);
        }
    }
    tokens.push_back(std::move(current));
    for (std::size_t i = tokens.size(); i-- > 0;) {
        if (is_quant_token(tokens[i])) {
            if (i > 0 && tokens[i - 1] == "UD") {
                return "UD-" + tokens[i];
            }
            return tokens[i];
        }
    }
    return std::nullopt;
}

} // namespace gpumod::gguf
