// Times a switch between two tiny-model llama-server services through gpumod's supervisor:
// stop A, start B, B ready; then back. An independent watcher thread polls B's log every
// 0.2 ms for llama-server's own "listening" line, so the time gpumod needed to *notice*
// readiness is measured against the line itself, not against gpumod's own clock.
//
//   switch_latency [--runs N] [--llama-server PATH] [--threads T] [--dir D]   (Markdown out)
//
// Overhead = total - llama-server's load (exec done -> its "listening" line appears):
// what gpumod adds (stop, spawn, detection, bookkeeping) beyond the server's own work.

#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "adapters/posix/atomic_file.hpp"
#include "adapters/posix/clock.hpp"
#include "adapters/posix/environment.hpp"
#include "adapters/posix/net.hpp"
#include "adapters/services/log_file.hpp"
#include "adapters/services/supervisor.hpp"
#include "adapters/sqlite/database.hpp"
#include "core/gguf/gguf_writer.hpp"
#include "core/gguf/tiny_model.hpp"
#include "core/services/log_diagnosis.hpp"

namespace {

using namespace gpumod;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// Watches one log file for the listening line; survives rotation (inode change).
class LineWatcher
{
  public:
    explicit LineWatcher(std::filesystem::path path) : m_path(std::move(path))
    {
        m_thread = std::jthread([this](std::stop_token stop) { run(stop); });
    }
    /// Forgets the last sighting; the next line seen after this call counts.
    void arm()
    {
        std::lock_guard lock(m_mutex);
        m_seen.reset();
        m_armed = true;
    }
    /// When the line was first seen since arm().
    std::optional<Clock::time_point> seen()
    {
        std::lock_guard lock(m_mutex);
        return m_seen;
    }

  private:
    void run(const std::stop_token& stop)
    {
        uint64_t inode = 0;
        uint64_t offset = 0;
        LineSplitter splitter;
        while (!stop.stop_requested()) {
            struct stat st = {};
            if (::stat(m_path.c_str(), &st) == 0) {
                if (static_cast<uint64_t>(st.st_ino) != inode) {
                    inode = static_cast<uint64_t>(st.st_ino);
                    offset = 0;
                    splitter = LineSplitter();
                }
                services::LogCursor cursor(m_path, offset);
                const std::string fresh = cursor.read_new();
                offset = cursor.offset();
                const auto now = posix::monotonic_now();
                for (const auto& line : splitter.feed(fresh)) {
                    if (readiness_signal(line) == ReadinessSignal::listening) {
                        std::lock_guard lock(m_mutex);
                        if (m_armed && !m_seen) {
                            m_seen = now;
                        }
                    }
                }
            }
            std::this_thread::sleep_for(200us);
        }
    }

    std::filesystem::path m_path;
    std::mutex m_mutex; ///< guards m_seen and m_armed
    std::optional<Clock::time_point> m_seen;
    bool m_armed = false;
    std::jthread m_thread;
};

struct Sample
{
    double stop_ms = 0;
    double spawn_ms = 0;
    double load_ms = 0;         ///< exec done -> listening line (watcher)
    double detect_ms = 0;       ///< listening line (watcher) -> gpumod ready
    double total_ms = 0;        ///< stop + start + ready
    double overhead_ms = 0;     ///< total - load
    double start_overhead_ms = 0; ///< overhead without the stop (spawn + detect + rest)
    double server_clock_ms = 0; ///< llama-server's own timestamp of the line
};

double quantile(std::vector<double> values, double q)
{
    if (values.empty()) {
        return 0;
    }
    std::sort(values.begin(), values.end());
    // Nearest rank, so p95 is an observed value.
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

double ms(Clock::duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

} // namespace

int main(int argc, char** argv)
{
    int runs = 30;
    std::string server = posix::get_env("GPUMOD_LLAMA_SERVER").value_or("");
    std::string threads = "1";
    std::string base = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--runs") {
            runs = std::atoi(argv[i + 1]);
        } else if (flag == "--llama-server") {
            server = argv[i + 1];
        } else if (flag == "--dir") {
            base = argv[i + 1];
        } else if (flag == "--threads") {
            threads = argv[i + 1];
        }
    }
    if (server.empty()) {
        std::fprintf(stderr, "switch_latency: set GPUMOD_LLAMA_SERVER or pass --llama-server\n");
        return 2;
    }
    std::string dir_template = base + "/gpumod-switch-latency-XXXXXX";
    if (::mkdtemp(dir_template.data()) == nullptr) {
        return 3;
    }
    const std::filesystem::path dir = dir_template;
    auto model = gguf::make_scripted_model({}, gguf::TinyModelOptions{1024, 42});
    auto bytes = gguf::write_gguf(model->model);
    if (!posix::write_file_atomically(dir / "tiny.gguf", *bytes)) {
        return 3;
    }
    auto db = sqlite::Database::open(dir / "gpumod.db");
    if (!db) {
        std::fprintf(stderr, "%s\n", db.error().message.c_str());
        return 3;
    }
    services::SupervisorOptions options;
    options.state_dir = dir / "state";
    services::Supervisor supervisor(*db, options);

