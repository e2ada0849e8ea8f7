"""What each tool_choice mode lets the model write (ARCHITECTURE.md, "What the constraint
guarantees"), checked by running strings through the compiled grammar of both formats.
Every accepted string must also parse back to the content and calls it was made from."""

from __future__ import annotations

import json

import pytest

from functionary.formats.base import ParsedCall

from .helpers import ADD, TOOLS, WEATHER, accepts, call, parse, request, same_calls

TEXT = "Let me check that for you."
W_PARIS = call("get_weather", {"city": "Paris"})
W_OSLO_F = call("get_weather", {"city": "Oslo", "unit": "fahrenheit"})
ADD_1_2 = call("add", {"a": 1, "b": 2})
SEARCH_NESTED = call("search", {"query": "lamp", "filters": {"tags": ["a", "b"], "price": 9.5}, "matrix": [[1], []]})
NOOP = call("noop", {})

# Arguments that break the tool's schema, each in one way.
BAD_CALLS = {
    "missing required key": ParsedCall("add", '{"a": 1}'),
    "wrong enum value": ParsedCall("get_weather", '{"city": "Paris", "unit": "kelvin"}'),
    "wrong type (number for string)": ParsedCall("search", '{"query": 5}'),
    "extra key, additionalProperties false": ParsedCall("get_weather", '{"city": "Paris", "country": "FR"}'),
    "string for an integer": ParsedCall("add", '{"a": "1", "b": 2}'),
    "float for an integer": ParsedCall("add", '{"a": 1.5, "b": 2}'),
    "wrong type nested in an array": ParsedCall("search", '{"query": "x", "filters": {"tags": [1]}}'),
    "missing nested required key": ParsedCall("search", '{"query": "x", "filters": {}}'),
    "array instead of object": ParsedCall("add", "[1, 2]"),
    "unknown tool": ParsedCall("delete_everything", "{}"),
    "null for a required string": ParsedCall("get_weather", '{"city": null}'),
}


def check_accepts(fmt, req, content, calls):
    text = fmt.render_assistant(content, calls)
    assert accepts(fmt, req, text), f"rejected: {text!r}"
    parsed = parse(fmt, req, text)
    assert parsed.content == content.strip()
    assert same_calls(parsed.calls, calls)


def check_rejects(fmt, req, content, calls):
    text = fmt.render_assistant(content, calls)
    assert not accepts(fmt, req, text), f"accepted: {text!r}"


# (content, calls) the mode must allow / refuse.
AUTO_OK = [
    (TEXT, []),
    ("", [W_PARIS]),
    (TEXT, [W_PARIS]),
    ("", [NOOP]),
    ("", [SEARCH_NESTED]),
    ("Line one.\n\nLine two with {braces} and [brackets].", [W_OSLO_F]),
    ("Arrows: a -> b, so b >", [ADD_1_2]),  # text may end like a partial marker
    ("Quoting: >>", [W_PARIS]),
    ("An unfinished <tool", [NOOP]),
]
PARALLEL_OK = [
    ("", [W_PARIS, ADD_1_2]),
    (TEXT, [W_PARIS, ADD_1_2, SEARCH_NESTED]),
    ("", [ADD_1_2, ADD_1_2]),
]


@pytest.mark.parametrize("content,calls", AUTO_OK + PARALLEL_OK)
def test_auto_parallel_accepts(fmt, content, calls):
    check_accepts(fmt, request("auto"), content, calls)


@pytest.mark.parametrize("content,calls", AUTO_OK)
def test_auto_single_accepts(fmt, content, calls):
    check_accepts(fmt, request("auto", parallel=False), content, calls)


@pytest.mark.parametrize("content,calls", PARALLEL_OK)
def test_auto_single_rejects_second_call(fmt, content, calls):
    check_rejects(fmt, request("auto", parallel=False), content, calls)


@pytest.mark.parametrize("parallel", [True, False])
def test_auto_rejects_text_after_a_call(fmt, parallel):
    req = request("auto", parallel=parallel)
    text = fmt.render_assistant("", [W_PARIS]) + fmt.render_assistant("And more words.", [])
    assert not accepts(fmt, req, text)


