#!/usr/bin/python3
"""Opens gpumod's HTML report in headless Chromium and checks that it renders.

    check_html_report.py [--min-charts N] [--screenshot DIR] REPORT.html...
    check_html_report.py [...] --gpumod BIN -- ARGS...

The second form first runs `BIN ARGS... --out TMPDIR` (e.g. `bench compare BASE CAND --format
html`) and checks every .html file it wrote there.

For each report:
  * static: nothing is loaded from elsewhere (no http(s) or protocol-relative URL in src/href or
    CSS url(), no <link>, no @import), so it reads without a network;
  * Chromium --dump-dom: the page's inline render check sets data-charts (number of
    <svg class="chart">) and data-charts-rendered (those with a non-empty box and drawn content)
    on <body>; both must be present, at least --min-charts, and equal;
  * no console output: with --enable-logging=stderr Chromium logs every console message of the
    page (console.error, uncaught exceptions, Content-Security-Policy violations, failed loads)
    as a ":CONSOLE" line; the report logs nothing, so any such line fails the check.

Exit status: 0 all passed, 1 a check failed, 77 skipped (no Chromium; CTest reads 77 as a
skip). Debian's `chromium` package is installed by scripts/install-deps; CHROMIUM overrides.
"""

import argparse
import glob
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
TIMEOUT_S = 90


def find_chromium():
    override = os.environ.get("CHROMIUM")
    if override:
        return override if os.access(override, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class BodyAttributes(html.parser.HTMLParser):
    """Collects <body>'s attributes and counts <svg> elements of a dumped DOM."""

    def __init__(self):
        super().__init__()
        self.body = None
        self.svgs = 0

    def handle_starttag(self, tag, attrs):
        if tag == "body" and self.body is None:
            self.body = dict(attrs)
        elif tag == "svg":
            self.svgs += 1


class ExternalReferences(html.parser.HTMLParser):
    """Finds references that would need a network (or another file) to load."""

    URL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
    CSS_URL = re.compile(r"url\(\s*['\"]?\s*(?!data:|#)", re.IGNORECASE)

    def __init__(self):
        super().__init__()
        self.problems = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        if tag == "link":
            self.problems.append("<link> element: %s" % dict(attrs))
        if tag == "style":
            self._in_style = True
        for name, value in attrs:
            value = value or ""
            if name in ("src", "href", "xlink:href", "srcset", "action", "data") and (
                    self.URL.match(value) or (name == "src" and not value.startswith("data:"))):
                self.problems.append("<%s %s=%r>" % (tag, name, value))
            if name == "style" and self.CSS_URL.search(value):
                self.problems.append("<%s style=%r>" % (tag, value))

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style and ("@import" in data or self.CSS_URL.search(data)):
            self.problems.append("stylesheet loads something: %r" % data.strip()[:120])


def static_problems(text):
    parser = ExternalReferences()
    parser.feed(text)
    parser.close()
    return parser.problems


def run_chromium(chromium, path, screenshot_dir):
    with tempfile.TemporaryDirectory(prefix="gpumod-chromium-") as profile:
        common = [
            chromium, "--headless=new", "--disable-gpu", "--no-sandbox", "--no-first-run",
            "--disable-dev-shm-usage", "--disable-extensions", "--disable-background-networking",
            "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
        ]
        url = "file://" + os.path.abspath(path)
        dom = subprocess.run(common + ["--dump-dom", url], capture_output=True, text=True,
                             errors="replace", timeout=TIMEOUT_S, check=False)
        if screenshot_dir:
            png = os.path.join(screenshot_dir, os.path.basename(path) + ".png")
            subprocess.run(common + ["--hide-scrollbars", "--window-size=1024,3000",
                                     "--screenshot=" + png, url],
                           capture_output=True, timeout=TIMEOUT_S, check=False)
        return dom


def check_report(chromium, path, min_charts, screenshot_dir):
    """Returns a list of problems with the report at `path` (empty: it passed)."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    problems = ["%s: %s" % (path, p) for p in static_problems(text)]

    result = run_chromium(chromium, path, screenshot_dir)
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    for line in console:
        problems.append("%s: console message: %s" % (path, line.strip()))
    if result.returncode != 0:
        problems.append("%s: chromium exited with %d; stderr tail:\n%s"
                        % (path, result.returncode, result.stderr[-2000:]))
        return problems

    parser = BodyAttributes()
    parser.feed(result.stdout)
    parser.close()
    if parser.body is None:
        problems.append("%s: the dumped DOM has no <body> (did the page load?)" % path)
        return problems
    charts = parser.body.get("data-charts")
    rendered = parser.body.get("data-charts-rendered")
    if charts is None or rendered is None:
        problems.append("%s: <body> lacks data-charts/data-charts-rendered: the render check "
                        "did not run (script error or blocked?)" % path)
        return problems
    if int(charts) < min_charts:
        problems.append("%s: %s charts, expected at least %d" % (path, charts, min_charts))
    if rendered != charts:
        problems.append("%s: only %s of %s charts rendered with a size and content"
                        % (path, rendered, charts))
    if parser.svgs < int(charts):
        problems.append("%s: %d <svg> elements in the DOM but the page counted %s charts"
                        % (path, parser.svgs, charts))
    if not problems:
        print("ok: %s: %s of %s charts rendered, no console messages" % (path, rendered, charts))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--min-charts", type=int, default=1)
    parser.add_argument("--screenshot", metavar="DIR", help="also save a PNG of each report")
    parser.add_argument("--gpumod", metavar="BIN", help="render the reports with BIN first")
    parser.add_argument("reports", nargs="*", help="HTML files, or gpumod arguments after --")
    args = parser.parse_args()

    chromium = find_chromium()
    if chromium is None:
        print("SKIP: chromium not found; install Debian's `chromium` (scripts/install-deps) or "
              "set CHROMIUM to a Chromium binary")
        return SKIP

    with tempfile.TemporaryDirectory(prefix="gpumod-html-report-") as out:
        reports = args.reports
        if args.gpumod:
            command = [args.gpumod] + args.reports + ["--out", out]
            ran = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                                 check=False)
            if ran.returncode != 0:
                print("FAIL: %s exited with %d\n%s%s" % (" ".join(command), ran.returncode,
                                                        ran.stdout, ran.stderr))
                return 1
            reports = sorted(glob.glob(os.path.join(out, "**", "*.html"), recursive=True))
            if not reports:
                print("FAIL: %s wrote no .html file under %s" % (" ".join(command), out))
                return 1
        if not reports:
            parser.error("no report given")
        problems = []
        for path in reports:
            problems += check_report(chromium, path, args.min_charts, args.screenshot)
    for problem in problems:
        print("FAIL: " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
