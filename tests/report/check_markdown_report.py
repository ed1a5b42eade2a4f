#!/usr/bin/python3
"""Checks that gpumod's Markdown report renders as intended on a code forge.

    check_markdown_report.py REPORT.md...
    check_markdown_report.py --gpumod BIN -- ARGS...

The second form first runs `BIN ARGS... --out TMPDIR` (e.g. `bench compare BASE CAND --format
md`) and checks every .md file it wrote there.

For each report:
  * every table (a run of lines starting with "|") has a delimiter row under its header, and
    every row has as many cells as the header, counting cells the way GitHub does: a pipe
    splits cells unless it is escaped ("\\|"), even inside `code`;
  * rendered with Python-Markdown (Debian's python3-markdown, `tables` extension), every table
    comes out as a <table> (a table glued to a paragraph would not) whose rows all have the
    header's column count;
  * the rendered HTML holds only the tags a report uses: a label such as "<think>" or
    "a<b" that reached the Markdown unescaped would show up as a stray tag here.

Exit status: 0 all passed, 1 a check failed, 77 skipped (python3-markdown missing; CTest reads
77 as a skip). scripts/install-deps installs python3-markdown.
"""

import argparse
import glob
import html.parser
import os
import re
import subprocess
import sys
import tempfile

SKIP = 77
TIMEOUT_S = 90
DELIMITER = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
ALLOWED_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
    "ul", "ol", "li", "code", "pre", "strong", "em", "a", "br", "hr", "blockquote", "sup", "sub",
}


def split_cells(line):
    """Cells of a table row as GitHub splits them: on every pipe not escaped by a backslash."""
    cells = []
    current = ""
    escaped = False
    for char in line.strip():
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            current += char
            escaped = True
        elif char == "|":
            cells.append(current)
            current = ""
        else:
            current += char
    cells.append(current)
    stripped = line.strip()
    if stripped.startswith("|"):
        cells = cells[1:]
    if stripped.endswith("|") and not stripped.endswith("\\|"):
        cells = cells[:-1]
    return [cell.strip() for cell in cells]


def table_blocks(text):
    """(first line number, lines) of every run of lines that start with a pipe, outside fences."""
    blocks = []
    current = []
    start = 0
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.lstrip().startswith("|"):
            if not current:
                start = number
            current.append(line)
            continue
        if current:
            blocks.append((start, current))
            current = []
    if current:
        blocks.append((start, current))
    return blocks


def source_problems(text):
    problems = []
    for start, lines in table_blocks(text):
        header = split_cells(lines[0])
        if len(lines) < 2 or not DELIMITER.match(lines[1].strip()):
            problems.append("line %d: table without a delimiter row under its header" % start)
            continue
        if len(split_cells(lines[1])) != len(header):
            problems.append("line %d: delimiter row has %d cells, header %d"
                            % (start + 1, len(split_cells(lines[1])), len(header)))
        for offset, line in enumerate(lines[2:], start=2):
            cells = split_cells(line)
            if len(cells) != len(header):
                problems.append("line %d: %d cells, header has %d: %s"
                                % (start + offset, len(cells), len(header), line.strip()))
    return problems


class RenderedTables(html.parser.HTMLParser):
    """Cell counts per row of every rendered table, and tags outside ALLOWED_TAGS."""

    def __init__(self):
        super().__init__()
        self.tables = []
        self.stray = []
        self._row = None

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.stray.append("<%s%s>" % (tag, "".join(" %s=%r" % a for a in attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = 0
        elif tag in ("td", "th") and self._row is not None:
            self._row += 1

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None and self.tables:
            self.tables[-1].append(self._row)
            self._row = None


def rendered_problems(text, markdown):
    html = markdown.markdown(text, extensions=["tables"])
    parser = RenderedTables()
    parser.feed(html)
    parser.close()
    problems = ["rendered HTML has a tag the report does not write (unescaped text?): %s" % tag
                for tag in parser.stray]
    expected = len(table_blocks(text))
    if len(parser.tables) != expected:
        problems.append("%d tables in the Markdown but %d rendered as <table> (a table needs a "
                        "blank line before it)" % (expected, len(parser.tables)))
    for index, rows in enumerate(parser.tables, start=1):
        if rows and any(count != rows[0] for count in rows):
            problems.append("rendered table %d has rows of %s cells" % (index, sorted(set(rows))))
    return problems


def check_report(path, markdown):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    problems = ["%s: %s" % (path, p) for p in source_problems(text) + rendered_problems(text, markdown)]
    if not problems:
        print("ok: %s: %d tables" % (path, len(table_blocks(text))))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gpumod", metavar="BIN", help="render the reports with BIN first")
    parser.add_argument("reports", nargs="*", help="Markdown files, or gpumod arguments after --")
    args = parser.parse_args()
    try:
        import markdown  # pylint: disable=import-outside-toplevel
    except ImportError:
        print("SKIP: python3-markdown not installed (scripts/install-deps installs it)")
        return SKIP

    with tempfile.TemporaryDirectory(prefix="gpumod-md-report-") as out:
        reports = args.reports
        if args.gpumod:
            command = [args.gpumod] + args.reports + ["--out", out]
            ran = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                                 check=False)
            if ran.returncode != 0:
                print("FAIL: %s exited with %d\n%s%s" % (" ".join(command), ran.returncode,
                                                        ran.stdout, ran.stderr))
                return 1
            reports = sorted(glob.glob(os.path.join(out, "**", "*.md"), recursive=True))
            if not reports:
                print("FAIL: %s wrote no .md file under %s" % (" ".join(command), out))
                return 1
        if not reports:
            parser.error("no report given")
        problems = []
        for path in reports:
            problems += check_report(path, markdown)
    for problem in problems:
        print("FAIL: " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
