"""Shared pieces of the format tests, for every format in the registry: a fixed toolset,
the grammar acceptance check, the markers each format's free text may not hold,
strategies for turns each format can express, and offline family tokenizers."""

from __future__ import annotations

import copy
import json
from functools import lru_cache

import xgrammar as xgr
from hypothesis import strategies as st

from functionary.domain import CODE_TOOL, Function, ParsedCall, ParsedMessage, ToolRequest
from functionary.formats import FORMATS
from functionary.formats.code_tool import code_arguments
from functionary.formats.parser import ArgsDelta, CallEnd, CallStart, Event, StreamParser, TextDelta, collect

VOCAB_SIZE = 49152
ALL_NAMES = sorted(FORMATS)
PLAIN_NAMES = ["plain-recipient", "plain-tags"]  # for templates without tools (the bundled model)
FUNCTIONARY_NAMES = ["v2", "v3-llama3.1", "v3.llama3"]  # these have the native code channel
# `tool_choice: none` without a response format leaves these unconstrained (free text).
FREE_TEXT_NAMES = ["hermes", "llama3-json", "mistral", "plain-tags"]

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
TOOLS_WITH_CODE = (*TOOLS, CODE_TOOL)


def request(mode: str = "auto", *, parallel: bool = True, forced: str | None = None,
            response_schema: dict | None = None, tools=TOOLS) -> ToolRequest:
    return ToolRequest(tuple(tools), mode, forced, parallel, response_schema)


# -- tokenizer, formats and grammars (loaded once per process) --


@lru_cache(maxsize=None)
def load_tokenizer():
    from transformers import AutoTokenizer

    from functionary.model_store import ensure_bundled_model

    return AutoTokenizer.from_pretrained(ensure_bundled_model())


@lru_cache(maxsize=None)
def load_grammars():
    from functionary.engines.transformers_engine.grammar import GrammarCache

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


def split_at(text: str, cuts) -> list[str]:
    points = sorted(set(c for c in cuts if 0 < c < len(text)))
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)])]


def call(name: str, args: dict) -> ParsedCall:
    return ParsedCall(name, json.dumps(args, ensure_ascii=False))


def same_calls(parsed: list[ParsedCall], expected: list[ParsedCall]) -> bool:
    return [(c.name, json.loads(c.arguments)) for c in parsed] == [(c.name, json.loads(c.arguments)) for c in expected]


def check_accepts(fmt, req, content, calls):
    """The rendered turn is allowed and parses back to its content (stripped) and calls."""
    text = fmt.render_assistant(content, calls)
    assert accepts(fmt, req, text), f"rejected: {text!r}"
    parsed = parse(fmt, req, text)
    assert parsed.content == content.strip()
    assert same_calls(parsed.calls, calls)


def check_rejects(fmt, req, content, calls):
    text = fmt.render_assistant(content, calls)
    assert not accepts(fmt, req, text), f"accepted: {text!r}"


# -- streaming: any chunking gives the whole-text events --


def normalized(events):
    """Events with neighbouring text deltas (and args deltas of one call) joined."""
    out = []
    for ev in events:
        if out and isinstance(ev, TextDelta) and isinstance(out[-1], TextDelta):
            out[-1] = TextDelta(out[-1].text + ev.text)
        elif out and isinstance(ev, ArgsDelta) and isinstance(out[-1], ArgsDelta) and out[-1].index == ev.index:
            out[-1] = ArgsDelta(ev.index, out[-1].text + ev.text)
        elif not (isinstance(ev, (TextDelta, ArgsDelta)) and ev.text == ""):
            out.append(ev)
    return out


def stream(parser: StreamParser, chunks: list[str]) -> list[Event]:
    events = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events + parser.finish()


def check_well_formed(events):
    """Calls are numbered from 0; args and ends only for the call that is open."""
    open_call, next_index = None, 0
    for ev in events:
        if isinstance(ev, CallStart):
            assert open_call is None and ev.index == next_index
            open_call, next_index = ev.index, next_index + 1
        elif isinstance(ev, ArgsDelta):
            assert ev.index == open_call
        elif isinstance(ev, CallEnd):
            assert ev.index == open_call
            open_call = None
        else:
            assert isinstance(ev, TextDelta) and ev.text


