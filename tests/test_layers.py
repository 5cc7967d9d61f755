"""The package's layers (docs/architecture.md, Layers): who may import whom, and no import circle.

Read from the source with ``ast``: every ``import`` counts, at module level or inside a function
(an import moved into a function to dodge a circle is still a circle); only imports under
``if TYPE_CHECKING:`` are exempt, since they never run. ``from package import name`` depends on the
package's own namespace unless ``name`` is a submodule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "agws_conformance"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("agws_conformance", "agws_conformance.resources", "agws_conformance.signer",
              "agws_conformance.endpoints", "agws_conformance.errors", "agws_conformance.findings", "agws_conformance.doctor",
              "agws_conformance.transcript")),
    ("data", ("agws_conformance.target", "agws_conformance.schemas", "agws_conformance.catalogue",
              "agws_conformance.results", "agws_conformance.judge", "agws_conformance.strategies",
              "agws_conformance.openapi", "agws_conformance.coverage", "agws_conformance.journal",
              "agws_conformance.scope", "agws_conformance.inspector")),
    ("io", ("agws_conformance.client", "agws_conformance.preflight", "agws_conformance.mock",
            "agws_conformance.serving", "agws_conformance.receiver")),
    ("state", ("agws_conformance.state",)),
    ("report", ("agws_conformance.report",)),
    ("plugin", ("agws_conformance.plugin",)),
    ("commands", ("agws_conformance.commands", "agws_conformance.cli")),
)
"""Lowest first: a module may import its own layer and the layers below, never one above."""


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            lines |= {n.lineno for n in ast.walk(node) if hasattr(n, "lineno")}
    return lines


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package modules ``name`` imports at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or node.lineno in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
            continue
        base = node.module or ""
        if node.level:
            package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([base] if base else []))
        submodules = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known}
        found |= submodules
        if len(submodules) < len(node.names):
            found.add(base)
    return {m for m in found if m in known and m != name}


def layer_of(name: str) -> int:
    best = (-1, -1)  # (length of the matching prefix, layer)
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best[0]:
                best = (len(prefix), rank)
    assert best[1] >= 0, f"{name} is in no layer: add it to LAYERS and docs/architecture.md"
    return best[1]


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_every_module_is_in_a_layer(graph: dict[str, set[str]]) -> None:
    for name in graph:
        layer_of(name)


def test_no_module_imports_a_layer_above_its_own(graph: dict[str, set[str]]) -> None:
    upward = sorted(f"{name} ({LAYERS[layer_of(name)][0]}) imports {dep} ({LAYERS[layer_of(dep)][0]})"
                    for name, deps in graph.items() for dep in deps if layer_of(dep) > layer_of(name))
    assert not upward, upward


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
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
                    out.append(sorted(component))
    return out


def test_no_import_circle(graph: dict[str, set[str]]) -> None:
    assert _cycles(graph) == []


def test_the_checks_see_a_circle_and_an_upward_import() -> None:
    # The scanner must work, or the tests above would pass vacuously.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    known = modules()
    report_hooks = imports("agws_conformance.report.hooks", known["agws_conformance.report.hooks"], known)
    assert "agws_conformance.state" in report_hooks and "agws_conformance.catalogue" in report_hooks
    assert layer_of("agws_conformance.plugin.run") > layer_of("agws_conformance.report.hooks")
