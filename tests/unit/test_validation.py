"""Request checks (validation.tool_request, the pydantic request types), the final check of
generated calls (call_problem, content_problem) and stop strings (serving.StopMatcher)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from functionary.errors import BadRequest
from functionary.domain import Function, ParsedCall
from functionary.openai_types import ChatCompletionRequest, ChatMessage
from functionary.serving import StopMatcher
from functionary.domain import EMPTY_PARAMETERS, tool_request
from functionary.validation import CallJudge, content_problem

from .formats.support import ADD, ALL_NAMES, TOOLS, WEATHER, load_format, request, split_at

USER = [{"role": "user", "content": "hi"}]


def tool(name, parameters=None, **extra):
    fn = {"name": name, **extra}
    if parameters is not None:
        fn["parameters"] = parameters
    return {"type": "function", "function": fn}


ADD_TOOL = tool("add", ADD.parameters, description="Adds two integers.")
WEATHER_TOOL = tool("get_weather", WEATHER.parameters)


def req(**fields) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({"messages": USER, **fields})


def bad_request(**fields) -> BadRequest:
    with pytest.raises(BadRequest) as info:
        tool_request(req(**fields))
    return info.value


# -- tool schemas --


@pytest.mark.parametrize("parameters", [
    {"type": "object", "properties": {"a": {"type": "nosuchtype"}}},
    {"type": "object", "properties": {"a": {"type": "string", "minLength": -1}}},
    {"type": "object", "required": "a"},
    {"type": 5},
])
def test_invalid_tool_schema(parameters):
    err = bad_request(tools=[ADD_TOOL, tool("broken", parameters)])
    assert err.param == "tools[1].function.parameters"
    assert err.code == "invalid_schema"
    assert err.status_code == 400
    assert err.body()["error"]["param"] == "tools[1].function.parameters"


@pytest.mark.parametrize("parameters", [{"type": "array", "items": {}}, {"type": "string"}])
def test_parameters_must_describe_an_object(parameters):
    err = bad_request(tools=[tool("f", parameters)])
    assert err.param == "tools[0].function.parameters" and "object" in err.message


def test_non_object_parameters_rejected_by_the_request_type():
    with pytest.raises(ValidationError):
        req(tools=[tool("f", ["not", "a", "schema"])])


def test_missing_parameters_mean_no_arguments():
    tr = tool_request(req(tools=[tool("ping")]))
    assert tr.functions == (Function("ping", "", EMPTY_PARAMETERS),)


def test_parameters_without_type_become_objects():
    tr = tool_request(req(tools=[tool("f", {"properties": {"x": {"type": "integer"}}})]))
    assert tr.functions[0].parameters == {"type": "object", "properties": {"x": {"type": "integer"}}}


def test_duplicate_tool_names():
    err = bad_request(tools=[ADD_TOOL, WEATHER_TOOL, tool("add")])
    assert err.param == "tools[2].function.name" and "'add'" in err.message


@pytest.mark.parametrize("name", ["has space", "", "x" * 65, "semi;colon"])
def test_tool_names_are_checked(name):
    with pytest.raises(ValidationError):
        req(tools=[tool(name)])


def test_strict_and_unknown_fields_are_accepted():
    r = req(
        tools=[{"type": "function", "function": {**ADD_TOOL["function"], "strict": True, "x-new": 1}, "extra": 2}],
        some_future_option={"a": 1},
        user="me",
        metadata={"k": "v"},
        messages=[{"role": "user", "content": "hi", "unknown": True}],
    )
    tr = tool_request(r)
    assert r.tools[0].function.strict is True
    assert [f.name for f in tr.functions] == ["add"]
    assert tr.functions[0].parameters == ADD.parameters


# -- tool_choice --


def test_default_tool_choice():
    assert tool_request(req(tools=[ADD_TOOL])).mode == "auto"
    assert tool_request(req()).mode == "none"


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_string_tool_choice(choice):
    tr = tool_request(req(tools=[ADD_TOOL, WEATHER_TOOL], tool_choice=choice))
    assert tr.mode == choice and tr.forced_name is None
    assert tr.calls_allowed == (choice != "none")


def test_named_tool_choice():
    tr = tool_request(req(tools=[ADD_TOOL, WEATHER_TOOL],
                          tool_choice={"type": "function", "function": {"name": "get_weather"}}))
    assert (tr.mode, tr.forced_name) == ("named", "get_weather")
    assert [f.name for f in tr.allowed_functions()] == ["get_weather"]


def test_named_tool_not_in_tools():
    err = bad_request(tools=[ADD_TOOL], tool_choice={"type": "function", "function": {"name": "nope"}})
    assert err.param == "tool_choice" and "'nope'" in err.message and "add" in err.message
    err = bad_request(tool_choice={"type": "function", "function": {"name": "nope"}})
    assert err.param == "tool_choice" and "no tools" in err.message


def test_required_needs_tools():
    assert bad_request(tool_choice="required").param == "tool_choice"


def test_unknown_tool_choice_string_is_rejected():
    with pytest.raises(ValidationError):
        req(tools=[ADD_TOOL], tool_choice="always")


@pytest.mark.parametrize("value,expected", [(None, True), (True, True), (False, False)])
def test_parallel_tool_calls(value, expected):
    assert tool_request(req(tools=[ADD_TOOL], parallel_tool_calls=value)).parallel is expected


# -- legacy functions / function_call --


def test_legacy_functions_fold_into_tools():
    tr = tool_request(req(functions=[ADD_TOOL["function"], WEATHER_TOOL["function"]]))
    assert [f.name for f in tr.functions] == ["add", "get_weather"]
    assert tr.mode == "auto"


@pytest.mark.parametrize("function_call,mode,forced", [
    ("auto", "auto", None),
    ("none", "none", None),
    ({"name": "add"}, "named", "add"),
])
def test_legacy_function_call_folds_into_tool_choice(function_call, mode, forced):
    tr = tool_request(req(functions=[ADD_TOOL["function"]], function_call=function_call))
    assert (tr.mode, tr.forced_name) == (mode, forced)


def test_legacy_errors_name_the_legacy_fields():
    err = bad_request(functions=[{"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "no"}}}}])
    assert err.param == "functions[0].parameters"
    err = bad_request(functions=[ADD_TOOL["function"]], function_call={"name": "missing"})
    assert err.param == "tool_choice"


def test_tool_choice_wins_over_function_call():
    tr = tool_request(req(tools=[ADD_TOOL], tool_choice="required", function_call="none"))
    assert tr.mode == "required"


# -- response_format --


def test_response_format_json_object():
    assert tool_request(req(response_format={"type": "json_object"})).response_schema == {"type": "object"}


def test_response_format_json_schema():
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}}
    tr = tool_request(req(response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": schema,
                                                                               "strict": True}}))
    assert tr.response_schema == schema
    no_schema = tool_request(req(response_format={"type": "json_schema", "json_schema": {"name": "r"}}))
    assert no_schema.response_schema == {}


def test_response_format_text_means_no_schema():
    assert tool_request(req(response_format={"type": "text"})).response_schema is None
    assert tool_request(req()).response_schema is None


def test_invalid_response_schema():
    err = bad_request(response_format={"type": "json_schema", "json_schema": {"schema": {"type": "nosuch"}}})
    assert err.param == "response_format.json_schema.schema"


def test_response_format_json_schema_needs_its_object():
    with pytest.raises(ValidationError):
        req(response_format={"type": "json_schema"})
    with pytest.raises(ValidationError):
        req(response_format={"type": "yaml"})


# -- other request checks --


@pytest.mark.parametrize("message", [
    {"role": "user"},
    {"role": "system", "content": None},
    {"role": "user", "content": "x", "tool_calls": [{"id": "a", "function": {"name": "f"}}]},
    {"role": "robot", "content": "x"},
])
def test_bad_messages(message):
    with pytest.raises(ValidationError):
        ChatCompletionRequest.model_validate({"messages": [message]})


def test_messages_must_not_be_empty():
    with pytest.raises(ValidationError):
        ChatCompletionRequest.model_validate({"messages": []})


def test_assistant_message_may_have_no_content():
    m = ChatMessage.model_validate({"role": "assistant", "tool_calls": [{"id": "a", "function": {"name": "f"}}]})
    assert m.text() == "" and m.tool_calls[0].function.arguments == "{}"


def test_stop_sequences():
    assert req(stop="END").stop == ["END"]
    assert req(stop=["a", "b"]).stop == ["a", "b"]
    for bad in (["a", "b", "c", "d", "e"], "", ["ok", ""]):
        with pytest.raises(ValidationError):
            req(stop=bad)


def test_unsupported_features_are_named():
    r = req(logprobs=True, logit_bias={"1": 2.0}, stream_options={"include_usage": True},
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])
    params = [p for p, _ in r.unsupported_features()]
    assert params == ["logprobs", "logit_bias", "stream_options", "messages[0].content"]
    assert req(stream=True, stream_options={"include_usage": True}).unsupported_features() == []


# -- the call judge / content_problem --


def call_problem(call: ParsedCall, tr) -> str | None:
    return tr.judge().problem(call.name, call.arguments)


def test_call_problem_accepts_valid_calls():
    tr = request("auto")
    assert call_problem(ParsedCall("add", '{"a": 1, "b": 2}'), tr) is None
    assert call_problem(ParsedCall("get_weather", '{"city": "Oslo", "unit": "celsius"}'), tr) is None
    assert call_problem(ParsedCall("noop", "{}"), tr) is None


@pytest.mark.parametrize("call,needle", [
    (ParsedCall("nope", "{}"), "unknown function"),
    (ParsedCall("add", '{"a": 1, "b": '), "not JSON"),
    (ParsedCall("add", ""), "not JSON"),
    (ParsedCall("add", '{"a": 1}'), "schema"),
    (ParsedCall("add", '{"a": "1", "b": 2}'), "schema"),
    (ParsedCall("get_weather", '{"city": "Oslo", "unit": "kelvin"}'), "schema"),
    (ParsedCall("get_weather", '{"city": "Oslo", "extra": 1}'), "schema"),
    (ParsedCall("add", "[1, 2]"), "schema"),
])
def test_call_problem_catches(call, needle):
    problem = call_problem(call, request("auto"))
    assert problem is not None and needle in problem


def test_call_problem_in_named_mode_refuses_other_tools():
    tr = request("named", forced="add")
    assert call_problem(ParsedCall("add", '{"a": 1, "b": 2}'), tr) is None
    assert "unknown function" in call_problem(ParsedCall("get_weather", '{"city": "x"}'), tr)


def test_content_problem():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert content_problem('{"n": 3}', schema) is None
    assert "not JSON" in content_problem("three", schema)
    assert "schema" in content_problem('{"n": "3"}', schema)
    assert content_problem("anything", None) is None


def test_judge_from_openai_tools_is_the_servers_judge():
    """Eval and benchmarks build the judge from the tools they sent; it must judge as the
    server's own judge for the same functions does."""
    tools = [f.as_openai_tool() for f in TOOLS] + [{"type": "function", "function": {"name": "bare"}}]
    from_tools, served = CallJudge.from_tools(tools), request("auto").judge()
    cases = [("add", '{"a": 1, "b": 2}'), ("add", '{"a": 1}'), ("get_weather", '{"city": "x", "unit": "kelvin"}'),
             ("nope", "{}"), ("add", "{"), ("noop", "{}")]
    for name, args in cases:
        assert from_tools.problem(name, args) == served.problem(name, args)
    assert from_tools.valid("bare", '{"anything": 1}')  # no parameters: any object
    assert not from_tools.valid("bare", "[]")


