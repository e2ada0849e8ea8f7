"""Split a docstring into its description and per-parameter descriptions.

Understands the three common styles, simply (no types, no nested sections):

- Google:  ``Args:`` then ``name (type): text`` lines, continuation lines indented more;
- NumPy:   ``Parameters`` underlined with dashes, then ``name : type`` lines, text indented;
- reST:    ``:param name: text`` or ``:param type name: text``.
"""

from __future__ import annotations

import inspect
import re

__all__ = ["parse_docstring"]

_GOOGLE_PARAM_HEADERS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments",
                         "kwargs", "other parameters"}
# Any of these on a line of its own (with a colon) ends the description.
_GOOGLE_HEADERS = _GOOGLE_PARAM_HEADERS | {
    "returns", "return", "yields", "yield", "raises", "raise", "example", "examples", "note", "notes",
    "attributes", "see also", "warning", "warnings", "todo", "references"}
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\(.*?\))?\s*:\s*(.*)$")
_REST_FIELD = re.compile(r"^:(\w+)((?:\s+[^:]+?)?)\s*:\s*(.*)$")
_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Return (description, {parameter name: description}); both empty when doc is None."""
    if not doc or not doc.strip():
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    params: dict[str, str] = {}
    description_end = len(lines)
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        indent = _indent(lines[i])
        if not stripped:
            i += 1
            continue
        rest = _REST_FIELD.match(stripped)
        if rest:  # :param [type] name: text
            description_end = min(description_end, i)
            body, i = _indented_block(lines, i + 1, indent)
            kind, words, text = rest.group(1), rest.group(2).split(), rest.group(3)
            if kind in ("param", "parameter", "arg", "argument", "key", "keyword") and words:
                params[words[-1]] = _join([text, *body])
            continue
        if i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1]):  # NumPy section
            description_end = min(description_end, i)
            body, i = _numpy_block(lines, i + 2)
            if stripped.lower() in _GOOGLE_PARAM_HEADERS:
                params.update(_entries(body, numpy=True))
            continue
        if stripped.endswith(":") and stripped[:-1].strip().lower() in _GOOGLE_HEADERS:  # Google section
            description_end = min(description_end, i)
            body, i = _indented_block(lines, i + 1, indent)
            if stripped[:-1].strip().lower() in _GOOGLE_PARAM_HEADERS:
                params.update(_entries(body, numpy=False))
            continue
        i += 1
    return _join_paragraphs(lines[:description_end]), params


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _indented_block(lines: list[str], start: int, indent: int) -> tuple[list[str], int]:
    """Lines from `start` that are blank or indented deeper than `indent`; returns (lines, next index)."""
    end = start
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
        end += 1
    return lines[start:end], end


def _numpy_block(lines: list[str], start: int) -> tuple[list[str], int]:
    """A NumPy section body: everything up to the next underlined header."""
    end = start
    while end < len(lines) and not (end + 1 < len(lines) and _UNDERLINE.match(lines[end + 1])
                                    and lines[end].strip()):
        end += 1
    return lines[start:end], end


def _entries(body: list[str], *, numpy: bool) -> dict[str, str]:
    """Parameter entries of a section body: entry lines sit at the body's smallest indent."""
    nonblank = [line for line in body if line.strip()]
    if not nonblank:
        return {}
    base = min(_indent(line) for line in nonblank)
    out: dict[str, str] = {}
    names: list[str] = []
    parts: list[str] = []

    def flush() -> None:
        for name in names:
            out[name] = _join(parts)

    for line in nonblank:
        if _indent(line) == base:
            flush()
            if numpy:  # "x, y : int" -> names x and y, text on the following lines
                names = [n.strip().lstrip("*") for n in line.split(":", 1)[0].split(",") if n.strip()]
                parts = []
            else:
                m = _GOOGLE_ENTRY.match(line.strip())
                names, parts = ([m.group(1)], [m.group(2)]) if m else ([], [])
        else:
            parts.append(line)
    flush()
    return out


def _join(parts: list[str]) -> str:
    return " ".join(p.strip() for p in parts if p.strip())


def _join_paragraphs(lines: list[str]) -> str:
    """Rejoin wrapped lines; keep blank-line paragraph breaks."""
    paragraphs, current = [], []
    for line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)
