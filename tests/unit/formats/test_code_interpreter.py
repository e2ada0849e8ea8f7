"""The code_interpreter tool in the API: accepted in `tools`, mapped to the function
`python` whose arguments are {"code": ...}, written raw by formats with a code channel."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from functionary.errors import BadRequest
from functionary.formats import FORMATS
from functionary.domain import CODE_TOOL, tool_request
from functionary.formats.code_tool import code_arguments
from functionary.openai_types import ChatCompletionRequest

from .support import load_tokenizer
from .test_functionary_prompts import WEATHER

USER = [{"role": "user", "content": "Compute 2**10"}]


def req(tools, **kw):
    return ChatCompletionRequest(messages=kw.pop("messages", USER), tools=tools, **kw)


def test_code_interpreter_becomes_the_python_function():
    tools = tool_request(req([WEATHER, {"type": "code_interpreter"}]))
    assert [f.name for f in tools.functions] == ["get_weather", "python"]
    assert tools.functions[1] == CODE_TOOL and CODE_TOOL.code
    named = tool_request(req([{"type": "code_interpreter"}], tool_choice={"type": "function", "function": {"name": "python"}}))
    assert named.mode == "named" and named.allowed_functions() == (CODE_TOOL,)


@pytest.mark.parametrize("tools", [
    [{"type": "code_interpreter"}, {"type": "code_interpreter"}],
    [{"type": "code_interpreter"}, {"type": "function", "function": {"name": "python", "parameters": {"type": "object"}}}],
    [{"type": "function", "function": {"name": "python", "parameters": {"type": "object"}}}, {"type": "code_interpreter"}],
])
def test_python_name_clash_is_a_bad_request(tools):
    with pytest.raises(BadRequest, match="python"):
        tool_request(req(tools))


def test_function_tools_still_need_a_function():
    with pytest.raises(ValidationError, match="need a 'function' object"):
        req([{"type": "function"}])
    with pytest.raises(ValidationError):
        req([{"type": "retrieval"}])


def test_generated_code_call_validates():
    tools = tool_request(req([{"type": "code_interpreter"}]))
    fmt = FORMATS["v3.llama3"](load_tokenizer())
    parsed = fmt.stream_parser(tools).parse('>>>python\nprint("hi")\n')
    assert [(c.name, json.loads(c.arguments)) for c in parsed.calls] == [("python", {"code": 'print("hi")\n'})]
    assert tools.judge().problem(parsed.calls[0].name, parsed.calls[0].arguments) is None


@pytest.mark.parametrize("name", ["v3.llama3", "v3-llama3.1", "v2"])
def test_history_code_as_raw_text_or_json_renders_the_same(name):
    code = "x = 1\nprint(x)"

    def history(arguments):
        return [*USER, {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "python", "arguments": arguments}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "1"}]

    fmt = FORMATS[name](load_tokenizer())
    raw, wrapped = (req([{"type": "code_interpreter"}], messages=history(a)) for a in (code, code_arguments(code)))
    text = fmt.render_prompt(raw.messages, tool_request(raw))
    assert text == fmt.render_prompt(wrapped.messages, tool_request(wrapped))
    assert code in text and '"code"' not in text


def test_plain_formats_see_an_ordinary_function():
    tools = tool_request(req([{"type": "code_interpreter"}]))
    fmt = FORMATS["plain-tags"](load_tokenizer())
    assert "type python = (_: {" in fmt.render_prompt(req([{"type": "code_interpreter"}]).messages, tools)
    text = '<tool_call>\n{"name": "python", "arguments": {"code": "1+1"}}\n</tool_call>'
    assert [(c.name, c.arguments) for c in fmt.stream_parser(tools).parse(text).calls] == [("python", '{"code": "1+1"}')]
