"""Hermes, Llama 3.1 JSON and Mistral prompts: through the model's own template when it
renders tools (with arguments as objects and ids it accepts), else our family-style
rendering; either way the prompt ends where the reply begins."""

from __future__ import annotations

import json

from functionary.formats import FORMATS
from functionary.formats.native_template import short_id
from functionary.openai_types import ChatCompletionRequest
from functionary.domain import tool_request

from .support import family_tokenizer
from .test_functionary_prompts import CASE


def prompt(name, family, case=CASE):
    req = ChatCompletionRequest(messages=case["messages"], tools=case.get("tools"), tool_choice=case.get("tool_choice"),
                                response_format=case.get("response_format"))
    return FORMATS[name](family_tokenizer(family)).render_prompt(req.messages, tool_request(req))


ONE_CALL = {**CASE, "messages": [
    {"role": "user", "content": "Paris weather?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_w", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
    {"role": "tool", "tool_call_id": "call_w", "content": "sunny"},
]}


def test_hermes_through_the_qwen_template():
    text = prompt("hermes", "qwen2.5")
    assert "Functions you may call are listed in <tools></tools>" in text  # the template's own words
    assert json.dumps(CASE["tools"][0]) in text
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>' in text
    assert text.index("<tool_response>\nsunny") < text.index("<tool_response>\n5")  # in call order
    assert text.endswith("<|im_start|>assistant\n")


def test_hermes_fallback_when_the_template_drops_tools():
    text = prompt("hermes", "hermes-ignoring-tools")
    assert "Their signatures are listed inside <tools></tools> XML tags" in text  # our listing
    assert json.dumps(CASE["tools"][1]) in text
    assert '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>' in text
    assert "<tool_response>\nsunny\n</tool_response>" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_llama31_template_with_one_call():
    text = prompt("llama3-json", "llama-3.1", ONE_CALL)
    assert "Answer with a JSON function call" in text  # the template's own words
    assert '{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>' in text
    assert "<|start_header_id|>ipython<|end_header_id|>\n\nsunny" in text
    assert text.startswith("<|begin_of_text|>") and text.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")


def test_llama31_template_refusing_parallel_calls_falls_back():
    text = prompt("llama3-json", "llama-3.1")  # two calls in one turn: this template raises
    assert "You can call the functions below" in text  # our listing
    assert '{"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": "add", "parameters"' in text
    assert text.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")


def test_mistral_template_gets_nine_character_ids():
    text = prompt("mistral", "mistral-v0.3")
    ids = [short_id("call_w"), short_id("call_a")]
    assert all(len(i) == 9 and i.isalnum() for i in ids)
    assert f'"arguments": {{"city": "Paris"}}, "id": "{ids[0]}"' in text
    assert f'[TOOL_RESULTS] {{"content": "sunny", "call_id": "{ids[0]}"}}[/TOOL_RESULTS]' in text
    assert text.index('"call_id": "%s"' % ids[0]) < text.index('"call_id": "%s"' % ids[1])
    assert "[AVAILABLE_TOOLS]" in text and "Weather in a city." in text


def test_results_without_ids_pair_with_calls_in_order():
    case = {**CASE, "messages": [
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 1}'}},
            {"type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 2}'}}]},
        {"role": "tool", "content": "2"}, {"role": "tool", "content": "4"},
    ]}
    text = prompt("mistral", "mistral-v0.3", case)
    first, second = (text.split('"id": "')[i][:9] for i in (1, 2))
    assert f'{{"content": "2", "call_id": "{first}"}}' in text and f'{{"content": "4", "call_id": "{second}"}}' in text


def test_tool_choice_none_passes_no_tools():
    for name, family in [("hermes", "qwen2.5"), ("llama3-json", "llama-3.1"), ("mistral", "mistral-v0.3")]:
        text = prompt(name, family, {**ONE_CALL, "tool_choice": "none"})
        assert '"description": "Weather in a city."' not in text


def test_response_format_goes_to_the_system_message():
    text = prompt("hermes", "qwen2.5", {**ONE_CALL, "response_format": {"type": "json_object"}})
    assert text.index("Reply with a single JSON value") < text.index("<|im_start|>user")
