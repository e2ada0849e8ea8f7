"""Prompts of the three Functionary formats: byte for byte against the reference renderings
(in the shared folder beside the checkout, which every developer and CI run has) and
against small fixtures of our own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functionary.formats import FORMATS
from functionary.openai_types import ChatCompletionRequest
from functionary.domain import tool_request

from .support import family_tokenizer

REFERENCE = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "functionary-formats"


def rendered(name: str, case: dict) -> str:
    req = ChatCompletionRequest(messages=case["messages"], tools=case.get("tools"),
                                tool_choice=case.get("tool_choice"), response_format=case.get("response_format"))
    return FORMATS[name](None).render_conversation(req.messages, tool_request(req))


def reference(name: str) -> tuple[dict, str]:
    if not REFERENCE.is_dir():  # expected beside every checkout: its absence is a failure, not a skip
        pytest.fail(f"the reference renderings are missing at {REFERENCE}: these goldens need the shared "
                    f"folder beside the checkout (../shared/reference/functionary-formats)", pytrace=False)
    case = json.loads((REFERENCE / "test_case.json").read_text(encoding="utf-8"))
    return case, (REFERENCE / f"prompt_test_{name}.txt").read_text(encoding="utf-8")


def test_v3_llama3_matches_the_reference():
    case, expected = reference("v3.llama3")
    # The reference file opens with one stray space before the first header (Functionary's
    # own test compares after .strip()); everything after it matches byte for byte.
    assert expected == " " + rendered("v3.llama3", case)


def test_v3_llama31_matches_the_reference():
    case, expected = reference("v3-llama3.1")
    assert rendered("v3-llama3.1", case) == expected


def test_v2_matches_the_reference():
    # prompt_test_v2.txt is the rendering of test_case.json (not of test_case_v2.json, whose
    # descriptions, code and last turns differ).
    case, expected = reference("v2")
    assert rendered("v2", case) == expected


@pytest.mark.parametrize("name,family,bos,generation", [
    ("v3.llama3", "functionary-v3.2", "<|begin_of_text|>", "<|start_header_id|>assistant<|end_header_id|>\n\n"),
    ("v3-llama3.1", "functionary-v3.1", "<|begin_of_text|>", "<|start_header_id|>assistant<|end_header_id|>\n\n"),
    ("v2", "functionary-v2", "<s>", "\n<|from|>assistant\n<|recipient|>"),
])
def test_prompt_is_bos_conversation_and_generation_prompt(name, family, bos, generation):
    req = ChatCompletionRequest(messages=[{"role": "user", "content": "hi"}])
    fmt = FORMATS[name](family_tokenizer(family))
    body = fmt.render_conversation(req.messages, tool_request(req))
    assert fmt.render_prompt(req.messages, tool_request(req)) == bos + body + generation
    # A tokenizer of another family gets no foreign BOS.
    assert FORMATS[name](family_tokenizer("qwen2.5")).render_prompt(req.messages, tool_request(req)) == body + generation


# -- our own fixtures: results out of order and without names, ids, a system message --

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city.", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
ADD = {"type": "function", "function": {"name": "add", "description": "Adds.", "parameters": {
    "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}}}
CASE = {
    "tools": [WEATHER, ADD],
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Paris weather, and 2+3?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"id": "call_w", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
            {"id": "call_a", "type": "function", "function": {"name": "add", "arguments": {"a": 2, "b": 3}}}]},
        {"role": "tool", "tool_call_id": "call_a", "content": "5"},  # answered out of order, no names
        {"role": "tool", "tool_call_id": "call_w", "content": "sunny"},
    ],
}
NAMESPACE = """// Supported function definitions that should be called when necessary.
namespace functions {

// Weather in a city.
type get_weather = (_: {
city: string,
}) => any;

// Adds.
type add = (_: {
a: number,
b: number,
}) => any;

} // namespace functions"""
V2_DEFAULT_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. The assistant gives "
                     "helpful, detailed, and polite answers to the user's questions. The assistant calls functions "
                     "with appropriate input when necessary")


