"""Request limits: each hostile shape is refused with a 400 naming the field and the limit,
without recursion (so no RecursionError, whatever the depth), and ordinary requests pass."""

from __future__ import annotations

import pytest

from functionary import request_limits as rl
from functionary.errors import BadRequest
from functionary.openai_types import ChatCompletionRequest

HI = [{"role": "user", "content": "hi"}]


def request(**kw) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({"messages": HI, **kw})


def tool(parameters, name="f", description="d"):
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


def nested(levels: int) -> dict:
    schema: dict = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


def refused(req: ChatCompletionRequest) -> BadRequest:
    with pytest.raises(BadRequest) as info:
        rl.check_request(req)
    assert info.value.status_code == 400
    return info.value


CALL = {"role": "assistant", "content": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}


# ----------------------------------------------------------------------------- schemas


@pytest.mark.parametrize("levels", [30, 31])  # 2 JSON levels a schema level, +1 for the leaf: 61 and 63
def test_schemas_up_to_the_depth_limit_pass(levels):
    rl.check_request(request(tools=[tool(nested(levels))]))


@pytest.mark.parametrize("levels", [32, 300, 5000])
def test_deeper_schemas_are_refused_by_name_without_recursion(levels):
    err = refused(request(tools=[tool(nested(levels))]))
    assert (err.param, err.code) == ("tools[0].function.parameters", "schema_too_deep")
    assert str(rl.MAX_SCHEMA_DEPTH) in err.message


def test_deep_response_format_schema_is_refused():
    err = refused(request(response_format={"type": "json_schema", "json_schema": {"name": "r", "schema": nested(400)}}))
    assert (err.param, err.code) == ("response_format.json_schema.schema", "schema_too_deep")


def test_legacy_functions_are_checked_too():
    req = ChatCompletionRequest.model_validate({"messages": HI, "functions": [
        {"name": "f", "parameters": nested(100)}]})
    assert refused(req).param == "functions[0].parameters"


def test_too_many_tools():
    rl.check_request(request(tools=[tool({"type": "object"}, name=f"t{i}") for i in range(rl.MAX_TOOLS)]))
    err = refused(request(tools=[tool({"type": "object"}, name=f"t{i}") for i in range(rl.MAX_TOOLS + 1)]))
    assert (err.param, err.code) == ("tools", "too_many_tools")


