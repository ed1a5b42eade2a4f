#include "core/report/progress.hpp"

#include "core/report/text_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace gpumod::report {
namespace {

/// Past a few decades the number is meaningless anyway; clamping keeps llround defined.
constexpr double k_max_seconds = 1e9;

/// The parts of the line, in display order; `bar` is filled in once its width is known.
enum Part : std::size_t
{
    part_label,
    part_bar,
    part_counts,
    part_percent,
    part_pass,
    part_elapsed,
    part_eta,
    part_count,
};

std::string join(const std::array<std::optional<std::string>, part_count>& parts)
{
    std::string line;
    for (const auto& part : parts) {
        if (part) {
            if (!line.empty()) {
                line += "  ";
            }
            line += *part;
        }
    }
    return line;
}

/// The first `width` code points of `text` (progress text is ASCII but labels may not be).
std::string cut_to_width(const std::string& text, std::size_t width)
{
    std::size_t points = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if ((byte & 0xC0U) != 0x80U) {
            if (points == width) {
                return text.substr(0, i);
            }
            ++points;
        }
    }
    return text;
}

std::string draw_bar(std::size_t done, std::size_t total, std::size_t width)
{
    const std::size_t filled = total == 0 ? 0 : done * width / total;
    return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
}

} // namespace

std::string format_duration(double seconds)
{
    if (!std::isfinite(seconds) || seconds < 0) {
        seconds = 0;
    }
    const auto whole = static_cast<std::uint64_t>(std::llround(std::min(seconds, k_max_seconds)));
    const std::uint64_t hours = whole / 3600;
    const std::uint64_t minutes = whole % 3600 / 60;
    const std::uint64_t secs = whole % 60;
    if (hours > 0) {
        return fmt::format("{}h{:02}m{:02}s", hours, minutes, secs);
    }
    if (minutes > 0) {
        return fmt::format("{}m{:02}s", minutes, secs);
    }
    return fmt::format("{}s", secs);
}

std::optional<double> eta_seconds(const ProgressSnapshot& snapshot)
{
    const std::size_t done = std::min(snapshot.done, snapshot.total);
    if (done >= snapshot.total) {
        return 0.0;
    }
    if (done == 0) {
        return std::nullopt;
    }
    return snapshot.elapsed_seconds / static_cast<double>(done) *
           static_cast<double>(snapshot.total - done);
}

std::string render_progress(const ProgressSnapshot& snapshot, std::size_t width, bool show_bar)
{
    const std::size_t done = std::min(snapshot.done, snapshot.total);
    const std::size_t percent_done = snapshot.total == 0 ? 0 : done * 100 / snapshot.total;
    const auto eta = eta_seconds(snapshot);

    std::array<std::optional<std::string>, part_count> parts;
    if (!snapshot.label.empty()) {
        parts[part_label] = snapshot.label;
    }
    parts[part_counts] = fmt::format("{}/{}", done, snapshot.total);
    parts[part_percent] = fmt::format("{}%", percent_done);
    if (snapshot.pass) {
        parts[part_pass] = fmt::format("pass {}/{}", snapshot.pass->passed, snapshot.pass->judged);
    }
    parts[part_elapsed] = "elapsed " + format_duration(snapshot.elapsed_seconds);
    parts[part_eta] = "ETA " + (eta ? format_duration(*eta) : std::string("--"));

    if (width == 0) {
        if (show_bar) {
            parts[part_bar] = draw_bar(done, snapshot.total, k_progress_bar_max);
        }
        return join(parts);
    }

    // The bar takes what the text leaves, plus its two brackets and one separator.
    const std::size_t text_width = display_width(join(parts));
    const std::size_t bar_overhead = 2 + 2;
    if (show_bar && text_width + bar_overhead + k_progress_bar_min <= width) {
        const std::size_t bar_width =
            std::min(k_progress_bar_max, width - text_width - bar_overhead);
        parts[part_bar] = draw_bar(done, snapshot.total, bar_width);
        return join(parts);
    }
    for (const Part drop : {part_label, part_elapsed, part_pass, part_percent}) {
        if (display_width(join(parts)) <= width) {
            break;
        }
        parts[drop].reset();
    }
    return cut_to_width(join(parts), width);
}

} // namespace gpumod::report