def test_v2_own_fixture():
    assert rendered("v2", CASE) == (
        f"<|from|>system\n<|recipient|>all\n<|content|>{NAMESPACE}"
        f"\n<|from|>system\n<|recipient|>all\n<|content|>{V2_DEFAULT_SYSTEM}"
        "\n<|from|>system\n<|recipient|>all\n<|content|>Be brief."
        "\n<|from|>user\n<|recipient|>all\n<|content|>Paris weather, and 2+3?"
        "\n<|from|>assistant\n<|recipient|>all\n<|content|>Checking."
        '\n<|from|>assistant\n<|recipient|>get_weather\n<|content|>{"city": "Paris"}'
        '\n<|from|>assistant\n<|recipient|>add\n<|content|>{"a": 2, "b": 3}<|stop|>'
        '\n<|from|>get_weather\n<|recipient|>all\n<|content|>sunny'
        '\n<|from|>add\n<|recipient|>all\n<|content|>5'
    )


def h(role):
    return f"<|start_header_id|>{role}<|end_header_id|>\n\n"


def test_v3_llama3_own_fixture():
    system = ("You are capable of executing available function(s) if required.\nOnly execute function(s) when "
              "absolutely necessary.\nAsk for the required input to:recipient==all\nUse JSON for function arguments."
              "\nRespond in this format:\n>>>${recipient}\n${content}\nAvailable functions:\n")
    assert rendered("v3.llama3", CASE) == (
        h("system") + system + NAMESPACE + "<|eot_id|>"
        + h("system") + "Be brief.<|eot_id|>"
        + h("user") + "Paris weather, and 2+3?<|eot_id|>"
        + h("assistant") + '>>>all\nChecking.>>>get_weather\n{"city": "Paris"}>>>add\n{"a": 2, "b": 3}<|eot_id|>'
        + h("tool") + "sunny<|eot_id|>" + h("tool") + "5<|eot_id|>"
    )


def test_v3_llama31_own_fixture():
    text = rendered("v3-llama3.1", CASE)
    assert text.startswith(h("system") + "\nCutting Knowledge Date: December 2023\n\n\nYou have access")
    assert "Environment: ipython" not in text  # no code interpreter
    assert ("Use the function 'add' to 'Adds.'\n" + json.dumps(ADD["function"]) + "\n\n") in text
    assert text.endswith(
        h("assistant") + 'Checking.<function=get_weather>{"city": "Paris"}</function>'
        '<function=add>{"a": 2, "b": 3}</function><|eom_id|>'
        + h("ipython") + "sunny<|eot_id|>" + h("ipython") + "5<|eot_id|>"
    )


@pytest.mark.parametrize("name", ["v3.llama3", "v3-llama3.1", "v2"])
def test_tool_choice_none_hides_the_tools(name):
    text = rendered(name, {**CASE, "tool_choice": "none"})
    assert "type get_weather" not in text and "'get_weather'" not in text
    assert "get_weather" in text  # the earlier call is still history


@pytest.mark.parametrize("name", ["v3.llama3", "v3-llama3.1", "v2"])
def test_named_choice_shows_that_tool(name):
    text = rendered(name, {**CASE, "messages": CASE["messages"][:2],
                           "tool_choice": {"type": "function", "function": {"name": "add"}}})
    assert "add" in text and "get_weather" not in text


@pytest.mark.parametrize("name", ["v3.llama3", "v3-llama3.1", "v2"])
def test_response_format_is_explained(name):
    text = rendered(name, {**CASE, "response_format": {"type": "json_object"}})
    assert 'Reply with a single JSON value that matches this JSON Schema:\n{"type": "object"}' in text


@pytest.mark.parametrize("name,marker", [("v3.llama3", "When you send a message containing Python code to python"),
                                         ("v2", "When you send a message containing Python code to python"),
                                         ("v3-llama3.1", "Environment: ipython\n\n")])
def test_code_interpreter_turns_on_the_code_channel(name, marker):
    with_code = {**CASE, "tools": [*CASE["tools"], {"type": "code_interpreter"}]}
    text = rendered(name, with_code)
    assert marker in text
    assert "type python" not in text and "'python'" not in text  # not listed as a function
    assert marker not in rendered(name, CASE)
