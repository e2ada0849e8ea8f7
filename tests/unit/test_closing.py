"""The closer: shortest valid values and completions of JSON cut anywhere, checked against
the real generation grammar (xgrammar, the request's own json_value constraint) and the
schema itself, for every schema kind the issue lists; minimal where a search can tell."""

from __future__ import annotations

import json
import re
from functools import lru_cache

import jsonschema
import pytest
import xgrammar as xgr
from hypothesis import given, settings
from hypothesis import strategies as st

from functionary import constraint as C
from functionary.budget.json_completion import JsonCompleter
from functionary.budget.minimal import FORMAT_PATTERNS, FORMAT_SAMPLES, number_completion, shortest_json
from functionary.budget.regex_shortest import Unsupported, shortest_completion
from functionary.constraint import ConstraintSpec

from .formats.support import load_grammars, load_tokenizer

# (name, schema, a valid value written the way a model would)
CASES = [
    ("flat", {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "fahrenheit"]}},
              "required": ["city", "unit"]}, {"city": "Paris", "unit": "fahrenheit"}),
    ("nested arrays of objects", {"type": "object", "properties": {
        "guests": {"type": "array", "minItems": 1, "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "vegetarian": {"type": "boolean"}}, "required": ["name", "vegetarian"]}},
        "table": {"type": "object", "properties": {"seats": {"type": "integer", "minimum": 1, "maximum": 12}},
                  "required": ["seats"]}}, "required": ["guests", "table"]},
     {"guests": [{"name": "Bloquette", "vegetarian": True}, {"name": "Ann", "vegetarian": False}], "table": {"seats": 4}}),
    ("enums of every type", {"type": "object", "properties": {"level": {"enum": [1, 2, 10]}, "tag": {"enum": ["x", "yy", None]},
                                                               "flag": {"const": True}}, "required": ["level", "tag", "flag"]},
     {"level": 10, "tag": "yy", "flag": True}),
    ("anyOf and oneOf", {"type": "object", "properties": {
        "target": {"anyOf": [{"type": "string", "minLength": 3}, {"type": "integer", "minimum": 5}]},
        "shape": {"oneOf": [{"type": "object", "properties": {"r": {"type": "number"}}, "required": ["r"]},
                            {"type": "object", "properties": {"w": {"type": "number"}, "h": {"type": "number"}},
                             "required": ["w", "h"]}]}},
        "required": ["target", "shape"]}, {"target": "north", "shape": {"w": 2.5, "h": 1}}),
    ("pattern", {"type": "object", "properties": {"email": {"type": "string", "pattern": "^[a-z]+@[a-z]+\\.com$"},
                                                  "code": {"type": "string", "pattern": "^[A-Z]{2}-\\d{3}$"}},
                 "required": ["email", "code"]}, {"email": "ann@mail.com", "code": "AB-123"}),
    ("format", {"type": "object", "properties": {"day": {"type": "string", "format": "date"},
                                                 "id": {"type": "string", "format": "uuid"},
                                                 "at": {"type": "string", "format": "date-time"}}, "required": ["day", "id"]},
     {"day": "2024-05-01", "id": "123e4567-e89b-12d3-a456-426614174000", "at": "2024-05-01T10:00:00Z"}),
    ("lengths and counts", {"type": "object", "properties": {"name": {"type": "string", "minLength": 4, "maxLength": 8},
                                                             "tags": {"type": "array", "items": {"type": "string"},
                                                                      "minItems": 2, "maxItems": 4}},
                            "required": ["name", "tags"]}, {"name": "Zoëy", "tags": ["a", "b", "c"]}),
    ("integer and number bounds", {"type": "object", "properties": {
        "count": {"type": "integer", "minimum": 100, "maximum": 200}, "delta": {"type": "integer", "maximum": -5},
        "ratio": {"type": "number", "minimum": 0.25, "maximum": 0.75}, "temp": {"type": "number", "exclusiveMinimum": 0},
        "big": {"type": "number"}}, "required": ["count", "delta", "ratio", "temp"]},
     {"count": 150, "delta": -42, "ratio": 0.5, "temp": 36.6, "big": -12.5e3}),
    ("$ref", {"type": "object", "$defs": {"point": {"type": "object", "properties": {"x": {"type": "integer"},
                                                                                    "y": {"type": "integer"}},
                                                    "required": ["x", "y"]}},
              "properties": {"from": {"$ref": "#/$defs/point"}, "to": {"$ref": "#/$defs/point"}}, "required": ["from", "to"]},
     {"from": {"x": 1, "y": 2}, "to": {"x": -3, "y": 40}}),
    ("empty properties", {"type": "object", "properties": {}}, {}),
    ("optional only", {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}},
     {"a": "text", "b": 7}),
    ("escapes in strings", {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
     {"text": 'quote " back \\ slash\nnew é \u2603'}),
    ("type lists and nulls", {"type": "object", "properties": {"maybe": {"type": ["string", "null"]},
                                                               "items": {"type": "array", "items": {"type": ["integer", "boolean"]}}},
                              "required": ["maybe", "items"]}, {"maybe": None, "items": [1, True, 3]}),
    ("matrix", {"type": "object", "properties": {"m": {"type": "array", "items": {"type": "array", "items": {"type": "integer"},
                                                                               "minItems": 1}}}, "required": ["m"]},
     {"m": [[1, 2], [3]]}),
]
IDS = [c[0] for c in CASES]


