"""Shared pieces of the format-layer unit tests: a fixed toolset, strategies that build
arguments satisfying its schemas, and the grammar acceptance check."""

from __future__ import annotations

import json
from functools import lru_cache

import xgrammar as xgr
from hypothesis import strategies as st

from functionary.formats import FORMATS
from functionary.formats.base import Event, Function, ParsedCall, ParsedMessage, StreamParser, ToolRequest, collect

VOCAB_SIZE = 49152
# The plain formats (for templates without tools); native formats have tests in tests/unit/formats/.
FORMAT_NAMES = sorted(n for n in FORMATS if n.startswith("plain-"))

# -- the toolset --

WEATHER = Function(
    "get_weather",
    "Current weather in a city.",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
        "additionalProperties": False,
    },
)
ADD = Function(
    "add",
    "Adds two integers.",
    {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
)
SEARCH = Function(
    "search",
    "Searches the catalogue.",
    {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "exact": {"type": "boolean"},
            "filters": {
                "type": "object",
                "properties": {
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "price": {"type": "number"},
                },
                "required": ["tags"],
                "additionalProperties": False,
            },
            "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
)
NOOP = Function("noop", "Does nothing.", {"type": "object", "properties": {}, "additionalProperties": False})
TOOLS = (WEATHER, ADD, SEARCH, NOOP)
BY_NAME = {f.name: f for f in TOOLS}


def request(mode: str = "auto", *, parallel: bool = True, forced: str | None = None,
            response_schema: dict | None = None, tools=TOOLS) -> ToolRequest:
    return ToolRequest(tuple(tools), mode, forced, parallel, response_schema)


# -- tokenizer and grammars (loaded once per process) --


@lru_cache(maxsize=None)
def load_tokenizer():
    from transformers import AutoTokenizer

    from functionary.model_store import ensure_bundled_model

    return AutoTokenizer.from_pretrained(ensure_bundled_model())


@lru_cache(maxsize=None)
def load_grammars():
    from functionary.engines.grammar import GrammarCache

    tok = load_tokenizer()
    return GrammarCache(tok, vocab_size=VOCAB_SIZE, stop_token_ids=[tok.eos_token_id])


@lru_cache(maxsize=None)
def load_format(name: str):
    return FORMATS[name](load_tokenizer())


def accepts(fmt, req: ToolRequest, text: str) -> bool:
    """Whether the request's constraint lets the model write exactly `text` and then stop."""
    spec = fmt.constraint(req)
    assert spec is not None, "free text: no constraint to check against"
    matcher = xgr.GrammarMatcher(load_grammars().get(spec))
    return matcher.accept_string(text) and matcher.accept_token(load_tokenizer().eos_token_id)


def parse(fmt, req: ToolRequest, text: str) -> ParsedMessage:
    return fmt.stream_parser(req).parse(text)


def parse_chunks(parser: StreamParser, chunks: list[str]) -> ParsedMessage:
    events: list[Event] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return collect(events + parser.finish())


def split_at(text: str, cuts) -> list[str]:
    points = sorted(set(c for c in cuts if 0 < c < len(text)))
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)])]


def call(name: str, args: dict) -> ParsedCall:
    return ParsedCall(name, json.dumps(args, ensure_ascii=False))


def same_calls(parsed: list[ParsedCall], expected: list[ParsedCall]) -> bool:
    return [(c.name, json.loads(c.arguments)) for c in parsed] == [(c.name, json.loads(c.arguments)) for c in expected]


# -- strategies --

# No lone surrogates: they cannot be written as UTF-8, so no model emits them.
TEXT_CHARS = st.characters(blacklist_categories=("Cs",))
json_text = st.text(TEXT_CHARS, max_size=12)
json_int = st.integers(min_value=-(10**12), max_value=10**12)
# Unbounded numbers are generated within the safe-integer range (see constraint.bounded_numbers).
json_number = st.one_of(json_int, st.floats(min_value=-(2.0**40), max_value=2.0**40, allow_nan=False,
                                            allow_infinity=False, width=32))


def _object(props: dict, required: list[str], draw_value) -> st.SearchStrategy:
    """Objects with the required keys and any subset of the others, in schema order."""
    optional = [k for k in props if k not in required]

    @st.composite
    def build(draw):
        chosen = set(required) | {k for k in optional if draw(st.booleans())}
        return {k: draw(draw_value(props[k])) for k in props if k in chosen}

    return build()


def value_for(schema: dict) -> st.SearchStrategy:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        return json_text
    if kind == "integer":
        return json_int
    if kind == "number":
        return json_number
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(value_for(schema["items"]), max_size=3)
    if kind == "object":
        return _object(schema.get("properties", {}), schema.get("required", []), value_for)
    raise AssertionError(f"no strategy for {schema}")


def calls_for(functions=TOOLS) -> st.SearchStrategy:
    """One call to one of `functions`, with arguments that satisfy its schema."""
    return st.sampled_from(list(functions)).flatmap(
        lambda f: value_for(f.parameters).map(lambda args: ParsedCall(f.name, json.dumps(args, ensure_ascii=False)))
    )


# Text that may hold partial markers and braces, never a whole call marker.
MARKER_BITS = ["<", "<tool", "<tool_call", "</tool_call>", ">", ">>", "{", "}", "[", '"', "\\", "\n", " ", "all"]
noisy_text = st.lists(st.one_of(st.text(TEXT_CHARS, max_size=6), st.sampled_from(MARKER_BITS)), max_size=8).map("".join)


def content_for(format_name: str) -> st.SearchStrategy:
    """Assistant text without the format's call marker."""
    marker = "<tool_call>" if format_name == "plain-tags" else ">>>"
    return noisy_text.filter(lambda t: marker not in t)