@pytest.mark.parametrize("mode", ["auto", "required"])
@pytest.mark.parametrize("why", sorted(BAD_CALLS))
def test_schema_violations_rejected(fmt, mode, why):
    for content in ([""] if mode == "required" else ["", TEXT]):
        check_rejects(fmt, request(mode), content, [BAD_CALLS[why]])
        # A bad call after a good one is refused too.
        check_rejects(fmt, request(mode), content, [W_PARIS, BAD_CALLS[why]])


@pytest.mark.parametrize("why", sorted(BAD_CALLS))
def test_schema_violations_rejected_named(fmt, why):
    bad = BAD_CALLS[why]
    forced = bad.name if bad.name in {f.name for f in TOOLS} else "add"
    check_rejects(fmt, request("named", forced=forced), "", [bad])


@pytest.mark.parametrize("parallel", [True, False])
def test_required_accepts_calls_only(fmt, parallel):
    req = request("required", parallel=parallel)
    for calls in ([W_PARIS], [NOOP], [SEARCH_NESTED]):
        check_accepts(fmt, req, "", calls)
    for content, calls in [(TEXT, []), (TEXT, [W_PARIS]), ("", [])]:
        check_rejects(fmt, req, content, calls)
    assert not accepts(fmt, req, "")


def test_required_parallel_allows_many_calls(fmt):
    check_accepts(fmt, request("required"), "", [W_PARIS, ADD_1_2, NOOP])
    check_rejects(fmt, request("required", parallel=False), "", [W_PARIS, ADD_1_2])


@pytest.mark.parametrize("parallel", [True, False])
def test_named_allows_exactly_one_call_to_that_tool(fmt, parallel):
    req = request("named", forced="add", parallel=parallel)
    check_accepts(fmt, req, "", [call("add", {"a": -3, "b": 40})])
    check_rejects(fmt, req, "", [W_PARIS])  # another tool
    check_rejects(fmt, req, "", [NOOP])
    check_rejects(fmt, req, "", [ADD_1_2, ADD_1_2])  # two calls, even with parallel on
    check_rejects(fmt, req, TEXT, [ADD_1_2])  # text first
    check_rejects(fmt, req, TEXT, [])