@lru_cache(maxsize=None)
def _compiled(schema_json: str):
    spec = ConstraintSpec.structural_tag(C.json_value(json.loads(schema_json)))
    return load_grammars().get(spec)


def grammar_accepts(schema, text: str) -> bool:
    matcher = xgr.GrammarMatcher(_compiled(json.dumps(schema)))
    return matcher.accept_string(text) and matcher.accept_token(load_tokenizer().eos_token_id)


def grammar_allows_prefix(schema, text: str) -> bool:
    return xgr.GrammarMatcher(_compiled(json.dumps(schema))).accept_string(text) if text else True


def check_completion(schema, prefix: str) -> str | None:
    completer = JsonCompleter(schema)
    completer.feed(prefix)
    rest = completer.completion()
    if rest is not None:
        text = prefix + rest
        assert grammar_accepts(schema, text), f"grammar rejects {text!r}"
        jsonschema.validate(json.loads(text), schema)
    return rest


@pytest.mark.parametrize("name,schema,value", CASES, ids=IDS)
def test_the_examples_are_valid(name, schema, value):
    jsonschema.validate(value, schema)
    assert grammar_accepts(schema, json.dumps(value, ensure_ascii=False))


@pytest.mark.parametrize("name,schema,value", CASES, ids=IDS)
def test_minimal_value_is_accepted(name, schema, value):
    text = shortest_json(schema)
    assert text is not None
    assert grammar_accepts(schema, text), text
    jsonschema.validate(json.loads(text), schema)


@pytest.mark.parametrize("name,schema,value", CASES, ids=IDS)
@pytest.mark.parametrize("spacing", ["model", "compact"])
def test_every_cut_is_completed_validly(name, schema, value, spacing):
    """Cut the value's text after every character: each completion the closer gives is
    accepted by the grammar and the schema, and it gives one at almost every cut."""
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": ") if spacing == "model" else (",", ":"))
    assert grammar_accepts(schema, text)
    unknown = [text[:i] for i in range(len(text) + 1) if check_completion(schema, text[:i]) is None]
    # It may not know only inside a half-written escape (a point or two, then it does again).
    assert all(cut.endswith(("\\", "\\u", "\\u0", "\\u00", "\\u000")) for cut in unknown), unknown


