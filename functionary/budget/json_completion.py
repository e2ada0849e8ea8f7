"""Follow a JSON value as it is written under a schema; say the shortest text that ends it.

`JsonCompleter.feed` takes the value's text in pieces (as the model writes it: the call's
arguments, or a response_format answer) and keeps a stack of the open objects and arrays
and the scalar being written. `completion()` is then the fewest characters that close it
validly: finish the string, number or literal (meeting minLength, pattern, enum, bounds),
give each missing required key its shortest value in schema order, meet minItems, close
every bracket. None when no completion is known from here (the caller closes elsewhere).
Unions (anyOf, oneOf, type lists) are followed branch by branch; the caller checks the
completed value against the schema before using it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

from functionary.budget.minimal import (
    branches,
    item_schema,
    json_type,
    minimal_items,
    minimal_json,
    number_completion,
    object_completion,
    properties,
    string_completion,
)
from functionary.schema import SchemaError, inline_refs

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_STARTS = {"{": "object", "[": "array", '"': "string", "t": "boolean", "f": "boolean", "n": "null"}


@dataclass
class _Frame:
    kind: str  # "object" | "array"
    options: list[dict]  # the schema branches still possible for this container
    # object: open (after "{"), next (after ","), colon (after a key), value (after ":"), after (a value)
    # array: open (after "["), value (after ","), after (an item)
    phase: str = "open"
    keys: list[str] = field(default_factory=list)  # object: keys written so far
    key: str = ""  # object: the key whose value comes next (or is being written)
    count: int = 0  # array: items written so far
    item_start: int = 0  # array: where the item being written began in the text
    last_item: str = ""  # array: the text of the last item written
    run: int = 0  # array: how many items in a row had that text


@dataclass
class _Scalar:
    kind: str  # "string" | "number" | "literal"
    options: list[dict]  # schema branches for the value (a key's are the object's)
    is_key: bool = False
    raw: str = ""  # number and literal text so far
    chars: list[str] = field(default_factory=list)  # the string's decoded characters
    escape: str = ""  # an escape sequence begun: "\\", "\\u", "\\u0" ...


class JsonCompleter:
    def __init__(self, schema, max_identical_items: Optional[int] = None) -> None:
        try:
            self.schema = inline_refs(schema) if isinstance(schema, dict) else schema
        except SchemaError:
            self.schema = schema
        self.stack: list[_Frame] = []
        self.scalar: Optional[_Scalar] = None
        self.started = False
        self.done = False
        self.broken = False  # text this follower does not understand: no completion
        self.max_identical_items = max_identical_items
        self.repeating = False  # an array reached max_identical_items identical items in a row
        self.raw = ""  # everything fed
        self.pos = 0  # where in `raw` the character being read is

    # ------------------------------------------------------------------ following

    def feed(self, text: str) -> None:
        start = len(self.raw)
        self.raw += text
        for i, ch in enumerate(text):
            if self.broken:
                return
            self.pos = start + i
            self._char(ch)

    def _char(self, ch: str) -> None:
        scalar = self.scalar
        if scalar is not None and scalar.kind == "string":
            self._string_char(scalar, ch)
            return
        if scalar is not None and scalar.kind == "number":
            if ch in "0123456789+-.eE":
                scalar.raw += ch
                return
            self.scalar = None
            self._value_done(end=self.pos)  # the number ended before this character
        elif scalar is not None:  # a literal
            scalar.raw += ch
            if scalar.raw in ("true", "false", "null"):
                self.scalar = None
                self._value_done(end=self.pos + 1)
            return
        if ch.isspace():
            return
        if self.done:
            self.broken = True
            return
        frame = self.stack[-1] if self.stack else None
        if frame is None or (frame.kind == "array" and frame.phase in ("open", "value")) or \
                (frame.kind == "object" and frame.phase == "value"):
            if frame is not None and frame.kind == "array" and frame.phase == "open" and ch == "]":
                self._close()
            else:
                self._begin_value(ch, self._value_options())
        elif frame.kind == "object" and frame.phase in ("open", "next") and ch == '"':
            self.scalar = _Scalar("string", frame.options, is_key=True)
        elif frame.kind == "object" and frame.phase == "open" and ch == "}":
            self._close()
        elif frame.kind == "object" and frame.phase == "colon" and ch == ":":
            frame.phase = "value"
        elif frame.phase == "after" and ch == ",":
            frame.phase = "next" if frame.kind == "object" else "value"
        elif frame.phase == "after" and ch == ("}" if frame.kind == "object" else "]"):
            self._close()
        else:
            self.broken = True

    def _string_char(self, scalar: _Scalar, ch: str) -> None:
        if scalar.escape == "\\":
            if ch == "u":
                scalar.escape = "\\u"
                return
            scalar.chars.append(_ESCAPES.get(ch, ch))
            scalar.escape = ""
        elif scalar.escape:
            scalar.escape += ch
            if len(scalar.escape) == 6:
                scalar.chars.append(chr(int(scalar.escape[2:], 16)))
                scalar.escape = ""
        elif ch == "\\":
            scalar.escape = "\\"
        elif ch == '"':
            self.scalar = None
            if scalar.is_key:
                frame = self.stack[-1]
                frame.key, frame.phase = "".join(scalar.chars), "colon"
                frame.options = [o for o in frame.options if _value_schema(o, frame.key) is not None] or frame.options
            else:
                self._value_done(end=self.pos + 1)
        else:
            scalar.chars.append(ch)

    def _begin_value(self, ch: str, options: list[dict]) -> None:
        kind = _STARTS.get(ch, "number" if ch == "-" or ch.isdigit() else None)
        if kind is None:
            self.broken = True
            return
        self.started = True
        if self.stack and self.stack[-1].kind == "array":
            self.stack[-1].item_start = self.pos
        fits = [o for o in options if _fits(o, kind)] or options
        if kind in ("object", "array"):
            self.stack.append(_Frame(kind, fits))
        elif kind == "string":
            self.scalar = _Scalar("string", fits)
        elif kind == "number":
            self.scalar = _Scalar("number", fits, raw=ch)
        else:
            self.scalar = _Scalar("literal", fits, raw=ch)

    def _value_options(self) -> list[dict]:
        if not self.stack:
            return branches(self.schema)
        frame = self.stack[-1]
        if frame.kind == "object":
            subs = [_value_schema(o, frame.key) for o in frame.options]
        else:
            subs = [item_schema(o, frame.count) for o in frame.options]
        return [b for s in subs if s is not None for b in branches(s)]

    def _close(self) -> None:
        self.stack.pop()
        self._value_done(end=self.pos + 1)

    def _value_done(self, end: int) -> None:
        if not self.stack:
            self.done = True
            return
        frame = self.stack[-1]
        if frame.kind == "object":
            frame.keys.append(frame.key)
        else:
            frame.count += 1
            item = self.raw[frame.item_start:end]
            frame.run = frame.run + 1 if item == frame.last_item else 1
            frame.last_item = item
            if self.max_identical_items is not None and frame.run >= self.max_identical_items:
                self.repeating = True
        frame.phase = "after"

    # ------------------------------------------------------------------ completing

    def completion(self) -> Optional[str]:
        """The fewest characters that complete the value validly, or None."""
        if self.broken:
            return None
        if self.done:
            return ""
        if not self.started:
            return minimal_json(self.schema)
        text = ""
        scalar = self.scalar
        if scalar is not None and not scalar.is_key:
            rest = _scalar_rest(scalar)
            if rest is None:
                return None
            text = rest
        for depth in range(len(self.stack) - 1, -1, -1):
            frame = self.stack[depth]
            innermost = depth == len(self.stack) - 1
            key_prefix = "".join(scalar.chars) if innermost and scalar is not None and scalar.is_key else None
            if key_prefix is not None and scalar.escape:
                return None
            in_progress = not innermost or (scalar is not None and not scalar.is_key)
            rest = _frame_rest(frame, in_progress, key_prefix)
            if rest is None:
                return None
            text += rest
        return text


# ---------------------------------------------------------------------- helpers


def _fits(schema: dict, kind: str) -> bool:
    t = json_type(schema)
    if t is None:
        return True
    if kind == "number":
        return t in ("number", "integer")
    return t == kind


def _value_schema(schema: dict, key: str):
    """The schema of `key`'s value in an object under `schema`, or None if it may not appear."""
    props = schema.get("properties") or {}
    if key in props:
        return props[key]
    extra = schema.get("additionalProperties", False if props else True)
    if extra is False:
        return None
    return {} if extra is True else extra