def check_invariant(fmt, req, text, chunks):
    assert "".join(chunks) == text
    whole = stream(fmt.stream_parser(req), [text])
    pieces = stream(fmt.stream_parser(req), chunks)
    assert normalized(pieces) == normalized(whole), chunks
    assert collect(pieces) == collect(whole) == fmt.stream_parser(req).parse(text)
    check_well_formed(whole)


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


# Strings that free text (content, code) must not hold in each format: call openers and
# end-of-turn tokens.
LLAMA_HEADERS = ["<|start_header_id|>", "<|end_header_id|>"]
MARKERS = {
    "plain-tags": ["<tool_call>"],
    "plain-recipient": [">>>"],
    "v3.llama3": [">>>", "<|eot_id|>", *LLAMA_HEADERS],
    "v3-llama3.1": ["<function=", "<|python_tag|>", "<|eot_id|>", "<|eom_id|>", *LLAMA_HEADERS],
    "v2": ["<|from|>", "<|recipient|>", "<|content|>", "<|stop|>"],
    "hermes": ["<tool_call>"],
    "llama3-json": ['{"name": ', "<|python_tag|>"],
    "mistral": ["[TOOL_CALLS]"],
}
# Each format's end-of-turn tokens that the grammar lets the model write itself.
ENDS = {"v3.llama3": ["<|eot_id|>"], "v3-llama3.1": ["<|eom_id|>", "<|eot_id|>"], "v2": ["<|stop|>"]}

# Bits that make text look like the start of a marker, for every format at once.
MARKER_BITS = ["<", "<tool", "<tool_call", "</tool_call>", ">", ">>", "<|", "<function", "<|python_tag", "<|eot",
               "\n<|from", "<|stop", "[TOOL", "[TOOL_CALLS", '{"name"', '{"name":', "{", "}", "[", "]", ";", ",",
               '"', "\\", "\n", " ", "all"]
noisy_text = st.lists(st.one_of(st.text(TEXT_CHARS, max_size=6), st.sampled_from(MARKER_BITS)), max_size=8).map("".join)


def clean_for(name: str) -> st.SearchStrategy:
    """Free text without the format's markers."""
    return noisy_text.filter(lambda t: not any(m in t for m in MARKERS[name]))


def code_calls(name: str) -> st.SearchStrategy:
    code = clean_for(name)
    if name == "v3.llama3":  # code ending in ">" before another segment gains a newline (see render)
        code = code.filter(lambda c: not c.endswith(">"))
    return code.map(lambda c: ParsedCall(CODE_TOOL.name, code_arguments(c)))


@st.composite
def turns(draw, name: str, *, text: bool, min_calls: int, max_calls: int, functions=TOOLS):
    """(content, calls) that the format can express; functionary formats also get code calls."""
    content = draw(clean_for(name)) if text else ""
    plain = tuple(f for f in functions if not f.code)
    strategy = calls_for(plain) if plain else st.nothing()
    if CODE_TOOL in functions:
        # Formats without a code channel see an ordinary function python(code: string).
        strategy = st.one_of(strategy, code_calls(name) if name in FUNCTIONARY_NAMES else calls_for((CODE_TOOL,)))
    calls = draw(st.lists(strategy, min_size=min_calls, max_size=max_calls))
    if name == "v3-llama3.1":  # code runs to the end of the turn: at most one code call, last
        plain_calls = [c for c in calls if c.name != CODE_TOOL.name]
        code = [c for c in calls if c.name == CODE_TOOL.name][:1]
        calls = plain_calls + code
        if len(calls) < min_calls:
            calls = [ParsedCall("noop", "{}")]
    return content, calls


# -- offline tokenizers that look like each family's --


@lru_cache(maxsize=None)
def family_tokenizer(family: str):
    """The bundled tokenizer dressed as one family: its special tokens and a chat template
    written here in that family's style (nothing is downloaded)."""
    from . import templates

    tok = copy.deepcopy(load_tokenizer())
    spec = templates.FAMILIES[family]
    if spec.tokens:
        tok.add_special_tokens({"additional_special_tokens": list(spec.tokens)})
    if spec.bos:
        tok.add_special_tokens({"bos_token": spec.bos})
    tok.chat_template = spec.template
    tok.name_or_path = spec.name
    return tok
