"""The package's shape, enforced: no import cycles, and layers that only point down.

commands -> domain -> db. A domain module never imports the CLI (billadmin.cli,
billadmin.commands, billadmin.render) or the terminal libraries (typer, rich, click); the domains
never import the demo, which sits on top of them. Imports under `if TYPE_CHECKING:` are
annotations only and do not count. Every import counts, deferred ones inside functions included:
a cycle through a lazy import is still a cycle, only hidden until run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import billadmin

ROOT = Path(billadmin.__file__).parent
CLI_MODULES = {"billadmin.cli", "billadmin.render", "billadmin.__main__"}
TERMINAL_LIBS = {"typer", "rich", "click"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, name: str) -> set[str]:
    """Every module this one imports (absolute names), outside TYPE_CHECKING blocks."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    raw = {name: _imports(path, name) for name, path in files.items()}
    internal = {n: {m for m in imps if m in files and m != n} for n, imps in raw.items()}
    return internal, raw


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strongconnect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return out


def _is_cli(name: str) -> bool:
    return (
        name in CLI_MODULES
        or name == "billadmin.commands"
        or name.startswith("billadmin.commands.")
    )


def _is_demo(name: str) -> bool:
    return name == "billadmin.demo" or name.startswith("billadmin.demo.")


def test_no_import_cycles():
    graph, _ = _graph()
    cycles = _cycles(graph)
    assert not cycles, "import cycles (break each by moving the shared piece down):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_domain_never_imports_the_cli_or_terminal_libraries():
    graph, raw = _graph()
    bad = []
    for name, imports in sorted(raw.items()):
        if _is_cli(name) or _is_demo(name):
            continue
        for imp in sorted(imports):
            top = imp.split(".")[0]
            if top in TERMINAL_LIBS or _is_cli(imp):
                bad.append(f"{name} imports {imp}")
    assert not bad, "the domain must not reach up into the CLI:\n" + "\n".join(bad)


def test_domains_never_import_the_demo():
    graph, _ = _graph()
    bad = [
        f"{name} imports {imp}"
        for name, imports in sorted(graph.items())
        if not (_is_cli(name) or _is_demo(name))
        for imp in sorted(imports)
        if _is_demo(imp)
    ]
    assert not bad, "\n".join(bad)


def test_the_checker_sees_a_cycle_and_a_layer_breach(tmp_path):
    """The rules above can fail: a made-up pair of modules that import each other is a cycle."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert _is_cli("billadmin.commands.invoice") and not _is_cli("billadmin.billing.generate")