# A client's tool as it arrives (JSON text, so every use below gets a fresh copy), with what
# a check could be tempted to rewrite: no "type", a $ref into $defs with a keyword beside it.
TRAVEL_PARAMETERS = """{
  "properties": {"to": {"$ref": "#/$defs/place", "description": "Where to."},
                 "when": {"type": "string", "format": "date"}},
  "required": ["to"],
  "additionalProperties": false,
  "$defs": {"place": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
}"""
ADD_PARAMETERS = """{"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                     "required": ["a", "b"], "additionalProperties": false}"""


def test_tools_unchanged_by_checks():
    """The request checks (schema check, $ref inlining), the call judge, prompts and
    constraints read the client's tools and never rewrite them: the request's functions
    hold the parameters as sent (plus the implied "type": "object") before and after all
    of them run, and the client's own objects are left as they were."""
    sent = json.loads(TRAVEL_PARAMETERS)
    body = req(tools=[tool("travel", sent, description="Books travel."), ADD_TOOL])
    tr = tool_request(body)
    expected = [("travel", "Books travel.", {"type": "object", **json.loads(TRAVEL_PARAMETERS)}),
                ("add", "Adds two integers.", json.loads(ADD_PARAMETERS))]

    def held():
        return [(f.name, f.description, f.parameters) for f in tr.functions]

    assert held() == expected
    judge = tr.judge()
    verdicts = [judge.valid(name, args) for name, args in [
        ("travel", '{"to": {"city": "Oslo"}, "when": "2026-01-02"}'), ("travel", '{"to": {}}'),
        ("travel", '{"to": "Oslo"}'), ("travel", '{"to": {"city": "Oslo"}, "by": "train"}'),
        ("add", '{"a": 1, "b": 2}'), ("add", '{"a": 1}')]]
    assert verdicts == [True, False, False, False, True, False]  # the $ref was followed, not dropped
    for name in ALL_NAMES:
        fmt = load_format(name)
        assert "travel" in fmt.render_prompt(body.messages, tr)
        fmt.constraint(tr)
    assert held() == expected
    assert sent == json.loads(TRAVEL_PARAMETERS)
    assert body.tools[0].function.parameters == json.loads(TRAVEL_PARAMETERS)


