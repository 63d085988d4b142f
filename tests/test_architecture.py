"""The layout of docs/architecture.md, held from the imports themselves.

`lint-imports` (run by make test, contracts in pyproject.toml) holds the layers and the
pure domains against Flask, sockets and SQL. This file holds what a contract cannot say:
no import circles anywhere, no module importing the package it sits in, a stage's domain
importing only domains, the core and `shared`, and no folder crowded past what a newcomer
can take in at a glance.
"""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("server", "device", "shared", "scripts")
STAGES = ("capture", "inventory", "floor", "shipping", "notify", "people", "returns", "board")
MOST_MODULES_SIDE_BY_SIDE = 15


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's components of more than one module: each is an import circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(start: str) -> None:  # iterative, so a deep chain cannot hit the recursion limit
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        circles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return circles


def test_no_import_circles(graph: grimp.ImportGraph) -> None:
    assert strongly_connected(graph) == []


def test_the_circle_finder_finds_a_circle() -> None:
    g = grimp.ImportGraph()
    for m in ("a", "a.x", "a.y", "a.z"):
        g.add_module(m)
    g.add_import(importer="a.x", imported="a.y")
    g.add_import(importer="a.y", imported="a.z")
    g.add_import(importer="a.z", imported="a.x")
    assert strongly_connected(g) == [["a.x", "a.y", "a.z"]]


def test_no_module_imports_its_own_package(graph: grimp.ImportGraph) -> None:
    """A module that imports the package it sits in runs back up a layer (the package's
    `__init__` is above it): share what both need from a module of its own instead."""
    upward = [
        f"{importer} -> {imported}"
        for importer in sorted(graph.modules)
        for imported in graph.find_modules_directly_imported_by(importer)
        if importer.startswith(imported + ".")
    ]
    assert upward == []


def test_a_stage_domain_imports_only_domains_the_core_and_shared(
    graph: grimp.ImportGraph,
) -> None:
    allowed = ("shared", "server.core") + tuple(f"server.{s}.domain" for s in STAGES)
    wrong = [
        f"{importer} -> {imported}"
        for importer in sorted(graph.modules)
        if any(importer.startswith(f"server.{s}.domain") for s in STAGES)
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported.split(".")[0] in PACKAGES
        and not any(imported == a or imported.startswith(a + ".") for a in allowed)
    ]
    assert wrong == []


def test_the_server_root_holds_only_the_app_factory_config_and_packages() -> None:
    loose = sorted(p.name for p in (ROOT / "server").glob("*.py"))
    assert loose == ["__init__.py", "app.py", "config.py"]


def test_every_stage_has_its_folder() -> None:
    assert [s for s in STAGES if not (ROOT / "server" / s / "__init__.py").is_file()] == []


def test_no_folder_is_crowded() -> None:
    crowded = {}
    for top in (*PACKAGES, "tests"):
        for folder in [ROOT / top, *(ROOT / top).rglob("*")]:
            if not folder.is_dir() or "node_modules" in folder.parts:
                continue
            modules = [
                p for p in folder.glob("*.py") if p.name not in ("__init__.py", "conftest.py")
            ]
            if len(modules) > MOST_MODULES_SIDE_BY_SIDE:
                crowded[str(folder.relative_to(ROOT))] = len(modules)
    assert crowded == {}
