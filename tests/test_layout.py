"""The package's import graph: no circles, and imports point one way.

The graph is read statically (``ast``) from every module under ``tradedata/``. Every import
statement counts: at module level, inside functions and methods, and under
``if TYPE_CHECKING:``. A function-level import is a real dependency (it runs when the function
does), and a type-only import that points back at its importer is still a circle between the
two modules' ideas, so none is exempt. ``from a.b import c`` names the module ``a.b.c`` when
that is a module, else ``a.b``; relative imports are resolved against the importing module.
Importing a submodule also runs its parent packages' ``__init__``; those implicit edges are not
counted (a package re-exporting its own modules is the usual, harmless shape), so modules must
import from the module that defines a name, never from their own package's ``__init__``.

The direction rule is the developers' guide's: feeds and widgets -> manager -> adapters, cache,
validation -> model, errors. Modules belong to tiers (:data:`TIERS`, by package); none may
reach a higher tier, directly or through other modules; adapters, cache and validation reach
nothing but the model tier and their own package. A new top-level module outside every tier
is checked through what it passes on (it cannot carry a lower module up); give it a tier.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tradedata"

#: Tiers from the bottom up. A name covers the module and, for a package, everything in it
#: (except ``tradedata``, the root: only itself).
TIERS: list[tuple[str, tuple[str, ...]]] = [
    # the vocabulary: errors, bars and timeframes, symbols, calendars, CSV reading
    (
        "model",
        (
            "tradedata.errors",
            "tradedata.model",
            "tradedata._lazy",
            "tradedata.symbols",
            "tradedata.calendars",
            "tradedata.calendar_cache",
            "tradedata.csvio",
            "tradedata.redact",
            "tradedata.deadline",
            # process-wide counters, logging setup, optional-extra checks (import no tradedata)
            "tradedata.metrics",
            "tradedata.logs",
            "tradedata.extras",
            # what a stored series is: (source, symbol, timeframe)
            "tradedata.identity",
            "tradedata.actions",
        ),
    ),
    # data sources and stores: providers, the cache, validation, their configuration
    (
        "services",
        (
            "tradedata.adapters",
            "tradedata.cache",
            "tradedata.validation",
            "tradedata.config",
            "tradedata.selection",
            "tradedata.fundamentals",
            "tradedata.sim",
            # the bulk download's report types, and their old import path (a re-export)
            "tradedata.download.report",
            "tradedata.download_report",
            "tradedata.parquet",
            "tradedata.stats",
            # the manager's provider instances and the store it opens
            "tradedata.providers",
            "tradedata.stores",
        ),
    ),
    (
        "manager",
        (
            "tradedata.manager",
            "tradedata.fetching",
            "tradedata.venues",
            "tradedata.download",
            "tradedata.adjusting",
            "tradedata.range_quality",
            "tradedata.panel",
            "tradedata.health",
            # DataManager's collaborators: judging bars, reads, imports
            "tradedata.judging",
            "tradedata.reading",
            "tradedata.importing",
        ),
    ),
    ("outputs", ("tradedata.feeds", "tradedata.widgets")),
    # entry points: the lazy package root, the command line, the demo
    (
        "entry",
        (
            "tradedata",
            "tradedata.__main__",
            "tradedata.cli",
            "tradedata.commands",
            "tradedata.ops",
            "tradedata.demo",
        ),
    ),
]
#: Imports that point up on purpose, each with the reason it stands; the graph leaves them out.
UPWARD_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("tradedata.manager", "tradedata.feeds.live.plain"): (
        "DataManager.get_live_feed (issue 15) hands out the backtrader-free live feed, which runs"
        " on the live store's machinery in feeds/live; the method imports it only when called,"
        " and the feed imports nothing above the manager it is given"
    ),
}
#: Packages that may import only the model tier (and themselves).
LEAVES = ("tradedata.adapters", "tradedata.cache", "tradedata.validation")


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_package)
    return found


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module ``name`` refers to (``a.b.NAME`` -> ``a.b`` when NAME is not a module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imported(module: str, is_package: bool, node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            here = module.split(".") if is_package else module.split(".")[:-1]
            here = here[: len(here) - node.level + 1]
            base = ".".join(here + ([node.module] if node.module else []))
        for alias in node.names:
            full = f"{base}.{alias.name}"
            yield full if full in MODULES else base


def _graph() -> dict[str, dict[str, int]]:
    """module -> {imported module: line of the first import}, for modules of the package."""
    graph: dict[str, dict[str, int]] = {name: {} for name in MODULES}
    for name, (path, is_package) in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            for target in _imported(name, is_package, node):
                owner = _owner(target) if target.split(".")[0] == "tradedata" else None
                if owner is not None and owner != name and (name, owner) not in UPWARD_EXCEPTIONS:
                    graph[name].setdefault(owner, node.lineno)
    return graph


GRAPH = _graph()


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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
                    found.append(sorted(component))
    return found


def _describe(component: list[str]) -> str:
    """The shortest circle through each module of ``component``, as import chains with lines."""
    members = set(component)
    seen: set[tuple[str, ...]] = set()
    lines = []
    for start in component:
        paths = {start: [start]}
        todo = [start]
        chain = None
        while todo and chain is None:  # breadth first, inside the component
            current = todo.pop(0)
            for target in sorted(GRAPH[current]):
                if target == start:
                    chain = [*paths[current], start]
                    break
                if target in members and target not in paths:
                    paths[target] = [*paths[current], target]
                    todo.append(target)
        if chain is None:
            continue
        key = tuple(sorted(chain[:-1]))
        if key not in seen:
            seen.add(key)
            hops = [f"{a} (line {GRAPH[a][b]})" for a, b in itertools.pairwise(chain)]
            lines.append("  " + " -> ".join([*hops, chain[-1]]))
    return "\n".join(lines)


def _tier(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (length of the matching name, tier)
    for rank, (_, names) in enumerate(TIERS):
        for name in names:
            inside = module.startswith(name + ".") and name != "tradedata"  # the root: itself
            if (module == name or inside) and (best is None or len(name) > best[0]):
                best = (len(name), rank)
    return None if best is None else best[1]


def _reach(module: str) -> dict[str, list[str]]:
    """Every module ``module`` imports directly or through others, with one path to each."""
    paths = {module: [module]}
    todo = [module]
    while todo:
        current = todo.pop()
        for target in GRAPH[current]:
            if target not in paths:
                paths[target] = [*paths[current], target]
                todo.append(target)
    del paths[module]
    return paths


def test_the_graph_sees_the_package() -> None:
    assert {"tradedata.manager", "tradedata.cache.store", "tradedata.feeds.live.store"} <= set(
        GRAPH
    )
    assert "tradedata.cache.coverage" in GRAPH["tradedata.cache.store"]
    assert "tradedata.feeds.backtrader.source" in GRAPH["tradedata.feeds.live.feed"]


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b": 1}, "b": {}}) == []


def test_no_import_circles() -> None:
    cycles = _cycles(GRAPH)
    assert not cycles, "import circles:\n" + "\n\n".join(_describe(c) for c in cycles)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _tier(m) is not None))
def test_imports_point_down(module: str) -> None:
    rank = _tier(module)
    assert rank is not None
    wrong = set()
    for path in _reach(module).values():
        for a, b in itertools.pairwise(path):
            if (other := _tier(b)) is not None and other > rank:
                wrong.add(f"{a} -> {b} (line {GRAPH[a][b]}, {TIERS[other][0]} tier)")
                break
    assert not wrong, f"{module} ({TIERS[rank][0]} tier) reaches up:\n" + "\n".join(sorted(wrong))


@pytest.mark.parametrize("package", LEAVES)
def test_adapters_cache_validation_import_only_the_model(package: str) -> None:
    wrong = {}
    for module in (m for m in MODULES if m == package or m.startswith(package + ".")):
        for target, path in _reach(module).items():
            if target == package or target.startswith(package + "."):
                continue
            if _tier(target) not in (None, 0):
                wrong[target] = path
    assert not wrong, "\n".join(" -> ".join(p) for p in wrong.values())


def test_the_named_directions() -> None:
    """The guide's chain, spelled out: nothing below reaches what is above it."""

    def reaches(module: str, prefix: str) -> bool:
        return any(t == prefix or t.startswith(prefix + ".") for t in _reach(module))

    for low in ("tradedata.model", "tradedata.errors"):
        for high in ("tradedata.adapters", "tradedata.cache", "tradedata.validation"):
            assert not reaches(low, high)
    for module in (m for m in MODULES if m.startswith(LEAVES)):
        assert not reaches(module, "tradedata.manager"), module
    for module in ("tradedata.manager", "tradedata.fetching"):
        assert not reaches(module, "tradedata.feeds")
        assert not reaches(module, "tradedata.widgets")


