"""The package's import graph in figures: modules, import edges (those inside functions too),
circles (groups of modules that import each other), and floors (the longest chain of imports
once each circle counts as one module).

    python -m benchmarks.import_graph                       # this checkout
    python -m benchmarks.import_graph --package OTHER/breakglass_aws   # e.g. an older checkout
"""

from __future__ import annotations

import argparse
import ast
import json
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "breakglass_aws"


def modules(package: Path) -> dict[str, Path]:
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module of the package this one imports, at the top or inside a function."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for written in targets:
            target = written
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            groups.append(group)

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def figures(package: Path) -> dict[str, object]:
    found = modules(package)
    graph = {name: imports(name, path, set(found)) for name, path in found.items()}
    groups = strongly_connected(graph)
    group_of = {member: i for i, group in enumerate(groups) for member in group}
    condensed = {i: {group_of[t] for m in group for t in graph[m]} - {i} for i, group in enumerate(groups)}

    @cache
    def floor(i: int) -> int:
        return 1 + max((floor(j) for j in condensed[i]), default=0)

    circles = [sorted(g) for g in groups if len(g) > 1]
    return {
        "modules": len(found),
        "imports": sum(len(t) for t in graph.values()),
        "floors": max(floor(i) for i in condensed),
        "circles": len(circles),
        "in_circles": circles,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, default=ROOT, help="the breakglass_aws folder to measure")
    args = parser.parse_args()
    print(json.dumps(figures(args.package.resolve()), indent=2))


if __name__ == "__main__":
    main()
