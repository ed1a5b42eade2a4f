#include "adapters/posix/progress_printer.hpp"

#include "adapters/posix/clock.hpp"
#include "adapters/posix/environment.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include <sys/ioctl.h>
#include <unistd.h>

namespace gpumod::posix {
namespace {

constexpr std::size_t k_default_width = 80;
/// How often the ticker refreshes an unchanged line (elapsed and ETA move once a second).
constexpr std::chrono::seconds k_refresh_unchanged{1};
/// Carriage return, then "erase the whole line" (ECMA-48 EL 2), so a shorter line leaves no
/// tail of the previous one.
constexpr std::string_view k_clear_line = "\r\x1b[2K";

std::size_t columns_from_environment()
{
    const auto text = get_env("COLUMNS");
    std::size_t columns = 0;
    if (text && !text->empty()) {
        const auto [end, error] =
            std::from_chars(text->data(), text->data() + text->size(), columns);
        if (error == std::errc() && end == text->data() + text->size() && columns > 0) {
            return columns;
        }
    }
    return k_default_width;
}

void write_text(std::FILE* out, std::string_view text)
{
    std::fwrite(text.data(), 1, text.size(), out);
}

} // namespace

ProgressPrinter::ProgressPrinter(std::FILE* out, std::string label, std::size_t total,
                                 ProgressPrinterOptions options)
    : m_out(out), m_options(std::move(options)),
      m_tty(m_options.tty.value_or(::isatty(::fileno(out)) == 1)), m_label(std::move(label)),
      m_total(total)
{
    if (!m_options.now) {
        m_options.now = [] { return monotonic_now(); };
    }
    if (!m_options.width && m_tty) {
        // Read once: getenv on the ticker thread could race a setenv elsewhere.
        m_fallback_width = columns_from_environment();
    }
    m_start = m_options.now();
    if (m_tty && m_options.ticker) {
        m_ticker = std::jthread([this](const std::stop_token& stop) { tick(stop); });
    }
}

ProgressPrinter::~ProgressPrinter()
{
    if (m_ticker.joinable()) {
        m_ticker.request_stop();
        m_ticker.join();
    }
    finish();
}

void ProgressPrinter::update(std::size_t done, std::optional<report::PassCount> pass)
{
    const std::lock_guard lock(m_mutex);
    if (m_finished) {
        return;
    }
    // Workers report out of order; progress shown never goes backwards.
    m_done = std::max(m_done, std::min(done, m_total));
    m_pass = pass;
    const auto now = m_options.now();
    const bool final_state = m_done >= m_total;
    if (m_tty) {
        if (final_state || !m_last_print || now - *m_last_print >= m_options.redraw_interval) {
            draw_locked();
        } else {
            m_pending = true;
        }
        return;
    }
    const bool new_step = step_locked() > m_last_logged_step;
    const bool heartbeat = m_last_print && now - *m_last_print >= m_options.log_every;
    const bool changed = m_logged_done != m_done || m_logged_pass != m_pass;
    // The final state is printed once, however often it is reported.
    if (!m_last_print || new_step || heartbeat || (final_state && changed)) {
        log_line_locked();
    } else {
        m_pending = changed; // finish() prints it if nothing else does
    }
}

void ProgressPrinter::print_line(std::string_view line)
{
    const std::lock_guard lock(m_mutex);
    if (m_tty && !m_finished && m_last_print) {
        write_text(m_out, k_clear_line);
        write_text(m_out, line);
        write_text(m_out, "\n");
        draw_locked();
        return;
    }
    write_text(m_out, line);
    write_text(m_out, "\n");
    std::fflush(m_out);
}

void ProgressPrinter::finish()
{
    const std::lock_guard lock(m_mutex);
    if (m_finished) {
        return;
    }
    m_finished = true;
    if (m_tty) {
        draw_locked();
        write_text(m_out, "\n");
        std::fflush(m_out);
    } else if (m_pending || !m_last_print) {
        log_line_locked();
    }
}

report::ProgressSnapshot ProgressPrinter::snapshot_locked() const
{
    report::ProgressSnapshot snapshot;
    snapshot.label = m_label;
    snapshot.total = m_total;
    snapshot.done = m_done;
    snapshot.pass = m_pass;
    snapshot.elapsed_seconds = std::chrono::duration<double>(m_options.now() - m_start).count();
    return snapshot;
}

std::size_t ProgressPrinter::step_locked() const
{
    if (m_total == 0 || m_options.log_every_percent == 0) {
        return 0;
    }
    return m_done * 100 / m_total / m_options.log_every_percent;
}

std::size_t ProgressPrinter::terminal_width() const
{
    if (m_options.width) {
        return *m_options.width;
    }
    winsize size{};
    if (::ioctl(::fileno(m_out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
        return size.ws_col;
    }
    return m_fallback_width;
}

void ProgressPrinter::draw_locked()
{
    // One column spare: writing into the last column makes some terminals wrap early.
    const std::size_t width = std::max<std::size_t>(terminal_width(), 2) - 1;
    write_text(m_out, k_clear_line);
    write_text(m_out, report::render_progress(snapshot_locked(), width));
    std::fflush(m_out);
    m_last_print = m_options.now();
    m_pending = false;
}

void ProgressPrinter::log_line_locked()
{
    write_text(m_out, report::render_progress(snapshot_locked(), 0, false));
    write_text(m_out, "\n");
    std::fflush(m_out);
    m_last_print = m_options.now();
    m_last_logged_step = step_locked();
    m_logged_done = m_done;
    m_logged_pass = m_pass;
    m_pending = false;
}

void ProgressPrinter::tick(const std::stop_token& stop)
{
    std::unique_lock lock(m_mutex);
    while (!stop.stop_requested()) {
        // Never woken early except by a stop request: the predicate is never true.
        m_wake.wait_for(lock, stop, m_options.redraw_interval, [] { return false; });
        if (stop.stop_requested() || m_finished) {
            continue;
        }
        const auto now = m_options.now();
        if (m_pending || !m_last_print || now - *m_last_print >= k_refresh_unchanged) {
            draw_locked();
        }
    }
}

} // namespace gpumod::posix