# -- StopMatcher --


def run_stops(stops, chunks):
    m = StopMatcher(stops)
    out = "".join(m.feed(c) for c in chunks) + m.flush()
    return out, m.hit


def reference(stops, text):
    """Generation stops at the stop string that is complete first (earliest end)."""
    hits = [(i + len(s), i) for s, i in ((s, text.find(s)) for s in stops) if i >= 0]
    return (text[: min(hits)[1]], True) if hits else (text, False)


def test_stop_cuts_at_the_first_stop_string():
    assert run_stops(["STOP"], ["hello STOP world"]) == ("hello ", True)
    assert run_stops(["b", "cd"], ["a cd b"]) == ("a ", True)  # the earliest, not the first listed
    assert run_stops([" ", "< <"], ["< <"]) == ("<", True)  # the one completed first wins


def test_stop_holds_back_partial_prefixes():
    m = StopMatcher(["STOP"])
    assert m.feed("abc ST") == "abc "
    assert m.feed("O") == ""
    assert m.feed("X") == "STOX"
    assert m.feed("ST") == ""
    assert m.flush() == "ST" and not m.hit


def test_stop_after_hit_swallows_everything():
    m = StopMatcher(["\n\n"])
    assert m.feed("a\n") == "a"
    assert m.feed("\nmore") == ""
    assert m.hit and m.feed("even more") == "" and m.flush() == ""


def test_no_stops_pass_through():
    m = StopMatcher([])
    assert m.feed("any") == "any" and m.flush() == "" and not m.hit


stop_alphabet = st.sampled_from("ab \n<>")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(stop_alphabet, min_size=1, max_size=4), min_size=1, max_size=4),
    st.text(stop_alphabet, max_size=40),
    st.lists(st.integers(0, 40), max_size=8),
)
def test_stop_matcher_is_chunking_invariant(stops, text, cuts):
    assert run_stops(stops, split_at(text, cuts)) == reference(stops, text)
    assert run_stops(stops, list(text)) == reference(stops, text)
