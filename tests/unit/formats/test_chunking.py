"""Streaming parsers give the same result whatever the chunking, for every format: the
events of any split, with neighbouring deltas joined, equal those of the whole text fed
at once; and arbitrary text, malformed calls included, never makes a parser raise."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functionary.domain import ParsedCall
from functionary.formats.parser import TextDelta

from .support import (
    ALL_NAMES,
    ENDS,
    MARKER_BITS,
    TEXT_CHARS,
    TOOLS_WITH_CODE,
    call,
    check_invariant,
    load_format,
    request,
    split_at,
    stream,
    turns,
)

SETTINGS = settings(max_examples=60, deadline=None)

# -- fixed examples, cut every way --

TRICKY = [
    call("search", {"query": 'say "hi" \\ {not} [a] }', "filters": {"tags": ["}", "{", "]", '"']}}),
    call("get_weather", {"city": "São Paulo </tool_call> >>>all\n"}),
    call("search", {"query": "x", "matrix": [[1, 2], [], [3]]}),
    call("noop", {}),
]
EXAMPLES = [
    ("Hello there!", []),
    ("Let me check.", [TRICKY[0]]),
    ("", [TRICKY[1], TRICKY[2]]),
    ("Three: a <tool and a >> and {braces}.", [TRICKY[3], TRICKY[0]]),
    ("Let me see > {x} [y]", [ParsedCall("search", '{"query": "a\\"b}", "filters": {"tags": ["]"]}}'),
                              ParsedCall("add", '{"a": 1, "b": 2}')]),
]


@pytest.mark.parametrize("mode", ["auto", "none"])
@pytest.mark.parametrize("example", range(len(EXAMPLES)))
def test_every_two_way_split(fmt, mode, example):
    req = request(mode, tools=TOOLS_WITH_CODE)
    text = fmt.render_assistant(*EXAMPLES[example])
    for cut in range(len(text) + 1):
        check_invariant(fmt, req, text, [text[:cut], text[cut:]])


@pytest.mark.parametrize("mode", ["auto", "none"])
@pytest.mark.parametrize("example", range(len(EXAMPLES)))
def test_one_char_chunks(fmt, mode, example):
    text = fmt.render_assistant(*EXAMPLES[example])
    check_invariant(fmt, request(mode, tools=TOOLS_WITH_CODE), text, list(text))


def test_three_way_splits_of_a_short_call(fmt):
    req = request("auto")
    text = fmt.render_assistant("Hi", [call("add", {"a": 1, "b": 2})])
    for i, j in itertools.combinations(range(len(text) + 1), 2):
        check_invariant(fmt, req, text, [text[:i], text[i:j], text[j:]])


def test_examples_parse_as_rendered(fmt):
    req = request("auto")
    for content, calls in EXAMPLES:
        parsed = fmt.stream_parser(req).parse(fmt.render_assistant(content, calls))
        assert parsed.content == content
        assert [(c.name, c.arguments) for c in parsed.calls] == [(c.name, c.arguments) for c in calls]


def test_chunks_may_be_empty(fmt):
    text = fmt.render_assistant("Hi", [call("add", {"a": 1, "b": 2})])
    chunks = [c for ch in text for c in ("", ch, "")]
    check_invariant(fmt, request("auto"), text, chunks)


def test_no_calls_when_disabled(fmt):
    text = fmt.render_assistant("Hi", [call("add", {"a": 1, "b": 2})])
    for req in (request("none"), request("auto", tools=())):
        assert not [e for e in stream(fmt.stream_parser(req), list(text)) if not isinstance(e, TextDelta)]


# -- random turns, random cuts --


@pytest.mark.parametrize("name", ALL_NAMES)
@SETTINGS
@given(data=st.data(), mode=st.sampled_from(["auto", "none", "required"]))
def test_random_cuts_of_rendered_turns(name, data, mode):
    fmt = load_format(name)
    content, calls = data.draw(turns(name, text=True, min_calls=0, max_calls=3, functions=TOOLS_WITH_CODE))
    text = fmt.render_assistant(content, calls)
    if name in ENDS and data.draw(st.booleans()):
        text += ENDS[name][0]
    cuts = data.draw(st.lists(st.integers(0, max(len(text), 1)), max_size=12))
    check_invariant(fmt, request(mode, tools=TOOLS_WITH_CODE), text, split_at(text, cuts))


# -- arbitrary text, malformed calls included --

WHOLE_BITS = MARKER_BITS + [
    "<tool_call>", "\n</tool_call>", '{"name": "add", "arguments": ', '{"name": "add", "parameters": ',
    '{"a": 1, "b": 2}', "}", ">>>", ">>>>", ">>>all\n", ">>>add\n", ">>>python\n", ">>>all", '"\\"', "\\\\", "\t",
    " " * 3, "<function=add>", "</function>", "<|python_tag|>", "<|eot_id|>", "<|eom_id|>",
    "\n<|from|>assistant\n<|recipient|>", "all\n<|content|>", "add\n<|content|>", "<|stop|>", "[TOOL_CALLS]",
    "[TOOL_CALLS] [", "; ", ", ", "]",
]
arbitrary = st.lists(st.one_of(st.text(TEXT_CHARS, max_size=5), st.sampled_from(WHOLE_BITS)), max_size=14).map("".join)


@pytest.mark.parametrize("name", ALL_NAMES)
@settings(max_examples=80, deadline=None)
@given(text=arbitrary, cuts=st.lists(st.integers(0, 200), max_size=10), mode=st.sampled_from(["auto", "none"]))
def test_arbitrary_text_never_raises_and_is_chunking_invariant(name, text, cuts, mode):
    fmt = load_format(name)
    check_invariant(fmt, request(mode, tools=TOOLS_WITH_CODE), text, split_at(text, cuts))
    check_invariant(fmt, request(mode, tools=TOOLS_WITH_CODE), text, list(text))


# -- malformed or cut-off calls: same answer however they arrive --

LONG = "x" * 300


@pytest.mark.parametrize("text", [
    "<tool_call>" + LONG + "<tool_call>\n" + '{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>',
    "<tool_call>\n" + " " * 300 + '{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>',
    "<tool_call>\n{\"name\": \"" + LONG + "\", \"arguments\": {}}\n</tool_call>",
    ">>>" + LONG + ">>>add\n{\"a\": 1, \"b\": 2}",
    ">>>all\nHi>>>" + LONG + "\n{}",
    ">>>all\nHi>>>" + LONG + ">>>add\n{}",
    "<function=" + LONG + "><function=add>{\"a\": 1, \"b\": 2}</function>",
    "[TOOL_CALLS] " + LONG + "[TOOL_CALLS] [{\"name\": \"add\", \"arguments\": {}}]",
])
def test_long_malformed_headers_are_chunking_invariant(fmt, text):
    req = request("auto")
    check_invariant(fmt, req, text, list(text))
    for cut in range(0, len(text), 7):
        check_invariant(fmt, req, text, [text[:cut], text[cut:]])


@pytest.mark.parametrize("name,text,content", [
    ("plain-tags", "Hi <tool_call>", "Hi"),
    ("plain-tags", 'Hi\n<tool_call>\n{"name": "add", "arguments": {"a": 1', "Hi"),
    ("plain-recipient", ">>>all\nHi>>>", "Hi"),
    ("plain-recipient", ">>>all\nHi>>>>", "Hi>"),
    ("plain-recipient", ">>>all\nHi>>>ad", "Hi"),
    ("plain-recipient", '>>>all\nHi>>>add\n{"a": 1', "Hi"),
    ("plain-recipient", ">>", ""),
    ("v3.llama3", '>>>all\nHi>>>add\n{"a": 1', "Hi"),
    ("v3-llama3.1", 'Hi<function=add>{"a": 1', "Hi"),
    ("mistral", 'Hi[TOOL_CALLS] [{"name": "add", "arguments": {"a": 1', "Hi"),
])
def test_cut_off_marker_or_call_is_not_content(name, text, content):
    fmt = load_format(name)
    parsed = fmt.stream_parser(request("auto")).parse(text)
    assert parsed.content == content
    check_invariant(fmt, request("auto"), text, list(text))


def test_a_malformed_opener_is_given_back_as_text():
    """Past the header limit without a header the opener was text, spacing kept, and a
    well-formed call further on is still read."""
    fmt = load_format("plain-tags")
    text = "Hi <tool_call>" + LONG + '\n<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>'
    parsed = fmt.stream_parser(request("auto")).parse(text)
    assert parsed.content == "Hi <tool_call>" + LONG
    assert [(c.name, c.arguments) for c in parsed.calls] == [("add", '{"a": 1, "b": 2}')]


def test_a_malformed_recipient_is_given_back_as_text():
    fmt = load_format("plain-recipient")
    text = ">>>all\nHi>>>" + LONG + '>>>add\n{"a": 1, "b": 2}'
    parsed = fmt.stream_parser(request("auto")).parse(text)
    assert parsed.content == "Hi>>>" + LONG
    assert [(c.name, c.arguments) for c in parsed.calls] == [("add", '{"a": 1, "b": 2}')]