def _escape(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _scalar_rest(scalar: _Scalar) -> Optional[str]:
    found = []
    for option in scalar.options or [{}]:
        rest = _scalar_rest_for(scalar, option)
        if rest is not None:
            found.append(rest)
    return min(found, key=len) if found else None


def _scalar_rest_for(scalar: _Scalar, option: dict) -> Optional[str]:
    if scalar.kind == "literal":
        for word in ("true", "false", "null"):
            if word.startswith(scalar.raw):
                return word[len(scalar.raw):]
        return None
    if scalar.kind == "number":
        return number_completion(option, scalar.raw, integer=json_type(option) == "integer")
    chars = "".join(scalar.chars)
    head = ""
    if scalar.escape:  # finish the escape first: a newline, or zeros for \\u
        if any(k in option for k in ("enum", "const", "pattern", "format")):
            return None
        head = "n" if scalar.escape == "\\" else "0" * (6 - len(scalar.escape))
        chars += "\n" if scalar.escape == "\\" else chr(int((scalar.escape[2:] + "0000")[:4], 16))
    rest = string_completion(option, chars)
    return None if rest is None else head + _escape(rest) + '"'


def _frame_rest(frame: _Frame, in_progress: bool, key_prefix: Optional[str]) -> Optional[str]:
    found = []
    for option in frame.options or [{}]:
        rest = _object_rest(frame, option, in_progress, key_prefix) if frame.kind == "object" \
            else _array_rest(frame, option, in_progress)
        if rest is not None:
            found.append(rest)
    return min(found, key=len) if found else None


def _pairs_after(option: dict, written: list[str], first: bool) -> Optional[str]:
    pairs = object_completion(option, written)
    if pairs is None:
        return None
    return (pairs if first else "," + pairs) if pairs else ""


def _object_rest(frame: _Frame, option: dict, in_progress: bool, key_prefix: Optional[str]) -> Optional[str]:
    if key_prefix is not None:  # a key being written: finish it as the shortest fitting key
        return _key_rest(frame, option, key_prefix)
    if in_progress or frame.phase == "after":
        written = frame.keys + [frame.key] if in_progress else frame.keys
        rest = _pairs_after(option, written, first=False)
        return None if rest is None else rest + "}"
    if frame.phase in ("colon", "value"):
        sub = _value_schema(option, frame.key)
        value = minimal_json(sub) if sub is not None else None
        rest = _pairs_after(option, frame.keys + [frame.key], first=False)
        if value is None or rest is None:
            return None
        return (":" if frame.phase == "colon" else "") + value + rest + "}"
    rest = _pairs_after(option, frame.keys, first=True)  # open, next
    if rest is None:
        return None
    if frame.phase == "next" and not rest:  # after a comma some key must follow
        return _key_rest(frame, option, "", opened=False)
    return rest + "}"


def _key_rest(frame: _Frame, option: dict, prefix: str, opened: bool = True) -> Optional[str]:
    """Finish (or, not `opened`, write) a key, its value and the object."""
    names = [n for n, _ in properties(option)]
    last = max((names.index(k) for k in frame.keys if k in names), default=-1)
    required = option.get("required") or []
    found = []
    for index, (name, sub) in enumerate(properties(option)):
        if index <= last or not name.startswith(prefix):
            continue
        value = minimal_json(sub)
        rest = _pairs_after(option, frame.keys + [name], first=False)
        if value is not None and rest is not None:
            found.append(("" if opened else '"') + _escape(name[len(prefix):]) + '":' + value + rest + "}")
        if name in required and name not in frame.keys:
            break  # no key may skip a required one
    return min(found, key=len) if found else None


def _array_rest(frame: _Frame, option: dict, in_progress: bool) -> Optional[str]:
    count = frame.count + (1 if in_progress else 0)
    need = max(0, int(option.get("minItems", 0)) - count)
    if frame.phase == "value" and not in_progress:  # after a comma an item must follow
        need = max(need, 1)
    items = minimal_items(option, count, need)
    if items is None:
        return None
    lead = "," if items and count and not (frame.phase == "value" and not in_progress) else ""
    return lead + ",".join(items) + "]"
