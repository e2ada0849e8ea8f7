"""Loads prompt text from the `.txt` files of this package (package data, see README.md here).

They are read through `importlib.resources`, so they are found wherever the package is:
a source checkout, an editable install, an installed wheel or a zip archive.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files


@lru_cache(maxsize=None)
def _read(name: str) -> str:
    return files(__name__).joinpath(name).read_text(encoding="utf-8").rstrip("\n")


def prompt(name: str, **fields: str) -> str:
    """The prompt file's text with `{field}` placeholders filled (other braces untouched)."""
    text = _read(name)
    for key, value in fields.items():
        text = text.replace("{" + key + "}", value)
    return text
