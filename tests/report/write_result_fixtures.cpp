// Writes the seed report's runs (tests/support/seed_runs.hpp) as result files into a directory,
// so the report checks in tests/report/ can run the built `gpumod bench compare` on them. The
// candidate's model file name carries markup characters, as a result file may: the reports
// must escape them.

#include <filesystem>
#include <fstream>
#include <iostream>
#include <system_error>
#include <utility>
#include <vector>

#include "../support/seed_runs.hpp"
#include "core/bench/result_codec.hpp"
#include "core/bench/summary.hpp"

int main(int argc, char** argv)
{
    namespace fs = std::filesystem;
    namespace seed = gpumod::testing::seed;
    if (argc != 2) {
        std::cerr << "usage: write_result_fixtures DIR\n";
        return 2;
    }
    const fs::path dir = argv[1];
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        std::cerr << "write_result_fixtures: cannot create " << dir << ": " << ec.message() << "\n";
        return 1;
    }
    auto cand = seed::candidate();
    auto cand_smoke = seed::candidate_smoke();
    cand.model.file_name = "heretic<&\"'>-Q3_K_L.gguf";
    cand_smoke.model.file_name = cand.model.file_name;
    const std::vector<std::pair<const char*, gpumod::bench::RunRecord>> files{
        {"base.json", seed::baseline()},
        {"cand.json", cand},
        {"base_smoke.json", seed::baseline_smoke()},
        {"cand_smoke.json", cand_smoke},
    };
    for (const auto& [name, run] : files) {
        std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
        out << gpumod::bench::encode_result_file(
            run, gpumod::bench::encode_summary(gpumod::bench::summarize_run(run)));
        if (!out) {
            std::cerr << "write_result_fixtures: cannot write " << (dir / name) << "\n";
            return 1;
        }
    }
    return 0;
}
