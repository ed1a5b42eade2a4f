#include "core/report/text_table.hpp"

#include <gtest/gtest.h>

#include "core/doctor/checks.hpp"

namespace gpumod {
namespace {

TEST(TextTable, AlignsColumnsByCodePointsAndTrimsTrailingSpace)
{
    TextTable t;
    t.add_column("name");
    t.add_column("MiB", Align::right);
    t.add_column("note");
    t.add_row({"RTX 4090", "24564", "—"});
    t.add_row({"H100", "81559", ""});
    EXPECT_EQ(t.render(), "name        MiB  note\n"
                          "--------  -----  ----\n"
                          "RTX 4090  24564  —\n"
                          "H100      81559\n");
}

TEST(TextTable, DisplayWidthCountsCodePoints)
{
    EXPECT_EQ(display_width("abc"), 3U);
    EXPECT_EQ(display_width("✓ é"), 3U);
    EXPECT_EQ(display_width(""), 0U);
}

TEST(DoctorChecks, FailureMakesTheVerdictFailAndFixesAreListed)
{
    std::vector<CheckResult> checks{
        {"database", CheckLevel::ok, "/tmp/x.db (schema 1, wal)", ""},
        {"nvml", CheckLevel::warning, "no NVIDIA GPU found", "install the NVIDIA driver"},
    };
    EXPECT_TRUE(all_required_pass(checks));
    checks.push_back({"llama-server", CheckLevel::failure, "not found", "run scripts/setup-llama-server"});
    EXPECT_FALSE(all_required_pass(checks));
    const std::string text = render_checks(checks);
    EXPECT_NE(text.find("FAIL    llama-server  not found"), std::string::npos) << text;
    EXPECT_NE(text.find("  llama-server: run scripts/setup-llama-server"), std::string::npos);
    EXPECT_NE(text.find("  nvml: install the NVIDIA driver"), std::string::npos);
    EXPECT_EQ(text.find("database:"), std::string::npos) << "ok checks need no fix line";
    EXPECT_NE(text.find("3 checks: 1 failed, 1 warnings"), std::string::npos);
}

} // namespace
} // namespace gpumod
