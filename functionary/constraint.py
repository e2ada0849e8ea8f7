"""Engine-neutral constraint specs: what a request may generate.

A spec is plain data (an xgrammar structural tag, a JSON Schema or an EBNF grammar as
text). The transformers engine compiles it with xgrammar; the vLLM engine hands the
same text to vLLM's structured outputs. Builders below keep format modules short.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

# Small models drift into endless whitespace inside JSON when it is free; one
# whitespace character between tokens still allows the usual `{"a": 1, "b": 2}` style.
JSON_MAX_WHITESPACE = 1


@dataclass(frozen=True)
class ConstraintSpec:
    kind: Literal["structural_tag", "json_schema", "grammar"]
    value: str  # JSON text (structural tag, JSON Schema) or EBNF text

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.kind}\0{self.value}".encode()).hexdigest()

    @staticmethod
    def structural_tag(fmt: dict[str, Any]) -> "ConstraintSpec":
        # No sort_keys: xgrammar makes JSON properties follow the schema's key order, which
        # must stay the order the prompt shows; insertion order is deterministic anyway.
        return ConstraintSpec("structural_tag", json.dumps({"type": "structural_tag", "format": fmt}))


def compile_spec(compiler, spec: ConstraintSpec):
    """`spec` compiled by an xgrammar GrammarCompiler (the transformers engine's, or the budget
    fallback's); xgrammar's own exception when it cannot be built."""
    if spec.kind == "structural_tag":
        return compiler.compile_structural_tag(spec.value)
    if spec.kind == "json_schema":
        return compiler.compile_json_schema(spec.value, any_whitespace=False)
    return compiler.compile_grammar(spec.value)


# -- structural-tag building blocks (dicts in xgrammar's structural tag JSON format) --


def const(text: str) -> dict:
    return {"type": "const_string", "value": text}


def json_value(schema: dict | bool) -> dict:
    return {"type": "json_schema", "json_schema": bounded_numbers(schema), "max_whitespace_cnt": JSON_MAX_WHITESPACE}


# Integers without bounds let small models write digits forever ("1000000000..."). For
# generation only, they get JSON's safe-integer range, which every parser round-trips;
# responses are still validated against the caller's schema unchanged. (Not applied to
# `number`: xgrammar's bounded-number grammar drops exponents and caps decimals at 6.)
SAFE_INTEGER = 2**53 - 1
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames")


def bounded_numbers(schema):
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "integer" in types:
        if "minimum" not in schema and "exclusiveMinimum" not in schema:
            out["minimum"] = -SAFE_INTEGER
        if "maximum" not in schema and "exclusiveMaximum" not in schema:
            out["maximum"] = SAFE_INTEGER
    for key in _SUBSCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            out[key] = {name: bounded_numbers(sub) for name, sub in schema[key].items()}
    for key in _SUBSCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            out[key] = [bounded_numbers(sub) for sub in schema[key]]
    for key in _SUBSCHEMA_ONE:
        if key in schema:
            out[key] = bounded_numbers(schema[key])
    return out


def any_text(excludes: list[str] | None = None) -> dict:
    return {"type": "any_text", "excludes": excludes or []}


def tag(begin: str, content: dict, end: str) -> dict:
    return {"type": "tag", "begin": begin, "content": content, "end": end}


def sequence(*elements: dict) -> dict:
    return {"type": "sequence", "elements": list(elements)}


def one_of(*elements: dict) -> dict:
    return elements[0] if len(elements) == 1 else {"type": "or", "elements": list(elements)}


def triggered_tags(triggers: list[str], tags: list[dict], *, at_least_one: bool, stop_after_first: bool,
                   excludes: list[str] | None = None) -> dict:
    out = {
        "type": "triggered_tags",
        "triggers": triggers,
        "tags": tags,
        "at_least_one": at_least_one,
        "stop_after_first": stop_after_first,
    }
    if excludes:  # strings the free text between tags may not contain (e.g. end-of-turn markers)
        out["excludes"] = excludes
    return out


def tags_with_separator(tags: list[dict], separator: str, *, at_least_one: bool, stop_after_first: bool) -> dict:
    return {
        "type": "tags_with_separator",
        "tags": tags,
        "separator": separator,
        "at_least_one": at_least_one,
        "stop_after_first": stop_after_first,
    }


def optional(content: dict) -> dict:
    return {"type": "optional", "content": content}


def star(content: dict) -> dict:
    return {"type": "star", "content": content}


def plus(content: dict) -> dict:
    return {"type": "plus", "content": content}
