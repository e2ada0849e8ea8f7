"""What each tool_choice mode lets the model write, for every format in the registry
(ARCHITECTURE.md, "What the constraint guarantees"), checked by running strings through
the compiled grammar. Every accepted string must also parse back to the content and
calls it was made from. Format-specific rules (end tokens, the code channel, how plain
formats separate calls) follow at the end."""

from __future__ import annotations

import json

import pytest

from functionary.constraint import SAFE_INTEGER, bounded_numbers
from functionary.domain import CODE_TOOL, ParsedCall
from functionary.formats.code_tool import code_arguments

from .support import (
    ADD,
    ENDS,
    FREE_TEXT_NAMES,
    FUNCTIONARY_NAMES,
    TOOLS,
    TOOLS_WITH_CODE,
    WEATHER,
    accepts,
    call,
    check_accepts,
    check_rejects,
    load_format,
    parse,
    request,
    same_calls,
)

TEXT = "Let me check that for you."
W_PARIS = call("get_weather", {"city": "Paris"})
W_OSLO_F = call("get_weather", {"city": "Oslo", "unit": "fahrenheit"})
ADD_1_2 = call("add", {"a": 1, "b": 2})
SEARCH_NESTED = call("search", {"query": "lamp", "filters": {"tags": ["a", "b"], "price": 9.5}, "matrix": [[1], []]})
NOOP = call("noop", {})
CODE = ParsedCall(CODE_TOOL.name, code_arguments("import math\nprint(math.pi)"))

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


# -- auto --


@pytest.mark.parametrize("content,calls", AUTO_OK + PARALLEL_OK)
def test_auto_parallel_accepts(fmt, content, calls):
    check_accepts(fmt, request("auto"), content, calls)


@pytest.mark.parametrize("content,calls", AUTO_OK)
def test_auto_single_accepts(fmt, content, calls):
    check_accepts(fmt, request("auto", parallel=False), content, calls)


@pytest.mark.parametrize("content,calls", PARALLEL_OK)
def test_auto_single_rejects_a_second_call(fmt, content, calls):
    check_rejects(fmt, request("auto", parallel=False), content, calls)


@pytest.mark.parametrize("parallel", [True, False])
def test_auto_rejects_text_after_a_call(fmt, parallel):
    one = fmt.render_assistant("", [W_PARIS])
    for text in (one + " And more words.", one + fmt.render_assistant("And more words.", [])):
        assert not accepts(fmt, request("auto", parallel=parallel), text)


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


