"""A valid reply where the closer knows no shortest one: a bounded search, checked twice.

`shortest_json` models the keywords xgrammar enforces. For others it gives None, or a value
the schema rejects: `uniqueItems` (the shortest items repeat), patterns with lookarounds or
flags, `not`, `allOf`, `contains`, a `multipleOf` off its grids, ... Without a valid reply
to fall back on, the guard could not promise anything, and a call cut by `max_tokens` was
dropped: `required` could return no call.

Here the budget is reserved up front instead. `fallback_json` enumerates a few short
candidate values per schema node (shortest first, varied enough for distinct array items)
and keeps the first one that the schema (jsonschema) and the request's own generation
grammar (xgrammar) both accept. It is not always the shortest valid value, but it is
valid: its reply's tokens are what `max_tokens` must hold (else the usual 400), and the
guard closes with it from the start when no later point of the reply can be closed. The
search is bounded (a few dozen candidates per node, checked by jsonschema), so it costs
milliseconds, once per schema (cached). Where it finds nothing either, the server cannot
promise a closed call; serving then reports a cut call as an error instead of a reply
without one (see ChatService).
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from typing import Callable, Optional

import xgrammar as xgr

from functionary.budget.minimal import (
    FORMAT_SAMPLES,
    TooLong,
    _Bounds,
    _dumps,
    branches,
    item_schema,
    json_type,
    number_completion,
    properties,
    string_completion,
)
from functionary.budget.regex_shortest import Unsupported, some_matches
from functionary.constraint import ConstraintSpec, compile_spec
from functionary.schema import SchemaError, inline_refs
from functionary.validation import content_problem

PER_NODE = 8  # candidates kept for each schema node
TOP = 48  # candidates tried for a whole value
_ANY = ["0", '""', "null", "true", "false", "1", "[]", "{}", '"a"', "-1", "0.5"]
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_MAX_ITEMS = 10_000  # arrays with a larger minItems are not searched (TooLong)


def fallback_json(schema, accept: Callable[[str], bool]) -> Optional[str]:
    """A short JSON text valid under `schema` that `accept` also takes (the caller's check of
    the whole reply: the judge and the grammar), or None when the bounded search finds none.
    Raises TooLong for values no context could hold."""
    for text in _search(json.dumps(schema)):
        if accept(text):
            return text
    return None


@lru_cache(maxsize=256)
def _search(schema_json: str) -> tuple[str, ...]:
    schema = json.loads(schema_json)
    try:
        schema = inline_refs(schema) if isinstance(schema, dict) else schema
    except SchemaError:
        return ()
    try:
        return tuple(candidates(schema, TOP))
    except Unsupported:
        return ()


def candidates(schema, count: int = PER_NODE) -> list[str]:
    """Up to `count` distinct JSON texts that `schema` alone accepts (jsonschema), shortest
    first. Every keyword is enforced by that check; the generators below only need to offer
    enough variety for the check to find a valid one."""
    if schema is False:
        return []
    if schema is True or not isinstance(schema, dict):
        schema = {}
    offered: list[str] = []
    for b in branches(schema):
        for sub in _all_of(b):
            offered += _branch(sub, count)
    for key in ("default", "examples"):  # what the schema's author wrote down
        if key in schema:
            values = schema[key] if key == "examples" and isinstance(schema[key], list) else [schema[key]]
            offered += [_dumps(v) for v in values]
    out: list[str] = []
    for text in sorted(dict.fromkeys(offered), key=len):
        if content_problem(text, schema) is None:
            out.append(text)
            if len(out) >= count:
                break
    return out


def _all_of(schema: dict) -> list[dict]:
    """`allOf` as the branch merged with each of its parts (the check enforces all of them)."""
    parts = schema.get("allOf")
    if not isinstance(parts, list) or not parts:
        return [schema]
    rest = {k: v for k, v in schema.items() if k != "allOf"}
    out = []
    for part in parts:
        if isinstance(part, dict):
            out += [{**rest, **b} for b in branches(part)]
    return out or [rest]


def _branch(schema: dict, count: int) -> list[str]:
    if "const" in schema:
        return [_dumps(schema["const"])]
    if "enum" in schema and isinstance(schema["enum"], list):
        return [_dumps(v) for v in schema["enum"]]
    kind = json_type(schema)
    if kind is None:
        return list(_ANY)
    if kind == "null":
        return ["null"]
    if kind == "boolean":
        return ["true", "false"]
    if kind in ("integer", "number"):
        return _numbers(schema, integer=kind == "integer")
    if kind == "string":
        return [_dumps(s) for s in _strings(schema, count)]
    if kind == "array":
        return _arrays(schema, count)
    if kind == "object":
        return _objects(schema, count)
    return []


def _numbers(schema: dict, *, integer: bool) -> list[str]:
    out = []
    shortest = number_completion(schema, integer=integer)
    if shortest is not None:
        out.append(shortest)
    values: list[Decimal] = [Decimal(v) for v in range(-20, 21)]
    bounds = _Bounds.of(schema)
    for edge in (bounds.minimum, bounds.maximum, bounds.exclusive_minimum, bounds.exclusive_maximum):
        if edge is not None:
            values += [edge, edge + 1, edge - 1, (edge + 1).to_integral_value(), (edge - 1).to_integral_value()]
            values += [edge + Decimal(1).scaleb(-k) for k in range(1, 10)]
            values += [edge - Decimal(1).scaleb(-k) for k in range(1, 10)]
    step = schema.get("multipleOf")
    if isinstance(step, (int, float)) and not isinstance(step, bool) and step > 0:
        grid = Decimal(str(step))
        base = next((v for v in (bounds.minimum, bounds.exclusive_minimum) if v is not None), Decimal(0))
        first = (base / grid).to_integral_value() * grid
        values += [first + j * grid for j in range(-2, 20)] + [j * grid for j in range(-10, 11)]
    for v in values:
        if integer and v != v.to_integral_value():
            continue
        text = str(int(v)) if v == v.to_integral_value() else format(v.normalize(), "f")
        if text != "-0":
            out.append(text)
    return out


def _strings(schema: dict, count: int) -> list[str]:
    min_length = int(schema.get("minLength", 0))
    out = []
    shortest = string_completion(schema, "")  # (TooLong passes through: no value fits)
    if shortest is not None:
        out.append(shortest)
    if isinstance(schema.get("pattern"), str):
        try:
            out += some_matches(schema["pattern"], count * 2, min_length, loose=True)
        except Unsupported:
            pass
        return out
    if schema.get("format") in FORMAT_SAMPLES:
        out.append(FORMAT_SAMPLES[schema["format"]])
    base = "a" * max(0, min_length - 1)
    out += ([""] if min_length == 0 else []) + [base + c for c in _LETTERS[:count * 2]]
    return out


def _arrays(schema: dict, count: int) -> list[str]:
    need = int(schema.get("minItems", 0))
    if need > _MAX_ITEMS:
        raise TooLong(f"minItems {need}")
    unique = schema.get("uniqueItems") is True
    pools: dict[int, list[str]] = {}

    def pool(index: int) -> list[str]:
        sub = item_schema(schema, index)
        if id(sub) not in pools:
            pools[id(sub)] = candidates(sub, max(count, need + 2) if unique else count)
        return pools[id(sub)]

    base: list[str] = []
    for i in range(need):
        options = [v for v in pool(i) if not (unique and _same_in(v, base))]
        if not options:
            return []
        base.append(options[0])
    out = ["[" + ",".join(base) + "]"]
    # Variants: the last item (or one more item) through its other candidates, and an item
    # of `contains` in front; the check keeps the valid ones.
    at = max(0, need - 1)
    for v in pool(at):
        items = base[:at] + [v] + base[at + 1:] if need else [v]
        out.append("[" + ",".join(items) + "]")
    for v in pool(need)[:count]:
        out.append("[" + ",".join(base + [v]) + "]")
    if isinstance(schema.get("contains"), (dict, bool)):
        for v in candidates(schema["contains"], count):
            out.append("[" + ",".join([v] + base[1:] if need else [v]) + "]")
            out.append("[" + ",".join([v] + base) + "]")
    return out


def _same_in(value: str, items: list[str]) -> bool:
    parsed = json.loads(value)
    return any(json.loads(v) == parsed and type(json.loads(v)) is type(parsed) for v in items)


def _objects(schema: dict, count: int) -> list[str]:
    props = properties(schema)
    names = [n for n, _ in props]
    required = [k for k in (schema.get("required") or []) if isinstance(k, str)]
    extra = schema.get("additionalProperties", {})
    wanted = [n for n in names if n in required] + [k for k in required if k not in names]
    # minProperties: optional properties in schema order until enough
    for n in names:
        if len(wanted) >= int(schema.get("minProperties", 0)):
            break
        if n not in wanted:
            wanted.append(n)
    wanted.sort(key=lambda k: names.index(k) if k in names else len(names))
    pools = []
    for key in wanted:
        sub = dict(props).get(key, extra if isinstance(extra, (dict, bool)) else {})
        options = candidates(sub, count)
        if not options:
            return []
        pools.append(options)

    def render(values: list[str]) -> str:
        return "{" + ",".join(f"{_dumps(k)}:{v}" for k, v in zip(wanted, values)) + "}"

    base = [p[0] for p in pools]
    out = [render(base)]
    for i, options in enumerate(pools):  # one key at a time through its other values
        for v in options[1:]:
            out.append(render(base[:i] + [v] + base[i + 1:]))
    return out


# -- the grammar check: the reply must be one the request's constraint lets the model write --

_STOP = 0


@lru_cache(maxsize=1)
def _compiler() -> xgr.GrammarCompiler:
    # A one-token vocabulary: enough to run a matcher over text (accept_string), cheap to build.
    return xgr.GrammarCompiler(xgr.TokenizerInfo(["<stop>"], stop_token_ids=[_STOP]), max_threads=1,
                               cache_enabled=False)


@lru_cache(maxsize=64)
def _grammar(spec: ConstraintSpec) -> Optional[xgr.CompiledGrammar]:
    try:
        return compile_spec(_compiler(), spec)
    except Exception:  # noqa: BLE001 - the engine reports a bad spec on its own, as a 400
        return None


def grammar_accepts(spec: Optional[ConstraintSpec], text: str) -> bool:
    """Whether the constraint lets the model write exactly `text` and stop (no constraint:
    free text, anything goes)."""
    if spec is None:
        return True
    compiled = _grammar(spec)
    if compiled is None:
        return False
    matcher = xgr.GrammarMatcher(compiled)
    return matcher.accept_string(text) and matcher.accept_token(_STOP)
