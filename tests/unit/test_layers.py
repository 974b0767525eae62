"""The package layers hold: every import points down, and no modules import each other in a circle.

Ranks: cdp and prompts 0, llm 1, agents and report 2, graph 3, evals 4, cli 5, tests 6 (so no product
package imports the tests). A module may import its own package or a package of lower rank, nothing
else; imports inside functions count too. Import cycles are checked on the imports a module runs when
it is loaded (a function's lazy import is excluded, since it runs after every module involved has
finished loading).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RANKS = {
    "cdp": 0,
    "prompts": 0,
    "llm": 1,
    "agents": 2,
    "report": 2,
    "graph": 3,
    "evals": 4,
    "cli": 5,
    "tests": 6,
}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    target: str  # the imported module, dotted (the deepest one that exists in the tree)
    where: str  # path:line
    at_load: bool  # runs when the module is loaded (not inside a function or TYPE_CHECKING)


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_with_load_flag(tree: ast.Module):
    """(node, runs at load) for every import, descending into everything but recording the context."""

    def visit(node: ast.AST, at_load: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, at_load
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) or (
                isinstance(child, ast.If) and _is_type_checking(child)
            ):
                yield from visit(child, False)
            else:
                yield from visit(child, at_load)

    yield from visit(tree, True)


def collect_imports(root: Path, packages=tuple(RANKS)) -> tuple[set[str], list[Import]]:
    """Every module of `packages` under `root`, and every import among them of a ranked package."""
    files = sorted(p for pkg in packages for p in (root / pkg).rglob("*.py") if ".venv" not in p.parts)
    modules = {_module_name(root, p): p for p in files}
    found: list[Import] = []
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, at_load in _imports_with_load_flag(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from pkg import mod` imports the module pkg.mod when it exists.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            where = f"{path.relative_to(root)}:{node.lineno}"
            for target in targets:
                if target.split(".")[0] not in RANKS:
                    continue
                while target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                found.append(Import(name, target, where, at_load))
    return set(modules), found


def layer_violations(root: Path) -> list[str]:
    """`path:line: a imports b` for each import of a package of the same or a higher rank."""
    _, imports = collect_imports(root)
    bad = []
    for imp in imports:
        own, other = imp.source.split(".")[0], imp.target.split(".")[0]
        if own != other and RANKS[other] >= RANKS[own]:
            bad.append(
                f"{imp.where}: {imp.source} ({own}, rank {RANKS[own]}) imports {imp.target} "
                f"({other}, rank {RANKS[other]})"
            )
    return bad


def import_cycle(root: Path) -> list[str]:
    """The first import cycle among load-time imports, as `path:line: a imports b` steps; [] if none."""
    modules, imports = collect_imports(root)
    edges: dict[str, set[str]] = {m: set() for m in modules}
    where: dict[tuple[str, str], str] = {}
    for imp in imports:
        if imp.at_load and imp.target in modules and imp.target != imp.source:
            edges[imp.source].add(imp.target)
            where.setdefault((imp.source, imp.target), imp.where)
    try:
        TopologicalSorter(edges).prepare()
    except CycleError as err:
        # graphlib lists the cycle along its edges (a before the module that imports it): reversed,
        # each module imports the next.
        cycle = err.args[1][::-1]
        return [f"{where[(a, b)]}: {a} imports {b}" for a, b in pairwise(cycle)]
    return []


def test_no_import_points_up_a_layer():
    bad = layer_violations(ROOT)
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_no_import_cycles():
    cycle = import_cycle(ROOT)
    assert not cycle, "import cycle:\n" + "\n".join(cycle)


def node_to_node_imports(root: Path) -> list[str]:
    """Graph nodes that import another node: nodes share state, never each other's code."""
    _, found = collect_imports(root, ("graph",))
    return [
        f"{imp.where}: {imp.source} imports {imp.target}"
        for imp in found
        if imp.source.startswith("graph.nodes.")
        and imp.target.startswith("graph.nodes.")
        and imp.target.split(".")[2] != imp.source.split(".")[2]
    ]


def test_no_node_imports_another_node():
    assert node_to_node_imports(ROOT) == []


def test_a_node_importing_another_node_is_reported(tmp_path):
    _write(tmp_path, "graph/__init__.py", "")
    _write(tmp_path, "graph/nodes/__init__.py", "")
    _write(tmp_path, "graph/nodes/a.py", "def f():\n    from graph.nodes.b import g\n")
    _write(tmp_path, "graph/nodes/b.py", "def g():\n    pass\n")
    (found,) = node_to_node_imports(tmp_path)
    assert "graph/nodes/a.py:2" in found and "graph.nodes.b" in found


def test_every_ranked_package_is_checked():
    modules, imports = collect_imports(ROOT)
    assert {m.split(".")[0] for m in modules} == set(RANKS)
    assert len(imports) > 100  # the scan really reads the imports, not an empty tree


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_the_check_reports_a_planted_violation_and_cycle(tmp_path):
    for pkg in RANKS:
        _write(tmp_path, f"{pkg}/__init__.py", "")
    # An upward import hidden inside a function, and one through a relative import.
    _write(tmp_path, "cdp/db.py", "def f():\n    from graph.plan import X\n    return X\n")
    _write(tmp_path, "agents/base.py", "from ..cli import main\n")
    _write(tmp_path, "cli/main.py", "import cdp.db\n")
    _write(tmp_path, "graph/plan.py", "X = 1\n")
    # Same rank, other package: report and agents are both rank 2.
    _write(tmp_path, "report/html.py", "from agents import base\n")
    # A cycle of three through `from pkg import module`, plus a lazy import that must not count.
    _write(tmp_path, "llm/a.py", "from llm import b\n")
    _write(tmp_path, "llm/b.py", "import llm.c\n")
    _write(tmp_path, "llm/c.py", "from .a import thing\n")
    _write(tmp_path, "prompts/x.py", "def g():\n    import prompts.y\n")
    _write(tmp_path, "prompts/y.py", "import prompts.x\n")

    bad = layer_violations(tmp_path)
    assert len(bad) == 3, bad
    assert any(b.startswith("cdp/db.py:2: cdp.db (cdp, rank 0) imports graph.plan") for b in bad)
    assert any(b.startswith("agents/base.py:1: agents.base (agents, rank 2) imports cli") for b in bad)
    assert any(
        b.startswith("report/html.py:1: report.html (report, rank 2) imports agents.base") for b in bad
    )

    cycle = import_cycle(tmp_path)
    assert len(cycle) == 3, cycle
    assert {line.split(": ")[1] for line in cycle} == {
        "llm.a imports llm.b",
        "llm.b imports llm.c",
        "llm.c imports llm.a",
    }
    assert "llm/a.py:1: llm.a imports llm.b" in cycle

    # With the cycle broken, the lazy import between prompts.x and prompts.y is no cycle.
    _write(tmp_path, "llm/c.py", "def h():\n    from .a import thing\n")
    assert import_cycle(tmp_path) == []