# -- required and named --


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
    text = fmt.render_assistant("", [W_PARIS])
    for mode in ("auto", "required"):
        for cut in (1, 2, len(text) // 2):
            assert not accepts(fmt, request(mode), text[:-cut])


@pytest.mark.parametrize("mode", ["required", "named"])
def test_calls_only_parsers_drop_a_cut_off_opener(fmt, mode):
    """In calls-only modes no text is content: what a parser flushes when max_tokens cuts
    the first call's opener is not handed to the client."""
    req = request(mode, forced="add" if mode == "named" else None)
    text = fmt.render_assistant("", [ADD_1_2])
    for cut in range(1, len(text)):
        parsed = parse(fmt, req, text[:cut])
        assert parsed.content == "", (text[:cut], parsed)
    assert same_calls(parse(fmt, req, text).calls, [ADD_1_2])


# -- none, and no tools --


def test_none_mode_parser_never_yields_a_call(fmt):
    req = request("none")
    for content, calls in AUTO_OK + PARALLEL_OK:
        parsed = parse(fmt, req, fmt.render_assistant(content, calls))
        assert parsed.calls == []
        if not calls:
            assert parsed.content == content.strip()
        else:  # the call syntax comes back as (non-empty) text, never as a call
            assert parsed.content


def test_none_mode_constraint(fmt):
    req = request("none")
    if fmt.constraint(req) is None:
        assert fmt.name in FREE_TEXT_NAMES  # free text; the parser reads no calls (above)
        return
    assert fmt.name not in FREE_TEXT_NAMES
    assert accepts(fmt, req, fmt.render_assistant(TEXT, []))
    for calls in ([W_PARIS], [W_PARIS, ADD_1_2]):
        assert not accepts(fmt, req, fmt.render_assistant("", calls))


def test_no_tools_means_no_calls(fmt):
    req = request("auto", tools=())
    assert not req.calls_allowed
    assert parse(fmt, req, fmt.render_assistant("", [W_PARIS])).calls == []


# -- response_format --

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


def test_what_each_mode_means():
    """The ToolRequest properties every constraint and parser reads."""
    assert request("named", forced="add").allowed_functions() == (ADD,)
    assert request("auto").allowed_functions() == TOOLS and WEATHER in request("required").allowed_functions()
    table = {  # mode, parallel -> calls_allowed, calls_only, single_call
        ("auto", True): (True, False, False), ("auto", False): (True, False, True),
        ("required", True): (True, True, False), ("required", False): (True, True, True),
        ("named", True): (True, True, True), ("none", True): (False, False, False),
    }
    for (mode, parallel), expected in table.items():
        req = request(mode, parallel=parallel, forced="add" if mode == "named" else None)
        assert (req.calls_allowed, req.calls_only, req.single_call) == expected, (mode, parallel)
    no_tools = request("auto", tools=())
    assert (no_tools.calls_allowed, no_tools.calls_only, no_tools.callable_functions()) == (False, False, ())
    assert request("none").callable_functions() == ()


def test_unbounded_integers_are_capped_for_generation():
    """Small models write digits forever; generation keeps integers in the safe-integer range."""
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "xs": {"type": "array", "items": {"type": "number"}},
                                               "m": {"type": "integer", "maximum": 5}}, "required": ["n"]}
    bounded = bounded_numbers(schema)
    assert bounded["properties"]["n"] == {"type": "integer", "minimum": -SAFE_INTEGER, "maximum": SAFE_INTEGER}
    assert bounded["properties"]["xs"]["items"] == {"type": "number"}  # decimals stay unrestricted
    assert bounded["properties"]["m"] == {"type": "integer", "maximum": 5, "minimum": -SAFE_INTEGER}
    assert schema["properties"]["n"] == {"type": "integer"}  # the caller's schema is untouched


# -- plain formats: how calls follow each other and ">" runs --


@pytest.mark.parametrize("mode", ["required", "auto"])
def test_plain_tags_calls_follow_each_other_directly(mode):
    """After `</tool_call>` only the end of turn or the next `<tool_call>` may come: a
    newline there is what kept the 135M model writing calls until max_tokens."""
    fmt, req = load_format("plain-tags"), request(mode)
    one = fmt.render_assistant("", [W_PARIS])
    two = fmt.render_assistant("", [W_PARIS, ADD_1_2])
    assert two == one + fmt.render_assistant("", [ADD_1_2])  # nothing between the blocks
    assert accepts(fmt, req, one) and accepts(fmt, req, two)
    assert not accepts(fmt, req, one + "\n")
    assert not accepts(fmt, req, one + "\n" + fmt.render_assistant("", [ADD_1_2]))
    assert same_calls(parse(fmt, req, two).calls, [W_PARIS, ADD_1_2])


@pytest.mark.parametrize("text,content", [
    ('>>>all\nok>>>>add\n{"a": 1, "b": 2}', "ok>"),
    ('>>>all\nok>>>>>add\n{"a": 1, "b": 2}', "ok>>"),
    ('>>>all\n>>>>add\n{"a": 1, "b": 2}', ">"),
])
def test_recipient_text_ending_in_gt_before_a_call(text, content):
    """Text may end in ">" right before the marker: whatever run of ">" the grammar lets
    through, the parser reads the last three as the marker, as the grammar does."""
    fmt, req = load_format("plain-recipient"), request("auto")
    assert accepts(fmt, req, text)
    parsed = parse(fmt, req, text)
    assert parsed.content == content and same_calls(parsed.calls, [ADD_1_2])
    assert not accepts(fmt, req, '>>>all\nok>>>>>>add\n{"a": 1, "b": 2}')  # text never holds ">>>"


# -- end-of-turn tokens and the code channel of the Functionary formats --


