#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/config/expand.hpp"

namespace gpumod::config {
namespace {

using ::testing::HasSubstr;

const EnvMap k_env{{"HOME", "/home/ana"}, {"MODELS", "/srv/models"}, {"EMPTY", ""}, {"A_1", "x"}};

std::string expand_ok(const std::string& text)
{
    auto r = expand_variables(text, k_env);
    EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().message);
    return r.value_or("<error>");
}

std::string expand_error(const std::string& text)
{
    auto r = expand_variables(text, k_env);
    EXPECT_FALSE(r.has_value()) << text << " expanded to " << r.value_or("");
    return r ? std::string() : r.error().message;
}

TEST(Expand, TextWithoutReferencesIsUnchanged)
{
    EXPECT_EQ(expand_ok("/models/qwen.gguf"), "/models/qwen.gguf");
    EXPECT_EQ(expand_ok(""), "");
}

TEST(Expand, BareAndBracedNames)
{
    EXPECT_EQ(expand_ok("$HOME/bin/m.gguf"), "/home/ana/bin/m.gguf");
    EXPECT_EQ(expand_ok("${HOME}/bin"), "/home/ana/bin");
    EXPECT_EQ(expand_ok("${MODELS}x"), "/srv/modelsx");
    // A bare name runs as far as name characters go.
    EXPECT_EQ(expand_ok("$A_1-b"), "x-b");
    EXPECT_EQ(expand_ok("$HOME$MODELS"), "/home/ana/srv/models");
}

TEST(Expand, DoubleDollarIsALiteralDollar)
{
    EXPECT_EQ(expand_ok("$$HOME"), "$HOME");
    EXPECT_EQ(expand_ok("a$$"), "a$");
    EXPECT_EQ(expand_ok("$$$HOME"), "$/home/ana");
}

TEST(Expand, DefaultsApplyWhenUnsetOrEmpty)
{
    EXPECT_EQ(expand_ok("${XDG_CACHE_HOME:-$HOME/.cache}/gpumod"), "/home/ana/.cache/gpumod");
    EXPECT_EQ(expand_ok("${EMPTY:-fallback}"), "fallback");
    EXPECT_EQ(expand_ok("${MODELS:-unused}"), "/srv/models");
    EXPECT_EQ(expand_ok("${NOPE:-${ALSO_NOPE:-deep}}"), "deep");
    EXPECT_EQ(expand_ok("${NOPE:-}"), "");
}

TEST(Expand, EmptyValueIsNotAnError)
{
    EXPECT_EQ(expand_ok("[$EMPTY]"), "[]");
}

TEST(Expand, UndefinedVariableIsNamed)
{
    EXPECT_THAT(expand_error("$NOPE/x"), HasSubstr("'NOPE'"));
    EXPECT_THAT(expand_error("${GONE}"), HasSubstr("'GONE'"));
    // An undefined variable inside a used default is still an error.
    EXPECT_THAT(expand_error("${NOPE:-$GONE}"), HasSubstr("'GONE'"));
}

TEST(Expand, MalformedReferencesAreErrors)
{
    EXPECT_THAT(expand_error("cost: 5$"), HasSubstr("$$"));
    EXPECT_THAT(expand_error("$1"), HasSubstr("$$"));
    EXPECT_THAT(expand_error("${HOME"), HasSubstr("HOME"));
    EXPECT_THAT(expand_error("${}"), HasSubstr("variable name"));
    EXPECT_THAT(expand_error("${NOPE:-abc"), HasSubstr("unclosed"));
    EXPECT_FALSE(expand_variables("${HOME-x}", k_env).has_value());
}

} // namespace
} // namespace gpumod::config