def test_schema_size_is_counted_over_all_schemas():
    enum = [f"v{i}" for i in range(rl.MAX_SCHEMA_VALUES // 3)]
    params = {"type": "object", "properties": {"s": {"type": "string", "enum": enum}}}
    rl.check_request(request(tools=[tool(params, name="a"), tool(params, name="b")]))
    err = refused(request(tools=[tool(params, name=n) for n in "abcd"]))
    assert err.code == "schema_too_large" and err.param.startswith("tools[")


@pytest.mark.parametrize("keyword", rl.MIN_COUNT_KEYWORDS)
def test_huge_minimum_counts_are_refused(keyword):
    ok = {"type": "object", "properties": {"s": {keyword: rl.MAX_MIN_COUNT}}}
    rl.check_request(request(tools=[tool(ok)]))
    err = refused(request(tools=[tool({"type": "object", "properties": {"s": {keyword: 10**9}}})]))
    assert err.code == "schema_too_large" and keyword in err.message


def test_a_ref_alias_cycle_is_refused_and_named():
    params = {"type": "object", "properties": {"n": {"$ref": "#/$defs/a"}},
              "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}}}
    err = refused(request(tools=[tool(params)]))
    assert err.code == "invalid_schema" and "#/$defs/a" in err.message and "#/$defs/b" in err.message


def test_a_self_reference_is_a_cycle():
    params = {"type": "object", "properties": {"n": {"$ref": "#/$defs/a"}}, "$defs": {"a": {"$ref": "#/$defs/a"}}}
    assert refused(request(tools=[tool(params)])).code == "invalid_schema"


def test_recursion_through_properties_is_a_real_schema_and_passes():
    params = {"type": "object", "properties": {"root": {"$ref": "#/$defs/node"}},
              "$defs": {"node": {"type": "object", "properties": {
                  "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}}}
    rl.check_request(request(tools=[tool(params)]))


# ----------------------------------------------------------------------------- text


@pytest.mark.parametrize("where", ["user", "system", "tool-description", "enum", "arguments"])
def test_lone_surrogates_are_refused_where_they_are(where):
    bad = "hi \ud800 there"
    kw: dict = {}
    messages = list(HI)
    if where == "user":
        messages = [{"role": "user", "content": bad}]
    elif where == "system":
        messages = [{"role": "system", "content": bad}, *HI]
    elif where == "tool-description":
        kw["tools"] = [tool({"type": "object"}, description=bad)]
    elif where == "enum":
        kw["tools"] = [tool({"type": "object", "properties": {"s": {"enum": [bad]}}})]
    else:
        call = {**CALL, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": bad}}]}
        messages = [*HI, call]
    err = refused(ChatCompletionRequest.model_validate({"messages": messages, **kw}))
    assert err.code == "invalid_text" and "surrogate" in err.message


def test_paired_surrogates_are_ordinary_text():
    rl.check_request(request(messages=[{"role": "user", "content": "emoji \U0001F600"}]))


# ----------------------------------------------------------------------------- tool results


def test_tool_result_without_an_id_is_refused():
    err = refused(request(messages=[*HI, CALL, {"role": "tool", "content": "r"}]))
    assert (err.param, err.code) == ("messages[2].tool_call_id", "missing_tool_call_id")


def test_tool_result_for_an_id_no_call_made_is_refused():
    err = refused(request(messages=[*HI, CALL, {"role": "tool", "content": "r", "tool_call_id": "call_9"}]))
    assert (err.param, err.code) == ("messages[2].tool_call_id", "unknown_tool_call_id")
    assert "call_9" in err.message


def test_result_before_its_call_is_refused():
    err = refused(request(messages=[*HI, {"role": "tool", "content": "r", "tool_call_id": "call_1"}, CALL]))
    assert err.code == "unknown_tool_call_id"


def test_results_answering_earlier_calls_pass():
    rl.check_request(request(messages=[*HI, CALL, {"role": "tool", "content": "r", "tool_call_id": "call_1"},
                                       {"role": "user", "content": "again"},
                                       {"role": "tool", "content": "r2", "tool_call_id": "call_1"}]))


def test_legacy_function_results_need_no_id():
    rl.check_request(request(messages=[*HI, {"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}},
                                       {"role": "function", "name": "f", "content": "r"}]))


# ----------------------------------------------------------------------------- arguments


def test_deep_arguments_in_history_are_refused():
    deep = "[" * 5000 + "]" * 5000
    call = {**CALL, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": deep}}]}
    err = refused(request(messages=[*HI, call]))
    assert (err.param, err.code) == ("messages[1].tool_calls[0].function.arguments", "arguments_too_deep")


@pytest.mark.parametrize("text, deeper", [
    ('{"a": [1, 2]}', False),
    ("[" * 65 + "]" * 65, True),
    ("[" * 64 + "]" * 64, False),
    ('"' + "[" * 100 + '"', False),  # brackets inside a string do not nest
    ('["\\"' + "[" * 100 + '"]', False),  # nor after an escaped quote
    ("[]" * 100, False),  # many brackets, shallow
])
def test_bracket_depth_skips_strings(text, deeper):
    assert rl.nested_deeper_than(text, 64) is deeper


def test_client_chars_counts_messages_and_descriptions():
    req = request(messages=[{"role": "system", "content": "abc"}, {"role": "user", "content": "de"}],
                  tools=[tool({"type": "object"}, description="xyz")])
    assert rl.client_chars(req) == 3 + 2 + 3


def test_an_ordinary_request_passes():
    rl.check_request(request(tools=[tool({"type": "object", "properties": {"city": {"type": "string"}}})],
                             messages=[*HI, CALL, {"role": "tool", "content": "sunny", "tool_call_id": "call_1"}]))
