"""Property tests tying render, constraint and parser together: any assistant turn the
format renders is accepted by the constraint of a request that allows it, and parses
back to the same content (stripped by design) and the same calls."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from .helpers import ADD, FORMAT_NAMES, accepts, calls_for, content_for, load_format, parse, request, same_calls

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def turns(draw, *, text: bool, min_calls: int, max_calls: int, functions=None):
    name = draw(st.sampled_from(FORMAT_NAMES))
    content = draw(content_for(name)) if text else ""
    strategy = calls_for() if functions is None else calls_for(functions)
    calls = draw(st.lists(strategy, min_size=min_calls, max_size=max_calls))
    return load_format(name), content, calls


def check_round_trip(fmt, req, content, calls):
    text = fmt.render_assistant(content, calls)
    assert accepts(fmt, req, text), f"rejected: {text!r}"
    parsed = parse(fmt, req, text)
    assert parsed.content == content.strip()
    assert same_calls(parsed.calls, calls)
    for got in parsed.calls:  # what the client receives is JSON, as the constraint wrote it
        json.loads(got.arguments)


@SETTINGS
@given(turns(text=True, min_calls=0, max_calls=3))
def test_auto_parallel_round_trip(turn):
    fmt, content, calls = turn
    check_round_trip(fmt, request("auto"), content, calls)


@SETTINGS
@given(turns(text=True, min_calls=0, max_calls=1))
def test_auto_single_round_trip(turn):
    fmt, content, calls = turn
    check_round_trip(fmt, request("auto", parallel=False), content, calls)


@SETTINGS
@given(turns(text=False, min_calls=1, max_calls=3))
def test_required_round_trip(turn):
    fmt, content, calls = turn
    check_round_trip(fmt, request("required"), content, calls)


@SETTINGS
@given(turns(text=False, min_calls=1, max_calls=1, functions=(ADD,)))
def test_named_round_trip(turn):
    fmt, content, calls = turn
    check_round_trip(fmt, request("named", forced="add"), content, calls)


@SETTINGS
@given(turns(text=True, min_calls=0, max_calls=0))
def test_none_round_trip(turn):
    """Text only: accepted where there is a constraint, and parsed back unchanged."""
    fmt, content, _ = turn
    req = request("none")
    text = fmt.render_assistant(content, [])
    if fmt.constraint(req) is not None:
        assert accepts(fmt, req, text)
    assert parse(fmt, req, text).content == content.strip()
    assert parse(fmt, req, text).calls == []
