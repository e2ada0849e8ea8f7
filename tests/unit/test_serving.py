"""The guarantees that live in serving.py and the budget guard, offline: found missing by
the mutation check (tests/mutations/README.md: eleven breaks no offline test noticed).

A scripted engine stands in for the model: it writes a fixed text token by token (the
bundled tokenizer, no weights), stops at max_tokens with `length`, and ignores the grammar,
so that the server's own checks (the judge, the content check, stop handling, the budget
guard, the 400) are what the tests see.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from functionary.budget import BudgetGuard, shortest_reply
from functionary.domain import Function, ParsedCall
from functionary.engines.base import Engine, GenerationDelta
from functionary.errors import BudgetTooSmall, GenerationFailed
from functionary.openai_types import ChatCompletionRequest
from functionary.serving import ChatService

from .formats.support import ADD, NOOP, SEARCH, WEATHER, load_format, load_tokenizer, request

FMT = "plain-tags"


class ScriptedEngine(Engine):
    name = "scripted"
    model_name = "scripted"
    max_model_len = 4096

    def __init__(self, text: str) -> None:
        self.tokenizer = load_tokenizer()
        self.text = text

    async def prepare(self, spec) -> None:
        return None

    async def generate(self, request_id, prompt_ids, params, spec):
        ids = self.tokenizer.encode(self.text, add_special_tokens=False)
        before = ""
        for n in range(1, len(ids) + 1):
            now = self.tokenizer.decode(ids[:n])
            last = n == len(ids) or n == params.max_tokens
            reason = ("stop" if n == len(ids) else "length") if last else None
            yield GenerationDelta(now[len(before):], n, reason)
            before = now
            if last:
                return

    async def abort(self, request_id) -> None:
        return None


def tool(f: Function) -> dict:
    return f.as_openai_tool()


def service(text: str, *, budget_closing: bool = True) -> ChatService:
    return ChatService(ScriptedEngine(text), load_format(FMT), budget_closing=budget_closing)


def chat(**kw) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({"messages": [{"role": "user", "content": "hi"}], **kw})


def complete(svc: ChatService, req: ChatCompletionRequest):
    async def go():
        return await svc.complete(await svc.prepare(req))
    return asyncio.run(go())


def stream(svc: ChatService, req: ChatCompletionRequest) -> dict:
    """The streamed chunks of choice 0, reassembled."""
    async def go():
        p = await svc.prepare(req)
        return [c async for c in svc.stream(p)]
    content, calls, finish = "", {}, None
    for chunk in asyncio.run(go()):
        for ch in chunk.choices:
            content += ch.delta.content or ""
            for tc in ch.delta.tool_calls or []:
                entry = calls.setdefault(tc.index, {"name": tc.function.name, "arguments": ""})
                entry["arguments"] += tc.function.arguments or ""
            finish = ch.finish_reason or finish
    return {"content": content or None, "calls": [(c["name"], c["arguments"]) for _, c in sorted(calls.items())],
            "finish_reason": finish}


def render(content: str, calls: list[ParsedCall]) -> str:
    return load_format(FMT).render_assistant(content, calls)


# -- the final checks (the grammar bypassed: the server must still refuse) --


def test_an_invalid_generated_call_is_refused():
    svc = service(render("", [ParsedCall("add", '{"a": "one", "b": 2}')]))
    with pytest.raises(GenerationFailed) as info:
        complete(svc, chat(tools=[tool(ADD)], tool_choice="required"))
    assert info.value.code == "invalid_generated_call"


def test_an_invalid_generated_json_answer_is_refused():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    svc = service('{"n": "three"}')
    with pytest.raises(GenerationFailed) as info:
        complete(svc, chat(response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}))
    assert info.value.code == "invalid_generated_content"


# -- stop strings: text only --


def test_a_stop_string_never_cuts_a_call():
    args = '{"city": "Paris"}'
    r = complete(service(render("", [ParsedCall("get_weather", args)])),
                 chat(tools=[tool(WEATHER)], stop=["Paris"]))
    (call,) = r.choices[0].message.tool_calls
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert r.choices[0].finish_reason == "tool_calls"


def test_a_stop_string_never_cuts_a_json_answer():
    r = complete(service('{"a": 1}'), chat(response_format={"type": "json_object"}, stop=[":"]))
    assert json.loads(r.choices[0].message.content) == {"a": 1}


# -- the budget --


def test_max_tokens_below_the_shortest_call_is_a_400():
    with pytest.raises(BudgetTooSmall):
        complete(service(render("", [ParsedCall("add", '{"a": 1, "b": 2}')])),
                 chat(tools=[tool(ADD)], tool_choice="required", max_tokens=2))


def test_the_shortest_reply_is_the_shortest_of_the_tools():
    count = lambda text: len(load_tokenizer().encode(text, add_special_tokens=False))  # noqa: E731
    fmt = load_format(FMT)
    text, tokens = shortest_reply(fmt, request("required", tools=(ADD, NOOP, WEATHER)), count)
    assert "noop" in text and tokens == min(count(fmt.render_assistant("", [ParsedCall(f.name, a)]))
                                            for f, a in ((ADD, '{"a":0,"b":0}'), (NOOP, "{}"), (WEATHER, '{"city":""}')))


def test_a_text_reply_cut_by_max_tokens_says_length():
    r = complete(service("word " * 50), chat(max_tokens=5))
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 5


def test_a_closed_call_says_length_and_counts_its_closing():
    long_call = ParsedCall("get_weather", json.dumps({"city": "Paris " * 40}))
    r = complete(service(render("", [long_call])), chat(tools=[tool(WEATHER)], tool_choice="required", max_tokens=40))
    choice = r.choices[0]
    (call,) = choice.message.tool_calls
    assert json.loads(call.function.arguments)["city"].startswith("Paris")
    assert choice.finish_reason == "length"
    closed = render("", [ParsedCall(call.function.name, call.function.arguments)])
    count = len(load_tokenizer().encode(closed, add_special_tokens=False))
    assert count - 2 <= r.usage.completion_tokens <= 40  # the closing is counted (re-tokenizing may merge a token or two)


def test_the_guard_counts_the_closing():
    fmt, req = load_format(FMT), request("required", tools=(WEATHER,))
    count = lambda text: len(load_tokenizer().encode(text, add_special_tokens=False))  # noqa: E731
    guard = BudgetGuard(fmt, req, 40, count, shortest_reply(fmt, req, count))
    text = render("", [ParsedCall("get_weather", json.dumps({"city": "Paris " * 40}))])
    ids = load_tokenizer().encode(text, add_special_tokens=False)[:40]
    passed = guard.push(load_tokenizer().decode(ids), 40)
    closing, tokens = guard.finish("length", 40)
    assert closing and tokens == guard.safe_tokens + count(closing) and tokens <= 40, (passed, closing, tokens)


def test_budget_closing_off_drops_a_cut_call_and_asks_no_minimum():
    long_call = ParsedCall("get_weather", json.dumps({"city": "Paris " * 40}))
    svc = service(render("", [long_call]), budget_closing=False)
    r = complete(svc, chat(tools=[tool(WEATHER)], tool_choice="required", max_tokens=3))  # no 400 when off
    assert r.choices[0].message.tool_calls is None and r.choices[0].finish_reason == "length"
    r = complete(svc, chat(tools=[tool(WEATHER)], tool_choice="required", max_tokens=20))  # cut inside the arguments
    assert r.choices[0].message.tool_calls is None and r.choices[0].finish_reason == "length"


# -- stream = whole response --


@pytest.mark.parametrize("max_tokens", [40, 48, 400])
def test_the_stream_adds_up_to_the_whole_response(max_tokens):
    text = render("Let me look.", [ParsedCall("get_weather", json.dumps({"city": "Paris " * 20})),
                                   ParsedCall("add", '{"a": 1, "b": 2}')])
    req = dict(tools=[tool(WEATHER), tool(ADD)], max_tokens=max_tokens)
    whole = complete(service(text), chat(**req)).choices[0]
    streamed = stream(service(text), chat(**req, stream=True))
    assert streamed["content"] == whole.message.content
    assert streamed["calls"] == [(c.function.name, c.function.arguments) for c in whole.message.tool_calls or []]
    assert streamed["finish_reason"] == whole.finish_reason


def test_a_looping_array_closed_early_streams_as_the_whole_response():
    """max_identical_items closes the reply in the same step that passes its last text on:
    one delta then carries two argument fragments of the call."""
    looping = ParsedCall("search", json.dumps({"query": "lamp", "filters": {"tags": ["red"] * 30}}))
    req = dict(tools=[tool(SEARCH)], tool_choice="required", max_tokens=400, max_identical_items=2)
    whole = complete(service(render("", [looping])), chat(**req)).choices[0]
    (call,) = whole.message.tool_calls
    assert json.loads(call.function.arguments)["filters"]["tags"] == ["red", "red"]
    streamed = stream(service(render("", [looping])), chat(**req, stream=True))
    assert streamed["calls"] == [(call.function.name, call.function.arguments)]
    assert streamed["finish_reason"] == whole.finish_reason
