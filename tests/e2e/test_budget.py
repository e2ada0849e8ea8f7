"""The token budget never breaks a call or a JSON answer, on both engines, with the bundled
model on the nested-tools set (arrays of objects, enums, formats, patterns, long strings:
the shapes the 135M model loops in).

Each prompt runs under one (tool_choice, max_tokens) pair, in turn, so that the 54 prompts
cover every mode x {16, 32, 64, 128, 200} at least three times; FUNCTIONARY_BUDGET_GRID=full
runs every prompt under every pair (810 requests per engine, ~15 min on 2 cores: not in CI).
Every response under required / named holds a complete valid call, or is a 400 that names
the minimum; every call is valid in auto; usage stays within max_tokens; the streamed
response equals the whole one; a close the budget forced says `length`. `tool_choice: "none"` and `parallel_tool_calls: false` get a few rows too.
(Requests run 8 at a time for speed; streams, and the runs that tell a forced close, go
one request at a time, as batching changes bf16 arithmetic and so, at near ties, the
greedy choice.)
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections import Counter
from pathlib import Path

import jsonschema
import openai
import pytest

from .support import WEATHER, check_arguments, collect_stream

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

DATA = json.loads((Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "nested_tools.json").read_text())
TOOLS = DATA["tools"]
MODES = ["required", "named", "auto"]
BUDGETS = [16, 32, 64, 128, 200]
FULL_GRID = os.environ.get("FUNCTIONARY_BUDGET_GRID") == "full"
GRID = ([(case, mode, budget) for case in DATA["cases"] for mode in MODES for budget in BUDGETS] if FULL_GRID
        else [(case, MODES[i % 3], BUDGETS[(i // 3) % 5]) for i, case in enumerate(DATA["cases"])])
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
        assert choice.finish_reason in ("length", "tool_calls"), choice.finish_reason
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
    assert len(outcomes) == (len(DATA["cases"]) * len(BUDGETS) if FULL_GRID else 18)
    print(f"{server.engine} {mode}: {dict(Counter(outcomes))}")  # shown with -rP: 400 / forced / tool_calls / stop
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
        jsonschema.validate(value, GUESTS, cls=jsonschema.Draft202012Validator)
        assert r.choices[0].finish_reason in ("length", "stop")
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


async def test_none_and_single_call_modes_under_the_budget(server):
    """`tool_choice: "none"`: text only, cut where the budget ends. `parallel_tool_calls:
    false` with `required`: exactly one complete valid call, or the 400."""
    async def one(case, mode, budget):
        kw = request_for(server, case, "required" if mode == "single" else "none", budget)
        if mode == "single":
            kw["parallel_tool_calls"] = False
        try:
            r = await client.chat.completions.create(**kw)
        except openai.BadRequestError as exc:
            assert mode == "single" and exc.body["code"] == "max_tokens_too_small", exc.body
            return "400"
        choice = r.choices[0]
        assert r.usage.completion_tokens <= budget
        if mode == "none":
            assert not choice.message.tool_calls and choice.finish_reason in ("stop", "length")
            assert choice.finish_reason == "stop" or r.usage.completion_tokens == budget  # text is cut, not closed
        else:
            (call,) = choice.message.tool_calls
            check_arguments(TOOLS, call.function.name, call.function.arguments)
            assert choice.message.content is None and choice.finish_reason in ("length", "tool_calls")
        return choice.finish_reason

    plan = [("single", 32), ("single", 64), ("single", 96), ("none", 16), ("none", 48), ("none", 64)]
    cases = [(case, mode, budget) for case, (mode, budget) in zip(DATA["cases"][1::9], plan)]
    async with server.async_client() as client:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def gated(*args):
            async with gate:
                return await one(*args)

        outcomes = await asyncio.gather(*[gated(*c) for c in cases])
    assert len(outcomes) == 6 and outcomes.count("400") < 3


# A call and a JSON answer short enough that the bundled model ends them by itself.
SHORT_CALL = dict(messages=[{"role": "user", "content": "What's the weather in Paris?"}], tools=[WEATHER],
                  tool_choice={"type": "function", "function": {"name": "get_weather"}})
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
        "additionalProperties": False}
SHORT_ANSWER = dict(messages=[{"role": "user", "content": "Name the capital of France, as JSON."}],
                    response_format={"type": "json_schema", "json_schema": {"name": "city", "schema": CITY}})


@pytest.mark.parametrize("kind", ["call", "json"])
async def test_a_close_the_budget_forced_says_length(server, kind):
    """Run alone (so the greedy tokens repeat), the reply ends by itself in `used` tokens
    (`tool_calls` / `stop`). With max_tokens below `used` the model's own reply cannot fit,
    so the close is forced: `length`, and still a complete valid call or JSON answer."""
    body = SHORT_CALL if kind == "call" else SHORT_ANSWER
    async with server.async_client() as client:
        free = await client.chat.completions.create(model=server.model, temperature=0, max_tokens=200, **body)
        used = free.usage.completion_tokens
        assert free.choices[0].finish_reason == ("tool_calls" if kind == "call" else "stop") and used < 200, free
        budgets = sorted({used - 1, used - 3, max(1, used // 2)}, reverse=True)
        seen = []
        for budget in budgets:
            try:
                r = await client.chat.completions.create(model=server.model, temperature=0, max_tokens=budget, **body)
            except openai.BadRequestError as exc:
                assert exc.body["code"] == "max_tokens_too_small", exc.body
                continue
            choice = r.choices[0]
            assert choice.finish_reason == "length", (budget, used, choice)
            assert r.usage.completion_tokens <= budget
            if kind == "call":
                (call,) = choice.message.tool_calls
                check_arguments([WEATHER], call.function.name, call.function.arguments)
            else:
                jsonschema.validate(json.loads(choice.message.content), CITY)
            seen.append(budget)
    assert seen, f"every budget below {used} was refused: the reply was its own minimum"


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
