"""The README's "Code layout" names every module of iseca/, so a reader finds
each one there and a new module is written into the map when it is made."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def layout_block(readme: str) -> str:
    """The code block of the README's "## Code layout" section."""
    section = readme.split("## Code layout", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1]


def unnamed_modules(block: str, package: Path) -> list[str]:
    """Modules of `package` that the block does not name by their path below it
    ('money/ledger.py'; a package's __init__.py only as 'money/')."""
    named = set()
    for token in re.findall(r"[\w/]+\.py|[\w/]+/", block):
        parts = token.split("/")
        named.update("/".join(parts[i:]) for i in range(len(parts)))  # iseca/cli/ names cli/
    missing = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative == "__init__.py":
            continue
        if path.name == "__init__.py":
            wanted = {relative, relative.removesuffix("__init__.py")}
        else:
            wanted = {relative}
        if not wanted & named:
            missing.append(relative)
    return missing


def test_the_readme_names_every_module():
    block = layout_block((ROOT / "README.md").read_text(encoding="utf-8"))
    assert unnamed_modules(block, ROOT / "iseca") == []


def test_the_check_sees_a_module_left_out(tmp_path):
    package = tmp_path / "iseca"
    (package / "money").mkdir(parents=True)
    for name in ("__init__.py", "dates.py", "money/__init__.py", "money/ledger.py", "money/periods.py"):
        (package / name).write_text("")
    block = "dates.py   …\nmoney/ (points)\n  money/ledger.py   …\n"
    assert unnamed_modules(block, package) == ["money/periods.py"]
