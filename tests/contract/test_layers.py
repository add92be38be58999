"""The house has layers, and data flows one way: every import of every module (those inside
functions too) goes to the same layer or a lower one, never up, and no modules import each other
in a circle. The command groups of the CLI share only `cli/common`, never each other."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import breakglass_aws

PACKAGE = Path(breakglass_aws.__file__).parent

# lowest first; a module belongs to the first layer that names it or a package holding it
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("ground", ("errors", "clock", "redact", "permissions", "lambda_package", "nesting", "parallel")),
    ("base", ("models", "validate", "aws", "aws_calls", "settings", "notify", "notice_format", "config_file")),
    ("journal", ("journal",)),
    ("runtime", ("runtime",)),
    ("domain", ("scp", "role", "rotation", "evidence", "watch", "root", "custody")),
    ("incident", ("incident",)),
    ("readiness", ("readiness", "testing", "testing_root", "testing_kit")),
    ("entry", ("cli", "lambda_handler", "restore", "__main__", "__init__", "pytest_plugin")),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}


def imports(path: Path, known: set[str]) -> set[str]:
    """Every module of the package this file imports, at any depth of its code."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("breakglass_aws"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in known}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("breakglass_aws")}
    return {m for m in found if m in known}


def layer_of(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    for rank, (_, names) in enumerate(LAYERS):
        if top in names:
            return rank
    raise AssertionError(f"{module} is in no layer: place it in LAYERS")


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(p, set(known)) - {m} for m, p in known.items()}


def test_no_import_runs_up_a_layer():
    upward = [
        f"{m} ({LAYERS[layer_of(m)][0]}) -> {t} ({LAYERS[layer_of(t)][0]})"
        for m, targets in graph().items()
        for t in targets
        if layer_of(t) > layer_of(m)
    ]
    assert upward == []


def test_no_circle():
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    assert circles == []


def test_a_package_s_face_is_imported_only_from_outside_it():
    """Inside a package its rooms import each other, never the package's face (whose names come
    from those rooms): that keeps a face from closing a circle."""
    faces = {m for m, p in modules().items() if p.name == "__init__.py" and m != "breakglass_aws"}
    inside = [f"{m} -> {t}" for m, targets in graph().items() for t in targets if t in faces and m.startswith(t + ".")]
    assert inside == []


def test_no_command_group_imports_another():
    groups = {m for m in modules() if m.startswith("breakglass_aws.cli.") and m.count(".") == 2}
    shared = {"breakglass_aws.cli.app", "breakglass_aws.cli.group", "breakglass_aws.cli.state"}
    crossing = [
        f"{m} -> {t}"
        for m, targets in graph().items()
        if m in groups - shared
        for t in targets
        if t in groups - shared - {"breakglass_aws.cli.common"}
    ]
    assert crossing == []


def test_no_assert_narrows_types_in_the_package():
    """`python -O` strips asserts: a type is narrowed by a check that raises, or by the types."""
    found = [
        f"{module_name(path)}:{node.lineno}"
        for path in modules().values()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assert)
    ]
    assert found == []


def test_every_aws_client_is_typed_by_its_stub():
    """Every service the package asks the factory for has an overload returning its boto3-stubs
    client type, so no client is `Any` to mypy."""
    pattern = re.compile(r"\.client(?:_once|_as)?\(\s*\"([a-z0-9-]+)\"")
    used = {name for path in modules().values() for name in pattern.findall(path.read_text())}
    assert {"organizations", "iam", "sts", "s3", "dynamodb"} <= used, "the pattern no longer finds the clients"
    typed = set(re.findall(r'def client\(self, service: Literal\["([a-z0-9-]+)"\]', (PACKAGE / "aws.py").read_text()))
    assert used <= typed, f"clients without a stub type: {sorted(used - typed)}"
