"""The stream parsers' helpers: JsonEndScanner (where a JSON value ends), TextReleaser
(what text may be released) and partial_suffix (what may begin a marker)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functionary.formats.json_scan import JsonEndScanner
from functionary.formats.text_scan import TextReleaser, partial_suffix

from .support import TEXT_CHARS, split_at

SETTINGS = settings(max_examples=100, deadline=None)


def scan(pieces):
    """(chars of the pieces that belong to the value, done)."""
    s = JsonEndScanner()
    taken = "".join(p[: s.feed(p)] for p in pieces)
    return taken, s.done


@pytest.mark.parametrize("value", [
    '{"a": 1}',
    '{}',
    '[]',
    '{"q": "say \\"hi\\""}',                 # escaped quotes
    '{"q": "}{][ inside a string"}',          # brackets inside strings
    '{"q": "back\\\\"}',                       # an escaped backslash ends right before the quote
    '{"q": "\\\\\\"}"}',                       # backslash, then an escaped quote, then a brace
    '[[1, [2, [3]]], [], [[]]]',              # nested arrays
    '{"a": [{"b": {"c": [1, {"d": "]"}]}}]}',
    '{"u": "é ✓ \\u00e9 😀"}',
])
def test_value_ends_where_it_should(value):
    tail = '}\n</tool_call> ]]"x'
    json.loads(value)  # the examples are valid JSON
    assert scan([value + tail]) == (value, True)
    assert scan(list(value + tail)) == (value, True)
    for cut in range(len(value) + 1):
        assert scan([value[:cut], value[cut:] + tail]) == (value, True)


@pytest.mark.parametrize("prefix", ['{"a": 1', '{"a": "}', '[[1], [2]', '{"a": "\\"}', '{"a": "x\\', '  '])
def test_open_value_is_not_done(prefix):
    s = JsonEndScanner()
    assert s.feed(prefix) == len(prefix)
    assert not s.done


def test_feed_after_done_takes_nothing():
    s = JsonEndScanner()
    assert s.feed("{}") == 2 and s.done
    assert s.feed("}}") == 0
    assert s.feed("") == 0


def test_leading_whitespace_does_not_start_the_value():
    s = JsonEndScanner()
    s.feed(" \n\t")
    assert not s.started
    s.feed(" {")
    assert s.started and not s.done


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(TEXT_CHARS, max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(TEXT_CHARS, max_size=5), inner, max_size=3),
    max_leaves=12,
)


@SETTINGS
@given(
    json_values.filter(lambda v: isinstance(v, (dict, list))),
    st.booleans(),
    st.text(TEXT_CHARS, max_size=10),
    st.lists(st.integers(0, 300), max_size=10),
)
def test_scanner_finds_the_end_of_any_object_or_array(value, ascii_only, tail, cuts):
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert scan(split_at(text + tail, cuts)) == (text, True)


# -- TextReleaser --


def release_all(pieces, releaser=None):
    r = releaser or TextReleaser()
    return "".join(r.release(p) for p in pieces)


def test_releaser_strips_the_ends_and_keeps_the_middle():
    assert release_all(["  hello", " ", "\n", "world \n "]) == "hello \nworld"


def test_releaser_holds_trailing_whitespace_until_more_text():
    r = TextReleaser()
    assert r.release("a  ") == "a"
    assert r.release("\n") == ""
    assert r.release("b") == "  \nb"


def test_releaser_drop_whitespace_before_a_call():
    r = TextReleaser()
    assert r.release("text \n") == "text"
    r.drop_whitespace()
    assert r.release(" after") == " after"  # whitespace after a call is kept once text started


def test_releaser_whitespace_only():
    assert release_all([" ", "\n\t", "  "]) == ""


@SETTINGS
@given(st.text(st.sampled_from(" \n\tab.é"), max_size=30), st.lists(st.integers(0, 30), max_size=8))
def test_releaser_output_is_the_stripped_text_however_cut(text, cuts):
    assert release_all(split_at(text, cuts)) == text.strip()


# -- partial_suffix --


@pytest.mark.parametrize("text,marker,n", [
    ("abc <tool", "<tool_call>", 5),
    ("abc <tool_call", "<tool_call>", 10),
    ("abc <tool_call>", "<tool_call>", 0),   # a whole marker is not a partial one
    ("<", "<tool_call>", 1),
    ("a<b", "<tool_call>", 0),
    ("", "<tool_call>", 0),
    ("x>", ">>>", 1),
    ("x>>", ">>>", 2),
    (">>>>", ">>>", 2),
    ("ab", "abc", 2),
    ("b", "abc", 0),
    ("STS", "STOP", 1),
    ("xSTO", "STOP", 3),
])
def test_partial_suffix(text, marker, n):
    assert partial_suffix(text, marker) == n


@SETTINGS
@given(st.text(st.sampled_from("<>abt_"), max_size=12), st.text(st.sampled_from("<>abt_"), min_size=1, max_size=6))
def test_partial_suffix_is_the_longest_proper_prefix(text, marker):
    expected = max((n for n in range(len(marker)) if n <= len(text) and marker.startswith(text[len(text) - n:])),
                   default=0)
    assert partial_suffix(text, marker) == expected
