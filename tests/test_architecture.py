"""The house's walls: an area (public, cms, terminal, wallet, counter) uses
the web layer, auth and the domain, never another area; and nothing below
the areas (web layer, auth, domain) reaches up into one. Only the factory
(iseca/__init__.py) knows every area, to register its blueprint."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "iseca"
AREAS = ("public", "cms", "terminal", "wallet", "counter")
FACTORY = PACKAGE / "__init__.py"


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if p != FACTORY)


def _area_of(path: Path, root: Path) -> str | None:
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 and parts[0] in AREAS else None


def _imports(path: Path, root: Path) -> list[tuple[int, str, str | None]]:
    """(line, module, name) for every import of the package in `path`, the
    module as a dotted name under `iseca` ('cms.usage', '' for iseca itself):
    `import iseca.cms.usage` gives (line, 'cms.usage', None), `from .usage
    import bp` in cms gives (line, 'cms.usage', 'bp')."""
    package = list(path.relative_to(root).parent.parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name.removeprefix("iseca."), None)
                         for alias in node.names if alias.name.startswith("iseca."))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if not (node.module or "").startswith("iseca"):
                    continue
                base = (node.module or "").split(".")[1:]
            else:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else list(package)
                base = base + (node.module.split(".") if node.module else [])
            found.extend((node.lineno, ".".join(base), alias.name) for alias in node.names)
    return found


def _imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """Every module `path` imports, as a dotted name under `iseca` ('cms.usage')."""
    found = []
    for line, module, name in _imports(path, root):
        if module:
            if (line, module) not in found:
                found.append((line, module))
        elif name:  # `from .. import cms`: the names are the modules
            found.append((line, name))
    return found


def area_import_problems(path: Path, root: Path = PACKAGE) -> list[str]:
    """What in `path` crosses a wall, as 'file:line imports area'."""
    own = _area_of(path, root)
    problems = []
    for line, module in _imported_modules(path, root):
        target = module.split(".")[0]
        if target in AREAS and target != own:
            problems.append(f"{path.relative_to(root.parent)}:{line} imports iseca.{module}")
    return problems


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_another_area(path):
    assert area_import_problems(path) == []


def test_the_check_sees_every_way_of_importing_an_area(tmp_path):
    """The check itself: relative, parent-relative and absolute imports of
    another area are caught; the area's own modules and the web layer are not."""
    fake = tmp_path / "iseca"
    (fake / "cms").mkdir(parents=True)
    module = fake / "cms" / "views.py"
    module.write_text(
        "from ..public.forms import X\n"
        "from .. import counter\n"
        "import iseca.wallet.payments\n"
        "from iseca.terminal import bp\n"
        "from . import usage\n"
        "from ..web.forms import JapaneseForm\n"
        "from ..cms import registers\n"
    )
    problems = area_import_problems(module, fake)
    assert [p.split(" imports ")[1] for p in problems] == [
        "iseca.public.forms", "iseca.counter", "iseca.wallet.payments", "iseca.terminal",
    ]


def test_forms_render_their_hidden_fields_through_one_macro():
    """Every form writes its CSRF token through _form.html's hidden_fields
    (a token field without an id): `hidden_tag()` gives each form the same
    id="csrf_token", which is invalid on a page of several forms."""
    templates = Path(__file__).resolve().parent.parent / "templates"
    offenders = sorted(str(p.relative_to(templates)) for p in templates.rglob("*.html")
                       if "hidden_tag()" in p.read_text(encoding="utf-8"))
    assert offenders == []


# ---------------------------------------------------------------------------
# Below the areas: the domain in four packages over the plumbing at the top
# ---------------------------------------------------------------------------

# What each domain package may import besides the plumbing at the top.
DOMAIN = {
    "money": (),
    "merchants": ("money",),
    "members": ("money",),
    "city": ("money",),
}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    """'money.payments' for iseca/money/payments.py, 'cms' for iseca/cms/__init__.py."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Every module under `root` (the factory left out) and the modules it
    imports, at any depth of the file: a function-level import is as much an
    import as one at the top. `from . import x` names the module x when it
    is one, else the package it comes from."""
    modules = {module_name(p, root): p for p in root.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        if not name:
            continue
        targets = set()
        for _, module, imported in _imports(path, root):
            named = f"{module}.{imported}".strip(".") if imported else module
            targets.add(named if named in modules else module)
        graph[name] = {t for t in targets if t and t != name and t in modules}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of the graph with more than one module
    (Tarjan), each as a sorted list: every one of them is an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            part = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                part.append(member)
                if member == node:
                    break
            if len(part) > 1 or node in graph.get(node, ()):
                cycles.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


def layer_problems(graph: dict[str, set[str]]) -> list[str]:
    """Imports that go the wrong way between the layers below the areas:
    a module at the top (plumbing) imports no package; a domain package
    imports the plumbing and the packages DOMAIN allows it, nothing else."""
    packages = {m.split(".")[0] for m in graph if "." in m}
    problems = []
    for module, targets in sorted(graph.items()):
        first = module.split(".")[0]
        for target in sorted(targets):
            target_first = target.split(".")[0]
            if target_first not in packages or target_first == first:
                continue
            if first not in packages:
                problems.append(f"{module} (at the top) imports the package {target_first}")
            elif first in DOMAIN and target_first not in DOMAIN[first]:
                problems.append(f"{module} imports {target}")
    return problems


def test_no_module_imports_itself_back():
    """No import cycle, whether the imports sit at the top of a file or in a
    function (a function-level import only hides a cycle, it does not cut it)."""
    assert import_cycles(import_graph()) == []


def test_plumbing_and_the_domain_import_only_downwards():
    """The modules at the top import no package; money imports none of
    merchants, members and city; no domain package reaches the web layer,
    auth, the command line or an area."""
    assert layer_problems(import_graph()) == []


def test_the_checks_find_a_planted_cycle_and_a_wrong_way_import(tmp_path):
    """The checks themselves, on a small package written for the purpose:
    a cycle through a function-level import, a package and its views that
    import it back beside a module of theirs (`from . import bp, records`), a
    top-level module that imports a package, and money importing merchants."""
    fake = tmp_path / "iseca"
    for folder in ("money", "merchants"):
        (fake / folder).mkdir(parents=True)
        (fake / folder / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "outbox.py").write_text("from .money import schedule\n")
    (fake / "money" / "schedule.py").write_text("from . import settlement\n")
    (fake / "money" / "settlement.py").write_text(
        "def close():\n    from .. import outbox\n    from ..merchants.records import Store\n"
    )
    (fake / "merchants" / "records.py").write_text("from ..money import settlement\n")
    (fake / "merchants" / "__init__.py").write_text("bp = object()\nfrom . import views\n")
    (fake / "merchants" / "views.py").write_text("from . import bp, records\n")
    graph = import_graph(fake)
    assert import_cycles(graph) == [
        ["merchants", "merchants.views"],
        ["merchants.records", "money.schedule", "money.settlement", "outbox"],
    ]
    assert layer_problems(graph) == [
        "money.settlement imports merchants.records",
        "outbox (at the top) imports the package money",
    ]
