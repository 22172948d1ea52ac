"""The repository keeps its layout: module and function sizes, the layering between packages,
and every scheduler module in a capability package (README, "Layout").

:func:`layout_violations` takes a root so that each rule is also shown to fire on a small
synthetic tree: a checker that cannot fail would pass on any repository.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
#: The adapters' error tables are one row per platform error: long by nature, flat to read.
ERROR_TABLES = {"adapters/x_errors.py", "adapters/meta_errors.py"}
MIGRATIONS = "scheduler/db/migrations/versions/"
#: The capability packages of ``scheduler/`` and the only modules allowed at its root.
CAPABILITIES = {"db", "intake", "editorial", "delivery", "ops", "access", "runtime", "cli"}
CAPABILITIES |= {"api", "web"}
SCHEDULER_ROOT_MODULES = {"__init__.py", "models.py", "errors.py", "channels.py"}
#: Who may import the Celery workers: the processes that start or send to them.
WORKER_IMPORTERS = ("scheduler/runtime/", "scheduler/cli/", "workers/", "tests/", "bench/")


@dataclass(frozen=True)
class Violation:
    rule: str  # size, delivery-import, workers-import, adapters-import, capability
    path: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.path}: {self.detail}"


def _modules(root: Path) -> Iterator[tuple[str, str]]:
    """(path relative to root with / separators, source) of every Python module we own."""
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(p.startswith(".") or p in ("__pycache__", "node_modules") for p in parts):
            continue  # .venv, .git, caches: not our code
        yield "/".join(parts), path.read_text(encoding="utf-8")


def _module_name(rel: str) -> list[str]:
    parts = rel.removesuffix(".py").split("/")
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(rel: str, tree: ast.AST) -> Iterator[str]:
    """Every dotted module name ``rel`` imports, at any depth (functions included): plain and
    relative imports, ``from package import submodule`` and ``importlib.import_module("...")``.
    """
    package = _module_name(rel) if rel.endswith("__init__.py") else _module_name(rel)[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base
            # ``from scheduler import delivery`` imports the subpackage by its attribute name.
            yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and node.args:
            func, arg = node.func, node.args[0]
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            dynamic = name in ("import_module", "__import__")
            if dynamic and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield arg.value


def _imports(names: set[str], target: str) -> bool:
    return any(n == target or n.startswith(target + ".") for n in names)


def _size_violations(rel: str, source: str, tree: ast.AST) -> Iterator[Violation]:
    if rel.startswith(MIGRATIONS):
        return
    lines = source.count("\n")
    if lines > MAX_MODULE_LINES and rel not in ERROR_TABLES:
        yield Violation("size", rel, f"{lines} lines (at most {MAX_MODULE_LINES})")
    if rel.startswith("bench/"):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                yield Violation(
                    "size",
                    rel,
                    f"{node.name}() at line {node.lineno} has {length} lines "
                    f"(at most {MAX_FUNCTION_LINES})",
                )


def _import_violations(rel: str, names: set[str]) -> Iterator[Violation]:
    below_delivery = rel.startswith(("scheduler/intake/", "scheduler/editorial/"))
    if below_delivery and _imports(names, "scheduler.delivery"):
        yield Violation("delivery-import", rel, "intake and editorial never import delivery")
    if not rel.startswith(WORKER_IMPORTERS) and _imports(names, "workers"):
        yield Violation("workers-import", rel, "only scheduler/runtime and scheduler/cli do")
    if rel.startswith("adapters/") and _imports(names, "scheduler"):
        yield Violation("adapters-import", rel, "adapters never import the scheduler")


def _capability_violations(rel: str) -> Iterator[Violation]:
    parts = rel.split("/")
    if parts[0] != "scheduler" or len(parts) < 2:
        return
    if len(parts) == 2 and parts[1] not in SCHEDULER_ROOT_MODULES:
        yield Violation("capability", rel, "belongs in a capability package, not at the root")
    elif len(parts) > 2 and parts[1] not in CAPABILITIES:
        yield Violation("capability", rel, f"{parts[1]}/ is not one of the capability packages")


def layout_violations(root: Path) -> list[Violation]:
    """Every breach of the layout rules in the Python tree under ``root`` (empty when none)."""
    found: list[Violation] = []
    for rel, source in _modules(root):
        tree = ast.parse(source, filename=rel)
        found += _size_violations(rel, source, tree)
        found += _import_violations(rel, set(imported_modules(rel, tree)))
        found += _capability_violations(rel)
    return found


# --- the repository ------------------------------------------------------------------------------


def _repository(rules: set[str]) -> list[str]:
    return [str(v) for v in layout_violations(ROOT) if v.rule in rules]


def test_no_module_or_function_is_too_big() -> None:
    assert _repository({"size"}) == []


def test_intake_editorial_workers_and_adapters_keep_their_layering() -> None:
    assert _repository({"delivery-import", "workers-import", "adapters-import"}) == []


def test_every_scheduler_module_lives_in_a_capability_package() -> None:
    assert _repository({"capability"}) == []


# --- the checker, on a synthetic tree ------------------------------------------------------------


def _function(name: str, lines: int) -> str:
    """A function of exactly ``lines`` lines (signature included)."""
    return f"def {name}() -> None:\n" + "    x = 1\n" * (lines - 1)


GOOD_TREE = {
    "scheduler/__init__.py": "",
    "scheduler/models.py": "import uuid\n",
    "scheduler/channels.py": "from scheduler.models import uuid\n",
    "scheduler/intake/feeds.py": "from scheduler.ops import audit\nfrom . import htmltext\n",
    "scheduler/editorial/actions.py": "from ..intake import feeds\nimport scheduler.deliveryish\n",
    "scheduler/delivery/attempt.py": "from adapters import base\n",
    "scheduler/runtime/runner.py": "def f() -> None:\n    from workers.celery_app import x\n",
    "scheduler/cli/services.py": "import workers.celery_app\n",
    # Exactly at both limits: 400 lines, the last 80 of them one function.
    "scheduler/ops/metrics.py": "x = 1\n" * (MAX_MODULE_LINES - MAX_FUNCTION_LINES)
    + _function("ok", MAX_FUNCTION_LINES),
    "workers/tasks.py": "from scheduler.delivery import attempt\nimport workers\n",
    "adapters/x_errors.py": "x = 1\n" * 900,
    "adapters/x.py": "from adapters.base import y\nimport schedule\n",
    "scheduler/db/migrations/versions/0001_initial.py": _function("upgrade", 300) * 3,
    "bench/run.py": _function("main", 200),
    "tests/test_x.py": "from workers import celery_app\nfrom scheduler.delivery import attempt\n",
}

BAD_FILES = {
    "module over 400 lines": ("scheduler/ops/big.py", "x = 1\n" * 401, "size"),
    "function over 80 lines": ("scheduler/ops/long.py", _function("long", 81), "size"),
    "async function over 80 lines": (
        "adapters/long.py",
        "async " + _function("long", 81),
        "size",
    ),
    "bench module over 400 lines": ("bench/big.py", "x = 1\n" * 401, "size"),
    "intake imports delivery": (
        "scheduler/intake/bad.py",
        "from scheduler.delivery.attempt import deliver_attempt\n",
        "delivery-import",
    ),
    "editorial imports delivery in a function": (
        "scheduler/editorial/bad.py",
        "def f() -> None:\n    import scheduler.delivery.dispatch\n",
        "delivery-import",
    ),
    "editorial imports the delivery package by attribute": (
        "scheduler/editorial/bad.py",
        "from scheduler import delivery\n",
        "delivery-import",
    ),
    "editorial imports delivery relatively": (
        "scheduler/editorial/bad.py",
        "from ..delivery import attempt\n",
        "delivery-import",
    ),
    "intake imports delivery through importlib": (
        "scheduler/intake/bad.py",
        "import importlib\nm = importlib.import_module('scheduler.delivery.reconcile')\n",
        "delivery-import",
    ),
    "ops imports workers": (
        "scheduler/ops/bad.py",
        "from workers.celery_app import make_celery\n",
        "workers-import",
    ),
    "config imports workers in a function": (
        "config/bad.py",
        "def f() -> None:\n    import workers\n",
        "workers-import",
    ),
    "adapters import scheduler": (
        "adapters/bad.py",
        "from scheduler.models import Post\n",
        "adapters-import",
    ),
    "adapters import scheduler in a function": (
        "adapters/bad.py",
        "def f() -> None:\n    import scheduler\n",
        "adapters-import",
    ),
    "module at the scheduler root": ("scheduler/helpers.py", "x = 1\n", "capability"),
    "module in an unknown package": ("scheduler/misc/thing.py", "x = 1\n", "capability"),
}


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_checker_accepts_a_tree_that_keeps_every_rule(tmp_path: Path) -> None:
    _write(tmp_path, GOOD_TREE)
    assert [str(v) for v in layout_violations(tmp_path)] == []


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_checker_flags_each_kind_of_breach(tmp_path: Path, case: str) -> None:
    rel, text, rule = BAD_FILES[case]
    _write(tmp_path, {**GOOD_TREE, rel: text})
    assert [(v.rule, v.path) for v in layout_violations(tmp_path)] == [(rule, rel)]


def test_checker_skips_hidden_directories(tmp_path: Path) -> None:
    _write(tmp_path, {".venv/lib/scheduler/big.py": "x = 1\n" * 1000})
    assert layout_violations(tmp_path) == []
