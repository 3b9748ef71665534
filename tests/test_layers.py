"""The top-level packages depend on each other in one direction only.

    scenarios  <-  planning  <-  finance  <-  api, jointplan (CLI)
    scenarios  <-  forecasting

Every module of the project's packages is parsed with :mod:`ast` and each of its imports is read:
``import x``, ``from x import y``, relative imports, imports inside functions or ``if`` blocks,
and ``importlib.import_module("x")`` with a literal name. An import of a package its layer must
not use fails, naming the importing file, line and module.

It was seen to fail with ``from finance.sizing import prepare`` added inside a function of
``planning/plan.py`` ("planning/plan.py:... planning.plan imports finance.sizing: planning must
not import finance"), and the checker's own test below keeps that case covered.

No package imports a private name (``_x``) of ``scenarios`` or ``planning``: the layers above use
their public functions (seen to fail with ``from planning.model import _relation`` in
``finance/extension.py``).

docs/architecture.md carries the import table between the packages; it is checked against the
code here (``import_table()``), so it cannot go stale.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("scenarios", "forecasting", "planning", "finance", "api", "jointplan")

FORBIDDEN: dict[str, set[str]] = {
    "scenarios": {"forecasting", "planning", "finance", "api", "jointplan"},
    "forecasting": {"planning", "finance", "api", "jointplan"},
    "planning": {"forecasting", "finance", "api", "jointplan"},
    "finance": {"forecasting", "api", "jointplan"},
}
"""Packages each layer must not import (at module level or inside a function)."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_from(node: ast.ImportFrom, package: str) -> str:
    """The absolute module a ``from ... import`` reads from, relative levels resolved against
    ``package`` (the importing module's package)."""
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(source: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, the module being ``module``."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            name = imported_from(node, package)
            if node.module is None:  # `from . import x`: x is a module of the package
                found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, name))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def project_imports() -> list[tuple[str, str, int, str]]:
    """(file, module, line, imported module) for every import between the project's packages."""
    rows = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = module_name(path)
            source = path.read_text(encoding="utf-8")
            for line, imported in imports_of(source, module, is_package=path.name == "__init__.py"):
                if imported.split(".")[0] in PACKAGES:
                    rows.append((str(path.relative_to(ROOT)), module, line, imported))
    return rows


PRIVATE_TO_THEIR_PACKAGE = ("scenarios", "planning")
"""Packages whose private names (``_x``) no other package imports: the layers above use their
public functions only."""


def private_names_imported(source: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, ``module.name``) of each private name another package's module imports from one of
    :data:`PRIVATE_TO_THEIR_PACKAGE` in ``source`` (``from planning.plan import _x``, at module
    level or inside a function), the module being ``module``."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        name = imported_from(node, package)
        top = name.split(".")[0]
        if top in PRIVATE_TO_THEIR_PACKAGE and top != module.split(".")[0]:
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names
                      if alias.name.startswith("_") and not alias.name.startswith("__")]
    return found


def violations(rows: list[tuple[str, str, int, str]]) -> list[str]:
    found = []
    for file, module, line, imported in rows:
        layer, target = module.split(".")[0], imported.split(".")[0]
        if target in FORBIDDEN.get(layer, set()):
            found.append(f"{file}:{line} {module} imports {imported}: {layer} must not import {target}")
    return found


def import_graph() -> dict[str, dict[str, int]]:
    """For each package, the other packages it imports and in how many of its modules."""
    users: dict[str, dict[str, set[str]]] = {p: defaultdict(set) for p in PACKAGES}
    for _file, module, _line, imported in project_imports():
        src, dst = module.split(".")[0], imported.split(".")[0]
        if src != dst:
            users[src][dst].add(module)
    return {src: {dst: len(users[src][dst]) for dst in PACKAGES if users[src][dst]} for src in PACKAGES}


def import_table(*, counts: bool = False) -> str:
    """The graph as a text table: a row per importing package, a column per imported one; a cell
    is ``x`` when some module of the row's package imports the column's (with ``counts``: how many
    modules do), blank when none does."""
    graph = import_graph()
    width = max(map(len, PACKAGES))
    lines = ["imports →".ljust(width) + " | " + " | ".join(p.ljust(width) for p in PACKAGES)]
    lines.append("-" * width + "-|-" + "-|-".join("-" * width for _ in PACKAGES))
    for src in PACKAGES:
        cells = []
        for dst in PACKAGES:
            n = graph[src].get(dst)
            cells.append(("·" if dst == src else str(n) if counts and n else "x" if n else "").ljust(width))
        lines.append(src.ljust(width) + " | " + " | ".join(cells))
    return "\n".join(line.rstrip() for line in lines)


def test_imports_point_down() -> None:
    rows = project_imports()
    assert len(rows) > 100, "the import walk found too few imports: is ROOT right?"
    found = violations(rows)
    assert not found, "imports against the layering:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "module, source, bad",
    [
        ("planning.plan", "def f():\n    from finance.sizing import prepare\n", "finance.sizing"),
        ("planning.plan", "import api.app\n", "api.app"),
        ("scenarios.schema", "if True:\n    from finance import sizing\n", "finance"),
        ("finance.extension", "from ..jointplan import cli\n", "jointplan"),
        ("scenarios.io", "import importlib\nimportlib.import_module('planning.plan')\n", "planning.plan"),
    ],
)
def test_a_forbidden_import_is_named(module: str, source: str, bad: str) -> None:
    rows = [(module.replace(".", "/") + ".py", module, line, imported) for line, imported in imports_of(source, module)]
    found = violations(rows)
    assert len(found) == 1 and f"{module} imports {bad}" in found[0], found


def test_allowed_imports_pass() -> None:
    source = "from scenarios.finance import FinanceSpec\nfrom . import cashflows\nfrom .sizing import prepare\n"
    rows = [("finance/x.py", "finance.x", line, imported) for line, imported in imports_of(source, "finance.x")]
    assert [r[3] for r in rows] == ["scenarios.finance", "finance.cashflows", "finance.sizing"]
    assert violations(rows) == []


def test_no_package_imports_a_private_name_of_scenarios_or_planning() -> None:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = module_name(path)
            source = path.read_text(encoding="utf-8")
            for line, name in private_names_imported(source, module, is_package=path.name == "__init__.py"):
                found.append(f"{path.relative_to(ROOT)}:{line} {module} imports the private {name}")
    assert not found, "private names used across packages (make them public):\n" + "\n".join(found)


@pytest.mark.parametrize(
    "module, source, bad",
    [
        ("finance.extension", "from planning.plan import Plan, _working_capital\n", ["planning.plan._working_capital"]),
        ("finance.sizing", "def f():\n    from planning.model import grid_row, _relation\n", ["planning.model._relation"]),
        ("api.jobs.worker", "from planning import _x, plan\n", ["planning._x"]),
        ("jointplan.cli", "from scenarios.io import _read\n", ["scenarios.io._read"]),
        ("finance.cashflows", "from planning.working_capital import Affine, cash_streams_of\n", []),
        ("planning.plan", "from .working_capital import _sum\nfrom planning.data import _x\n", []),
        ("finance.extension", "from .sizing import _collection_rate\n", []),
    ],
)
def test_a_private_import_is_named(module: str, source: str, bad: list[str]) -> None:
    assert [name for _line, name in private_names_imported(source, module)] == bad


def test_architecture_doc_has_the_current_table() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = import_table()
    assert table in doc, "docs/architecture.md: the import table is stale; the current one is:\n\n" + table


if __name__ == "__main__":  # print the table, with counts (python tests/test_layers.py)
    print(import_table(counts=True))
