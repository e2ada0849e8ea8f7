"""The prompt the plain formats build: tool section in the system turn, earlier calls in the
call syntax, tool results as user turns, and the model's own chat template around it."""

from __future__ import annotations

import json

import pytest

from functionary.domain import ParsedCall, normalize_arguments
from functionary.formats.plain import CHATML_TEMPLATE
from functionary.openai_types import ChatMessage

from .support import ADD, WEATHER, request

GEN = "<|im_start|>assistant\n"
SMOL_DEFAULT = "You are a helpful AI assistant named SmolLM"


def msg(role, content=None, **kw):
    return ChatMessage(role=role, content=content, **kw)


def tool_call(id_, name, arguments):
    return {"id": id_, "type": "function", "function": {"name": name, "arguments": arguments}}


def turn_texts(prompt: str) -> list[tuple[str, str]]:
    """(role, content) of each ChatML turn in a rendered prompt, the open one excluded."""
    out = []
    for part in prompt.split("<|im_start|>")[1:]:
        if "<|im_end|>" in part:
            role, _, rest = part.partition("\n")
            out.append((role, rest.split("<|im_end|>")[0]))
    return out


def test_system_prompt_merged_with_tool_section(plain_fmt):
    prompt = plain_fmt.render_prompt([msg("system", "You are terse."), msg("user", "hi")], request("auto"))
    turns = turn_texts(prompt)
    assert [r for r, _ in turns] == ["system", "user"]
    system = turns[0][1]
    assert system.startswith("You are terse.\n\n")
    assert "namespace functions {" in system and "} // namespace functions" in system
    for name in ("get_weather", "add", "search", "noop"):
        assert f"type {name} = " in system
    assert SMOL_DEFAULT not in prompt
    assert prompt.endswith(GEN)


def test_tool_section_without_a_system_message(plain_fmt):
    prompt = plain_fmt.render_prompt([msg("user", "hi")], request("required"))
    turns = turn_texts(prompt)
    assert turns[0][0] == "system" and "namespace functions {" in turns[0][1]
    assert turns[1] == ("user", "hi")


def test_the_syntax_is_explained(plain_fmt):
    system = turn_texts(plain_fmt.render_prompt([msg("user", "hi")], request("auto")))[0][1]
    assert ("<tool_call>" if plain_fmt.name == "plain-tags" else ">>>") in system


@pytest.mark.parametrize("req", [request("none"), request("auto", tools=())], ids=["none", "no-tools"])
def test_no_tools_in_the_prompt_when_calls_are_off(plain_fmt, req):
    prompt = plain_fmt.render_prompt([msg("system", "Be nice."), msg("user", "hi")], req)
    assert "namespace functions" not in prompt
    assert "get_weather" not in prompt
    assert turn_texts(prompt)[0] == ("system", "Be nice.")
    # no system message at all: the template's own default stays
    bare = plain_fmt.render_prompt([msg("user", "hi")], req)
    assert "namespace functions" not in bare and SMOL_DEFAULT in bare
    assert bare.endswith(GEN)


def test_named_mode_shows_only_the_forced_tool(plain_fmt):
    prompt = plain_fmt.render_prompt([msg("user", "add 1 and 2")], request("named", forced="add"))
    assert "type add = " in prompt
    assert "get_weather" not in prompt


def test_response_format_instruction(plain_fmt):
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    for req in (request("none", response_schema=schema), request("auto", response_schema=schema)):
        system = turn_texts(plain_fmt.render_prompt([msg("user", "hi")], req))[0][1]
        assert "Reply with a single JSON value that matches this JSON Schema:" in system
        assert json.dumps(schema) in system
        assert ("namespace functions {" in system) == req.calls_allowed
    plain = plain_fmt.render_prompt([msg("user", "hi")], request("auto"))
    assert "Reply with a single JSON value" not in plain


def test_earlier_calls_rendered_in_the_call_syntax(plain_fmt):
    messages = [
        msg("user", "weather in A and B?"),
        msg("assistant", "Checking.", tool_calls=[
            tool_call("c1", "get_weather", '{"city":"A"}'),      # compact JSON is normalised
            tool_call("c2", "get_weather", {"city": "B"}),        # decoded objects are accepted
        ]),
        msg("tool", "sunny", tool_call_id="c1"),
        msg("tool", "rain", tool_call_id="c2"),
    ]
    prompt = plain_fmt.render_prompt(messages, request("auto"))
    expected = plain_fmt.render_assistant("Checking.", [
        ParsedCall("get_weather", '{"city": "A"}'), ParsedCall("get_weather", '{"city": "B"}'),
    ])
    assert ("assistant", expected) in turn_texts(prompt)
    assert '{"city": "A"}' in prompt and '{"city":"A"}' not in prompt


def test_legacy_function_call_in_history(plain_fmt):
    messages = [
        msg("user", "add"),
        msg("assistant", None, function_call={"name": "add", "arguments": '{"a":1,"b":2}'}),
        msg("function", "3", name="add"),
    ]
    turns = turn_texts(plain_fmt.render_prompt(messages, request("auto")))
    assert ("assistant", plain_fmt.render_assistant("", [ParsedCall("add", '{"a": 1, "b": 2}')])) in turns
    assert turns[-1] == ("user", "<tool_response>\n3\n</tool_response>")