@pytest.mark.parametrize("schema,prefix,expected", [
    ({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}, '{"a": ', "0}"),
    ({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}, "", '{"a":0}'),
    ({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}, '{"a": 12', "}"),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, '{"a": "hel', '"}'),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, '{"', 'a":""}'),
    ({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "boolean"}}, "required": ["b"]},
     '{"a": "x"', ',"b":true}'),
    ({"type": "object", "properties": {"a": {"type": "boolean"}}, "required": ["a"]}, '{"a": f', "alse}"),
    ({"type": "array", "items": {"type": "integer"}, "minItems": 2}, "[", "0,0]"),
    ({"type": "array", "items": {"type": "integer"}, "minItems": 2}, "[5, ", "0]"),
    ({"type": "array", "items": {"type": "integer"}}, "[5", "]"),
    ({"type": "object", "properties": {"n": {"type": "integer", "minimum": 100, "maximum": 200}}, "required": ["n"]},
     '{"n": 1', "00}"),
    ({"type": "object", "properties": {"e": {"enum": ["north", "south", "no"]}}, "required": ["e"]}, '{"e": "no', '"}'),
    ({"type": "object", "properties": {"s": {"type": "string", "minLength": 3}}, "required": ["s"]}, '{"s": "a', 'aa"}'),
    ({"type": "object", "properties": {"p": {"type": "string", "pattern": "^[a-z]+@[a-z]+\\.com$"}}, "required": ["p"]},
     '{"p": "ann', '@a.com"}'),
])
def test_simple_completions_are_the_shortest(schema, prefix, expected):
    assert check_completion(schema, prefix) == expected
    assert shortest_by_search(schema, prefix, len(expected), alphabet=expected) == len(expected)


def shortest_by_search(schema, prefix: str, limit: int, alphabet: str = "") -> int | None:
    """The length of the shortest completion the grammar accepts, by breadth-first search
    over the characters of JSON's punctuation, a few digits and letters, and `alphabet`."""
    base = xgr.GrammarMatcher(_compiled(json.dumps(schema)))
    assert base.accept_string(prefix) if prefix else True
    frontier = [base]
    eos = load_tokenizer().eos_token_id
    for length in range(limit + 1):
        for m in frontier:
            if m.fork().accept_token(eos):
                return length
        nxt = []
        for m in frontier:
            for ch in sorted(set('"{}[],: 0125a' + alphabet)):
                child = m.fork()
                if child.accept_string(ch):
                    nxt.append(child)
        frontier = nxt[:4000]
    return None


def test_a_finished_value_needs_nothing():
    completer = JsonCompleter({"type": "object"})
    completer.feed('{"a": [1, {"b": null}]}')
    assert completer.completion() == ""
    completer.feed(" x")
    assert completer.completion() is None  # text after the value: not JSON any more


def test_unknown_keys_are_not_invented():
    schema = {"type": "object", "properties": {"alpha": {"type": "integer"}, "beta": {"type": "integer"}}}
    assert check_completion(schema, '{"b') == 'eta":0}'
    assert check_completion(schema, '{"alpha": 1, "') == 'beta":0}'  # keys come in schema order


# -- shortest values --

@pytest.mark.parametrize("fmt", sorted(FORMAT_SAMPLES))
def test_format_samples_are_accepted(fmt):
    schema = {"type": "string", "format": fmt}
    assert grammar_accepts(schema, json.dumps(FORMAT_SAMPLES[fmt]))
    assert shortest_json(schema) == json.dumps(FORMAT_SAMPLES[fmt])


