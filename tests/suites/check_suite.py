#!/usr/bin/python3
"""Checks a gpumod benchmark suite directory (format: docs/suites.md).

For every level it
  * validates suite.yaml and level.yaml (schema, ids, points summing to 100, files and modules),
  * checks that reference/answer.md and every wrong*/answer.md extract (by the documented rules)
    to exactly the files stored next to them,
  * runs the level's pytest tests in a fresh directory, the way gpumod does, against
      - the reference files: every test must pass (and none may be skipped),
      - no files at all (an empty answer): pytest must fail,
      - each wrong*/files answer: pytest must fail, within the level's timeout.

Runs under Debian's /usr/bin/python3 with python3-pytest and python3-yaml; nothing else.

    /usr/bin/python3 tests/suites/check_suite.py suites/coding [--level L2] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

SUITE_KEYS = {"name", "version", "description", "levels"}
SUITE_LEVEL_KEYS = {"id", "dir", "points"}
LEVEL_KEYS = {"id", "title", "points", "timeout_s", "files", "modules"}
# Answer files may not take names that pytest itself would pick up as configuration or tests.
RESERVED_NAMES = {"conftest.py", "pytest.ini", "tox.ini", "setup.cfg", "pyproject.toml"}
PYTHON_TAGS = {"python", "py", "python3"}
FILE_HEADER = re.compile(r"^#\s*file:\s*(\S+)\s*$", re.IGNORECASE)
FENCE_OPEN = re.compile(r"^[ \t]*(`{3,})[ \t]*([^`\s]*)[^`]*$")
THINK_SPAN = re.compile(r"<think>.*?</think>", re.DOTALL)


# ---------------------------------------------------------------------------------------------
# Extraction: the rules gpumod applies to a model's reply (docs/suites.md, "Extracting files").
# ---------------------------------------------------------------------------------------------

@dataclass
class Block:
    tag: str
    text: str  # dedented, trailing whitespace removed, ends with one newline
    header: str | None  # path from a "# file: PATH" first line, normalised; None if absent
    bad_header: bool = False  # had a "# file:" line whose path is unsafe


def safe_relative_path(raw: str) -> str | None:
    """Normalises 'PATH' from a file header; None if it is absolute, escapes or is odd."""
    if "\\" in raw or raw.startswith("/") or raw.startswith("~"):
        return None
    parts = [p for p in PurePosixPath(raw).parts if p != "."]
    if not parts or any(p == ".." for p in parts):
        return None
    if not all(re.fullmatch(r"[A-Za-z0-9_.-]+", p) for p in parts):
        return None
    return "/".join(parts)


def fenced_blocks(text: str) -> list[Block]:
    """Closed fenced blocks tagged python/py/python3 or untagged, in reply order."""
    blocks: list[Block] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = FENCE_OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        fence, tag = m.group(1), m.group(2).lower()
        close = re.compile(r"^[ \t]*" + fence + r"`*[ \t]*$")
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        if j == len(lines):
            break  # unclosed block (reply cut off): not code
        if tag in PYTHON_TAGS or tag == "":
            body = textwrap.dedent("\n".join(lines[i + 1:j])).strip("\n")
            body = "\n".join(line.rstrip() for line in body.split("\n")) + "\n"
            header = None
            bad = False
            first = next((ln for ln in body.split("\n") if ln.strip()), "")
            hm = FILE_HEADER.match(first.strip())
            if hm:
                header = safe_relative_path(hm.group(1))
                bad = header is None
            if body.strip():
                blocks.append(Block(tag, body, header, bad))
        i = j + 1
    return blocks


def extract_files(reply: str, files: list[str]) -> dict[str, str]:
    """Maps each expected path to its code: the last block headed '# file: PATH'; a one-file
    level falls back to the longest Python block without a header (the later one on a tie),
    as gpumod's extractor does (docs/validation.md). Other blocks are ignored."""
    text = THINK_SPAN.sub("", reply)
    blocks = fenced_blocks(text)
    out: dict[str, str] = {}
    for block in blocks:
        if block.header in files:
            out[block.header] = block.text
    if len(files) == 1 and files[0] not in out:
        unnamed = [b for b in blocks if b.header is None and not b.bad_header]
        if unnamed:
            longest = max(len(b.text) for b in unnamed)
            out[files[0]] = [b for b in unnamed if len(b.text) == longest][-1].text
    return out


