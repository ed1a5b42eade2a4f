#include "app/cmd_compare.hpp"

#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

#include <fmt/format.h>

#include "adapters/bench/run_store.hpp"
#include "adapters/bench/suite_loader.hpp"
#include "adapters/posix/atomic_file.hpp"
#include "adapters/posix/environment.hpp"
#include "adapters/sqlite/database.hpp"
#include "app/exit_codes.hpp"
#include "core/bench/result_codec.hpp"
#include "core/paths/xdg_paths.hpp"
#include "core/report/comparison.hpp"
#include "core/report/render_html.hpp"
#include "core/report/render_json.hpp"
#include "core/report/render_markdown.hpp"

namespace gpumod::app {
namespace {

namespace fs = std::filesystem;

/// A run loaded for the report, and where it came from (for the Files section).
struct LoadedRun
{
    bench::RunRecord run;
    std::string source;
};

/// Failure to load an input: the message and the exit code it deserves.
struct LoadError
{
    std::string message;
    int exit_code = k_exit_usage;
};

/// Opens the database lazily: only run ids need it, result files do not.
class LazyStore
{
  public:
    explicit LazyStore(const GlobalOptions& global) : m_global(global) {}

    tl::expected<bench::RunStore*, LoadError> get()
    {
        if (m_store) {
            return &*m_store;
        }
        auto path = resolve_database_path(m_global.db_path, posix::path_environment());
        if (!path) {
            return tl::unexpected(LoadError{path.error().message, k_exit_environment});
        }
        std::error_code ec;
        if (!fs::exists(path->path, ec)) {
            return tl::unexpected(LoadError{
                fmt::format("no database at {}: give result files (result_<id>.json) or point "
                            "--db at the database the runs were recorded in",
                            path->path.string()),
                k_exit_usage});
        }
        auto db = sqlite::Database::open(path->path);
        if (!db) {
            return tl::unexpected(LoadError{db.error().message, k_exit_environment});
        }
        m_db.emplace(std::move(*db));
        m_store.emplace(*m_db);
        m_path = path->path;
        return &*m_store;
    }

    [[nodiscard]] const fs::path& path() const { return m_path; }