@pytest.mark.parametrize("schema,expected", [
    ({"type": "integer"}, "0"), ({"type": "integer", "minimum": 5}, "5"), ({"type": "integer", "maximum": -5}, "-5"),
    ({"type": "integer", "minimum": 95, "maximum": 1000}, "95"), ({"type": "integer", "exclusiveMinimum": 0}, "1"),
    ({"type": "integer", "multipleOf": 7, "minimum": 10}, "14"), ({"type": "number", "minimum": 0.5, "maximum": 0.7}, "0.5"),
    ({"type": "number", "minimum": -0.7, "maximum": -0.5}, "-0.5"), ({"type": "number", "exclusiveMinimum": 0}, "1"),
    ({"type": "string"}, '""'), ({"type": "string", "minLength": 2}, '"aa"'), ({"type": "boolean"}, "true"),
    ({"type": "null"}, "null"), ({"enum": ["long", "s", 10]}, "10"), ({"enum": ["long", "s"]}, '"s"'), ({"const": {"k": 1}}, '{"k":1}'),
    ({"type": ["string", "null"]}, '""'), ({}, "0"), ({"type": "array", "items": {"type": "null"}, "minItems": 2}, "[null,null]"),
    ({"anyOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, {"type": "integer"}]}, "0"),
])
def test_minimal_values(schema, expected):
    assert shortest_json(schema) == expected
    assert grammar_accepts(schema, expected)


@settings(max_examples=200, deadline=None)
@given(lo=st.integers(-10**6, 10**6), width=st.integers(0, 10**6), prefix_len=st.integers(0, 7))
def test_integer_completions_stay_in_bounds(lo, width, prefix_len):
    schema = {"type": "integer", "minimum": lo, "maximum": lo + width}
    target = str(lo + width // 2)
    prefix = target[:prefix_len]
    rest = number_completion(schema, prefix, integer=True)
    assert rest is not None  # the prefix of an in-range number always completes
    assert lo <= int(prefix + rest) <= lo + width
    assert grammar_accepts(schema, prefix + rest)


# -- patterns --

@pytest.mark.parametrize("pattern,prefix,expected", [
    ("^[a-z]+@[a-z]+\\.com$", "", "a@a.com"), ("^[a-z]+@[a-z]+\\.com$", "abc@x.c", "om"), ("(ab|c){2,3}\\d", "", "cc0"),
    ("\\d{3}-\\d{4}", "55", "0-0000"), ("[A-Z]{2}\\d+", "X", "A0"), ("a*", "", ""), ("(?:foo|ba)r?", "", "ba"),
    ("[^x]+", "", "a"), ("colou?r", "col", "or"),
])
def test_pattern_completions(pattern, prefix, expected):
    rest = shortest_completion(pattern, prefix)
    assert rest == expected and re.fullmatch(pattern, prefix + rest)
    schema = {"type": "string", "pattern": pattern}
    assert grammar_accepts(schema, json.dumps(prefix + rest))


def test_pattern_min_length_and_dead_ends():
    assert shortest_completion("a+", "", min_length=3) == "aaa"
    assert shortest_completion("abc", "ax") is None
    with pytest.raises(Unsupported):
        shortest_completion("(a)\\1")  # back references are beyond an NFA


@pytest.mark.parametrize("fmt,value", [("date", "2024-05-01"), ("time", "10:30:00+02:00"), ("date-time", "2024-05-01T10:00:00.5Z"),
                                       ("uuid", "123e4567-e89b-12d3-a456-426614174000"), ("ipv4", "192.168.10.255"),
                                       ("email", "ann.lee@mail-box.example.com")])
def test_formatted_strings_cut_anywhere_are_completed(fmt, value):
    schema = {"type": "object", "properties": {"v": {"type": "string", "format": fmt}}, "required": ["v"]}
    text = json.dumps({"v": value})
    assert re.fullmatch(FORMAT_PATTERNS[fmt], value)
    for i in range(len(text) + 1):
        assert check_completion(schema, text[:i]) is not None, text[:i]


def test_identical_items_in_a_row_are_noticed():
    schema = {"type": "object", "properties": {"guests": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}}}}, "n": {"type": "array", "items": {"type": "integer"}}}}
    completer = JsonCompleter(schema, max_identical_items=3)
    completer.feed('{"guests": [{"name": "Bo"}, {"name": "Bo"}, {"name": "Al"}, {"name": "Al"}')
    assert not completer.repeating  # two in a row, then two in a row: not three
    completer.feed(', {"name": "Al"}')
    assert completer.repeating and completer.completion() == "]}"
    numbers = JsonCompleter(schema, max_identical_items=2)
    numbers.feed('{"n": [1, 12, 1')
    assert not numbers.repeating
    numbers.feed("2")  # "12" is still being written
    assert not numbers.repeating
    numbers.feed(", ")
    assert numbers.repeating
    assert not JsonCompleter(schema).repeating  # off unless asked