# ---------------------------------------------------------------------------------------------
# Schema
# ---------------------------------------------------------------------------------------------

@dataclass
class Level:
    id: str
    dir: Path
    title: str
    points: int
    timeout_s: int
    files: list[str]
    modules: list[str]
    answers: dict[str, Path] = field(default_factory=dict)  # "reference", "wrong", "wrong-x"


class SuiteError(Exception):
    pass


def load_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SuiteError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: expected a mapping at the top level")
    return data


def check_keys(where: str, data: dict, allowed: set[str], required: set[str]) -> None:
    unknown = set(data) - allowed
    missing = required - set(data)
    if unknown:
        raise SuiteError(f"{where}: unknown keys {sorted(unknown)}")
    if missing:
        raise SuiteError(f"{where}: missing keys {sorted(missing)}")


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def module_file_candidates(module: str) -> list[str]:
    base = module.replace(".", "/")
    return [base + ".py", base + "/__init__.py"]


def load_level(suite_dir: Path, entry: dict, index: int) -> Level:
    where = f"suite.yaml levels[{index}]"
    check_keys(where, entry, SUITE_LEVEL_KEYS, SUITE_LEVEL_KEYS)
    level_dir = suite_dir / str(entry["dir"])
    if safe_relative_path(str(entry["dir"])) is None or "/" in str(entry["dir"]):
        raise SuiteError(f"{where}: dir must be a plain directory name")
    path = level_dir / "level.yaml"
    data = load_yaml(path)
    check_keys(str(path), data, LEVEL_KEYS, LEVEL_KEYS)
    if not isinstance(data["id"], str) or data["id"] != entry["id"]:
        raise SuiteError(f"{path}: id {data['id']!r} != suite.yaml id {entry['id']!r}")
    if not isinstance(data["title"], str) or not data["title"].strip():
        raise SuiteError(f"{path}: title must be a non-empty string")
    if not is_int(data["points"]) or data["points"] <= 0:
        raise SuiteError(f"{path}: points must be a positive integer")
    if data["points"] != entry["points"]:
        raise SuiteError(f"{path}: points {data['points']} != suite.yaml points {entry['points']}")
    if not is_int(data["timeout_s"]) or not 1 <= data["timeout_s"] <= 600:
        raise SuiteError(f"{path}: timeout_s must be an integer in [1, 600]")
    files = data["files"]
    if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
        raise SuiteError(f"{path}: files must be a non-empty list of paths")
    for f in files:
        if safe_relative_path(f) != f or not f.endswith(".py"):
            raise SuiteError(f"{path}: file {f!r} must be a normalised relative path to a .py file")
        name = PurePosixPath(f).name
        if name in RESERVED_NAMES or name.startswith("test_") or name.endswith("_test.py"):
            raise SuiteError(f"{path}: file {f!r} would be collected or read by pytest")
    if len(set(files)) != len(files):
        raise SuiteError(f"{path}: files has duplicates")
    modules = data["modules"]
    if not isinstance(modules, list) or not modules or not all(isinstance(m, str) for m in modules):
        raise SuiteError(f"{path}: modules must be a non-empty list of module names")
    for m in modules:
        if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", m):
            raise SuiteError(f"{path}: {m!r} is not a module name")
        if not any(c in files for c in module_file_candidates(m)):
            raise SuiteError(f"{path}: module {m!r} has no file in files")
    return Level(entry["id"], level_dir, data["title"], data["points"], data["timeout_s"],
                 list(files), list(modules))


