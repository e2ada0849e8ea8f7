"""Shared pieces of the native-format tests: which formats, the markers their text may not
hold, strategies for turns each format can express, and offline family tokenizers."""

from __future__ import annotations

import copy
from functools import lru_cache

from hypothesis import strategies as st

from functionary.formats import FORMATS
from functionary.formats.base import ParsedCall
from functionary.formats.code_tool import CODE_TOOL, code_arguments

from ..helpers import TEXT_CHARS, TOOLS, calls_for, load_tokenizer

NATIVE_NAMES = ["v3.llama3", "v3-llama3.1", "v2", "hermes", "llama3-json", "mistral"]
FUNCTIONARY_NAMES = ["v3.llama3", "v3-llama3.1", "v2"]  # these have the native code channel
TOOLS_WITH_CODE = (*TOOLS, CODE_TOOL)

# Strings that free text (content, code) must not hold in each format: call openers and
# end-of-turn tokens.
LLAMA_HEADERS = ["<|start_header_id|>", "<|end_header_id|>"]
MARKERS = {
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
NATIVE_BITS = [">", ">>", "<", "<|", "<function", "<|python_tag", "<|eot", "\n<|from", "<|stop", "[TOOL",
               "[TOOL_CALLS", '{"name"', '{"name":', "{", "}", "[", "]", ";", ",", '"', "\\", "\n", " ", "all"]
native_noise = st.lists(st.one_of(st.text(TEXT_CHARS, max_size=6), st.sampled_from(NATIVE_BITS)), max_size=8).map("".join)


@lru_cache(maxsize=None)
def load_native(name: str):
    return FORMATS[name](load_tokenizer())


def clean_for(name: str) -> st.SearchStrategy:
    """Free text without the format's markers."""
    return native_noise.filter(lambda t: not any(m in t for m in MARKERS[name]))


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
        plain = [c for c in calls if c.name != CODE_TOOL.name]
        code = [c for c in calls if c.name == CODE_TOOL.name][:1]
        calls = plain + code
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
