#include "core/bench/extract.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace gpumod::bench {
namespace {

constexpr std::string_view k_think_open = "<think>";
constexpr std::string_view k_think_close = "</think>";
/// Language tags that mean Python.
constexpr std::array<std::string_view, 5> k_python_tags = {"python", "py", "python3", "py3",
                                                           "python2"};
/// Files that change how pytest itself runs (hooks, configuration, interpreter start-up): a
/// model that writes them could pass tests it did not solve, so they are never taken unless the
/// level expects them.
constexpr std::array<std::string_view, 7> k_reserved_names = {
    "conftest.py", "pytest.ini",        "tox.ini",          "setup.cfg",
    "pyproject.toml", "sitecustomize.py", "usercustomize.py"};
/// Keywords before a file name on its own line ("File: x.py", "Filename x.py").
constexpr std::array<std::string_view, 4> k_name_keywords = {"filename", "file", "path",
                                                              "module"};

bool is_blank(std::string_view line)
{
    return std::all_of(line.begin(), line.end(),
                       [](char c) { return c == ' ' || c == '\t' || c == '\f' || c == '\v'; });
}

std::string_view trim(std::string_view text)
{
    const auto first = text.find_first_not_of(" \t\f\v\n");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t\f\v\n");
    return text.substr(first, last - first + 1);
}

std::string lower(std::string_view text)
{
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool starts_with_icase(std::string_view text, std::string_view prefix)
{
    return text.size() >= prefix.size() && lower(text.substr(0, prefix.size())) == prefix;
}

std::string normalize_newlines(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r') {
            out.push_back('\n');
            if (i + 1 < text.size() && text[i + 1] == '\n') {
                ++i;
            }
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

std::vector<std::string_view> split_lines(std::string_view text)
{
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto end = text.find('\n', start);
        if (end == std::string_view::npos) {
            if (start < text.size()) {
                lines.push_back(text.substr(start));
            }
            break;
        }
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

/// A token that could be a file path: path characters and an extension of letters/digits.
/// Backslashes, '~' and ':' are let through so that normalize_relative_path can reject (and
/// note) them instead of the name silently being ignored.
bool looks_like_path(std::string_view token)
{
    if (token.empty() || token.size() > 200) {
        return false;
    }
    for (const char c : token) {
        const auto u = static_cast<unsigned char>(c);
        if (!(std::isalnum(u) != 0 || c == '_' || c == '-' || c == '.' || c == '/' || c == '\\' ||
              c == '~' || c == ':')) {
            return false;
        }
    }
    const auto slash = token.find_last_of("/\\");
    const auto base = slash == std::string_view::npos ? token : token.substr(slash + 1);
    const auto dot = base.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == base.size() ||
        base.size() - dot - 1 > 5) {
        return false;
    }
    return std::all_of(base.begin() + static_cast<std::ptrdiff_t>(dot) + 1, base.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

bool ends_with_py(std::string_view path)
{
    return path.ends_with(".py");
}

std::string_view base_name(std::string_view path)
{
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool looks_like_python(std::string_view text)
{
    for (const auto line : split_lines(text)) {
        const auto t = trim(line);
        if (t.starts_with("def ") || t.starts_with("async def ") || t.starts_with("class ") ||
            t.starts_with("import ") || t.starts_with("@") || t.starts_with("if __name__") ||
            (t.starts_with("from ") && t.find(" import ") != std::string_view::npos)) {
            return true;
        }
    }
    return false;
}

bool is_python_tag(std::string_view tag)
{
    return std::find(k_python_tags.begin(), k_python_tags.end(), tag) != k_python_tags.end();
}

/// A name from the fence's info string: ```python:queue.py, ```python title="queue.py",
/// ```python file=queue.py.
std::optional<std::string> name_from_info(std::string_view info, std::string& language)
{
    const auto space = info.find_first_of(" \t");
    std::string_view first = info.substr(0, space);
    std::optional<std::string> name;
    if (const auto colon = first.find(':'); colon != std::string_view::npos) {
        if (looks_like_path(first.substr(colon + 1))) {
            name = std::string(first.substr(colon + 1));
        }
        first = first.substr(0, colon);
    }
    language = lower(first);
    if (!name && space != std::string_view::npos) {
        const auto rest = info.substr(space);
        for (const std::string_view key : {"title=", "file=", "filename=", "path="}) {
            const auto at = rest.find(key);
            if (at == std::string_view::npos) {
                continue;
            }
            auto value = rest.substr(at + key.size());
            if (!value.empty() && (value.front() == '"' || value.front() == '\'')) {
                const char quote = value.front();
                value = value.substr(1);
                value = value.substr(0, value.find(quote));
            } else {
                value = value.substr(0, value.find_first_of(" \t"));
            }
            if (looks_like_path(value)) {
                name = std::string(value);
                break;
            }
        }
    }
    return name;
}

/// `# file: scheduler/queue.py`, `# filename: x.py`, or a comment that is just `# queue.py`.
std::optional<std::string> name_from_first_line(std::string_view line)
{
    auto t = trim(line);
    if (!t.starts_with('#') || t.starts_with("#!")) {
        return std::nullopt;
    }
    t = trim(t.substr(1));
    bool keyword = false;
    for (const auto key : k_name_keywords) {
        if (starts_with_icase(t, key) && t.size() > key.size() && t[key.size()] == ':') {
            t = trim(t.substr(key.size() + 1));
            keyword = true;
            break;
        }
    }
    if (t.find_first_of(" \t") != std::string_view::npos || !looks_like_path(t)) {
        return std::nullopt;
    }
    // Without a keyword only a .py name counts: "# e.g." or "# v1.2" are ordinary comments.
    if (!keyword && !ends_with_py(t)) {
        return std::nullopt;
    }
    return std::string(t);
}

/// Tokens inside `backticks` or **bold** markers on a line.
std::vector<std::string_view> marked_tokens(std::string_view line)
{
    std::vector<std::string_view> tokens;
    for (const std::string_view mark : {"`", "**"}) {
        std::size_t pos = 0;
        for (;;) {
            const auto open = line.find(mark, pos);
            if (open == std::string_view::npos) {
                break;
            }
            const auto close = line.find(mark, open + mark.size());
            if (close == std::string_view::npos) {
                break;
            }
            tokens.push_back(trim(line.substr(open + mark.size(), close - open - mark.size())));
            pos = close + mark.size();
        }
    }
    return tokens;
}

/// The prose line right before a fence, when it names a file: `**scheduler/queue.py**`,
/// `` `queue.py`: ``, "File: x.py", "### queue.py", or one marked .py name in a sentence
/// ("Create `scheduler/queue.py`:").
std::optional<std::string> name_from_preceding_line(std::string_view line)
{
    std::string stripped;
    for (const char c : trim(line)) {
        if (c != '*' && c != '`') {
            stripped.push_back(c);
        }
    }
    std::string_view t = trim(stripped);
    while (!t.empty() && (t.front() == '#' || t.front() == '-' || t.front() == '>')) {
        t = trim(t.substr(1));
    }
    while (!t.empty() && t.back() == ':') {
        t = trim(t.substr(0, t.size() - 1));
    }
    for (const auto key : k_name_keywords) {
        if (starts_with_icase(t, key) && t.size() > key.size() &&
            (t[key.size()] == ':' || t[key.size()] == ' ')) {
            t = trim(t.substr(key.size() + 1));
            break;
        }
    }
    if (!t.empty() && t.find_first_of(" \t") == std::string_view::npos && looks_like_path(t)) {
        return std::string(t);
    }
    // A sentence: only a single, marked .py name counts.
    std::optional<std::string> found;
    for (const auto token : marked_tokens(line)) {
        if (token.find_first_of(" \t") != std::string_view::npos || !looks_like_path(token) ||
            !ends_with_py(token)) {
            continue;
        }
        if (found && *found != token) {
            return std::nullopt;
        }
        found = std::string(token);
    }
    return found;
}

/// Fence opening: up to any indentation, three or more backticks or tildes.
struct Fence
{
    char mark = '`';
    std::size_t length = 0;
    std::size_t indent = 0;
    std::string_view info;
};

std::optional<Fence> parse_fence(std::string_view line)
{
    const auto indent = line.find_first_not_of(" \t");
    if (indent == std::string_view::npos) {
        return std::nullopt;
    }
    const char mark = line[indent];
    if (mark != '`' && mark != '~') {
        return std::nullopt;
    }
    const auto end = line.find_first_not_of(mark, indent);
    const std::size_t length = (end == std::string_view::npos ? line.size() : end) - indent;
    if (length < 3) {
        return std::nullopt;
    }
    const auto info = trim(end == std::string_view::npos ? std::string_view() : line.substr(end));
    // CommonMark: a backtick fence's info string holds no backtick (``` inline ``` is prose).
    if (mark == '`' && info.find('`') != std::string_view::npos) {
        return std::nullopt;
    }
    return Fence{mark, length, indent, info};
}

bool closes(const Fence& fence, std::string_view line)
{
    const auto t = trim(line);
    return t.size() >= fence.length && t.find_first_not_of(fence.mark) == std::string_view::npos;
}

/// Removes up to `indent` leading spaces (a fence indented inside a list item).
std::string_view unindent(std::string_view line, std::size_t indent)
{
    std::size_t n = 0;
    while (n < indent && n < line.size() && (line[n] == ' ' || line[n] == '\t')) {
        ++n;
    }
    return line.substr(n);
}

/// Dedents, drops blank lines at both ends, ends with exactly one newline.
std::string finish_block_text(std::string_view raw)
{
    std::string text = dedent(raw);
    const auto lines = split_lines(text);
    std::size_t first = 0;
    std::size_t last = lines.size();
    while (first < last && is_blank(lines[first])) {
        ++first;
    }
    while (last > first && is_blank(lines[last - 1])) {
        --last;
    }
    std::string out;
    for (std::size_t i = first; i < last; ++i) {
        out.append(lines[i]);
        out.push_back('\n');
    }
    return out;
}

/// Validates a proposed name; invalid or reserved names leave the block unnamed with a note.
void set_name(CodeBlock& block, const std::string& proposed, NameSource source,
              const std::vector<std::string>& expected, std::vector<std::string>& notes)
{
    std::string why;
    auto path = normalize_relative_path(proposed, why);
    if (!path) {
        notes.push_back(fmt::format("block {} (line {}): ignored the file name '{}': {}",
                                    block.index, block.line, proposed, why));
        block.rejected_name = proposed;
        return;
    }
    const bool is_expected = std::find(expected.begin(), expected.end(), *path) != expected.end();
    const auto base = base_name(*path);
    if (!is_expected && std::find(k_reserved_names.begin(), k_reserved_names.end(), base) !=
                            k_reserved_names.end()) {
        notes.push_back(fmt::format("block {} (line {}): ignored the file name '{}': it would "
                                    "change how pytest runs",
                                    block.index, block.line, *path));
        block.rejected_name = std::move(*path);
        return;
    }
    block.name = std::move(*path);
    block.name_source = source;
}

/// Finds every code block of one cleaned text.
std::vector<CodeBlock> find_blocks(std::string_view text, const std::vector<std::string>& expected,
                                   std::vector<std::string>& notes)
{
    const auto lines = split_lines(text);
    std::vector<CodeBlock> blocks;
    std::size_t prose_start = 0; ///< first line after the previous block
    std::size_t i = 0;
    while (i < lines.size()) {
        const auto fence = parse_fence(lines[i]);
        if (!fence) {
            ++i;
            continue;
        }
        CodeBlock block;
        block.index = blocks.size();
        block.line = i + 1;
        auto info_name = name_from_info(fence->info, block.language);
        std::string raw;
        std::size_t j = i + 1;
        block.terminated = false;
        for (; j < lines.size(); ++j) {
            if (closes(*fence, lines[j])) {
                block.terminated = true;
                break;
            }
            raw.append(unindent(lines[j], fence->indent));
            raw.push_back('\n');
        }
        block.text = finish_block_text(raw);
        block.python = is_python_tag(block.language) ||
                       (block.language.empty() && looks_like_python(block.text));

        if (info_name) {
            set_name(block, *info_name, NameSource::info_string, expected, notes);
        }
        if (!block.name && !block.rejected_name) {
            const auto body = split_lines(block.text);
            if (!body.empty()) {
                if (auto named = name_from_first_line(body.front())) {
                    set_name(block, *named, NameSource::first_line, expected, notes);
                }
            }
        }
        if (!block.name && !block.rejected_name) {
            // The nearest prose line before the fence, at most one blank line away.
            std::size_t k = i;
            int blanks = 0;
            while (k > prose_start && is_blank(lines[k - 1]) && blanks < 2) {
                --k;
                ++blanks;
            }
            if (k > prose_start && blanks < 2 && !is_blank(lines[k - 1])) {
                if (auto named = name_from_preceding_line(lines[k - 1])) {
                    set_name(block, *named, NameSource::preceding_line, expected, notes);
                }
            }
        }
        blocks.push_back(std::move(block));
        i = j + 1;
        prose_start = i;
    }
    return blocks;
}

/// A whole answer that is bare code (no fences at all) and starts like a Python module.
std::optional<CodeBlock> bare_code_block(std::string_view text)
{
    const auto t = trim(text);
    const auto first_line = t.substr(0, t.find('\n'));
    if (!(first_line.starts_with("import ") || first_line.starts_with("from ") ||
          first_line.starts_with("def ") || first_line.starts_with("class ") ||
          first_line.starts_with("#!") || first_line.starts_with("@")) ||
        !looks_like_python(t)) {
        return std::nullopt;
    }
    CodeBlock block;
    block.line = 1;
    block.language = "python";
    block.python = true;
    block.fenced = false;
    block.text = finish_block_text(text);
    return block;
}

/// The expected path a named file stands for: exact, else the one expected path that ends
/// with it (or that it ends with) at a '/' boundary.
std::optional<std::pair<std::string, AssignReason>>
match_expected(const std::string& name, const std::vector<std::string>& expected)
{
    if (std::find(expected.begin(), expected.end(), name) != expected.end()) {
        return std::pair{name, AssignReason::named};
    }
    std::optional<std::string> match;
    for (const auto& e : expected) {
        const bool suffix = (name.size() > e.size() && name.ends_with("/" + e)) ||
                            (e.size() > name.size() && e.ends_with("/" + name));
        if (!suffix) {
            continue;
        }
        if (match) {
            return std::nullopt; // ambiguous: keep the name the model gave
        }
        match = e;
    }
    if (match) {
        return std::pair{*match, AssignReason::named_by_suffix};
    }
    return std::nullopt;
}

/// Turns the blocks of one source into files.
void assign_files(Extraction& result, const std::vector<std::string>& expected)
{
    std::vector<bool> used(result.blocks.size(), false);
    auto put = [&result](ExtractedFile file) {
        for (auto& existing : result.files) {
            if (existing.path == file.path) {
                result.notes.push_back(fmt::format("'{}': block {} replaces block {} (the later "
                                                   "version wins)",
                                                   file.path, file.block, existing.block));
                existing = std::move(file);
                return;
            }
        }
        result.files.push_back(std::move(file));
    };

    for (const auto& block : result.blocks) {
        if (!block.name) {
            continue;
        }
        auto match = match_expected(*block.name, expected);
        // A .py name on a block tagged as another language (```bash under "Run `x.py`:") is
        // a command, not the file; other names are written only when the level expects them.
        const bool usable = ends_with_py(match ? match->first : *block.name)
                                ? block.python || block.language.empty()
                                : match.has_value();
        if (!usable) {
            result.notes.push_back(fmt::format("block {} (line {}): '{}' tagged '{}' is not a "
                                               "Python file the level expects; not written",
                                               block.index, block.line, *block.name,
                                               block.language));
            continue;
        }
        used[block.index] = true;
        ExtractedFile file;
        file.text = block.text;
        file.block = block.index;
        if (match) {
            file.path = match->first;
            file.reason = match->second;
        } else {
            file.path = *block.name;
            file.reason = AssignReason::named;
            file.expected = false;
        }
        put(std::move(file));
    }

    std::vector<std::string> missing;
    for (const auto& e : expected) {
        if (result.find(e) == nullptr) {
            missing.push_back(e);
        }
    }
    std::vector<std::size_t> unnamed;
    for (const auto& block : result.blocks) {
        if (!block.name && !block.rejected_name && block.python && !block.text.empty()) {
            unnamed.push_back(block.index);
        }
    }
    if (unnamed.empty()) {
        return;
    }
    if (missing.size() != 1) {
        result.notes.push_back(
            missing.empty()
                ? fmt::format("{} unnamed Python block(s) ignored: every expected file is named",
                              unnamed.size())
                : fmt::format("{} unnamed Python block(s) ignored: {} expected files are missing "
                              "and nothing says which block is which",
                              unnamed.size(), missing.size()));
        return;
    }
    // The longest block, the later one on a tie: models often follow the solution with a short
    // usage example or test, and when they revise, the final complete version comes last.
    std::size_t best = unnamed.front();
    for (const auto index : unnamed) {
        if (result.blocks[index].text.size() >= result.blocks[best].text.size()) {
            best = index;
        }
    }
    ExtractedFile file;
    file.path = missing.front();
    file.text = result.blocks[best].text;
    file.block = best;
    file.reason = AssignReason::longest_unnamed;
    put(std::move(file));
    if (unnamed.size() > 1) {
        result.notes.push_back(fmt::format("'{}': took block {}, the longest of {} unnamed Python "
                                           "blocks",
                                           missing.front(), best, unnamed.size()));
    }
}

/// Blocks and files of one cleaned text.
Extraction extract_from(std::string_view text, const std::vector<std::string>& expected)
{
    Extraction result;
    result.blocks = find_blocks(text, expected, result.notes);
    if (result.blocks.empty()) {
        if (auto bare = bare_code_block(text)) {
            result.blocks.push_back(std::move(*bare));
            result.notes.emplace_back("the answer is bare code without fences; taken whole");
        }
    }
    assign_files(result, expected);
    return result;
}

} // namespace

const ExtractedFile* Extraction::find(std::string_view path) const
{
    for (const auto& file : files) {
        if (file.path == path) {
            return &file;
        }
    }
    return nullptr;
}

bool Extraction::uses_unterminated_block() const
{
    return std::any_of(files.begin(), files.end(), [this](const ExtractedFile& file) {
        return file.block < blocks.size() && !blocks[file.block].terminated;
    });
}

std::string strip_thinking(std::string_view text, bool& unfinished)
{
    unfinished = false;
    const std::string normalized = normalize_newlines(text);
    std::string_view rest = normalized;
    // Chat templates that open <think> in the prompt leave only the closing tag in the reply.
    const auto first_open = rest.find(k_think_open);
    const auto first_close = rest.find(k_think_close);
    if (first_close != std::string_view::npos &&
        (first_open == std::string_view::npos || first_close < first_open)) {
        rest = rest.substr(first_close + k_think_close.size());
    }
    std::string out;
    for (;;) {
        const auto open = rest.find(k_think_open);
        if (open == std::string_view::npos) {
            out.append(rest);
            break;
        }
        out.append(rest.substr(0, open));
        const auto close = rest.find(k_think_close, open + k_think_open.size());
        if (close == std::string_view::npos) {
            unfinished = true;
            break;
        }
        rest = rest.substr(close + k_think_close.size());
    }
    return out;
}

std::string dedent(std::string_view text)
{
    const auto lines = split_lines(text);
    std::optional<std::string_view> common;
    for (const auto line : lines) {
        if (is_blank(line)) {
            continue;
        }
        const auto indent = line.substr(0, line.find_first_not_of(" \t"));
        if (!common) {
            common = indent;
            continue;
        }
        std::size_t n = 0;
        while (n < common->size() && n < indent.size() && (*common)[n] == indent[n]) {
            ++n;
        }
        common = common->substr(0, n);
    }
    const std::size_t cut = common ? common->size() : 0;
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        // Blank lines lose their whitespace entirely, as in Python's textwrap.dedent.
        if (!is_blank(lines[i])) {
            out.append(lines[i].substr(cut));
        }
        if (i + 1 < lines.size() || text.ends_with('\n')) {
            out.push_back('\n');
        }
    }
    return out;
}

std::optional<std::string> normalize_relative_path(std::string_view path, std::string& why)
{
    if (path.empty()) {
        why = "the path is empty";
        return std::nullopt;
    }
    if (path.front() == '/' || path.front() == '~') {
        why = "absolute paths are not allowed";
        return std::nullopt;
    }
    for (const char c : path) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\\' || c == ':' || u < 0x20 || u == 0x7f || c == ' ') {
            why = fmt::format("the character '{}' is not allowed in a path",
                              u < 0x20 || u == 0x7f ? std::string("\\x") + fmt::format("{:02x}", u)
                                                    : std::string(1, c));
            return std::nullopt;
        }
    }
    std::string out;
    std::size_t start = 0;
    while (start <= path.size()) {
        const auto slash = path.find('/', start);
        const auto part =
            path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
        if (part == "..") {
            why = "'..' would leave the work directory";
            return std::nullopt;
        }
        if (!part.empty() && part != ".") {
            if (!out.empty()) {
                out.push_back('/');
            }
            out.append(part);
        }
        if (slash == std::string_view::npos) {
            break;
        }
        start = slash + 1;
    }
    if (out.empty() || path.back() == '/') {
        why = "the path names no file";
        return std::nullopt;
    }
    return out;
}

Extraction extract_code(const ExtractionInput& input)
{
    bool unfinished = false;
    const std::string content = strip_thinking(input.content, unfinished);
    Extraction from_content = extract_from(content, input.expected_files);
    from_content.unfinished_thinking = unfinished;
    if (from_content.has_code()) {
        from_content.source = CodeSource::content;
        return from_content;
    }
    if (!trim(input.reasoning).empty()) {
        bool reasoning_unfinished = false;
        const std::string reasoning = strip_thinking(input.reasoning, reasoning_unfinished);
        Extraction from_reasoning = extract_from(reasoning, input.expected_files);
        if (from_reasoning.has_code()) {
            from_reasoning.source = CodeSource::reasoning;
            from_reasoning.unfinished_thinking = unfinished;
            from_reasoning.notes.insert(from_reasoning.notes.begin(),
                                        "the answer has no code; taken from the reasoning");
            return from_reasoning;
        }
    }
    from_content.source = CodeSource::none;
    if (unfinished) {
        from_content.notes.emplace_back("the answer opened <think> and never closed it");
    }
    return from_content;
}

std::string_view to_string(CodeSource source)
{
    switch (source) {
    case CodeSource::none:
        return "none";
    case CodeSource::content:
        return "content";
    case CodeSource::reasoning:
        return "reasoning";
    }
    return "unknown";
}

std::string_view to_string(NameSource source)
{
    switch (source) {
    case NameSource::none:
        return "none";
    case NameSource::info_string:
        return "info_string";
    case NameSource::first_line:
        return "first_line";
    case NameSource::preceding_line:
        return "preceding_line";
    }
    return "unknown";
}

std::string_view to_string(AssignReason reason)
{
    switch (reason) {
    case AssignReason::named:
        return "named";
    case AssignReason::named_by_suffix:
        return "named_by_suffix";
    case AssignReason::longest_unnamed:
        return "longest_unnamed";
    }
    return "unknown";
}

} // namespace gpumod::bench
