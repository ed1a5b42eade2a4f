#include "core/bench/sampler.hpp"

#include <array>

namespace gpumod::bench {
namespace {

std::array<Sampler, 4> builtin_samplers()
{
    // Qwen3 model cards: thinking mode wants 0.6 / 0.95 / 20 / 0; greedy decoding makes it
    // repeat itself, so this is the default for coding runs.
    Sampler thinking;
    thinking.name = "thinking-coding";
    thinking.temperature = 0.6;
    thinking.top_p = 0.95;
    thinking.top_k = 20;
    thinking.min_p = 0.0;

    // Qwen3 non-thinking mode: 0.7 / 0.8 / 20 / 0, and thinking switched off in the template.
    Sampler non_thinking;
    non_thinking.name = "non-thinking";
    non_thinking.temperature = 0.7;
    non_thinking.top_p = 0.8;
    non_thinking.top_k = 20;
    non_thinking.min_p = 0.0;
    non_thinking.enable_thinking = false;

    // Gemma 3 model card: 1.0 / 0.95 / 64 / 0.
    Sampler gemma;
    gemma.name = "gemma-coding";
    gemma.temperature = 1.0;
    gemma.top_p = 0.95;
    gemma.top_k = 64;
    gemma.min_p = 0.0;

    // Always the likeliest token: for reproducing one reply, not for scoring a model.
    Sampler greedy;
    greedy.name = "greedy";
    greedy.temperature = 0.0;
    greedy.top_k = 1;

    return {thinking, non_thinking, gemma, greedy};
}

} // namespace

std::optional<Sampler> builtin_sampler(std::string_view name)
{
    for (auto& sampler : builtin_samplers()) {
        if (sampler.name == name) {
            return sampler;
        }
    }
    return std::nullopt;
}

std::vector<std::string> builtin_sampler_names()
{
    std::vector<std::string> names;
    for (const auto& sampler : builtin_samplers()) {
        names.push_back(sampler.name);
    }
    return names;
}

} // namespace gpumod::bench
