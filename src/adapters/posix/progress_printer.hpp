#pragma once

// Prints core/report/progress.hpp's line to a stream. On a terminal the line is redrawn in
// place ("\r", clear line) at most every 200 ms, and a ticker keeps elapsed/ETA moving between
// updates; anywhere else (a log file, a pipe) a plain line is written only every N percent or
// every 30 s, so logs of long runs stay short.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "core/report/progress.hpp"

namespace gpumod::posix {

struct ProgressPrinterOptions
{
    /// Redraw in place? nullopt: when the stream is a terminal (isatty).
    std::optional<bool> tty;
    /// Terminal mode: the shortest gap between redraws (the final one is never held back).
    std::chrono::milliseconds redraw_interval{200};
    /// Log mode: a line whenever done crosses another multiple of this percentage of total...
    std::size_t log_every_percent = 10;
    /// ...or when this long has passed since the last line.
    std::chrono::milliseconds log_every{std::chrono::seconds(30)};
    /// Columns; nullopt: the terminal's width (TIOCGWINSZ, then $COLUMNS, then 80). Log lines
    /// are never cut.
    std::optional<std::size_t> width;
    /// Terminal mode: redraw from a background thread too, so elapsed and ETA keep moving and a
    /// held-back update appears within redraw_interval even if no further update comes.
    bool ticker = true;
    /// The clock (tests inject one); default: the monotonic clock.
    std::function<std::chrono::steady_clock::time_point()> now;
};

/// Thread-safe: update, print_line and finish may be called from any thread.
class ProgressPrinter
{
  public:
    /// Prints to `out` (not owned; must outlive the printer). Elapsed time counts from here.
    ProgressPrinter(std::FILE* out, std::string label, std::size_t total,
                    ProgressPrinterOptions options = {});
    ProgressPrinter(const ProgressPrinter&) = delete;
    ProgressPrinter& operator=(const ProgressPrinter&) = delete;
    /// Calls finish().
    ~ProgressPrinter();

    /// Records progress (done never decreases: a smaller value than before is ignored) and
    /// prints it if the throttling rules allow; reaching total always prints.
    void update(std::size_t done, std::optional<report::PassCount> pass = std::nullopt);

    /// Writes a line of other output above the progress line (clearing and redrawing it on a
    /// terminal), so messages and the bar do not overwrite each other.
    void print_line(std::string_view line);

    /// Prints the current state unthrottled and, on a terminal, ends the line; idempotent.
    /// Later updates are ignored.
    void finish();

    /// True when lines are redrawn in place.
    [[nodiscard]] bool is_tty() const { return m_tty; }

  private:
    [[nodiscard]] report::ProgressSnapshot snapshot_locked() const;
    [[nodiscard]] std::size_t step_locked() const;
    [[nodiscard]] std::size_t terminal_width() const;
    void draw_locked();
    void log_line_locked();
    void tick(const std::stop_token& stop);

    std::FILE* m_out;
    ProgressPrinterOptions m_options;
    bool m_tty;
    std::size_t m_fallback_width = 80; ///< terminal: $COLUMNS (read once) or 80
    std::chrono::steady_clock::time_point m_start;

    mutable std::mutex m_mutex;
    std::condition_variable_any m_wake;
    std::string m_label;
    std::size_t m_total;
    std::size_t m_done = 0;
    std::optional<report::PassCount> m_pass;
    bool m_finished = false;
    bool m_pending = false; ///< terminal: an update not drawn yet
    std::optional<std::chrono::steady_clock::time_point> m_last_print;
    std::size_t m_last_logged_step = 0;       ///< log mode: done*100/total / log_every_percent
    std::optional<std::size_t> m_logged_done; ///< log mode: what the last line showed
    std::optional<report::PassCount> m_logged_pass;
    std::jthread m_ticker; // last: stopped before the members it reads go away
};

} // namespace gpumod::posix
