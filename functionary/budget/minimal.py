"""The shortest valid JSON text for a JSON Schema, and the schema helpers closing needs.

"Valid" means what the generation grammar accepts (xgrammar's JSON Schema rules: required
keys in schema order, no undeclared keys where properties are given, no `-0` integers,
formats as xgrammar spells them), which is also what the schema itself accepts. Anything
this cannot decide returns None, and the caller closes elsewhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Iterable, Optional

from functionary.budget.regex_shortest import Unsupported, shortest_completion
from functionary.schema import SchemaError, inline_refs

# The shortest strings xgrammar accepts for each `format` it knows (checked in the tests).
FORMAT_SAMPLES = {
    "email": "a@a", "idn-email": "a@a", "date": "2000-01-01", "time": "00:00:00Z",
    "date-time": "2000-01-01T00:00:00Z", "duration": "P0D", "uuid": "00000000-0000-0000-0000-000000000000",
    "ipv4": "0.0.0.0", "ipv6": "::", "hostname": "a", "idn-hostname": "a", "uri": "a:", "iri": "a:",
    "uri-reference": "", "iri-reference": "", "uri-template": "", "json-pointer": "", "relative-json-pointer": "0",
}
# Regexes (no looser than xgrammar's) to finish a formatted string the model had begun.
_DATE = "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
_WORD = "[a-zA-Z0-9_+-]+"
_LABEL = "[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?"
_LONG_LABEL = "[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]"  # xgrammar wants two characters after a dot
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
FORMAT_PATTERNS = {
    "date": _DATE, "time": _TIME, "date-time": f"{_DATE}T{_TIME}",
    "uuid": "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "ipv4": f"({_OCTET}\\.){{3}}{_OCTET}", "email": f"{_WORD}(\\.{_WORD})*@{_LABEL}(\\.{_LONG_LABEL})*",
}
_TYPE_KEYWORDS = {
    "object": ("properties", "required", "additionalProperties", "patternProperties", "minProperties"),
    "array": ("items", "prefixItems", "minItems", "maxItems", "contains"),
    "string": ("pattern", "format", "minLength", "maxLength"),
    "number": ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
}


# Keywords whose every combination the closer handles exactly (the unit tests show it against
# the grammar); for other schemas each completion is checked against the schema before use.
EXACT_KEYWORDS = frozenset({
    "type", "properties", "required", "items", "prefixItems", "enum", "const", "minItems", "maxItems", "minLength",
    "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "additionalProperties",
    "description", "title", "default", "examples", "$defs", "definitions", "$ref", "$schema", "$id", "$comment",
    "deprecated", "readOnly", "writeOnly", "strict",
})


def closes_exactly(schema) -> bool:
    """Whether the closer's completions under `schema` need no check against it."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict) or not set(schema) <= EXACT_KEYWORDS | {"maxLength", "pattern"}:
        return False
    if "pattern" in schema and ("maxLength" in schema or "minLength" in schema):
        return False  # the shortest match may overrun maxLength: check it
    subs = list((schema.get("properties") or {}).values()) + list((schema.get("$defs") or {}).values()) \
        + list((schema.get("definitions") or {}).values()) + list(schema.get("prefixItems") or [])
    subs += [schema[k] for k in ("items", "additionalProperties") if isinstance(schema.get(k), (dict, bool))]
    return all(closes_exactly(s) for s in subs)


def branches(schema) -> list[dict]:
    """The alternatives a value under `schema` may take, each with one JSON type at most:
    anyOf / oneOf expanded (keywords beside them kept), type lists split."""
    if schema is True or schema == {}:
        return [{}]
    if not isinstance(schema, dict):
        return []
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            rest = {k: v for k, v in schema.items() if k != key}
            out: list[dict] = []
            for sub in schema[key]:
                if isinstance(sub, dict):
                    out += branches({**rest, **sub})
            return out
    types = schema.get("type")
    if isinstance(types, list):
        return [b for t in types for b in branches({**schema, "type": t})]
    return [schema]


def json_type(schema: dict) -> Optional[str]:
    """The JSON type of one branch; None when any type goes."""
    if "type" in schema:
        return schema["type"]
    if "const" in schema:
        return _type_of(schema["const"])
    for kind, keywords in _TYPE_KEYWORDS.items():
        if any(k in schema for k in keywords):
            return kind
    return None


def _fits_type(value, kind) -> bool:
    kinds = kind if isinstance(kind, list) else [kind]
    actual = _type_of(value)
    return actual in kinds or (actual == "integer" and "number" in kinds)