#: Known exceptions to the naming rule below, each with the reason it stands.
NAMING_EXCEPTIONS = {
    # the old import path of the bulk download's report types, now download/report.py: a
    # re-export kept so that `from tradedata.download_report import ...` goes on working
    "tradedata.download_report",
}


def _package_members() -> dict[Path, list[str]]:
    members: dict[Path, list[str]] = {}
    for module, (path, is_package) in MODULES.items():
        if module == "tradedata":
            continue
        home = path.parent.parent if is_package else path.parent
        members.setdefault(home, []).append(module.rpartition(".")[2])
    return members


def test_module_names_do_not_repeat_their_home() -> None:
    """``feeds/live/hub.py``, not ``feeds/live_hub.py`` or ``live/live_hub.py``; one idea is
    one module, not ``tree.py`` plus ``tree_check.py``."""
    wrong = []
    for home, names in _package_members().items():
        prefix = ".".join(home.relative_to(ROOT).parts)
        for name in names:
            full = f"{prefix}.{name}"
            if full in NAMING_EXCEPTIONS:
                continue
            if name.startswith(home.name + "_"):
                wrong.append(f"{full} repeats its package's name")
            wrong += [
                f"{full} extends {prefix}.{other}"
                for other in names
                if other != name and name.startswith(other + "_")
            ]
    assert not wrong, "\n".join(wrong)
