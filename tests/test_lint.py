"""The linter runs over the whole tree with the project's rules (ruff.toml),
here as in `make test`, and it catches what it is there to catch."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def ruff() -> str:
    """The ruff of this environment (requirements-dev.txt pins it)."""
    found = Path(sys.executable).with_name("ruff")
    if found.exists():
        return str(found)
    on_path = shutil.which("ruff")
    if on_path is None:
        pytest.fail("ruff is not installed: make install-dev installs requirements-dev.txt")
    return on_path


def check(*paths: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([ruff(), "check", "--config", str(ROOT / "ruff.toml"), "--no-cache",
                           "--output-format", "concise", *map(str, paths)],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_tree_passes_the_linter():
    out = check(".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_linter_finds_a_repeated_dict_key_and_a_wrong_import_order(tmp_path):
    """A dict with one key twice (a word table once had "area" twice, so one
    of its words was never shown) and imports out of order are refused."""
    planted = tmp_path / "planted.py"
    planted.write_text(
        "import sys\n"
        "import os\n"
        "\n"
        "WORDS = {\n"
        '    "area": "地区",\n'
        '    "area": "画面",\n'
        "}\n"
        "print(os.sep, sys.argv, WORDS)\n",
        encoding="utf-8",
    )
    out = check(planted, cwd=tmp_path)
    assert out.returncode == 1
    assert "F601" in out.stdout and "I001" in out.stdout, out.stdout
