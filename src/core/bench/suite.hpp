#pragma once

// A benchmark suite as typed data (docs/suites.md): levels with their prompt, points, timeout,
// the files an answer must provide and the pytest files that grade it. Loaded from disk by
// adapters/bench/suite_loader; the core only sees these values.

#include <chrono>
#include <string>
#include <vector>

namespace gpumod::bench {

/// A file by relative path and content (a level's test file, an extracted answer file).
struct SuiteFile
{
    std::string path; ///< relative, '/'-separated
    std::string text;

    bool operator==(const SuiteFile&) const = default;
};

/// One level: one prompt, graded all-or-nothing by its tests.
struct Level
{
    std::string id;    ///< "L1"
    std::string dir;   ///< directory name inside the suite, "L1-fifo-queue"
    std::string title; ///< "Thread-safe FIFO job queue"
    int points = 0;
    std::chrono::seconds timeout{30};  ///< wall limit of the whole pytest run
    std::vector<std::string> files;    ///< files the answer must provide
    std::vector<std::string> modules;  ///< modules the tests import
    std::string prompt;                ///< prompt.md, sent verbatim as the user message
    std::vector<SuiteFile> tests;      ///< everything under tests/, paths relative to it

    bool operator==(const Level&) const = default;
};

/// A whole suite, levels in run order.
struct Suite
{
    std::string name;
    int version = 0;
    std::string description;
    std::vector<Level> levels;
    /// SHA-256 (hex) over every prompt and test file in a canonical order: two runs with the
    /// same hash asked the same questions and graded with the same tests.
    std::string content_hash;

    /// The level with this id, or nullptr.
    [[nodiscard]] const Level* find_level(const std::string& id) const
    {
        for (const auto& level : levels)
            if (level.id == id)
                return &level;
        return nullptr;
    }
    /// Sum of the levels' points (100 for a valid suite).
    [[nodiscard]] int total_points() const
    {
        int total = 0;
        for (const auto& level : levels)
            total += level.points;
        return total;
    }
};

} // namespace gpumod::bench
