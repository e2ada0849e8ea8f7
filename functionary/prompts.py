"""Loads prompt text from the top-level `prompts/` folder."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

PROMPTS_DIR = Path(os.environ.get("FUNCTIONARY_PROMPTS_DIR", Path(__file__).resolve().parents[1] / "prompts"))


@lru_cache(maxsize=None)
def _read(name: str) -> str:
    return (PROMPTS_DIR / name).read_text(encoding="utf-8").rstrip("\n")


def prompt(name: str, **fields: str) -> str:
    """The prompt file's text with `{field}` placeholders filled (other braces untouched)."""
    text = _read(name)
    for key, value in fields.items():
        text = text.replace("{" + key + "}", value)
    return text
