"""The wheel carries the package data (the prompt files), and the prompts load from it.

The wheel is built from a copy of the sources (pyproject.toml, README.md, functionary/), so
that a stale build/ folder in the checkout cannot supply files, with this virtualenv's
setuptools (no build isolation, no index): it needs no network.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = ROOT / "functionary" / "prompts"
PACKAGE_DATA = sorted(p.relative_to(ROOT).as_posix() for p in PROMPTS.glob("*.txt"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT / "functionary", src / "functionary",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index", "--no-build-isolation",
         "--disable-pip-version-check", "-q", "-w", str(tmp / "dist"), str(src)],
        capture_output=True, text=True, timeout=120, check=False)
    wheels = sorted((tmp / "dist").glob("functionary-*.whl"))
    assert proc.returncode == 0 and len(wheels) == 1, (
        f"could not build the wheel (pip and setuptools>=68 must be installed in {sys.prefix}):\n"
        f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return wheels[0]


def test_prompt_files_are_package_data(wheel):
    assert len(PACKAGE_DATA) >= 10, PACKAGE_DATA
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [p for p in PACKAGE_DATA if p not in names] == []
    assert "functionary/prompts/__init__.py" in names


def test_prompts_load_from_the_wheel_as_a_zip(wheel, tmp_path):
    """Imported straight from the .whl (zipimport), with no site-packages (-S) and an isolated
    interpreter (-I), so neither the checkout nor an editable install can supply the files."""
    code = ("import sys, functionary.prompts as p\n"
            "assert p.__file__.startswith(sys.argv[1]), p.__file__\n"
            "assert not {'torch', 'transformers', 'pydantic'} & set(sys.modules)\n"
            "print(p.prompt('response_format.txt', schema='{\"type\": \"object\"}'))\n")
    argv = [sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(wheel)!r})\n" + code, str(wheel)]
    proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    expected = (PROMPTS / "response_format.txt").read_text(encoding="utf-8").rstrip("\n")
    assert proc.stdout == expected.replace("{schema}", '{"type": "object"}') + "\n"
