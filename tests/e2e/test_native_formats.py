"""Each native tool format, forced on the bundled model with --tool-format: the
required / named / none / auto guarantees hold whatever the model thinks of the format.
Kept short (4 requests, at most 48 tokens each) for small CI machines."""

from __future__ import annotations

import json

import pytest

from .conftest import _start_server, _stop_server
from .support import GET_TIME, SET_LIGHT, check_arguments, check_calls_only, collect_stream

pytestmark = pytest.mark.e2e

NATIVE_FORMATS = ["v3.llama3", "v3-llama3.1", "v2", "hermes", "llama3-json", "mistral"]
CODE_INTERPRETER = {"type": "code_interpreter"}
CODE_SCHEMA = {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]}
TOOLS = [SET_LIGHT, GET_TIME]
LIGHT = [{"role": "user", "content": "Make the kitchen light blue."}]


@pytest.fixture(scope="module", params=NATIVE_FORMATS)
def native_server(request, tmp_path_factory, engine):
    proc, live = _start_server(tmp_path_factory.mktemp("server-logs"), request.param,
                               ["--tool-format", request.param], engine)
    try:
        yield live
    finally:
        _stop_server(proc)


def create(live, **kw):
    with live.client() as c:
        return c.chat.completions.create(model=live.model, temperature=0, max_tokens=48, **kw)


def test_required(native_server):
    r = create(native_server, messages=LIGHT, tools=TOOLS, tool_choice="required")
    choice = r.choices[0]
    assert choice.finish_reason in ("tool_calls", "length"), native_server.log_tail()
    check_calls_only(TOOLS, choice)  # a call, complete and valid, even when max_tokens forced the close
    assert r.usage.completion_tokens <= 48


def test_named_streamed(native_server):
    with native_server.client() as c:
        chunks = list(c.chat.completions.create(
            model=native_server.model, messages=LIGHT, tools=TOOLS, temperature=0, max_tokens=48, stream=True,
            tool_choice={"type": "function", "function": {"name": "get_time"}}))
    out = collect_stream(chunks)
    assert out["finish_reason"] == "tool_calls", native_server.log_tail()
    assert [(c["name"], json.loads(c["arguments"])) for c in out["calls"]] == [("get_time", {})]
    assert out["content"] is None


def test_none(native_server):
    r = create(native_server, messages=[{"role": "user", "content": "Call set_light for the office now."}],
               tools=TOOLS, tool_choice="none")
    choice = r.choices[0]
    assert choice.message.tool_calls is None
    assert choice.finish_reason in ("stop", "length")


def test_auto_with_code_interpreter(native_server):
    tools = [SET_LIGHT, CODE_INTERPRETER]
    r = create(native_server, messages=[{"role": "user", "content": "What is 2**10? Use python."}], tools=tools)
    choice = r.choices[0]
    assert choice.finish_reason in ("stop", "tool_calls", "length")
    for call in choice.message.tool_calls or []:
        schemas = [SET_LIGHT, {"type": "function", "function": {"name": "python", "parameters": CODE_SCHEMA}}]
        check_arguments(schemas, call.function.name, call.function.arguments)