def test_tool_results_are_user_turns_in_call_order(plain_fmt):
    messages = [
        msg("user", "go"),
        msg("assistant", None, tool_calls=[
            tool_call("c1", "add", '{"a": 1, "b": 1}'),
            tool_call("c2", "add", '{"a": 2, "b": 2}'),
            tool_call("c3", "add", '{"a": 3, "b": 3}'),
        ]),
        msg("tool", "three", tool_call_id="c3"),
        msg("tool", "one", tool_call_id="c1"),
        msg("tool", "two", tool_call_id="c2"),
        msg("user", "thanks"),
    ]
    turns = turn_texts(plain_fmt.render_prompt(messages, request("auto")))
    assert [r for r, _ in turns] == ["system", "user", "assistant", "user"]
    results = "\n\n".join(f"<tool_response>\n{x}\n</tool_response>" for x in ("one", "two", "three"))
    assert turns[-1] == ("user", results + "\n\nthanks")  # the next user message joins the results


def test_results_without_known_ids_keep_their_order(plain_fmt):
    messages = [
        msg("user", "go"),
        msg("assistant", None, tool_calls=[tool_call("c1", "add", "{}"), tool_call("c2", "add", "{}")]),
        msg("tool", "unknown", tool_call_id="zz"),
        msg("tool", "second", tool_call_id="c2"),
        msg("tool", "first", tool_call_id="c1"),
    ]
    last = turn_texts(plain_fmt.render_prompt(messages, request("auto")))[-1][1]
    assert last.index("first") < last.index("second") < last.index("unknown")


def test_results_are_sorted_only_against_the_assistant_turn_before_them(plain_fmt):
    messages = [
        msg("user", "go"),
        msg("assistant", None, tool_calls=[tool_call("a", "add", "{}"), tool_call("b", "add", "{}")]),
        msg("tool", "B1", tool_call_id="b"),
        msg("tool", "A1", tool_call_id="a"),
        msg("assistant", None, tool_calls=[tool_call("b", "add", "{}"), tool_call("a", "add", "{}")]),
        msg("tool", "A2", tool_call_id="a"),
        msg("tool", "B2", tool_call_id="b"),
    ]
    users = [c for r, c in turn_texts(plain_fmt.render_prompt(messages, request("auto"))) if r == "user"]
    assert users[1].index("A1") < users[1].index("B1")
    assert users[2].index("B2") < users[2].index("A2")


def test_consecutive_turns_of_one_role_are_merged(plain_fmt):
    messages = [msg("system", "S1"), msg("developer", "S2"), msg("user", "U1"), msg("user", "U2"),
                msg("assistant", "A1"), msg("assistant", "A2"), msg("user", "U3")]
    turns = turn_texts(plain_fmt.render_prompt(messages, request("none")))
    assert turns == [
        ("system", "S1\n\nS2"),
        ("user", "U1\n\nU2"),
        ("assistant", plain_fmt.render_assistant("A1", [])),  # assistant turns stay apart
        ("assistant", plain_fmt.render_assistant("A2", [])),
        ("user", "U3"),
    ]


def test_developer_role_is_system(plain_fmt):
    prompt = plain_fmt.render_prompt([msg("developer", "Use metric units."), msg("user", "hi")], request("auto"))
    role, system = turn_texts(prompt)[0]
    assert role == "system" and system.startswith("Use metric units.\n\n") and "namespace functions {" in system
    assert "<|im_start|>developer" not in prompt


def test_content_as_text_parts(plain_fmt):
    parts = [{"type": "text", "text": "Hello, "}, {"type": "text", "text": "world."}]
    prompt = plain_fmt.render_prompt([msg("system", [{"type": "text", "text": "Sys."}]), msg("user", parts)],
                               request("none"))
    assert turn_texts(prompt) == [("system", "Sys."), ("user", "Hello, world.")]


def test_prompt_ends_with_the_generation_prompt(plain_fmt):
    for req in (request("auto"), request("none"), request("required"), request("named", forced="add")):
        prompt = plain_fmt.render_prompt([msg("user", "hi")], req)
        assert prompt.endswith(GEN)
        assert prompt.count(GEN) == 1


def test_tokenizer_without_a_template_gets_chatml(plain_fmt):
    class Bare:
        chat_template = None

        def __init__(self):
            self.seen = None

        def apply_chat_template(self, turns, tokenize, add_generation_prompt, chat_template):
            self.seen = (turns, tokenize, add_generation_prompt, chat_template)
            return "ok"

    bare = Bare()
    other = type(plain_fmt)(bare)
    assert other.render_prompt([msg("user", "hi")], request("auto")) == "ok"
    turns, tokenize, add_generation_prompt, template = bare.seen
    assert template == CHATML_TEMPLATE and tokenize is False and add_generation_prompt is True
    assert turns[-1] == {"role": "user", "content": "hi"}


def test_tool_section_lists_the_schema(plain_fmt):
    system = turn_texts(plain_fmt.render_prompt([msg("user", "hi")], request("auto", tools=(WEATHER, ADD))))[0][1]
    assert 'unit?: "celsius" | "fahrenheit",' in system
    assert "city: string," in system
    assert "// Current weather in a city." in system


@pytest.mark.parametrize("raw,expected", [
    ('{"a":1}', '{"a": 1}'),
    ('{"s": "é"}', '{"s": "é"}'),
    ("", "{}"),
    ("   ", "{}"),
    ("not json", "not json"),
])
def test_normalize_arguments(raw, expected):
    assert normalize_arguments(raw) == expected
