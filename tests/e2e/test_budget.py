"""The token budget never breaks a call or a JSON answer, on both engines, with the bundled
model on the nested-tools set (arrays of objects, enums, formats, patterns, long strings:
the shapes the 135M model loops in).

Each prompt runs under one (tool_choice, max_tokens) pair, in turn, so that the 54 prompts
cover every mode x {16, 32, 64, 128, 200} at least three times; the full grid is
`benchmarks/budget_close.py`. Every response under required / named holds a complete valid
call, or is a 400 that names the minimum; every call is valid in auto; usage stays within
max_tokens; the streamed response equals the whole one. (Requests run 8 at a time for
speed; streams are compared one request at a time, as batching changes bf16 arithmetic
and so, at near ties, the greedy choice.)
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import openai
import pytest

from .support import check_arguments, collect_stream

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

DATA = json.loads((Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "nested_tools.json").read_text())
TOOLS = DATA["tools"]
MODES = ["required", "named", "auto"]
BUDGETS = [16, 32, 64, 128, 200]
GRID = [(case, MODES[i % 3], BUDGETS[(i // 3) % 5]) for i, case in enumerate(DATA["cases"])]
GUESTS = {"type": "object", "properties": {
    "event": {"type": "string"},
    "guests": {"type": "array", "minItems": 1, "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "vegetarian": {"type": "boolean"}}, "required": ["name", "vegetarian"]}}},
    "required": ["event", "guests"]}
CONCURRENCY = 8


def request_for(server, case: dict, mode: str, budget: int) -> dict:
    choice = {"type": "function", "function": {"name": case["tool"]}} if mode == "named" else mode
    return dict(model=server.model, messages=[{"role": "user", "content": case["prompt"]}], tools=TOOLS,
                tool_choice=choice, max_tokens=budget, temperature=0)


async def run_case(client, server, case: dict, mode: str, budget: int, compare_stream: bool = False) -> str:
    """Check one prompt under one mode and budget; returns what happened, for the summary."""
    kw = request_for(server, case, mode, budget)
    try:
        whole = await client.chat.completions.create(**kw)
    except openai.BadRequestError as exc:
        assert mode in ("required", "named"), exc
        assert exc.body["code"] == "max_tokens_too_small" and exc.body["param"] == "max_tokens", exc.body
        assert int(re.search(r"at least (\d+)", exc.body["message"]).group(1)) > budget
        return "400"
    choice = whole.choices[0]
    calls = choice.message.tool_calls or []
    assert whole.usage.completion_tokens <= budget, (whole.usage, budget)
    if mode in ("required", "named"):
        assert calls, f"{mode} at {budget}: no call ({choice.finish_reason}, {choice.message.content!r})"
        assert choice.message.content is None
    if mode == "named":
        assert [c.function.name for c in calls] == [case["tool"]]
    for c in calls:
        check_arguments(TOOLS, c.function.name, c.function.arguments)
    if not compare_stream:
        return "forced" if choice.finish_reason == "length" and calls else choice.finish_reason
    stream = await client.chat.completions.create(**kw, stream=True)
    streamed = collect_stream([chunk async for chunk in stream])
    assert [(c["name"], c["arguments"]) for c in streamed["calls"]] == \
        [(c.function.name, c.function.arguments) for c in calls]
    assert streamed["content"] == (choice.message.content or None)
    assert streamed["finish_reason"] == choice.finish_reason
    return "forced" if choice.finish_reason == "length" and calls else choice.finish_reason


async def run_all(server, cases) -> list[str]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(case, mode, budget):
        async with gate:
            return await run_case(client, server, case, mode, budget)

    async with server.async_client() as client:
        return await asyncio.gather(*[one(*c) for c in cases])


@pytest.mark.parametrize("mode", MODES)
async def test_the_budget_never_breaks_a_call(server, mode):
    cases = [c for c in GRID if c[1] == mode]
    outcomes = await run_all(server, cases)
    assert len(outcomes) == 18
    if mode in ("required", "named"):
        assert outcomes.count("400") < len(outcomes)  # most budgets fit a call
    # Streamed and whole, one request at a time, where the budget is tight.
    case = next(c for c, _, b in cases if b == 64)
    async with server.async_client() as client:
        await run_case(client, server, case, mode, 64, compare_stream=True)


async def test_the_budget_never_breaks_a_json_answer(server):
    def request(case, budget):
        return dict(model=server.model, max_tokens=budget, temperature=0,
                    messages=[{"role": "user", "content": "List the people in this request as JSON: " + case["prompt"]}],
                    response_format={"type": "json_schema", "json_schema": {"name": "guests", "schema": GUESTS}})

    async def one(case, budget):
        try:
            r = await client.chat.completions.create(**request(case, budget))
        except openai.BadRequestError as exc:
            assert exc.body["code"] == "max_tokens_too_small" and budget < 32, exc.body
            return "400"
        value = json.loads(r.choices[0].message.content)
        assert set(value) == {"event", "guests"} and value["guests"], value
        assert r.usage.completion_tokens <= budget
        return r.choices[0].finish_reason

    cases = [(case, BUDGETS[i % 5]) for i, case in enumerate(DATA["cases"][:10])]
    async with server.async_client() as client:
        outcomes = await asyncio.gather(*[one(c, b) for c, b in cases])
        assert outcomes.count("400") <= 2
        kw = request(DATA["cases"][0], 64)  # streamed and whole, one request at a time
        whole = (await client.chat.completions.create(**kw)).choices[0].message.content
        stream = await client.chat.completions.create(**kw, stream=True)
        assert collect_stream([chunk async for chunk in stream])["content"] == whole


def _longest_run(value) -> int:
    """The most identical items in a row in any array inside `value`."""
    best = 0
    if isinstance(value, dict):
        return max((_longest_run(v) for v in value.values()), default=0)
    if isinstance(value, list):
        run = 0
        for i, item in enumerate(value):
            run = run + 1 if i and item == value[i - 1] else 1
            best = max(best, run, _longest_run(item))
    return best


async def test_max_identical_items_closes_a_looping_array(server):
    """Opt-in: an array stops at that many identical items in a row (the reply closed right
    there), instead of repeating until max_tokens."""
    async with server.async_client() as client:
        async def one(case):
            r = await client.chat.completions.create(**request_for(server, case, "named", 200),
                                                     extra_body={"max_identical_items": 2})
            (call,) = r.choices[0].message.tool_calls
            check_arguments(TOOLS, call.function.name, call.function.arguments)
            assert _longest_run(json.loads(call.function.arguments)) <= 2
            assert r.usage.completion_tokens <= 200
            return r.choices[0].finish_reason

        outcomes = await asyncio.gather(*[one(c) for c in DATA["cases"][::6]])
        assert "tool_calls" in outcomes
        with pytest.raises(openai.BadRequestError):
            await client.chat.completions.create(**request_for(server, DATA["cases"][0], "named", 200),
                                                 extra_body={"max_identical_items": 0})
