"""Level 5: jobs.py split into the `scheduler` package, with jobs.py as a re-exporting shim.

Structure is checked by importing (identity of re-exported objects, import in any order) and by
reading the import statements of each file. Behaviour: test_scheduler_behaviour.py."""

import ast
import importlib
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
NAMES = {"Job", "JobStatus", "JobQueue", "RetryError", "RetryPolicy", "Scheduler"}
HOME = {
    "Job": "scheduler.job",
    "JobStatus": "scheduler.job",
    "JobQueue": "scheduler.queue",
    "RetryError": "scheduler.retry",
    "RetryPolicy": "scheduler.retry",
    "Scheduler": "scheduler.runner",
}
MODULES = ["scheduler", "scheduler.job", "scheduler.queue", "scheduler.retry",
           "scheduler.runner", "jobs"]
SUBMODULES = {"job", "queue", "retry", "runner"}


def ours(name):
    return name == "jobs" or name == "scheduler" or name.startswith("scheduler.")


@pytest.fixture
def fresh_imports():
    """Forgets our modules so a test can import them in its own order; restores them after."""
    saved = {k: v for k, v in sys.modules.items() if ours(k)}

    def purge():
        for k in [k for k in sys.modules if ours(k)]:
            del sys.modules[k]

    purge()
    yield
    purge()
    sys.modules.update(saved)


# ---- structure ------------------------------------------------------------------------------

@pytest.mark.parametrize("first", MODULES)
def test_every_module_imports_first_without_circular_import(first, fresh_imports):
    importlib.import_module(first)
    for name in MODULES:
        importlib.import_module(name)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_each_class_lives_in_its_module_and_is_reexported_identically(name):
    home = importlib.import_module(HOME[name])
    pkg = importlib.import_module("scheduler")
    shim = importlib.import_module("jobs")
    cls = getattr(home, name)
    assert cls.__module__ == HOME[name], f"{name} is defined in {cls.__module__}"
    assert getattr(pkg, name) is cls, f"scheduler.{name} is not {HOME[name]}.{name}"
    assert getattr(shim, name) is cls, f"jobs.{name} is not {HOME[name]}.{name}"


def test_package_all_is_exactly_the_six_names():
    pkg = importlib.import_module("scheduler")
    assert set(pkg.__all__) == NAMES
    assert len(pkg.__all__) == len(NAMES)


def test_star_import_from_jobs_gives_the_same_objects():
    namespace = {}
    exec("from jobs import *", namespace)
    pkg = importlib.import_module("scheduler")
    for name in NAMES:
        assert namespace[name] is getattr(pkg, name)


@pytest.mark.parametrize("module", ["scheduler", "jobs"])
def test_package_init_and_shim_define_no_classes_or_functions(module):
    mod = importlib.import_module(module)
    path = Path(mod.__file__)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defined = [n.name for n in ast.walk(tree)
               if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
    assert defined == [], f"{path.name} defines {defined}; it must only re-export"


def imported_modules(path, package):
    """Modules of ours that a file imports, resolved to dotted names ('scheduler' = the package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if ours(alias.name):
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not ours(target):
                continue
            if target == "scheduler":
                for alias in node.names:
                    found.add(f"scheduler.{alias.name}" if alias.name in SUBMODULES
                              else "scheduler")
            else:
                found.add(target)
    return found


@pytest.mark.parametrize("module, allowed", [
    ("scheduler.job", set()),
    ("scheduler.retry", set()),
    ("scheduler.queue", {"scheduler.job"}),
    ("scheduler.runner", {"scheduler.job", "scheduler.queue", "scheduler.retry"}),
])
def test_submodule_dependencies(module, allowed):
    path = HERE / (module.replace(".", "/") + ".py")
    assert path.is_file(), f"{path.name} missing"
    deps = imported_modules(path, "scheduler")
    assert deps <= allowed, f"{module} imports {sorted(deps - allowed)}; allowed: {sorted(allowed)}"


def test_runner_really_uses_queue_and_retry_modules():
    deps = imported_modules(HERE / "scheduler" / "runner.py", "scheduler")
    assert {"scheduler.queue", "scheduler.retry"} <= deps


def test_package_never_imports_the_shim():
    for path in sorted((HERE / "scheduler").glob("*.py")):
        assert "jobs" not in imported_modules(path, "scheduler"), f"{path.name} imports jobs"