def _type_of(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def _dumps(value) -> str:
    """Compact JSON: the fewest characters (and tokens), and how xgrammar spells consts."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


MAX_SHORTEST_CHARS = 1 << 20  # longer than any context can hold (1M characters)


class TooLong(ValueError):
    """The shortest valid value is longer than any reply could be (huge minItems and kin)."""


def minimal_items(schema: dict, start: int, count: int) -> Optional[list[str]]:
    """The shortest values of an array's items start..start+count-1, or None; items that
    share one schema are computed once, and a total past MAX_SHORTEST_CHARS raises TooLong."""
    out: list[str] = []
    size = 0
    by_schema: dict[int, Optional[str]] = {}
    for i in range(start, start + count):
        sub = item_schema(schema, i)
        if id(sub) not in by_schema:
            by_schema[id(sub)] = minimal_json(sub)
        value = by_schema[id(sub)]
        if value is None:
            return None
        size += len(value) + 1
        if size > MAX_SHORTEST_CHARS:
            raise TooLong(f"{count} array items take more than {MAX_SHORTEST_CHARS} characters")
        out.append(value)
    return out


def shortest_json(schema) -> Optional[str]:
    """The shortest JSON text valid under `schema` (local `$ref`s allowed), or None."""
    try:
        schema = inline_refs(schema) if isinstance(schema, dict) else schema
    except SchemaError:
        return None
    return minimal_json(schema)


def minimal_json(schema) -> Optional[str]:
    """`shortest_json` for a schema whose `$ref`s are already inlined."""
    found = [text for b in branches(schema) if (text := _minimal_branch(b)) is not None]
    return min(found, key=len) if found else None


def _minimal_branch(schema: dict) -> Optional[str]:
    if "const" in schema:
        return _dumps(schema["const"])
    if "enum" in schema:
        kind = schema.get("type")
        values = [_dumps(v) for v in schema["enum"] if kind is None or _fits_type(v, kind)]
        return min(values, key=len) if values else None
    kind = json_type(schema)
    if kind is None:
        return "0"
    if kind == "null":
        return "null"
    if kind == "boolean":
        return "true"
    if kind in ("integer", "number"):
        return number_completion(schema, integer=kind == "integer")
    if kind == "string":
        text = string_completion(schema, "")
        return None if text is None else _dumps(text)
    if kind == "array":
        values = minimal_items(schema, 0, int(schema.get("minItems", 0)))
        return None if values is None else "[" + ",".join(values) + "]"
    if kind == "object":
        pairs = object_completion(schema, written=[])
        return None if pairs is None else "{" + pairs + "}"
    return None


def item_schema(schema: dict, index: int):
    """The schema of an array's item at `index` (prefixItems first, then items)."""
    prefix = schema.get("prefixItems") or []
    if index < len(prefix):
        return prefix[index]
    items = schema.get("items", {})
    return {} if items is True else items


def properties(schema: dict) -> list[tuple[str, object]]:
    return list((schema.get("properties") or {}).items())


def object_completion(schema: dict, written: list[str]) -> Optional[str]:
    """The `"key":value` pairs (comma-joined) an object needs after the keys `written`:
    its missing required keys, in schema order, with their shortest values."""
    props = properties(schema)
    names = [n for n, _ in props]
    last = max((names.index(k) for k in written if k in names), default=-1)
    required = schema.get("required") or []
    pairs = []
    for index, (name, sub) in enumerate(props):
        if name in required and name not in written:
            if index < last:
                return None  # the grammar lets no key come back before the last one written
            value = minimal_json(sub)
            if value is None:
                return None
            pairs.append(f"{_dumps(name)}:{value}")
    undeclared = [k for k in required if k not in names and k not in written]
    if undeclared or len(written) + len(pairs) < int(schema.get("minProperties", 0)):
        return None
    return ",".join(pairs)


def string_completion(schema: dict, prefix: str) -> Optional[str]:
    """The fewest characters that complete a string value begun as `prefix` (decoded)."""
    if "enum" in schema or "const" in schema:
        options = schema["enum"] if "enum" in schema else [schema["const"]]
        tails = [v[len(prefix):] for v in options if isinstance(v, str) and v.startswith(prefix)]
        return min(tails, key=len) if tails else None
    min_length = int(schema.get("minLength", 0))
    if "pattern" in schema:
        try:
            return shortest_completion(schema["pattern"], prefix, min_length)
        except Unsupported:
            return None
    fmt = schema.get("format")
    if fmt in FORMAT_SAMPLES and not prefix:
        sample = FORMAT_SAMPLES[fmt]
        return sample if len(sample) >= min_length else None
    if fmt in FORMAT_PATTERNS:
        return shortest_completion(FORMAT_PATTERNS[fmt], prefix, min_length)
    if fmt in FORMAT_SAMPLES:
        return None  # a format begun that we have no pattern for: close the value elsewhere
    if min_length > MAX_SHORTEST_CHARS:
        raise TooLong(f"minLength {min_length} is more than {MAX_SHORTEST_CHARS} characters")
    return "a" * max(0, min_length - len(prefix))


def number_completion(schema: dict, prefix: str = "", *, integer: bool) -> Optional[str]:
    """The fewest characters that complete a number begun as `prefix` (JSON text) inside the
    schema's bounds (and multipleOf, for the from-scratch case only)."""
    bounds = _Bounds.of(schema)
    step = schema.get("multipleOf")
    found: list[str] = []
    for tail in _number_tails(prefix, bounds, integer, step):
        text = prefix + tail
        if _NUMBER.fullmatch(text) and (not integer or _INTEGER.fullmatch(text)) and bounds.holds(Decimal(text)):
            if _multiple_of(Decimal(text), step) and not (integer and text.startswith("-0")):
                found.append(tail)
    return min(found, key=len) if found else None


_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_MAX_DIGITS = 17  # integers are kept within 2**53 for generation; decimals to 6 places


@dataclass(frozen=True)
class _Bounds:
    """minimum / exclusiveMinimum / maximum / exclusiveMaximum, each None when absent."""

    minimum: Optional[Decimal]
    exclusive_minimum: Optional[Decimal]
    maximum: Optional[Decimal]
    exclusive_maximum: Optional[Decimal]

    @classmethod
    def of(cls, schema: dict) -> "_Bounds":
        def get(key: str) -> Optional[Decimal]:
            value = schema.get(key)
            return Decimal(str(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        return cls(get("minimum"), get("exclusiveMinimum"), get("maximum"), get("exclusiveMaximum"))

    def holds(self, value: Decimal) -> bool:
        return not ((self.minimum is not None and value < self.minimum)
                    or (self.exclusive_minimum is not None and value <= self.exclusive_minimum)
                    or (self.maximum is not None and value > self.maximum)
                    or (self.exclusive_maximum is not None and value >= self.exclusive_maximum))

    def nearest_zero(self, a: Decimal, b: Decimal, step: Decimal) -> Optional[Decimal]:
        """A multiple of `step` in [a, b] within the bounds, nearest zero (None if none)."""
        low = max([a] + [v for v in (self.minimum, self.exclusive_minimum) if v is not None])
        high = min([b] + [v for v in (self.maximum, self.exclusive_maximum) if v is not None])
        first = (low / step).to_integral_value(rounding=ROUND_CEILING) * step
        last = (high / step).to_integral_value(rounding=ROUND_FLOOR) * step
        if not self.holds(first):
            first += step
        if not self.holds(last):
            last -= step
        if first > last:
            return None
        return Decimal(0) if first <= 0 <= last else (first if first > 0 else last)


def _number_tails(prefix: str, bounds: _Bounds, integer: bool, step) -> Iterable[str]:
    """Candidate completions of a number prefix: the shortest of each shape."""
    if prefix in ("", "-"):  # nothing but maybe the sign yet: the shortest numbers in range
        for text in _fresh_numbers(bounds, integer, step, negative=prefix == "-"):
            yield text[len(prefix):]
        return
    yield ""
    sign = -1 if prefix.startswith("-") else 1
    body = prefix.lstrip("-")
    if "e" in body.lower():  # an exponent begun (unbounded numbers only): any digit ends it
        yield "" if body[-1].isdigit() else "0"
        return
    if "." in body:  # a fraction begun: more decimals
        whole, _, decimals = body.partition(".")
        yield from _decimal_tails(prefix, sign, Decimal(body if decimals else whole), len(decimals), bounds)
        return
    if body != "0":  # the integer part goes on: the fewest more digits that reach the range
        for width in range(1, _MAX_DIGITS - len(body) + 1):
            base = int(body) * 10**width
            a, b = (base, base + 10**width - 1) if sign > 0 else (-(base + 10**width - 1), -base)
            value = bounds.nearest_zero(Decimal(a), Decimal(b), Decimal(1))
            if value is not None:
                yield str(abs(int(value)))[len(body):]
                break
    if not integer:
        yield from ("." + t for t in _decimal_tails(prefix + ".", sign, Decimal(body), 0, bounds))


def _fresh_numbers(bounds: _Bounds, integer: bool, step, *, negative: bool) -> Iterable[str]:
    """The value nearest zero on each grid (integers, or multiples of the step; then 1 to 6
    decimals), as JSON text; only negative ones when the sign is already written."""
    far = Decimal(10) ** _MAX_DIGITS
    grids = [Decimal(str(step))] if isinstance(step, (int, float)) and not isinstance(step, bool) and step > 0 \
        else [Decimal(1)] + ([] if integer else [Decimal(1).scaleb(-k) for k in range(1, 7)])
    for grid in grids:
        value = bounds.nearest_zero(-far, -grid if negative else far, grid)
        if value is not None:
            places = max(0, -grid.as_tuple().exponent) if grid < 1 else 0
            yield f"{value:.{places}f}" if places else str(int(value))


def _decimal_tails(prefix: str, sign: int, start: Decimal, have: int, bounds: _Bounds, at_least: int = 0):
    """Digits after `have` decimals already written (the magnitude so far is `start`)."""
    at_least = max(at_least, 1 if prefix.endswith(".") else 0)
    for more in range(at_least, 7 - have if have < 7 else 1):
        places = have + more
        step = Decimal(1).scaleb(-places)
        span = Decimal(1).scaleb(-have) - step
        a, b = (start, start + span) if sign > 0 else (-(start + span), -start)
        value = bounds.nearest_zero(a, b, step)
        if value is not None:
            digits = str(int((abs(value) - start) * Decimal(10) ** places)).zfill(places)
            yield digits[have:]
            return


def _multiple_of(value: Decimal, step) -> bool:
    if not isinstance(step, (int, float)) or isinstance(step, bool) or step <= 0:
        return True
    return (value / Decimal(str(step))) % 1 == 0