@pytest.mark.parametrize("name", FUNCTIONARY_NAMES)
def test_an_end_token_ends_the_reply(name):
    fmt = load_format(name)
    for mode, content, calls in [("auto", TEXT, []), ("auto", TEXT, [W_PARIS]), ("required", "", [ADD_1_2])]:
        text = fmt.render_assistant(content, calls)
        for end in ENDS[name]:
            assert accepts(fmt, request(mode), text + end)
            assert not accepts(fmt, request(mode), text + end + "more")
            parsed = parse(fmt, request(mode), text + end + "ignored")
            assert parsed.content == content and same_calls(parsed.calls, calls)
    # end tokens are never text
    assert not accepts(fmt, request("auto"), fmt.render_assistant(f"a{ENDS[name][0]}b", []))


@pytest.mark.parametrize("name", FUNCTIONARY_NAMES)
def test_code_tool_is_raw_code(name):
    fmt, req = load_format(name), request("auto", tools=TOOLS_WITH_CODE)
    for content, calls in [("", [CODE]), (TEXT, [CODE]), (TEXT, [W_PARIS, CODE])]:
        text = fmt.render_assistant(content, calls)
        assert "print(math.pi)" in text and '"code"' not in text  # raw, not JSON
        check_accepts(fmt, req, content, calls)
    # without the code tool there is no code channel
    check_rejects(fmt, request("auto"), "", [CODE])
    check_accepts(fmt, request("named", forced="python", tools=TOOLS_WITH_CODE), "", [CODE])
    check_rejects(fmt, request("named", forced="python", tools=TOOLS_WITH_CODE), "", [W_PARIS])


@pytest.mark.parametrize("name", ["hermes", "llama3-json", "mistral", "plain-recipient", "plain-tags"])
def test_code_tool_is_a_json_function_elsewhere(name):
    fmt = load_format(name)
    assert '"code": "import math' in fmt.render_assistant("", [CODE])
    check_accepts(fmt, request("required", tools=TOOLS_WITH_CODE), "", [CODE])


def test_llama31_code_comes_last():
    fmt, req = load_format("v3-llama3.1"), request("auto", tools=TOOLS_WITH_CODE)
    text = fmt.render_assistant("", [CODE]) + fmt.render_assistant("", [W_PARIS])
    parsed = parse(fmt, req, text)  # everything after <|python_tag|> is code
    assert [c.name for c in parsed.calls] == ["python"]
    assert json.loads(parsed.calls[0].arguments)["code"].endswith("</function>")


@pytest.mark.parametrize("name", FUNCTIONARY_NAMES)
def test_no_code_tool_means_no_code_channel(name):
    """The checks above that use TOOLS lean on it having no code tool; what that must mean:
    a raw code turn is refused, the same turn is accepted once the request offers the code
    tool, and a request naming another tool still refuses it. (Single-call auto: the next test.)"""
    fmt = load_format(name)
    text = fmt.render_assistant("", [CODE])
    for mode in ("auto", "required"):
        for parallel in (True, False):
            check_accepts(fmt, request(mode, parallel=parallel, tools=TOOLS_WITH_CODE), "", [CODE])
    for req in (request("auto"), request("required"), request("required", parallel=False),
                request("named", forced="add", tools=TOOLS_WITH_CODE)):
        assert not accepts(fmt, req, text), (req.mode, req.parallel, text)


@pytest.mark.parametrize("name", FUNCTIONARY_NAMES)
def test_single_call_auto_text_never_holds_the_code_opener(name):
    """As in parallel auto and in none: without the code tool, the code channel's opener is
    no text either, so a model trained to open it cannot write it as the reply's text."""
    check_rejects(load_format(name), request("auto", parallel=False), "", [CODE])


@pytest.mark.parametrize("name,markup", [("v2", "<|from|>"), ("v2", "<|content|>"), ("v3.llama3", "<|start_header_id|>"),
                                         ("v3-llama3.1", "<|start_header_id|>")])
def test_other_turns_markup_is_never_text_or_code(name, markup):
    fmt = load_format(name)
    # (v2's auto text may hold them: they are part of its segment marker, see recipient_segments)
    for req in (request("auto", tools=TOOLS_WITH_CODE), request("none")) if name != "v2" else (request("none"),):
        assert not accepts(fmt, req, fmt.render_assistant(f"a{markup}user", []))
    code = ParsedCall(CODE_TOOL.name, code_arguments(f"x = 1{markup}"))
    assert not accepts(fmt, request("auto", tools=TOOLS_WITH_CODE), fmt.render_assistant("", [code]))
