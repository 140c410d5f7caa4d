"""The architecture as checked rules: import contracts, no cycles, imports at module top.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and are run with
import-linter; the README's "Architecture" section explains them.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import networkx

from zenops.kernel.deferred import DEFERRED, LAZY_PROJECT_IMPORTS

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("zenops", "drift", "registry", "demand", "flows")
LINT = str(Path(sys.executable).with_name("lint-imports"))


def lint(cwd: Path, *contracts: str) -> subprocess.CompletedProcess[str]:
    only = [arg for contract in contracts for arg in ("--contract", contract)]
    return subprocess.run(
        [LINT, "--no-cache", *only],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_hold() -> None:
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " 0 broken." in done.stdout.split("Contracts:")[-1]


def test_a_core_importing_an_outside_system_breaks_its_contract(tmp_path: Path) -> None:
    """The contracts are not vacuous: one violation each, on a copy of the sources, fails."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert lint(tmp_path, "pure-cores", "no-app", "kernel").returncode == 0

    (tmp_path / "drift" / "violation.py").write_text("import mlflow\n")
    (tmp_path / "registry" / "violation.py").write_text("from zenops.app import cli\n")
    (tmp_path / "zenops" / "kernel" / "violation.py").write_text("from drift import policy\n")
    done = lint(tmp_path, "pure-cores", "no-app", "kernel")

    assert done.returncode == 1
    assert "drift.violation -> mlflow" in done.stdout
    assert "registry.violation -> zenops.app" in done.stdout
    assert "zenops.kernel.violation -> drift.policy" in done.stdout
    assert "Contracts: 0 kept, 3 broken." in done.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others."""
    edges = networkx.DiGraph()
    for module in graph.modules:
        edges.add_node(module)
        imported = graph.find_modules_directly_imported_by(module)
        edges.add_edges_from((module, other) for other in imported)
    return sorted(sorted(group) for group in networkx.strongly_connected_components(edges) if len(group) > 1)


def test_no_module_is_part_of_an_import_cycle() -> None:
    """Imports inside functions count: a deferred import is still a dependency."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert len(graph.modules) > 50
    assert _cycles(graph) == []


def _function_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import):
                found += [(node.lineno, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.append((node.lineno, node.module))
    return found


def _lazy_project_import_allowed(relative: str) -> bool:
    return any(relative == place or relative.startswith(place) for place in LAZY_PROJECT_IMPORTS)


def test_only_the_listed_heavy_libraries_are_imported_inside_functions() -> None:
    wrong = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            for line, module in _function_imports(path):
                top = module.split(".")[0]
                if top in DEFERRED or (top in PACKAGES and _lazy_project_import_allowed(relative)):
                    continue
                wrong.append(f"{relative}:{line}: {module}")
    assert wrong == [], "import at module top, or list the library in zenops/kernel/deferred.py"


def test_every_listed_place_exists() -> None:
    for place in LAZY_PROJECT_IMPORTS:
        assert (ROOT / place).exists(), place