def load_suite(suite_dir: Path) -> list[Level]:
    data = load_yaml(suite_dir / "suite.yaml")
    check_keys("suite.yaml", data, SUITE_KEYS, SUITE_KEYS)
    if not isinstance(data["name"], str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", data["name"]):
        raise SuiteError("suite.yaml: name must be lower-case letters, digits, '-' or '_'")
    if data["name"] != suite_dir.resolve().name:
        raise SuiteError(f"suite.yaml: name {data['name']!r} != directory {suite_dir.resolve().name!r}")
    if not is_int(data["version"]) or data["version"] < 1:
        raise SuiteError("suite.yaml: version must be a positive integer")
    if not isinstance(data["description"], str) or not data["description"].strip():
        raise SuiteError("suite.yaml: description must be a non-empty string")
    entries = data["levels"]
    if not isinstance(entries, list) or not entries:
        raise SuiteError("suite.yaml: levels must be a non-empty list")
    levels = [load_level(suite_dir, e if isinstance(e, dict) else {}, i)
              for i, e in enumerate(entries)]
    ids = [lv.id for lv in levels]
    dirs = [lv.dir.name for lv in levels]
    if len(set(ids)) != len(ids) or len(set(dirs)) != len(dirs):
        raise SuiteError("suite.yaml: level ids and dirs must be unique")
    total = sum(lv.points for lv in levels)
    if total != 100:
        raise SuiteError(f"suite.yaml: points sum to {total}, not 100")
    on_disk = {p.parent.name for p in suite_dir.glob("*/level.yaml")}
    unlisted = on_disk - set(dirs)
    if unlisted:
        raise SuiteError(f"suite.yaml: level directories not listed: {sorted(unlisted)}")
    return levels


def check_level_files(level: Level) -> list[str]:
    """Static checks of one level's directory; returns problems."""
    problems: list[str] = []
    prompt = level.dir / "prompt.md"
    if not prompt.is_file() or not prompt.read_text(encoding="utf-8").strip():
        problems.append("prompt.md missing or empty")
    else:
        text = prompt.read_text(encoding="utf-8")
        for f in level.files:
            if f"# file: {f}" not in text and f"`{f}`" not in text:
                problems.append(f"prompt.md never names the file {f}")
    tests = sorted((level.dir / "tests").glob("test_*.py"))
    if not tests:
        problems.append("tests/ has no test_*.py")
    test_names = {p.relative_to(level.dir / "tests").as_posix()
                  for p in (level.dir / "tests").rglob("*") if p.is_file()}
    for f in level.files:
        if f in test_names:
            problems.append(f"answer file {f} collides with tests/{f}")
    answer_dirs = [level.dir / "reference"] + sorted(
        p for p in level.dir.iterdir() if p.is_dir() and re.fullmatch(r"wrong(-[a-z0-9-]+)?", p.name))
    if not (level.dir / "wrong").is_dir():
        problems.append("wrong/ missing")
    for d in answer_dirs:
        answer = d / "answer.md"
        files_dir = d / "files"
        if not answer.is_file() or not files_dir.is_dir():
            problems.append(f"{d.name}/answer.md or {d.name}/files/ missing")
            continue
        level.answers[d.name] = files_dir
        stored = {p.relative_to(files_dir).as_posix(): p.read_text(encoding="utf-8")
                  for p in files_dir.rglob("*") if p.is_file()}
        extracted = extract_files(answer.read_text(encoding="utf-8"), level.files)
        if d.name == "reference" and set(stored) != set(level.files):
            problems.append(f"reference/files has {sorted(stored)}, level.yaml files {level.files}")
        if set(stored) - set(level.files):
            problems.append(f"{d.name}/files has files not in level.yaml: "
                            f"{sorted(set(stored) - set(level.files))}")
        if extracted != stored:
            differ = sorted(k for k in set(extracted) | set(stored) if extracted.get(k) != stored.get(k))
            problems.append(f"{d.name}/answer.md does not extract to {d.name}/files (differ: {differ})")
    return problems


# ---------------------------------------------------------------------------------------------
# Running the tests the way gpumod does
# ---------------------------------------------------------------------------------------------

@dataclass
class RunResult:
    returncode: int | None  # None: killed at the wall timeout
    tests: int
    failures: int
    errors: int
    skipped: int
    seconds: float
    output: str


def run_pytest(level: Level, answer_files: Path | None, python: str) -> RunResult:
    with tempfile.TemporaryDirectory(prefix=f"gpumod-suite-{level.id}-") as tmp:
        work = Path(tmp) / "run"
        work.mkdir()
        if answer_files is not None:
            for f in level.files:
                src = answer_files / f
                if src.is_file():
                    dst = work / f
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dst)
        tests_dir = level.dir / "tests"
        for src in sorted(tests_dir.rglob("*")):
            if src.is_file() and "__pycache__" not in src.parts:
                dst = work / src.relative_to(tests_dir)
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
        test_files = sorted(p.relative_to(tests_dir).as_posix() for p in tests_dir.glob("test_*.py"))
        junit = Path(tmp) / "junit.xml"
        cmd = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "--continue-on-collection-errors", f"--junitxml={junit}", *test_files]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=level.timeout_s)
            rc: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            rc = None
        seconds = time.monotonic() - start
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if junit.is_file():
            root = ET.parse(junit).getroot()
            suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
            for s in suites:
                for key in counts:
                    counts[key] += int(s.get(key, "0"))
        return RunResult(rc, counts["tests"], counts["failures"], counts["errors"],
                         counts["skipped"], seconds, out.decode("utf-8", "replace"))


