#include "core/report/progress.hpp"

#include "core/report/text_table.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace gpumod::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

/// The example state: 18 of 75 done after 3m12s, 15 of 18 passed.
ProgressSnapshot example()
{
    ProgressSnapshot snapshot;
    snapshot.label = "bench run";
    snapshot.total = 75;
    snapshot.done = 18;
    snapshot.pass = PassCount{15, 18};
    snapshot.elapsed_seconds = 192;
    return snapshot;
}

TEST(FormatDuration, SecondsMinutesAndHours)
{
    EXPECT_EQ(format_duration(0), "0s");
    EXPECT_EQ(format_duration(45), "45s");
    EXPECT_EQ(format_duration(45.4), "45s");
    EXPECT_EQ(format_duration(59.6), "1m00s"); // rounds to the nearest second
    EXPECT_EQ(format_duration(192), "3m12s");
    EXPECT_EQ(format_duration(605), "10m05s");
    EXPECT_EQ(format_duration(3600), "1h00m00s");
    EXPECT_EQ(format_duration(3725), "1h02m05s");
    EXPECT_EQ(format_duration(100 * 3600 + 61), "100h01m01s");
}

TEST(FormatDuration, NonsenseReadsZero)
{
    EXPECT_EQ(format_duration(-3), "0s");
    EXPECT_EQ(format_duration(std::nan("")), "0s");
    EXPECT_EQ(format_duration(std::numeric_limits<double>::infinity()), "0s");
}

TEST(EtaSeconds, ExtrapolatesTheMeanTimePerUnit)
{
    const auto eta = eta_seconds(example());
    ASSERT_TRUE(eta);
    EXPECT_DOUBLE_EQ(*eta, 192.0 / 18.0 * 57.0); // 608 s

    ProgressSnapshot none = example();
    none.done = 0;
    EXPECT_FALSE(eta_seconds(none)); // unknown until the first unit

    ProgressSnapshot all = example();
    all.done = 75;
    EXPECT_EQ(eta_seconds(all), 0.0);
    all.done = 80; // over-reported: treated as all done
    EXPECT_EQ(eta_seconds(all), 0.0);
}

TEST(RenderProgress, WideTerminalShowsEverythingWithAFullBar)
{
    const std::string line = render_progress(example(), 200);
    // 18/75 of 40 cells is 9.6: floor, so the bar never looks further than it is.
    EXPECT_EQ(line, "bench run  [" + std::string(9, '#') + std::string(31, '.') +
                        "]  18/75  24%  pass 15/18  elapsed 3m12s  ETA 10m08s");
}

TEST(RenderProgress, EightyColumnsShrinksTheBarToFitExactly)
{
    const std::string line = render_progress(example(), 80);
    EXPECT_EQ(line.size(), 80U);
    const std::string text = "bench run  18/75  24%  pass 15/18  elapsed 3m12s  ETA 10m08s";
    const std::size_t bar_width = 80 - text.size() - 4;
    ASSERT_GE(bar_width, k_progress_bar_min);
    const std::size_t filled = 18 * bar_width / 75;
    EXPECT_EQ(line, "bench run  [" + std::string(filled, '#') +
                        std::string(bar_width - filled, '.') +
                        "]  18/75  24%  pass 15/18  elapsed 3m12s  ETA 10m08s");
}

TEST(RenderProgress, FortyColumnsDropsBarLabelAndElapsed)
{
    EXPECT_EQ(render_progress(example(), 40), "18/75  24%  pass 15/18  ETA 10m08s");
}

TEST(RenderProgress, NeverWiderThanTheWidth)
{
    ProgressSnapshot snapshot = example();
    snapshot.label = "bench run · coding"; // multi-byte: width counts code points
    for (std::size_t width = 1; width <= 250; ++width) {
        const std::string line = render_progress(snapshot, width);
        EXPECT_LE(display_width(line), width) << "width " << width << ": " << line;
        EXPECT_FALSE(line.empty()) << "width " << width;
    }
    EXPECT_EQ(render_progress(snapshot, 3), "18/");
}

TEST(RenderProgress, ZeroDoneHasNoEtaAndAnEmptyBar)
{
    ProgressSnapshot snapshot = example();
    snapshot.done = 0;
    snapshot.pass = PassCount{0, 0};
    snapshot.elapsed_seconds = 4;
    EXPECT_EQ(render_progress(snapshot, 0),
              "bench run  [" + std::string(40, '.') + "]  0/75  0%  pass 0/0  elapsed 4s  ETA --");
}

TEST(RenderProgress, AllDoneHasAFullBarAndZeroEta)
{
    ProgressSnapshot snapshot = example();
    snapshot.done = 75;
    snapshot.pass = PassCount{70, 75};
    snapshot.elapsed_seconds = 3725;
    EXPECT_EQ(render_progress(snapshot, 0),
              "bench run  [" + std::string(40, '#') +
                  "]  75/75  100%  pass 70/75  elapsed 1h02m05s  ETA 0s");
}

TEST(RenderProgress, WithoutPassCountsOrBarOrLabel)
{
    ProgressSnapshot snapshot = example();
    snapshot.pass.reset();
    snapshot.label.clear();
    const std::string line = render_progress(snapshot, 0, false);
    EXPECT_EQ(line, "18/75  24%  elapsed 3m12s  ETA 10m08s");
    EXPECT_THAT(line, Not(HasSubstr("pass")));
}

TEST(RenderProgress, EmptyTotalDoesNotDivideByZero)
{
    ProgressSnapshot snapshot;
    snapshot.label = "smoke";
    EXPECT_EQ(render_progress(snapshot, 0, false), "smoke  0/0  0%  elapsed 0s  ETA 0s");
    EXPECT_THAT(render_progress(snapshot, 60), HasSubstr("[" + std::string(10, '.')));
}

} // namespace
} // namespace gpumod::report