  private:
    const GlobalOptions& m_global;
    std::optional<sqlite::Database> m_db;
    std::optional<bench::RunStore> m_store;
    fs::path m_path;
};

bool looks_like_path(const std::string& text)
{
    return text.find('/') != std::string::npos ||
           (text.size() > 5 && text.compare(text.size() - 5, 5, ".json") == 0);
}

tl::expected<LoadedRun, LoadError> load_input(const std::string& what, std::string_view role,
                                              LazyStore& store)
{
    std::error_code ec;
    if (fs::is_regular_file(what, ec)) {
        std::ifstream in(what, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        if (!in.good() && !in.eof()) {
            return tl::unexpected(LoadError{fmt::format("{}: cannot read {}", role, what)});
        }
        auto run = bench::decode_result_file(text.str());
        if (!run) {
            return tl::unexpected(LoadError{fmt::format("{}: {} is not a gpumod result file: {}",
                                                        role, what, run.error().message)});
        }
        return LoadedRun{std::move(*run), what};
    }
    if (looks_like_path(what)) {
        return tl::unexpected(LoadError{fmt::format(
            "{}: no file {}; give a result file (result_<id>.json) or a run id from `gpumod "
            "bench list`",
            role, what)});
    }
    auto opened = store.get();
    if (!opened) {
        return tl::unexpected(opened.error());
    }
    auto id = (*opened)->find_run_by_prefix(what);
    if (!id) {
        return tl::unexpected(LoadError{fmt::format("{}: {}", role, id.error().message)});
    }
    if (!*id) {
        return tl::unexpected(LoadError{fmt::format(
            "{}: '{}' is neither a file nor a run in {}; `gpumod bench list` shows the runs", role,
            what, store.path().string())});
    }
    auto run = (*opened)->load_run(**id);
    if (!run || !*run) {
        return tl::unexpected(LoadError{
            fmt::format("{}: {}", role, run ? "run vanished: " + **id : run.error().message),
            k_exit_environment});
    }
    return LoadedRun{std::move(**run), "database run " + **id};
}

/// Level titles from the suite the base run used, when it is still there unchanged.
std::map<std::string, std::string> level_titles(const bench::RunRecord& run)
{
    std::map<std::string, std::string> titles;
    if (run.config.suite_dir.empty()) {
        return titles;
    }
    std::error_code ec;
    if (!fs::is_directory(run.config.suite_dir, ec)) {
        return titles;
    }
    auto suite = bench::load_suite(run.config.suite_dir);
    if (!suite || suite->content_hash != run.config.suite_hash) {
        return titles;
    }
    for (const auto& level : suite->levels) {
        titles[level.id] = level.title;
    }
    return titles;
}

Status write_text(const fs::path& path, const std::string& text)
{
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(text.data());
    return posix::write_file_atomically(path, {bytes, text.size()}, posix::ExistingFile::replace);
}

} // namespace

int cmd_bench_compare(const GlobalOptions& global, const BenchCompareOptions& options,
                      std::ostream& out, std::ostream& err)
{
    if (options.format != "md" && options.format != "json" && options.format != "html") {
        err << "gpumod: --format must be md, json or html, not '" << options.format << "'\n";
        return k_exit_usage;
    }
    if (!options.smoke.empty() && options.smoke.size() != 2) {
        err << "gpumod: --smoke takes two runs: BASE_SMOKE CAND_SMOKE\n";
        return k_exit_usage;
    }

    LazyStore store(global);
    std::vector<LoadedRun> runs;
    const std::vector<std::pair<std::string, std::string_view>> inputs = [&] {
        std::vector<std::pair<std::string, std::string_view>> list{{options.base, "BASE"},
                                                                   {options.cand, "CAND"}};
        if (options.smoke.size() == 2) {
            list.emplace_back(options.smoke[0], "BASE_SMOKE");
            list.emplace_back(options.smoke[1], "CAND_SMOKE");
        }
        return list;
    }();
    for (const auto& [what, role] : inputs) {
        auto loaded = load_input(what, role, store);
        if (!loaded) {
            err << "gpumod: " << loaded.error().message << "\n";
            return loaded.error().exit_code;
        }
        runs.push_back(std::move(*loaded));
    }
    const bench::RunRecord* base_smoke = runs.size() == 4 ? &runs[2].run : nullptr;
    const bench::RunRecord* cand_smoke = runs.size() == 4 ? &runs[3].run : nullptr;
    if (auto ok = report::check_comparable(runs[0].run, runs[1].run, base_smoke, cand_smoke); !ok) {
        err << "gpumod: " << ok.error().message << "\n";
        return k_exit_usage;
    }

    report::CompareOptions compare;
    compare.label_base = options.label_base.value_or("");
    compare.label_cand = options.label_cand.value_or("");
    if (options.seed) {
        compare.seed = *options.seed;
    }
    compare.level_titles = level_titles(runs[0].run);
    compare.source_base = runs[0].source;
    compare.source_cand = runs[1].source;
    if (runs.size() == 4) {
        compare.source_base_smoke = runs[2].source;
        compare.source_cand_smoke = runs[3].source;
    }
    const auto comparison =
        report::compare_runs(runs[0].run, runs[1].run, base_smoke, cand_smoke, compare);
    const std::string markdown = report::render_markdown(comparison);
    const std::string json = report::render_json(comparison);
    const std::string html = report::render_html(comparison);

    const fs::path dir = options.out.value_or(
        fs::path(fmt::format("gpumod-report-{}-vs-{}", runs[0].run.id, runs[1].run.id)));
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        err << "gpumod: cannot create " << dir.string() << ": " << ec.message() << "\n";
        return k_exit_environment;
    }
    for (const auto& [name, text] :
         {std::pair{"report.md", &markdown}, std::pair{"report.json", &json},
          std::pair{"report.html", &html}}) {
        if (auto written = write_text(dir / name, *text); !written) {
            err << "gpumod: " << written.error().message << "\n";
            return k_exit_environment;
        }
    }
    if (options.format == "json") {
        out << json;
    } else if (options.format == "html") {
        // A whole HTML page is no use on a terminal: say where it is.
        out << (dir / "report.html").string() << "\n";
    } else {
        out << markdown;
    }
    err << fmt::format("gpumod: report written to {} (also report.json, report.html)\n",
                       (dir / "report.md").string());
    return k_exit_ok;
}

} // namespace gpumod::app
