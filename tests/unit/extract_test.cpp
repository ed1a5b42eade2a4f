#include "core/bench/extract.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

namespace gpumod::bench {
namespace {

using ::testing::HasSubstr;

Extraction extract(std::string_view content, std::vector<std::string> expected = {"solution.py"},
                   std::string_view reasoning = {})
{
    return extract_code(ExtractionInput{content, reasoning, std::move(expected)});
}

std::string file_text(const Extraction& e, std::string_view path)
{
    const auto* file = e.find(path);
    return file != nullptr ? file->text : std::string("<missing>");
}

bool notes_mention(const Extraction& e, std::string_view needle)
{
    for (const auto& note : e.notes) {
        if (note.find(needle) != std::string::npos) {
            return true;
        }
    }
    return false;
}

TEST(Extract, TakesATaggedPythonBlock)
{
    const auto e = extract("Here you go:\n\n```python\nclass JobQueue:\n    pass\n```\nDone.");
    EXPECT_EQ(e.source, CodeSource::content);
    ASSERT_EQ(e.files.size(), 1U);
    EXPECT_EQ(e.files[0].path, "solution.py");
    EXPECT_EQ(e.files[0].text, "class JobQueue:\n    pass\n");
    EXPECT_EQ(e.files[0].reason, AssignReason::longest_unnamed);
    EXPECT_TRUE(e.files[0].expected);
    EXPECT_FALSE(e.unfinished_thinking);
}

TEST(Extract, AcceptsPyAndPython3Tags)
{
    for (const char* tag : {"py", "python3", "Python"}) {
        const auto e = extract(std::string("```") + tag + "\nx = 1\n```\n");
        EXPECT_EQ(file_text(e, "solution.py"), "x = 1\n") << tag;
    }
}

TEST(Extract, UntaggedBlockCountsOnlyWhenItLooksLikePython)
{
    EXPECT_EQ(file_text(extract("```\nimport os\nprint(os.getcwd())\n```"), "solution.py"),
              "import os\nprint(os.getcwd())\n");
    const auto prose = extract("```\nsome output\nmore output\n```");
    EXPECT_FALSE(prose.has_code());
    EXPECT_EQ(prose.blocks.size(), 1U);
    EXPECT_FALSE(prose.blocks[0].python);
}

TEST(Extract, OtherLanguagesAreNotCode)
{
    const auto e = extract("```bash\npip install x\n```\n```json\n{\"a\": 1}\n```");
    EXPECT_FALSE(e.has_code());
    EXPECT_EQ(e.source, CodeSource::none);
    EXPECT_EQ(e.blocks.size(), 2U);
}

TEST(Extract, SingleExpectedFileGetsTheLongestUnnamedBlock)
{
    const std::string reply = "```python\ndef helper():\n    return 1\n\n\nclass JobQueue:\n"
                              "    pass\n```\nUsage:\n```python\nq = JobQueue()\n```\n";
    const auto e = extract(reply);
    ASSERT_EQ(e.files.size(), 1U);
    EXPECT_EQ(e.files[0].block, 0U);
    EXPECT_THAT(e.files[0].text, HasSubstr("class JobQueue"));
    EXPECT_TRUE(notes_mention(e, "longest of 2"));
}

TEST(Extract, TieBetweenUnnamedBlocksGoesToTheLaterOne)
{
    const auto e = extract("```python\nx = 1\n```\n```python\nx = 2\n```\n");
    ASSERT_EQ(e.files.size(), 1U);
    EXPECT_EQ(e.files[0].block, 1U);
    EXPECT_EQ(e.files[0].text, "x = 2\n");
}

TEST(Extract, StripsClosedThinkSpansFromContent)
{
    const auto e = extract("<think>maybe\n```python\nwrong = 1\n```\n</think>\n"
                           "```python\nright = 1\n```");
    EXPECT_EQ(file_text(e, "solution.py"), "right = 1\n");
    EXPECT_EQ(e.blocks.size(), 1U);
    EXPECT_FALSE(e.unfinished_thinking);
}

TEST(Extract, TextBeforeALoneClosingTagIsThinking)
{
    // Templates that open <think> in the prompt leave only the closing tag in the reply.
    const auto e = extract("draft:\n```python\nwrong = 1\n```\n</think>\n```python\nright = 1\n```");
    EXPECT_EQ(file_text(e, "solution.py"), "right = 1\n");
}

TEST(Extract, DanglingThinkMeansTheReplyNeverFinishedThinking)
{
    const auto e = extract("<think>let me write\n```python\ndraft = 1\n```\nhmm");
    EXPECT_TRUE(e.unfinished_thinking);
    EXPECT_FALSE(e.has_code());
    EXPECT_EQ(e.source, CodeSource::none);
}

TEST(Extract, ReasoningIsUsedOnlyWhenContentHasNoCode)
{
    const auto from_content =
        extract("```python\nfinal = 1\n```", {"solution.py"}, "```python\ndraft = 1\n```");
    EXPECT_EQ(from_content.source, CodeSource::content);
    EXPECT_EQ(file_text(from_content, "solution.py"), "final = 1\n");

    const auto from_reasoning =
        extract("I wrote it above.", {"solution.py"}, "```python\ndraft = 1\n```");
    EXPECT_EQ(from_reasoning.source, CodeSource::reasoning);
    EXPECT_EQ(file_text(from_reasoning, "solution.py"), "draft = 1\n");
    EXPECT_TRUE(notes_mention(from_reasoning, "from the reasoning"));
}

TEST(Extract, NoCodeAnywhere)
{
    const auto e = extract("I cannot help with that.", {"solution.py"}, "thinking in prose");
    EXPECT_FALSE(e.has_code());
    EXPECT_EQ(e.source, CodeSource::none);
    EXPECT_TRUE(e.files.empty());
}

TEST(Extract, DedentsIndentedBlocks)
{
    const auto e = extract("1. Write this:\n\n    ```python\n    def f():\n        return 1\n    ```\n");
    EXPECT_EQ(file_text(e, "solution.py"), "def f():\n    return 1\n");
}

TEST(Extract, NormalizesCrLf)
{
    const auto e = extract("```python\r\ndef f():\r\n    return 1\r\n```\r\n");
    EXPECT_EQ(file_text(e, "solution.py"), "def f():\n    return 1\n");
}

TEST(Extract, UnterminatedFenceIsKeptAndFlagged)
{
    const auto e = extract("```python\ndef f():\n    return");
    ASSERT_EQ(e.blocks.size(), 1U);
    EXPECT_FALSE(e.blocks[0].terminated);
    EXPECT_TRUE(e.uses_unterminated_block());
    EXPECT_EQ(file_text(e, "solution.py"), "def f():\n    return\n");
}

TEST(Extract, LongerFenceHoldsShorterFencesInside)
{
    const auto e = extract("````python\ns = '''\n```\n'''\n````\n");
    EXPECT_EQ(file_text(e, "solution.py"), "s = '''\n```\n'''\n");
}

TEST(Extract, BareCodeWithoutFencesIsTakenWhole)
{
    const auto e = extract("import os\n\ndef f():\n    return os.sep\n");
    EXPECT_EQ(file_text(e, "solution.py"), "import os\n\ndef f():\n    return os.sep\n");
    ASSERT_EQ(e.blocks.size(), 1U);
    EXPECT_FALSE(e.blocks[0].fenced);
}

TEST(Extract, SeveralFilesNamedByFirstLineComment)
{
    const std::vector<std::string> expected = {"scheduler/__init__.py", "scheduler/queue.py"};
    const auto e = extract("```python\n# file: scheduler/__init__.py\nfrom .queue import Q\n```\n"
                           "```python\n# scheduler/queue.py\nclass Q:\n    pass\n```\n",
                           expected);
    ASSERT_EQ(e.files.size(), 2U);
    EXPECT_EQ(e.files[0].path, "scheduler/__init__.py");
    EXPECT_EQ(e.files[0].reason, AssignReason::named);
    EXPECT_EQ(e.blocks[0].name_source, NameSource::first_line);
    EXPECT_THAT(file_text(e, "scheduler/queue.py"), HasSubstr("class Q"));
}

TEST(Extract, NamesFromThePrecedingLine)
{
    const std::vector<std::string> expected = {"a.py", "b.py", "c.py", "d.py", "e.py"};
    const auto e = extract("**a.py**\n```python\nA = 1\n```\n"
                           "`b.py`:\n\n```python\nB = 1\n```\n"
                           "File: c.py\n```python\nC = 1\n```\n"
                           "### d.py\n```python\nD = 1\n```\n"
                           "Now create `e.py` with the helper:\n```python\nE = 1\n```\n",
                           expected);
    ASSERT_EQ(e.files.size(), 5U);
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(e.files[i].path, expected[i]);
        EXPECT_EQ(e.blocks[i].name_source, NameSource::preceding_line) << expected[i];
    }
}

TEST(Extract, NameFromTheInfoString)
{
    const auto e = extract("```python:pkg/mod.py\nX = 1\n```\n```python title=\"pkg/other.py\"\n"
                           "Y = 1\n```\n",
                           {"pkg/mod.py", "pkg/other.py"});
    EXPECT_EQ(file_text(e, "pkg/mod.py"), "X = 1\n");
    EXPECT_EQ(file_text(e, "pkg/other.py"), "Y = 1\n");
    EXPECT_EQ(e.blocks[0].name_source, NameSource::info_string);
    EXPECT_EQ(e.blocks[0].language, "python");
}

TEST(Extract, AProseLineTwoBlankLinesAwayDoesNotName)
{
    const auto e = extract("**a.py**\n\n\n```python\nA = 1\n```\n", {"solution.py"});
    EXPECT_FALSE(e.blocks[0].name.has_value());
    EXPECT_EQ(file_text(e, "solution.py"), "A = 1\n");
}

TEST(Extract, ShortNameMatchesTheExpectedPathBySuffix)
{
    const auto e = extract("**queue.py**\n```python\nQ = 1\n```\n", {"scheduler/queue.py"});
    ASSERT_EQ(e.files.size(), 1U);
    EXPECT_EQ(e.files[0].path, "scheduler/queue.py");
    EXPECT_EQ(e.files[0].reason, AssignReason::named_by_suffix);
}

TEST(Extract, UnexpectedNamedPythonFilesAreKeptButMarked)
{
    const auto e = extract("**utils.py**\n```python\nU = 1\n```\n**solution.py**\n```python\n"
                           "from utils import U\n```\n");
    ASSERT_EQ(e.files.size(), 2U);
    EXPECT_EQ(e.files[0].path, "utils.py");
    EXPECT_FALSE(e.files[0].expected);
    EXPECT_TRUE(e.find("solution.py")->expected);
}

TEST(Extract, LaterBlockForTheSamePathWins)
{
    const auto e = extract("# file: solution.py\n```python\n# file: solution.py\nv = 1\n```\n"
                           "Fixed:\n```python\n# file: solution.py\nv = 2\n```\n");
    ASSERT_EQ(e.files.size(), 1U);
    EXPECT_THAT(e.files[0].text, HasSubstr("v = 2"));
    EXPECT_TRUE(notes_mention(e, "replaces block 0"));
}

TEST(Extract, RejectsPathTraversalAndAbsolutePathsWithANote)
{
    const auto e = extract("```python\n# file: ../evil.py\nA = 1\n```\n"
                           "```python\n# file: /etc/evil.py\nB = 1\n```\n",
                           {"solution.py"});
    EXPECT_FALSE(e.blocks[0].name.has_value());
    EXPECT_EQ(e.blocks[0].rejected_name, "../evil.py");
    EXPECT_FALSE(e.blocks[1].name.has_value());
    EXPECT_TRUE(notes_mention(e, "'..' would leave"));
    EXPECT_TRUE(notes_mention(e, "absolute paths are not allowed"));
    // Code meant for another place does not become the solution either.
    EXPECT_FALSE(e.has_code());
}

TEST(Extract, RefusesFilesThatChangeHowPytestRuns)
{
    const auto e = extract("**conftest.py**\n```python\ndef pytest_runtest_call(): pass\n```\n"
                           "```python\nx = 1\n```\n");
    EXPECT_EQ(e.find("conftest.py"), nullptr);
    EXPECT_TRUE(notes_mention(e, "change how pytest runs"));
    EXPECT_EQ(file_text(e, "solution.py"), "x = 1\n");
}

TEST(Extract, ANamedShellBlockIsNotAFile)
{
    const auto e = extract("Run `solution.py`:\n```bash\npython solution.py\n```\n"
                           "```python\nx = 1\n```\n");
    EXPECT_EQ(file_text(e, "solution.py"), "x = 1\n");
}

TEST(Extract, UnnamedBlocksAreIgnoredWhenSeveralExpectedFilesAreMissing)
{
    const auto e = extract("```python\nx = 1\n```\n", {"a.py", "b.py"});
    EXPECT_FALSE(e.has_code());
    EXPECT_TRUE(notes_mention(e, "2 expected files are missing"));
}

TEST(Extract, OneMissingExpectedFileTakesTheUnnamedBlock)
{
    const auto e = extract("**a.py**\n```python\nA = 1\n```\n```python\nB = 1\n```\n",
                           {"a.py", "b.py"});
    EXPECT_EQ(file_text(e, "a.py"), "A = 1\n");
    EXPECT_EQ(file_text(e, "b.py"), "B = 1\n");
    EXPECT_EQ(e.find("b.py")->reason, AssignReason::longest_unnamed);
}

TEST(StripThinking, HandlesSeveralSpans)
{
    bool unfinished = true;
    EXPECT_EQ(strip_thinking("a<think>x</think>b<think>y</think>c", unfinished), "abc");
    EXPECT_FALSE(unfinished);
    EXPECT_EQ(strip_thinking("a<think>x</think>b<think>y", unfinished), "ab");
    EXPECT_TRUE(unfinished);
}

TEST(Dedent, RemovesOnlyTheCommonPrefix)
{
    EXPECT_EQ(dedent("  a\n    b\n\n  c\n"), "a\n  b\n\nc\n");
    EXPECT_EQ(dedent("\ta\n\t\tb"), "a\n\tb");
    EXPECT_EQ(dedent("  a\n\tb\n"), "  a\n\tb\n"); // mixed prefixes share nothing
}

TEST(NormalizeRelativePath, AcceptsAndCleans)
{
    std::string why;
    EXPECT_EQ(normalize_relative_path("./pkg//mod.py", why), "pkg/mod.py");
    EXPECT_EQ(normalize_relative_path("solution.py", why), "solution.py");
}

TEST(NormalizeRelativePath, Rejects)
{
    for (const char* bad : {"", "/etc/passwd", "~/x.py", "a/../../x.py", "..", "a\\b.py",
                            "C:x.py", "dir/", "a b.py", "./"}) {
        std::string why;
        EXPECT_FALSE(normalize_relative_path(bad, why).has_value()) << bad;
        EXPECT_FALSE(why.empty()) << bad;
    }
}

RC_GTEST_PROP(ExtractProperty, WrittenPathsAreAlwaysSafe, ())
{
    const auto names = *rc::gen::container<std::vector<std::string>>(rc::gen::container<std::string>(
        rc::gen::element('a', '/', '.', '\\', '~', ':', '_', ' ', 'p', 'y')));
    std::string reply;
    for (const auto& name : names) {
        reply += "```python\n# file: " + name + ".py\nx = 1\n```\n";
    }
    const auto e = extract_code(ExtractionInput{reply, {}, {"solution.py"}});
    for (const auto& file : e.files) {
        RC_ASSERT(!file.path.empty());
        RC_ASSERT(file.path.front() != '/');
        RC_ASSERT(file.path.find('\\') == std::string::npos);
        RC_ASSERT(file.path.find(':') == std::string::npos);
        RC_ASSERT(("/" + file.path + "/").find("/../") == std::string::npos);
        RC_ASSERT(file.path.find("//") == std::string::npos);
    }
}

TEST(Extract, NamesForArtifacts)
{
    EXPECT_EQ(to_string(CodeSource::reasoning), "reasoning");
    EXPECT_EQ(to_string(NameSource::preceding_line), "preceding_line");
    EXPECT_EQ(to_string(AssignReason::named_by_suffix), "named_by_suffix");
}

} // namespace
} // namespace gpumod::bench
