"""Streaming parsers give the same result whatever the chunking: the events of any split,
with neighbouring deltas joined, equal those of the whole text fed at once."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functionary.formats.base import ArgsDelta, CallEnd, CallStart, TextDelta, collect

from .helpers import (
    FORMAT_NAMES,
    MARKER_BITS,
    TEXT_CHARS,
    call,
    calls_for,
    content_for,
    load_format,
    request,
    split_at,
)

SETTINGS = settings(max_examples=80, deadline=None)


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


def stream(fmt, req, chunks):
    parser = fmt.stream_parser(req)
    events = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events + parser.finish()


def check_invariant(fmt, req, text, chunks):
    assert "".join(chunks) == text
    whole = stream(fmt, req, [text])
    pieces = stream(fmt, req, chunks)
    assert normalized(pieces) == normalized(whole), chunks
    assert collect(pieces) == collect(whole) == fmt.stream_parser(req).parse(text)
    check_well_formed(whole)


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
]


@pytest.mark.parametrize("mode", ["auto", "none"])
@pytest.mark.parametrize("example", range(len(EXAMPLES)))
def test_every_two_way_split(fmt, mode, example):
    req = request(mode)
    text = fmt.render_assistant(*EXAMPLES[example])
    for cut in range(len(text) + 1):
        check_invariant(fmt, req, text, [text[:cut], text[cut:]])


@pytest.mark.parametrize("mode", ["auto", "none"])
@pytest.mark.parametrize("example", range(len(EXAMPLES)))
def test_one_char_chunks(fmt, mode, example):
    req = request(mode)
    text = fmt.render_assistant(*EXAMPLES[example])
    check_invariant(fmt, req, text, list(text))


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


# -- random turns, random cuts --


@st.composite
def rendered_turns(draw):
    name = draw(st.sampled_from(FORMAT_NAMES))
    fmt = load_format(name)
    content = draw(content_for(name))
    calls = draw(st.lists(calls_for(), max_size=3))
    text = fmt.render_assistant(content, calls)
    cuts = draw(st.lists(st.integers(0, max(len(text), 1)), max_size=12))
    return fmt, text, split_at(text, cuts)


@SETTINGS
@given(rendered_turns(), st.sampled_from(["auto", "none", "required"]))
def test_random_cuts_of_rendered_turns(turn, mode):
    fmt, text, chunks = turn
    check_invariant(fmt, request(mode), text, chunks)


# -- arbitrary text, malformed calls included --

WHOLE_BITS = MARKER_BITS + [
    "<tool_call>", "\n</tool_call>", '{"name": "add", "arguments": ', '{"a": 1, "b": 2}', "}", ">>>", ">>>>",
    ">>>all\n", ">>>add\n", ">>>all", '"\\"', "\\\\", "\t", " " * 3,
]
arbitrary = st.lists(st.one_of(st.text(TEXT_CHARS, max_size=5), st.sampled_from(WHOLE_BITS)), max_size=14).map("".join)


@SETTINGS
@given(
    st.sampled_from(FORMAT_NAMES),
    arbitrary,
    st.lists(st.integers(0, 200), max_size=10),
    st.sampled_from(["auto", "none"]),
)
def test_arbitrary_text_never_raises_and_is_chunking_invariant(name, text, cuts, mode):
    check_invariant(load_format(name), request(mode), text, split_at(text, cuts))


@SETTINGS
@given(st.sampled_from(FORMAT_NAMES), arbitrary)
def test_arbitrary_text_one_char_chunks(name, text):
    check_invariant(load_format(name), request("auto"), text, list(text))


def test_chunks_may_be_empty(fmt):
    req = request("auto")
    text = fmt.render_assistant("Hi", [call("add", {"a": 1, "b": 2})])
    chunks = [c for ch in text for c in ("", ch, "")]
    check_invariant(fmt, req, text, chunks)


def test_no_calls_when_disabled(fmt):
    text = fmt.render_assistant("Hi", [call("add", {"a": 1, "b": 2})])
    for req in (request("none"), request("auto", tools=())):
        assert not [e for e in stream(fmt, req, list(text)) if not isinstance(e, TextDelta)]


# -- malformed or cut-off calls: same answer however they arrive --

LONG = "x" * 300


@pytest.mark.parametrize("text", [
    "<tool_call>" + LONG + "<tool_call>\n" + '{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>',
    "<tool_call>\n" + " " * 300 + '{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>',
    "<tool_call>\n{\"name\": \"" + LONG + "\", \"arguments\": {}}\n</tool_call>",
    ">>>" + LONG + ">>>add\n{\"a\": 1, \"b\": 2}",
    ">>>all\nHi>>>" + LONG + "\n{}",
    ">>>all\nHi>>>" + LONG + ">>>add\n{}",
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
])
def test_cut_off_marker_or_call_is_not_content(name, text, content):
    fmt = load_format(name)
    parsed = fmt.stream_parser(request("auto")).parse(text)
    assert parsed.content == content
    check_invariant(fmt, request("auto"), text, list(text))


def test_a_malformed_opener_is_given_back_as_text():
    """Past MAX_HEADER chars without a header the opener was text, spacing kept, and a
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
