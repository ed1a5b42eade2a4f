// The progress printer writing into a real pipe: log-mode throttling, terminal-mode redraws.

#include "adapters/posix/progress_printer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace gpumod::posix {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

/// A pipe whose write end is a FILE* for the printer; read() collects what was written once the
/// write end is closed. Output in these tests stays far below the pipe buffer.
class Pipe
{
  public:
    Pipe()
    {
        int fds[2] = {-1, -1};
        if (::pipe(fds) != 0) {
            throw std::runtime_error("pipe failed");
        }
        m_read_fd = fds[0];
        m_write = ::fdopen(fds[1], "w");
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    ~Pipe()
    {
        close_write();
        ::close(m_read_fd);
    }
    [[nodiscard]] std::FILE* file() const { return m_write; }

    std::string read_all()
    {
        close_write();
        std::string text;
        char buffer[4096];
        ssize_t got = 0;
        while ((got = ::read(m_read_fd, buffer, sizeof buffer)) > 0) {
            text.append(buffer, static_cast<std::size_t>(got));
        }
        return text;
    }

  private:
    void close_write()
    {
        if (m_write != nullptr) {
            std::fclose(m_write);
            m_write = nullptr;
        }
    }
    int m_read_fd = -1;
    std::FILE* m_write = nullptr;
};

/// A clock the test moves by hand.
struct ManualClock
{
    std::atomic<Clock::rep> ticks{Clock::now().time_since_epoch().count()};
    void advance(Clock::duration by) { ticks += by.count(); }
    [[nodiscard]] Clock::time_point now() const
    {
        return Clock::time_point(Clock::duration(ticks.load()));
    }
};

std::vector<std::string> split_lines(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

std::size_t count(const std::string& text, const std::string& needle)
{
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

constexpr const char* k_clear = "\r\x1b[2K";

TEST(ProgressPrinter, PipeIsNotATerminalAndLogsEveryTenPercent)
{
    Pipe pipe;
    ManualClock clock;
    {
        ProgressPrinterOptions options;
        options.now = [&clock] { return clock.now(); };
        ProgressPrinter printer(pipe.file(), "bench run", 100, options);
        EXPECT_FALSE(printer.is_tty()); // detected with isatty
        for (std::size_t done = 1; done <= 100; ++done) {
            clock.advance(100ms); // 10 s in all: no 30 s heartbeat
            printer.update(done, report::PassCount{done, done});
        }
        printer.update(100, report::PassCount{100, 100}); // the final state again: not repeated
    }
    const std::string out = pipe.read_all();
    const auto lines = split_lines(out);
    // The first update, then 10%, 20%, ... 100%.
    ASSERT_EQ(lines.size(), 11U) << out;
    EXPECT_THAT(out, Not(HasSubstr("\r")));
    EXPECT_THAT(out, Not(HasSubstr("\x1b")));
    EXPECT_THAT(out, Not(HasSubstr("["))); // no bar in logs
    EXPECT_EQ(lines[0], "bench run  1/100  1%  pass 1/1  elapsed 0s  ETA 10s");
    EXPECT_THAT(lines[1], HasSubstr("10/100  10%"));
    EXPECT_EQ(lines[10], "bench run  100/100  100%  pass 100/100  elapsed 10s  ETA 0s");
}

TEST(ProgressPrinter, LogsAHeartbeatAfterThirtySecondsAndTheLastStateOnFinish)
{
    Pipe pipe;
    ManualClock clock;
    {
        ProgressPrinterOptions options;
        options.now = [&clock] { return clock.now(); };
        ProgressPrinter printer(pipe.file(), "smoke", 1000, options);
        printer.update(1); // printed: the first
        clock.advance(29s);
        printer.update(2); // held back: under 1%, under 30 s
        clock.advance(2s);
        printer.update(3); // printed: 31 s since the last line
        clock.advance(1s);
        printer.update(4); // held back
        printer.finish();  // prints the held-back state
        printer.update(5); // after finish: ignored
    }
    const auto lines = split_lines(pipe.read_all());
    ASSERT_EQ(lines.size(), 3U);
    EXPECT_THAT(lines[0], HasSubstr("1/1000"));
    EXPECT_THAT(lines[1], HasSubstr("3/1000"));
    EXPECT_THAT(lines[1], HasSubstr("elapsed 31s"));
    EXPECT_THAT(lines[2], HasSubstr("4/1000"));
}

TEST(ProgressPrinter, TerminalRedrawsInPlaceAtMostEvery200Ms)
{
    Pipe pipe;
    ManualClock clock;
    {
        ProgressPrinterOptions options;
        options.tty = true;
        options.ticker = false; // only updates draw, so the count below is exact
        options.width = 60;
        options.now = [&clock] { return clock.now(); };
        ProgressPrinter printer(pipe.file(), "bench run", 10, options);
        for (std::size_t done = 1; done <= 10; ++done) {
            clock.advance(50ms);
            printer.update(done);
        }
    }
    const std::string out = pipe.read_all();
    // Drawn at 50 ms (first), 250, 450, 500 (the final update is never held back), and once
    // more by finish, which then ends the line.
    EXPECT_EQ(count(out, k_clear), 5U) << out;
    EXPECT_EQ(count(out, "\n"), 1U);
    EXPECT_EQ(out.back(), '\n');
    EXPECT_THAT(out, HasSubstr(std::string(k_clear) + "bench run  [#"));
    // Every drawn line fits in width - 1 columns.
    std::size_t at = 0;
    while ((at = out.find(k_clear, at)) != std::string::npos) {
        at += std::string(k_clear).size();
        const std::size_t end = out.find_first_of("\r\n", at);
        EXPECT_LE(end - at, 59U);
    }
    EXPECT_THAT(out, HasSubstr("10/10  100%"));
}

TEST(ProgressPrinter, TerminalLinePrintedAboveTheBar)
{
    Pipe pipe;
    {
        ProgressPrinterOptions options;
        options.tty = true;
        options.ticker = false;
        options.width = 100;
        ProgressPrinter printer(pipe.file(), "run", 4, options);
        printer.update(1);
        printer.print_line("L1 iteration 1: pass");
    }
    const std::string out = pipe.read_all();
    EXPECT_THAT(out,
                HasSubstr(std::string(k_clear) + "L1 iteration 1: pass\n" + k_clear + "run  ["));
}

TEST(ProgressPrinter, TickerDrawsAHeldBackUpdateWithoutAnotherOne)
{
    Pipe pipe;
    {
        ProgressPrinterOptions options;
        options.tty = true;
        options.width = 100;
        options.redraw_interval = 20ms;
        ProgressPrinter printer(pipe.file(), "run", 10, options);
        printer.update(1);
        printer.update(2); // within 20 ms of the first draw: held back
        std::this_thread::sleep_for(150ms);
        // By now the ticker has drawn "2/10"; finish draws it once more.
    }
    const std::string out = pipe.read_all();
    EXPECT_GE(count(out, "2/10"), 2U) << out;
}

TEST(ProgressPrinter, UpdatesFromManyThreads)
{
    Pipe pipe;
    std::atomic<std::size_t> done{0};
    {
        ProgressPrinterOptions options;
        options.log_every_percent = 25;
        ProgressPrinter printer(pipe.file(), "run", 400, options);
        std::vector<std::jthread> workers;
        for (int t = 0; t < 4; ++t) {
            workers.emplace_back([&] {
                for (int i = 0; i < 100; ++i) {
                    printer.update(++done);
                }
            });
        }
    }
    const auto lines = split_lines(pipe.read_all());
    // Updates can arrive out of order, so which steps print varies, but never more than the
    // first, four steps and a final line; the last line is the final state.
    ASSERT_FALSE(lines.empty());
    EXPECT_LE(lines.size(), 6U);
    EXPECT_THAT(lines.back(), HasSubstr("400/400"));
}

} // namespace
} // namespace gpumod::posix
