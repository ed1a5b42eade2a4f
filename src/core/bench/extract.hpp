#pragma once

// Code extraction from a model's reply: which fenced blocks become which files, and why.
// Pure: the reply text goes in, a typed account of every block and every file comes out, so
// artifacts can show exactly what was graded. The rules are in docs/validation.md.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpumod::bench {

/// Which part of the reply the code came from.
enum class CodeSource
{
    none,      ///< no code anywhere
    content,   ///< the final answer (always preferred)
    reasoning, ///< reasoning_content, used only because the answer had no code
};

/// How a block got its file name (or why it has none).
enum class NameSource
{
    none,           ///< unnamed
    info_string,    ///< the fence's info string: ```python:queue.py or title="queue.py"
    first_line,     ///< its first line is a comment such as `# file: scheduler/queue.py`
    preceding_line, ///< the line before the fence names it (`**queue.py**`, "File: x.py")
};

/// Why a file holds the block it holds.
enum class AssignReason
{
    named,           ///< the block was named with exactly this path
    named_by_suffix, ///< named `queue.py`, matched the expected `scheduler/queue.py` (or back)
    longest_unnamed, ///< the one missing expected file: the longest unnamed Python block
};

/// One code block found in the reply.
struct CodeBlock
{
    std::size_t index = 0;    ///< position among the blocks of its source, from 0
    std::size_t line = 0;     ///< line of the opening fence in the cleaned source text, from 1
    std::string language;     ///< info string's first word, lower case ("" when untagged)
    bool python = false;      ///< tagged python/py, or untagged and looks like Python
    bool fenced = true;       ///< false: the whole answer was bare code without fences
    bool terminated = true;   ///< false: the fence never closed (a reply cut short)
    std::string text;         ///< dedented, CRLF normalized, ends with one newline
    std::optional<std::string> name; ///< the file name it was given, after validation
    NameSource name_source = NameSource::none;
    /// A name the block was given but that was refused (traversal, pytest hook files); such a
    /// block was meant for another file and never fills an unnamed slot.
    std::optional<std::string> rejected_name;
};

/// One file to write next to the tests.
struct ExtractedFile
{
    std::string path;         ///< relative, '/'-separated, validated (no `..`, not absolute)
    std::string text;
    std::size_t block = 0;    ///< index into Extraction::blocks
    AssignReason reason = AssignReason::named;
    bool expected = true;     ///< one of the level's expected files
};

/// Everything extraction decided, for grading and for artifacts.
struct Extraction
{
    CodeSource source = CodeSource::none;
    std::vector<CodeBlock> blocks; ///< blocks of `source` (empty when none)
    std::vector<ExtractedFile> files;
    std::vector<std::string> notes; ///< decisions worth showing: rejected names, ignored blocks
    /// The answer opened `<think>` and never closed it: the reply never finished thinking.
    bool unfinished_thinking = false;

    /// True when at least one file was extracted.
    [[nodiscard]] bool has_code() const { return !files.empty(); }
    /// The file with this path, or nullptr.
    [[nodiscard]] const ExtractedFile* find(std::string_view path) const;
    /// True when a file's block was cut off before its closing fence.
    [[nodiscard]] bool uses_unterminated_block() const;
};

/// What extraction reads.
struct ExtractionInput
{
    std::string_view content;   ///< the answer (`message.content`)
    std::string_view reasoning; ///< `reasoning_content`, empty when the server sent none
    std::vector<std::string> expected_files; ///< the level's files, e.g. {"solution.py"}
};

/// Extracts files from a reply: content first, reasoning only when content has no code.
Extraction extract_code(const ExtractionInput& input);

/// Removes closed `<think>...</think>` spans (and text before a lone `</think>`); an unclosed
/// `<think>` drops the rest and sets `unfinished`. CRLF and lone CR become LF.
std::string strip_thinking(std::string_view text, bool& unfinished);

/// Removes the longest whitespace prefix common to all non-blank lines (textwrap.dedent).
std::string dedent(std::string_view text);

/// A safe relative path ("./" and duplicate slashes removed), or nullopt with `why` set when
/// the path is absolute, climbs out (`..`), or holds characters no file name should.
std::optional<std::string> normalize_relative_path(std::string_view path, std::string& why);

/// Stable lower-case names for artifacts ("content", "first_line", "longest_unnamed", ...).
std::string_view to_string(CodeSource source);
std::string_view to_string(NameSource source);
std::string_view to_string(AssignReason reason);

} // namespace gpumod::bench
