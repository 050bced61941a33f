"""The layout the README promises: packages in layers, no cycles, small rooms.

The folder layout is how a newcomer finds the code for one step of an SMS's path, so
these rules are pinned here rather than left to review.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("sms", "storage", "bot", "listeners", "server", "standins", "smsbot")
MAX_LINES = 300
# Modules allowed past MAX_LINES because they do one job that needs the room.
LONG_ONES: dict[str, str] = {
    "standins/gateway_simulator.py": "the gateway's three calls and its report pushes, with the "
    "quirks gateway-api.md documents, as one fake server over one shared state",
    "bot/config.py": "every setting's rule in one list, read in one pass so that every problem "
    "is said at once, and the list .env.example and the README are checked against",
    "storage/schema.py": "the schema's history, one migration after another in the order a "
    "database applies them: it only ever grows at the end",
    "storage/postgres/schema.py": "the same history in PostgreSQL's DDL, step for step beside "
    "storage/schema.py: it grows at the end with it",
}


def _modules() -> list[Path]:
    return [path for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))]


def _imported_packages(path: Path) -> set[str]:
    """Our top-level packages that a module imports, at any depth (function bodies too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(PACKAGES)
    return found


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in _modules():
        package = path.relative_to(REPO).parts[0]
        graph[package] |= _imported_packages(path) - {package}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle between packages, if there is any."""
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*trail[trail.index(target) :], target] if target in trail else [target]
            if target not in state:
                found = visit(target, [*trail, target])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_packages_import_each_other_without_a_cycle() -> None:
    graph = _package_graph()
    assert graph["listeners"], "no imports found: the scan is broken"
    assert _cycle(graph) is None


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("sms", set(PACKAGES) - {"sms"}),
        ("storage", set(PACKAGES) - {"storage", "sms"}),
        ("bot", {"listeners", "server", "standins", "smsbot"}),
        ("listeners", {"server", "standins", "smsbot"}),
        ("server", {"standins", "smsbot"}),
    ],
)
def test_each_layer_imports_only_the_layers_below_it(package: str, forbidden: set[str]) -> None:
    graph = _package_graph()
    assert not graph[package] & forbidden, f"{package} imports {graph[package] & forbidden}"


def test_importing_the_gateway_client_does_not_load_the_simulator() -> None:
    probe = (
        "import sys, bot.gateway; "
        "loaded = [m for m in sys.modules if m.startswith('standins') or m == 'aiohttp.web']; "
        "print(loaded)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_no_module_outgrows_one_job() -> None:
    too_long = {
        str(path.relative_to(REPO)): lines
        for path in _modules()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
        and str(path.relative_to(REPO)) not in LONG_ONES
    }
    assert not too_long, f"split these, or name their one job in LONG_ONES: {too_long}"
