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


def _imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """Every module `path` imports, as a dotted name under `iseca` ('cms.usage')."""
    package = list(path.relative_to(root).parent.parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("iseca."):
                    found.append((node.lineno, alias.name.removeprefix("iseca.")))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if not (node.module or "").startswith("iseca"):
                    continue
                base = (node.module or "").split(".")[1:]
            else:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else list(package)
                base = base + (node.module.split(".") if node.module else [])
            if base:
                found.append((node.lineno, ".".join(base)))
            else:  # `from .. import cms`: the names are the modules
                found.extend((node.lineno, alias.name) for alias in node.names)
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
