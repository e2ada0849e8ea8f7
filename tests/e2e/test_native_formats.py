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


def _python_example(question: str, code: str, call_id: str) -> list[dict]:
    """One finished exchange where the assistant ran code, as an example in the history."""
    return [{"role": "user", "content": question},
            {"role": "assistant", "content": None, "tool_calls": [{"id": call_id, "type": "function", "function": {
                "name": "python", "arguments": json.dumps({"code": code})}}]},
            {"role": "tool", "tool_call_id": call_id, "content": "ok"},
            {"role": "assistant", "content": "Done."}]


# Conversations on which the bundled model, served with each format, does call in `auto`
# (temperature 0, 48 tokens, both engines), found by trying a handful of prompts per format:
# alone, "What is 2**10? Use python." makes only v3.llama3 call. With two worked examples
# of python calls in the history, v3-llama3.1, v2, llama3-json and mistral call too. hermes
# never called on those (it answers "<tool_response>...", copying the history's tool
# results); it calls, after a few words of text, when the user message names its tag.
PYTHON_AFTER_EXAMPLES = [*_python_example("What is 3**4? Use python.", "print(3**4)", "call_ex1"),
                         *_python_example("What is 5*7? Use python.", "print(5*7)", "call_ex2"),
                         {"role": "user", "content": "What is 2**10? Use python."}]
AUTO_CALLS = {
    "v3.llama3": [{"role": "user", "content": "What is 2**10? Use python."}],
    "v3-llama3.1": PYTHON_AFTER_EXAMPLES,
    "v2": PYTHON_AFTER_EXAMPLES,
    "hermes": [{"role": "user", "content": "Use a <tool_call> to set the kitchen light to blue."}],
    "llama3-json": PYTHON_AFTER_EXAMPLES,
    "mistral": PYTHON_AFTER_EXAMPLES,
}


def test_auto_with_code_interpreter(native_server):
    """`auto` with a function and the code tool, on a conversation where the model calls
    (AUTO_CALLS): the text -> call switch runs in every format, and each call is complete
    and valid, to `python` with {"code": ...} or to set_light."""
    tools = [SET_LIGHT, CODE_INTERPRETER]
    r = create(native_server, messages=AUTO_CALLS[native_server.tool_format], tools=tools)
    choice = r.choices[0]
    calls = choice.message.tool_calls or []
    assert calls, f"no call this time (finish_reason={choice.finish_reason}, content={choice.message.content!r})"
    # `length`: the model went on after a call and the server closed the last one at max_tokens
    assert choice.finish_reason in ("tool_calls", "length")
    schemas = [SET_LIGHT, {"type": "function", "function": {"name": "python", "parameters": CODE_SCHEMA}}]
    for call in calls:
        check_arguments(schemas, call.function.name, call.function.arguments)
    assert r.usage.completion_tokens <= 48