def describe(r: RunResult) -> str:
    rc = "timeout" if r.returncode is None else f"rc={r.returncode}"
    return (f"{rc}, {r.tests} tests, {r.failures} failed, {r.errors} errors, "
            f"{r.skipped} skipped, {r.seconds:.1f}s")


def check_level_runs(level: Level, python: str, repeat: int, verbose: bool) -> list[str]:
    problems: list[str] = []

    def show(label: str, r: RunResult) -> None:
        print(f"  {label:<22} {describe(r)}")
        if verbose:
            print(textwrap.indent(r.output.rstrip(), "    | "))

    for i in range(repeat):
        r = run_pytest(level, level.answers.get("reference"), python)
        show("reference" + (f" #{i + 1}" if repeat > 1 else ""), r)
        if r.returncode != 0 or r.tests == 0 or r.failures or r.errors or r.skipped:
            problems.append(f"reference does not pass: {describe(r)}\n"
                            + textwrap.indent(r.output[-4000:], "    | "))
            break
        if r.seconds > level.timeout_s / 2:
            problems.append(f"reference took {r.seconds:.1f}s, over half the {level.timeout_s}s timeout")

    r = run_pytest(level, None, python)
    show("empty answer", r)
    if r.returncode in (0, None):
        problems.append(f"empty answer did not fail cleanly: {describe(r)}")

    for name, files_dir in sorted(level.answers.items()):
        if name == "reference":
            continue
        r = run_pytest(level, files_dir, python)
        show(name, r)
        if r.returncode == 0:
            problems.append(f"{name} answer passes every test; it must fail at least one")
        elif r.returncode is None:
            problems.append(f"{name} answer hit the {level.timeout_s}s timeout; tests must fail, not hang")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite_dir", type=Path)
    parser.add_argument("--python", default="/usr/bin/python3",
                        help="interpreter that runs pytest (default: %(default)s)")
    parser.add_argument("--level", action="append", help="check only this level id (repeatable)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the reference tests this many times (flakiness hunt)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print pytest output")
    args = parser.parse_args()

    try:
        levels = load_suite(args.suite_dir)
    except SuiteError as exc:
        print(f"FAIL suite: {exc}")
        return 1
    print(f"suite {args.suite_dir}: {len(levels)} levels, "
          f"{sum(lv.points for lv in levels)} points")

    failed = 0
    for level in levels:
        if args.level and level.id not in args.level:
            continue
        print(f"{level.id} ({level.dir.name}, {level.points} points): {level.title}")
        problems = check_level_files(level)
        if not problems:
            problems = check_level_runs(level, args.python, max(1, args.repeat), args.verbose)
        for p in problems:
            print(f"  FAIL {p}")
        failed += bool(problems)
    if failed:
        print(f"FAILED: {failed} level(s) with problems")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
