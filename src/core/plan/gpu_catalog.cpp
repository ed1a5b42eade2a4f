#include "core/plan/gpu_catalog.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <cmath>

namespace gpumod::plan {

namespace {

constexpr uint64_t k_mib = uint64_t{1} << 20U;

// Totals as nvidia-smi / NVML print them for these cards (slightly under the nominal size
// for some, because the driver reserves memory).
constexpr std::array<GpuModel, 9> k_catalog{{
    {"rtx3060-12gb", "NVIDIA GeForce RTX 3060 12GB", 12288 * k_mib},
    {"rtx3090", "NVIDIA GeForce RTX 3090", 24576 * k_mib},
    {"rtx4090", "NVIDIA GeForce RTX 4090", 24564 * k_mib},
    {"rtx5090", "NVIDIA GeForce RTX 5090", 32607 * k_mib},
    {"a100-40gb", "NVIDIA A100 40GB", 40960 * k_mib},
    {"a100-80gb", "NVIDIA A100 80GB", 81920 * k_mib},
    {"h100", "NVIDIA H100 80GB", 81559 * k_mib},
    {"h200", "NVIDIA H200", 143771 * k_mib},
    {"l40s", "NVIDIA L40S", 46068 * k_mib},
}};

std::string lower(std::string_view text)
{
    std::string out(text);
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::string known_names()
{
    std::string names;
    for (const auto& card : k_catalog) {
        names += names.empty() ? "" : ", ";
        names += card.id;
    }
    return names;
}

} // namespace

std::span<const GpuModel> gpu_catalog()
{
    return k_catalog;
}

Result<GpuCapacity> resolve_gpu(std::string_view text)
{
    const std::string key = lower(text);
    for (const auto& card : k_catalog) {
        if (key == card.id) {
            return GpuCapacity{fmt::format("{} ({} MiB)", card.name, card.memory_bytes / k_mib),
                               card.memory_bytes};
        }
    }
    // A size: digits with an optional fraction, then a unit.
    std::size_t i = 0;
    double value = 0;
    double scale = 1;
    bool any_digit = false;
    bool fraction = false;
    for (; i < key.size(); ++i) {
        const char c = key[i];
        if (c >= '0' && c <= '9') {
            any_digit = true;
            if (fraction) {
                scale /= 10;
                value += (c - '0') * scale;
            } else {
                value = value * 10 + (c - '0');
            }
        } else if (c == '.' && !fraction) {
            fraction = true;
        } else {
            break;
        }
    }
    const std::string unit = key.substr(i);
    struct Unit
    {
        std::string_view name;
        double factor;
    };
    static constexpr std::array<Unit, 9> units{{{"b", 1.0},
                                               {"kb", 1e3},
                                               {"mb", 1e6},
                                               {"gb", 1e9},
                                               {"tb", 1e12},
                                               {"kib", 1024.0},
                                               {"mib", 1048576.0},
                                               {"gib", 1073741824.0},
                                               {"tib", 1099511627776.0}}};
    if (any_digit) {
        for (const auto& u : units) {
            if (unit == u.name) {
                const double bytes = std::floor(value * u.factor);
                if (bytes <= 0 || bytes > 1e18) {
                    break;
                }
                return GpuCapacity{std::string(text), static_cast<uint64_t>(bytes)};
            }
        }
    }
    return fail(fmt::format("--gpu '{}' is neither a known card ({}) nor a size such as 24GiB, "
                            "24GB or 24576MiB",
                            text, known_names()));
}

} // namespace gpumod::plan
