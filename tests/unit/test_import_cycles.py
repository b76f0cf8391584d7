"""portal/ has no import cycle: every import between its modules, at module level or inside a function, is an edge.

A function-level import only postpones a cycle to the first call; it is still a dependency, so it counts.
The graph is read from the source (ast), so it sees every import whichever branch or call would run it.
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from pathlib import Path

PORTAL = Path(__file__).resolve().parents[2] / "portal"

# Cycles that exist and are to be removed, each as its modules in sorted order. Keep it empty: a cycle listed
# here that is gone fails the test too, so the list only shrinks.
KNOWN_CYCLES: frozenset[tuple[str, ...]] = frozenset()


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    where: str  # "module level" or "in f()"

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target} {self.where}"


def module_names(package: Path) -> dict[str, Path]:
    """Every module under package by dotted name (a package by its own name, not by __init__)."""
    names = {}
    for path in package.rglob("*.py"):
        parts = [package.name, *path.relative_to(package).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module an import of name runs last: name itself, or the nearest package or module above it."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: dict[str, Path]) -> set[str]:
    if isinstance(node, ast.Import):
        found = {_resolve(alias.name, modules) for alias in node.names}
    else:
        base = node.module or ""
        if node.level:  # relative: . is this module's package (a package's own __init__ is its own package)
            parts = module.split(".") if is_package else module.split(".")[:-1]
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join([*parts, base] if base else parts)
        # `from pkg import sub` runs pkg/sub.py; `from pkg import name` needs pkg/__init__.py to define name.
        found = {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else _resolve(base, modules)
                 for alias in node.names}
    return {target for target in found if target and target != module}


def _walk(node: ast.AST, where: str):
    """(import node, where) for every import under node, noting the innermost function it runs in."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, where
        inner = f"in {child.name}()" if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else where
        yield from _walk(child, inner)


def import_edges(package: Path) -> list[Edge]:
    """Every import from one module of package to another, with the line and whether a function holds it."""
    modules = module_names(package)
    edges = []
    for module, path in sorted(modules.items()):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node, where in _walk(tree, "at module level"):
            for target in sorted(_targets(node, module, path.name == "__init__.py", modules)):
                edges.append(Edge(module, target, node.lineno, where))
    return edges


def _components(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def _shortest_path(graph: dict[str, set[str]], start: str, goal: str, within: set[str]) -> list[str]:
    came_from: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            break
        for succ in sorted(graph[node] & within):
            if succ not in came_from:
                came_from[succ] = node
                queue.append(succ)
    path = [goal]
    while (previous := came_from[path[-1]]) is not None:
        path.append(previous)
    return path[::-1]


def find_cycles(edges: list[Edge]) -> list[list[str]]:
    """Import cycles, each as its modules in import order starting at the least one: one through every edge
    inside each strongly connected component (the shortest way back), so no edge of a cycle goes unnamed."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    cycles: set[tuple[str, ...]] = set()
    for component in _components(graph):
        for source in sorted(component):
            for target in sorted(graph[source] & component):
                path = [source, *_shortest_path(graph, target, source, component)[:-1]]
                first = path.index(min(path))
                cycles.add(tuple(path[first:] + path[:first]))
    return [list(cycle) for cycle in sorted(cycles)]


def describe(cycles: list[list[str]], edges: list[Edge]) -> str:
    by_pair: dict[tuple[str, str], list[Edge]] = {}
    for edge in edges:
        by_pair.setdefault((edge.source, edge.target), []).append(edge)
    lines = []
    for cycle in cycles:
        lines.append(" -> ".join([*cycle, cycle[0]]))
        for source, target in zip(cycle, [*cycle[1:], cycle[0]], strict=True):
            lines.extend(f"    {edge}" for edge in by_pair[source, target])
    return "\n".join(lines)


def test_portal_has_no_import_cycle() -> None:
    edges = import_edges(PORTAL)
    cycles = find_cycles(edges)
    new = [cycle for cycle in cycles if tuple(sorted(cycle)) not in KNOWN_CYCLES]
    assert not new, "import cycles in portal/ (break each at one of its imports):\n" + describe(new, edges)
    gone = KNOWN_CYCLES - {tuple(sorted(cycle)) for cycle in cycles}
    assert not gone, f"no longer cycles, take them off KNOWN_CYCLES: {sorted(gone)}"


def test_the_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    # The check itself can fail: a package with one cycle of each kind the walk has to resolve.
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from pkg import a\n",                              # a package importing its submodule
        "a.py": "import pkg.b\n",                                          # a -> b, absolute
        "b.py": "def f():\n    from . import a\n",                         # b -> a, relative, in a function
        "c.py": "from pkg.sub import d\n",                                 # c -> sub.d: a submodule by name
        "sub/__init__.py": "",
        "sub/d.py": "class D:\n    def g(self):\n        from ..c import X\n",  # sub.d -> c, in a method
        "e.py": "from pkg import VALUE\n",                                 # e -> pkg: a name from __init__
        "f.py": "from pkg import e\n",                                     # no cycle: f -> e -> pkg -> a ...
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    edges = import_edges(pkg)
    assert {(e.source, e.target, e.where) for e in edges} == {
        ("pkg", "pkg.a", "at module level"), ("pkg.a", "pkg.b", "at module level"), ("pkg.b", "pkg.a", "in f()"),
        ("pkg.c", "pkg.sub.d", "at module level"), ("pkg.sub.d", "pkg.c", "in g()"),
        ("pkg.e", "pkg", "at module level"), ("pkg.f", "pkg.e", "at module level"),
    }
    cycles = find_cycles(edges)
    assert cycles == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.sub.d"]]
    assert describe(cycles, edges).splitlines() == [
        "pkg.a -> pkg.b -> pkg.a",
        "    pkg.a:1 imports pkg.b at module level",
        "    pkg.b:2 imports pkg.a in f()",
        "pkg.c -> pkg.sub.d -> pkg.c",
        "    pkg.c:1 imports pkg.sub.d at module level",
        "    pkg.sub.d:3 imports pkg.c in g()",
    ]
