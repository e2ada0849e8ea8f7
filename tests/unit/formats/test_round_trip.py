"""Property tests tying render, constraint and parser together, for every format: any
assistant turn the format renders is accepted by the constraint of a request that allows
it (also followed by the format's own end-of-turn token), and parses back to the same
content (stripped by design) and the same calls."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functionary.domain import CODE_TOOL

from .support import (
    ADD,
    ALL_NAMES,
    ENDS,
    TOOLS_WITH_CODE,
    accepts,
    load_format,
    parse,
    request,
    same_calls,
    turns,
)

SETTINGS = settings(max_examples=40, deadline=None)
pytestmark = pytest.mark.parametrize("name", ALL_NAMES)


def check_round_trip(name, req, content, calls):
    fmt = load_format(name)
    text = fmt.render_assistant(content, calls)
    assert accepts(fmt, req, text), f"rejected: {text!r}"
    for end in ENDS.get(name, []):
        assert accepts(fmt, req, text + end), f"rejected with {end}: {text!r}"
    for written in [text] + [text + end for end in ENDS.get(name, [])]:
        parsed = parse(fmt, req, written)
        assert parsed.content == content.strip()
        assert same_calls(parsed.calls, calls)
        for got in parsed.calls:  # what the client receives is JSON, as the constraint wrote it
            json.loads(got.arguments)


@SETTINGS
@given(data=st.data())
def test_auto_parallel_round_trip(name, data):
    content, calls = data.draw(turns(name, text=True, min_calls=0, max_calls=3, functions=TOOLS_WITH_CODE))
    check_round_trip(name, request("auto", tools=TOOLS_WITH_CODE), content, calls)


@SETTINGS
@given(data=st.data())
def test_auto_single_round_trip(name, data):
    content, calls = data.draw(turns(name, text=True, min_calls=0, max_calls=1, functions=TOOLS_WITH_CODE))
    check_round_trip(name, request("auto", parallel=False, tools=TOOLS_WITH_CODE), content, calls)


@SETTINGS
@given(data=st.data())
def test_required_round_trip(name, data):
    content, calls = data.draw(turns(name, text=False, min_calls=1, max_calls=3, functions=TOOLS_WITH_CODE))
    check_round_trip(name, request("required", tools=TOOLS_WITH_CODE), content, calls)


@SETTINGS
@given(data=st.data())
def test_named_round_trip(name, data):
    content, calls = data.draw(turns(name, text=False, min_calls=1, max_calls=1, functions=(ADD,)))
    check_round_trip(name, request("named", forced="add", tools=TOOLS_WITH_CODE), content, calls)


@SETTINGS
@given(data=st.data())
def test_named_code_tool_round_trip(name, data):
    """The code tool named: raw code where the format has a code channel, JSON elsewhere."""
    content, calls = data.draw(turns(name, text=False, min_calls=1, max_calls=1, functions=(CODE_TOOL,)))
    check_round_trip(name, request("named", forced=CODE_TOOL.name, tools=TOOLS_WITH_CODE), content, calls)


@SETTINGS
@given(data=st.data())
def test_none_round_trip(name, data):
    """Text only: accepted where there is a constraint, and parsed back unchanged."""
    content, _ = data.draw(turns(name, text=True, min_calls=0, max_calls=0))
    fmt, req = load_format(name), request("none")
    text = fmt.render_assistant(content, [])
    if fmt.constraint(req) is not None:
        assert accepts(fmt, req, text)
    parsed = parse(fmt, req, text)
    assert parsed.content == content.strip() and parsed.calls == []