def test_incomplete_call_is_not_a_complete_output(fmt):
    for mode in ("auto", "required"):
        text = fmt.render_assistant("", [W_PARIS])
        for cut in (1, 2, len(text) // 2):
            assert not accepts(fmt, request(mode), text[:-cut])


def test_none_mode_parser_never_yields_a_call(fmt):
    req = request("none")
    for content, calls in AUTO_OK + PARALLEL_OK:
        text = fmt.render_assistant(content, calls)
        parsed = parse(fmt, req, text)
        assert parsed.calls == []
        if not calls:
            assert parsed.content == content.strip()
        else:  # the call syntax comes back as (non-empty) text, never as a call
            assert parsed.content


def test_none_mode_constraint(fmt):
    req = request("none")
    spec = fmt.constraint(req)
    if fmt.name == "plain-tags":
        assert spec is None  # free text
        return
    assert accepts(fmt, req, fmt.render_assistant(TEXT, []))
    # The reply must open as text to the user; later `>>>` are plain text (see the parser test).
    for calls in ([W_PARIS], [W_PARIS, ADD_1_2]):
        assert not accepts(fmt, req, fmt.render_assistant("", calls))


def test_no_tools_means_no_calls(fmt):
    req = request("auto", tools=())
    assert not req.calls_allowed
    text = fmt.render_assistant("", [W_PARIS])
    assert parse(fmt, req, text).calls == []


PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
GOOD_JSON = json.dumps({"name": "Ada", "age": 36})
BAD_JSON = [json.dumps({"name": "Ada"}), json.dumps({"name": "Ada", "age": "36"}), "Ada is 36.",
            json.dumps({"name": "Ada", "age": 36, "x": 1})]


@pytest.mark.parametrize("mode", ["none", "auto"])
def test_response_schema_content_must_match(fmt, mode):
    req = request(mode, response_schema=PERSON)
    check_accepts(fmt, req, GOOD_JSON, [])
    for bad in BAD_JSON:
        check_rejects(fmt, req, bad, [])


def test_response_schema_with_auto_still_allows_calls(fmt):
    req = request("auto", response_schema=PERSON)
    check_accepts(fmt, req, "", [W_PARIS])
    check_accepts(fmt, req, "", [W_PARIS, ADD_1_2])
    check_rejects(fmt, req, GOOD_JSON, [W_PARIS])  # JSON content or calls, not both
    check_rejects(fmt, req, TEXT, [W_PARIS])


def test_response_schema_with_required_means_calls_only(fmt):
    req = request("required", response_schema=PERSON)
    check_accepts(fmt, req, "", [ADD_1_2])
    check_rejects(fmt, req, GOOD_JSON, [])


def test_json_object_response_format(fmt):
    req = request("none", response_schema={"type": "object"})
    check_accepts(fmt, req, '{"anything": [1, {"nested": true}]}', [])
    check_rejects(fmt, req, "[1, 2]", [])
    check_rejects(fmt, req, "plain words", [])


def test_constraint_is_deterministic(fmt):
    """The compiled-grammar cache is keyed by the spec: equal requests, equal keys."""
    for mode, forced in [("auto", None), ("required", None), ("named", "add")]:
        assert fmt.constraint(request(mode, forced=forced)).key == fmt.constraint(request(mode, forced=forced)).key
    assert fmt.constraint(request("auto")).key != fmt.constraint(request("auto", parallel=False)).key


def test_allowed_functions_named():
    req = request("named", forced="add")
    assert req.allowed_functions() == (ADD,)
    assert request("auto").allowed_functions() == TOOLS
    assert WEATHER in request("required").allowed_functions()


@pytest.mark.parametrize("text,content", [
    ('>>>all\nok>>>>add\n{"a": 1, "b": 2}', "ok>"),
    ('>>>all\nok>>>>>add\n{"a": 1, "b": 2}', "ok>>"),
    ('>>>all\n>>>>add\n{"a": 1, "b": 2}', ">"),
])
def test_recipient_text_ending_in_gt_before_a_call(text, content):
    """Text may end in ">" right before the marker: whatever run of ">" the grammar lets
    through, the parser reads the last three as the marker, as the grammar does."""
    from .helpers import load_format

    fmt, req = load_format("plain-recipient"), request("auto")
    assert accepts(fmt, req, text)
    parsed = parse(fmt, req, text)
    assert parsed.content == content and same_calls(parsed.calls, [ADD_1_2])
    assert not accepts(fmt, req, '>>>all\nok>>>>>>add\n{"a": 1, "b": 2}')  # text never holds ">>>"


def test_unbounded_integers_are_capped_for_generation():
    """Small models write digits forever; generation keeps integers in the safe-integer range."""
    from functionary.constraint import SAFE_INTEGER, bounded_numbers

    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "xs": {"type": "array", "items": {"type": "number"}},
                                               "m": {"type": "integer", "maximum": 5}}, "required": ["n"]}
    bounded = bounded_numbers(schema)
    assert bounded["properties"]["n"] == {"type": "integer", "minimum": -SAFE_INTEGER, "maximum": SAFE_INTEGER}
    assert bounded["properties"]["xs"]["items"] == {"type": "number"}  # decimals stay unrestricted
    assert bounded["properties"]["m"] == {"type": "integer", "maximum": 5, "minimum": -SAFE_INTEGER}
    assert schema["properties"]["n"] == {"type": "integer"}  # the caller's schema is untouched


# -- plain-tags: what may follow a finished call --------------------------------------


@pytest.mark.parametrize("mode", ["required", "auto"])
def test_plain_tags_calls_follow_each_other_directly(mode):
    """After `</tool_call>` only the end of turn or the next `<tool_call>` may come: a
    newline there is what kept the 135M model writing calls until max_tokens."""
    from .helpers import load_format

    fmt, req = load_format("plain-tags"), request(mode)
    one = fmt.render_assistant("", [W_PARIS])
    two = fmt.render_assistant("", [W_PARIS, ADD_1_2])
    assert two == one + fmt.render_assistant("", [ADD_1_2])  # nothing between the blocks
    assert accepts(fmt, req, one) and accepts(fmt, req, two)
    assert not accepts(fmt, req, one + "\n")
    assert not accepts(fmt, req, one + "\n" + fmt.render_assistant("", [ADD_1_2]))
    assert same_calls(parse(fmt, req, two).calls, [W_PARIS, ADD_1_2])
