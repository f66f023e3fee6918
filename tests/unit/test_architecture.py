"""The layout holds: imports run one way (no cycle among the project's modules, lazy imports included), and the
library never reaches for the terminal (click and rich belong to rolloutctl.cli alone)."""
from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("rolloutctl", "ingest")


def _modules() -> dict[str, Path]:
    mods = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


def _imports(name: str, path: Path) -> set[str]:
    """Every module name an import statement of the file names (at any depth: lazy imports count)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, *([base] if base else [])])
            found |= {base} | {f"{base}.{a.name}" for a in node.names}
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()

    def own(target: str) -> str | None:
        while target and target not in mods:
            target = target.rpartition(".")[0]
        return target or None

    graph = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        # a module importing its own package's __init__ is how submodules load; it is not a dependency
        graph[name] = {t for t in map(own, _imports(name, path)) if t and t != name and t != package}
    return graph


def test_no_import_cycle():
    try:
        order = list(graphlib.TopologicalSorter(_graph()).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")
    assert "rolloutctl.cli" in order and "ingest.loader" in order


def test_only_the_cli_talks_to_the_terminal():
    offenders = sorted(
        f"{name} imports {target}"
        for name, path in _modules().items() if not name.startswith("rolloutctl.cli")
        for target in _imports(name, path) if target.split(".")[0] in ("click", "rich")
    )
    assert offenders == []


def test_the_loader_does_not_depend_on_the_cli_or_the_gate():
    graph = _graph()
    offenders = sorted(f"{m} -> {t}" for m, targets in graph.items() if m.startswith("ingest")
                       for t in targets if t.startswith("rolloutctl") and t != "rolloutctl.core.layout")
    assert offenders == []


def test_no_two_test_files_share_a_name():
    """The test folders are not packages: pytest imports each test file by its bare name, and so does a spawned
    process unpickling a test's function (tests/ingest/test_collector.py's pool). Two files of one name make the
    second import the first, and that pool waits forever for workers that cannot find their function."""
    seen: dict[str, Path] = {}
    clashes = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if path.name in seen:
            clashes.append(f"{seen[path.name].relative_to(ROOT)} and {path.relative_to(ROOT)}")
        seen.setdefault(path.name, path)
    assert not clashes, "test files sharing a name: " + "; ".join(clashes)
