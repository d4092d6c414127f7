"""The layers of the code, read from its import statements (module level and inside functions).

    entry points   portal.worker (Celery), portal.fit (detached fitting), portal.startup (dev start-up)
    app            portal (create_app), portal.cli
    digests        portal.digests.*     e-mail digests: render, charts, delivery, unsubscribe route
    dashboard      portal.dashboard.*   filters, view, lists, exports, layout, components/, pages/
    data           portal.data.*        storage, imports, cache, results, jobs, background, seed
    platform       portal.platform.*    config, db, models, accounts, auth, tenancy, security, ...
    analytics      analytics.*          the pure library

An import may point to its own layer or to a lower one, never up; the import graph has no
cycle; ``analytics`` never imports Dash, Flask or ``portal``; no import is hidden behind
``importlib`` or ``__import__``; an import inside a function (in ``analytics`` and in ``portal``)
says why in a comment.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("analytics", "portal")

LAYERS = [  # lowest first; a module belongs to the last entry that matches it
    ("analytics", ("analytics",)),
    ("platform", ("portal.platform",)),
    ("data", ("portal.data",)),
    ("dashboard", ("portal.dashboard",)),
    ("digests", ("portal.digests",)),
    ("app", ("portal", "portal.cli")),
    ("entry points", ("portal.worker", "portal.fit", "portal.startup")),
]
#: Third-party packages the pure library must never import.
WEB_PACKAGES = ("dash", "dash_bootstrap_components", "dash_ag_grid", "flask", "flask_login", "flask_caching",
                "flask_limiter", "flask_wtf", "werkzeug", "portal")


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    line: int
    in_function: bool

    def __str__(self) -> str:
        where = "inside a function" if self.in_function else "module level"
        return f"{self.source} -> {self.target} (line {self.line}, {where})"


def module_files() -> dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join(parts)] = path
    return files


def layer_of(module: str) -> int | None:
    found = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or (module.startswith(p + ".") and p != "portal") for p in prefixes):
            found = rank
    return found


def _function_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes that sit inside a function body."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for child in ast.walk(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    inside.add(id(child))
    return inside


def arrows_of(module: str, path: Path, modules: dict[str, Path]) -> list[tuple[Arrow, ast.stmt]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    inside = _function_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            for alias in node.names:
                submodule = f"{origin}.{alias.name}"
                targets.append(submodule if submodule in modules else origin)
        else:
            continue
        for target in dict.fromkeys(targets):
            found.append((Arrow(module, target, node.lineno, id(node) in inside), node))
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, list[Arrow]]:
    modules = module_files()
    return {module: [arrow for arrow, _ in arrows_of(module, path, modules)] for module, path in modules.items()}


def internal(arrows: list[Arrow], modules) -> list[Arrow]:
    return [a for a in arrows if a.target in modules and a.target != a.source]


def test_every_module_has_a_layer(graph):
    assert [m for m in graph if layer_of(m) is None] == []


def test_imports_point_down_the_layers(graph):
    upward = [str(a) for arrows in graph.values() for a in internal(arrows, graph)
              if layer_of(a.target) > layer_of(a.source)]
    assert upward == [], "imports that point up a layer:\n" + "\n".join(upward)


def test_analytics_never_imports_web_packages_or_the_portal(graph):
    offending = [str(a) for module, arrows in graph.items() if module.startswith("analytics")
                 for a in arrows if a.target.split(".")[0] in WEB_PACKAGES]
    assert offending == []


def strongly_connected(graph: dict[str, list[Arrow]]) -> list[list[str]]:
    """Tarjan's algorithm on the internal import graph; components of more than one module."""
    edges = {m: sorted({a.target for a in internal(arrows, graph)}) for m, arrows in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return components


def test_no_import_cycles(graph):
    assert strongly_connected(graph) == []


def test_no_hidden_imports():
    """``importlib.import_module``, ``find_spec`` and ``__import__`` hide arrows from readers."""
    hidden = []
    for module, path in module_files().items():
        for node in ast.walk(ast.parse(path.read_text())):
            name = None
            if isinstance(node, ast.Attribute) and node.attr in ("import_module", "find_spec"):
                name = node.attr
            elif isinstance(node, ast.Name) and node.id == "__import__":
                name = node.id
            if name:
                hidden.append(f"{module}:{node.lineno} {name}")
    assert hidden == []


def _block_start(lines: list[str], lineno: int) -> int:
    """0-based index of the first line of the block of imports (blank lines between them
    allowed) that ends with line ``lineno``."""
    start = lineno - 1
    while start > 0:
        above = lines[start - 1].strip()
        if above and not above.startswith(("import ", "from ")) and not above.endswith((",", "(")):
            break
        start -= 1
    return start


#: Words that a comment at the head of a function must contain to explain every import in it
#: (a dispatcher such as ``analytics._load`` says once why all its imports are lazy).
REASONS = ("lazy", "optional")


def _explained_at_head(lines: list[str], tree: ast.AST) -> set[int]:
    """Line numbers of the imports inside a function whose head (the lines from ``def`` to its first
    statement after the docstring) has a comment naming a reason (:data:`REASONS`)."""
    explained: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body
        first = body[1] if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(
            getattr(body[0], "value", None), ast.Constant) else body[0]
        head = lines[node.lineno - 1: first.lineno]
        if any("#" in line and any(word in line.lower() for word in REASONS) for line in head):
            explained |= {child.lineno for child in ast.walk(node) if isinstance(child, (ast.Import, ast.ImportFrom))}
    return explained


def silent_function_imports(module: str, path: Path, modules: dict[str, Path]) -> list[str]:
    """The imports inside functions of ``module`` with no comment in their block of imports,
    on the two lines above, or at the head of their function (see :func:`_explained_at_head`)."""
    lines = path.read_text().splitlines()
    at_head = _explained_at_head(lines, ast.parse(path.read_text()))
    silent = []
    for arrow, node in arrows_of(module, path, modules):
        if not arrow.in_function or node.lineno in at_head:
            continue
        start = _block_start(lines, node.lineno)
        if not any("#" in line for line in lines[max(start - 2, 0): node.end_lineno]):
            silent.append(str(arrow))
    return silent


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_inside_functions_say_why(package):
    """In ``analytics`` and ``portal``, an import inside a function is an optional dependency
    or deliberate lazy loading (import speed: ``import analytics`` and the CLI's ``--help``
    load no pandas, scikit-learn or scipy), and a comment says which."""
    modules = module_files()
    silent = [arrow for module, path in modules.items() if module.split(".")[0] == package
              for arrow in silent_function_imports(module, path, modules)]
    assert silent == [], "imports inside functions without a reason:\n" + "\n".join(sorted(set(silent)))


def test_private_dash_names_only_in_the_adapter():
    """Private Dash modules and names are used in ``portal.platform.dash_compat`` only."""
    modules = module_files()
    private = []
    for module, path in modules.items():
        if not module.startswith("portal") or module == "portal.platform.dash_compat":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for name in names:
                if name.split(".")[0] == "dash" and any(part.startswith("_") for part in name.split(".")):
                    private.append(f"{module}:{node.lineno} {name}")
            if isinstance(node, ast.Attribute) and node.attr in (
                    "_setup_server", "_callback_list", "_got_first_request", "GLOBAL_CALLBACK_MAP",
                    "GLOBAL_CALLBACK_LIST", "_make_progress_key", "_make_set_props_key", "context_value"):
                private.append(f"{module}:{node.lineno} .{node.attr}")
    assert private == []


def architecture_picture() -> str:
    """The drawing of the layers in the README's Architecture section (its first code block)."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Architecture"):]
    start = section.index("```") + 3
    return section[start: section.index("```", start)]


def test_the_readme_picture_names_every_module_of_the_layers():
    """Each module of ``portal/<layer>/`` (components and pages are drawn as folders) appears in
    the README's picture, and each layer folder it draws exists."""
    picture = architecture_picture()
    missing = [f"portal/{folder}/{path.stem}"
               for folder in ("platform", "data", "dashboard", "digests")
               for path in sorted((ROOT / "portal" / folder).glob("*.py"))
               if path.stem != "__init__" and not re.search(rf"(?<![\w/]){path.stem}\b", picture)]
    assert missing == [], "modules the README's architecture picture does not show:\n" + "\n".join(missing)
    drawn = set(re.findall(r"portal/(\w+)/", picture))
    assert drawn == {"platform", "data", "dashboard", "digests"}
    assert all((ROOT / "portal" / folder).is_dir() for folder in drawn)


# --- the checker itself, on small made-up graphs ---------------------------------------


def _arrows(pairs):
    graph = {}
    for source, target in pairs:
        graph.setdefault(source, []).append(Arrow(source, target, 1, False))
        graph.setdefault(target, [])
    return graph


def test_the_checker_finds_a_cycle_and_an_upward_arrow():
    cyclic = _arrows([("portal.data.results", "portal.data.jobs"), ("portal.data.jobs", "portal.data.background"),
                      ("portal.data.background", "portal.data.jobs"), ("portal.cli", "portal.data.jobs")])
    assert strongly_connected(cyclic) == [["portal.data.background", "portal.data.jobs"]]
    assert layer_of("portal.data.jobs") > layer_of("portal.platform.tenancy")
    assert layer_of("portal") > layer_of("portal.dashboard.pages.value") > layer_of("portal.data.jobs")
    assert layer_of("analytics.rfm") == 0


def test_the_checker_reads_relative_and_function_level_imports(tmp_path):
    source = tmp_path / "jobs.py"
    source.write_text("from ..platform import db\nfrom . import storage\n\ndef f():\n"
                      "    from portal import create_app  # lazy\n    return create_app\n")
    modules = {"portal.data.jobs": source, "portal.platform.db": source, "portal.data.storage": source,
               "portal": source}
    found = [arrow for arrow, _ in arrows_of("portal.data.jobs", source, modules)]
    assert [(a.target, a.in_function) for a in found] == [
        ("portal.platform.db", False), ("portal.data.storage", False), ("portal", True)]


def test_the_checker_wants_a_reason_for_a_function_level_import(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "def silent():\n    import json\n    return json\n\n\n"
        "def commented():\n    import csv  # lazy: only this command reads CSV\n    return csv\n\n\n"
        "def dispatcher(name):\n    \"\"\"Doc.\"\"\"\n    # Deliberate lazy loading: one import per case\n"
        "    match name:\n        case \"a\":\n            import gzip as loaded\n"
        "        case \"b\":\n            import zlib as loaded\n    return loaded\n\n\n"
        "def other_comment():\n    # a remark about nothing in particular\n    x = 1\n\n    y = 2\n\n"
        "    import re\n    return re, x, y\n")
    silent = silent_function_imports("analytics.m", source, {"analytics.m": source})
    assert silent == ["analytics.m -> json (line 2, inside a function)",
                      "analytics.m -> re (line 28, inside a function)"]