    auto spec = [&](const std::string& id) {
        const auto port = static_cast<uint16_t>(*posix::find_free_loopback_port());
        ServiceSpec s;
        s.id = id;
        s.port = port;
        s.argv = {server, "-m", (dir / "tiny.gguf").string(), "--host", "127.0.0.1", "--port",
                  std::to_string(port), "-c", "512", "-np", "1", "-t", threads};
        return s;
    };
    const std::vector<ServiceSpec> specs{spec("a"), spec("b")};
    std::map<std::string, std::unique_ptr<LineWatcher>> watchers;
    for (const auto& s : specs) {
        std::filesystem::create_directories(options.state_dir / "logs");
        watchers[s.id] = std::make_unique<LineWatcher>(supervisor.log_path(s.id));
    }

    if (auto first = supervisor.start(specs[0]); !first.ok) {
        std::fprintf(stderr, "%s\n", first.error.c_str());
        return 1;
    }
    std::vector<Sample> samples;
    int failures = 0;
    for (int run = 0; run < runs + 1; ++run) {
        const auto& from = specs[static_cast<std::size_t>(run % 2)];
        const auto& to = specs[static_cast<std::size_t>((run + 1) % 2)];
        watchers[to.id]->arm();
        const auto begin = posix::monotonic_now();
        auto stopped = supervisor.stop(from.id);
        const auto after_stop = posix::monotonic_now();
        const auto outcome = supervisor.start(to);
        const auto ready = posix::monotonic_now();
        if (!stopped || !outcome.ok) {
            ++failures;
            std::fprintf(stderr, "run %d failed: %s\n", run, outcome.error.c_str());
            continue;
        }
        // Give the watcher its last poll interval to report a line it saw in time.
        std::optional<Clock::time_point> line;
        for (int i = 0; i < 100 && !line; ++i) {
            line = watchers[to.id]->seen();
            if (!line) {
                std::this_thread::sleep_for(1ms);
            }
        }
        if (run == 0 || !line) {
            continue; // warm-up (page cache, first HTTP connection) or a missed line
        }
        const auto spawned = after_stop + std::chrono::microseconds(outcome.timings.spawn_us);
        Sample s;
        s.stop_ms = ms(after_stop - begin);
        s.spawn_ms = static_cast<double>(outcome.timings.spawn_us) / 1000.0;
        s.load_ms = ms(*line - spawned);
        s.detect_ms = ms(ready - *line);
        s.total_ms = ms(ready - begin);
        s.overhead_ms = s.total_ms - s.load_ms;
        s.start_overhead_ms = s.overhead_ms - s.stop_ms;
        s.server_clock_ms =
            static_cast<double>(outcome.timings.server_clock_listening_us.value_or(0)) / 1000.0;
        samples.push_back(s);
    }
    for (const auto& s : specs) {
        [[maybe_unused]] auto stopped = supervisor.stop(s.id);
    }
    watchers.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);

    auto column = [&](double Sample::*field) {
        std::vector<double> v;
        for (const auto& s : samples) {
            v.push_back(s.*field);
        }
        return v;
    };
    fmt::print("runs: {} measured (+1 warm-up), {} failed; llama-server threads: {}\n\n",
               samples.size(), failures, threads);
    fmt::print("| part | median ms | p95 ms | max ms |\n|---|---:|---:|---:|\n");
    const std::vector<std::pair<const char*, double Sample::*>> rows{
        {"stop (TERM -> group gone)", &Sample::stop_ms},
        {"spawn (port check, log rotation, fork+exec, record)", &Sample::spawn_ms},
        {"load (exec -> llama-server's listening line)", &Sample::load_ms},
        {"ready detection (line -> gpumod says ready)", &Sample::detect_ms},
        {"total (stop + start + ready)", &Sample::total_ms},
        {"**overhead** (total - load)", &Sample::overhead_ms},
        {"**start overhead** (spawn + detection, no stop)", &Sample::start_overhead_ms},
        {"llama-server's own clock at the line", &Sample::server_clock_ms},
    };
    for (const auto& [name, field] : rows) {
        const auto v = column(field);
        fmt::print("| {} | {:.2f} | {:.2f} | {:.2f} |\n", name, quantile(v, 0.5), quantile(v, 0.95),
                   quantile(v, 1.0));
    }
    return failures == 0 ? 0 : 1;
}
