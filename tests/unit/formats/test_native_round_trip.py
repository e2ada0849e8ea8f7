"""Property tests for every native format: any assistant turn the format renders is
accepted by the constraint of a request that allows it (also followed by the format's own
end-of-turn token), and parses back to the same content (stripped) and calls; streaming
gives the whole-text result however the text is cut."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functionary.formats.base import ParsedCall
from functionary.formats.code_tool import CODE_TOOL

from ..helpers import ADD, accepts, parse, request, same_calls, split_at
from ..test_stream_chunking import check_invariant
from .support import ENDS, NATIVE_NAMES, NATIVE_BITS, TOOLS_WITH_CODE, load_native, turns

SETTINGS = settings(max_examples=40, deadline=None)


def check_round_trip(name, req, content, calls):
    fmt = load_native(name)
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


@pytest.mark.parametrize("name", NATIVE_NAMES)
@SETTINGS
@given(data=st.data())
def test_auto_parallel_round_trip(name, data):
    content, calls = data.draw(turns(name, text=True, min_calls=0, max_calls=3, functions=TOOLS_WITH_CODE))
    check_round_trip(name, request("auto", tools=TOOLS_WITH_CODE), content, calls)


@pytest.mark.parametrize("name", NATIVE_NAMES)
@SETTINGS
@given(data=st.data())
def test_auto_single_round_trip(name, data):
    content, calls = data.draw(turns(name, text=True, min_calls=0, max_calls=1, functions=TOOLS_WITH_CODE))
    check_round_trip(name, request("auto", parallel=False, tools=TOOLS_WITH_CODE), content, calls)


@pytest.mark.parametrize("name", NATIVE_NAMES)
@SETTINGS
@given(data=st.data())
def test_required_round_trip(name, data):
    content, calls = data.draw(turns(name, text=False, min_calls=1, max_calls=3, functions=TOOLS_WITH_CODE))
    check_round_trip(name, request("required", tools=TOOLS_WITH_CODE), content, calls)


@pytest.mark.parametrize("name", NATIVE_NAMES)
@SETTINGS
@given(data=st.data())
def test_named_round_trip(name, data):
    content, calls = data.draw(turns(name, text=False, min_calls=1, max_calls=1, functions=(ADD,)))
    check_round_trip(name, request("named", forced="add", tools=TOOLS_WITH_CODE), content, calls)


@pytest.mark.parametrize("name", ["v3.llama3", "v3-llama3.1", "v2"])
@SETTINGS
@given(data=st.data())
def test_named_code_tool_round_trip(name, data):
    content, calls = data.draw(turns(name, text=False, min_calls=1, max_calls=1, functions=(CODE_TOOL,)))
    check_round_trip(name, request("named", forced=CODE_TOOL.name, tools=TOOLS_WITH_CODE), content, calls)


@pytest.mark.parametrize("name", NATIVE_NAMES)
@SETTINGS
@given(data=st.data())
def test_none_round_trip(name, data):
    """Text only: accepted where there is a constraint, and parsed back unchanged."""
    content, _ = data.draw(turns(name, text=True, min_calls=0, max_calls=0))
    fmt, req = load_native(name), request("none")
    text = fmt.render_assistant(content, [])
    if fmt.constraint(req) is not None:
        assert accepts(fmt, req, text)
    parsed = parse(fmt, req, text)
    assert parsed.content == content.strip() and parsed.calls == []


# -- streaming: any cut gives the whole-text result --


@pytest.mark.parametrize("name", NATIVE_NAMES)
@settings(max_examples=60, deadline=None)
@given(data=st.data(), mode=st.sampled_from(["auto", "none", "required"]))
def test_random_cuts_of_rendered_turns(name, data, mode):
    fmt = load_native(name)
    content, calls = data.draw(turns(name, text=True, min_calls=0, max_calls=3, functions=TOOLS_WITH_CODE))
    text = fmt.render_assistant(content, calls)
    if name in ENDS and data.draw(st.booleans()):
        text += ENDS[name][0]
    cuts = data.draw(st.lists(st.integers(0, max(len(text), 1)), max_size=12))
    check_invariant(fmt, request(mode, tools=TOOLS_WITH_CODE), text, split_at(text, cuts))


@pytest.mark.parametrize("name", NATIVE_NAMES)
def test_one_char_chunks_of_a_mixed_turn(name):
    fmt = load_native(name)
    content, calls = "Let me see > {x} [y]", [ParsedCall("search", '{"query": "a\\"b}", "filters": {"tags": ["]"]}}'),
                                               ParsedCall("add", '{"a": 1, "b": 2}')]
    text = fmt.render_assistant(content, calls)
    for mode in ("auto", "none"):
        check_invariant(fmt, request(mode, tools=TOOLS_WITH_CODE), text, list(text))
        for cut in range(len(text) + 1):
            check_invariant(fmt, request(mode, tools=TOOLS_WITH_CODE), text, [text[:cut], text[cut:]])


WHOLE_BITS = NATIVE_BITS + [
    ">>>", ">>>all\n", ">>>add\n", ">>>python\n", "<function=add>", "</function>", "<|python_tag|>", "<|eot_id|>",
    "<|eom_id|>", "\n<|from|>assistant\n<|recipient|>", "all\n<|content|>", "add\n<|content|>", "<|stop|>",
    "[TOOL_CALLS]", "[TOOL_CALLS] [", '{"name": "add", "arguments": ', '{"name": "add", "parameters": ',
    '{"a": 1, "b": 2}', "}", "; ", ", ", "]", "<tool_call>", "\n</tool_call>",
]
arbitrary = st.lists(st.one_of(st.text(max_size=5), st.sampled_from(WHOLE_BITS)), max_size=14).map("".join)


@pytest.mark.parametrize("name", NATIVE_NAMES)
@settings(max_examples=80, deadline=None)
@given(text=arbitrary, cuts=st.lists(st.integers(0, 200), max_size=10), mode=st.sampled_from(["auto", "none"]))
def test_arbitrary_text_never_raises_and_is_chunking_invariant(name, text, cuts, mode):
    fmt = load_native(name)
    check_invariant(fmt, request(mode, tools=TOOLS_WITH_CODE), text, split_at(text, cuts))
    check_invariant(fmt, request(mode, tools=TOOLS_WITH_CODE), text, list(text))


