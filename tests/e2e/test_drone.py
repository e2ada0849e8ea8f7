"""The drone co-pilot set (16 tools, 20 prompts) with tool_choice 'required', and concurrent streams."""

from __future__ import annotations

import asyncio
import time

import jsonschema
import pytest

from .support import check_arguments, check_calls_only, load_drone

pytestmark = pytest.mark.e2e

DRONE = load_drone()


def drone_messages(prompt: str) -> list[dict]:
    return [{"role": "system", "content": DRONE["system_prompt"]}, {"role": "user", "content": prompt}]


def calls_only_problem(tools: list[dict], choice) -> str | None:
    """Why the choice is not a valid calls-only reply (check_calls_only's complaint), or None."""
    try:
        check_calls_only(tools, choice)  # >= 1 call, all to listed tools, arguments valid, no text
    except (AssertionError, jsonschema.ValidationError) as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def test_drone_set_required_always_calls_a_listed_tool_validly(client, server):
    tools, cases = DRONE["tools"], DRONE["cases"]
    assert DRONE["tool_choice"] == "required" and len(cases) == 20 and len(tools) == 16
    problems, picks, rows = [], 0, []
    started = time.monotonic()
    for case in cases:
        r = client.chat.completions.create(model=server.model, messages=drone_messages(case["prompt"]), tools=tools,
                                           tool_choice="required", temperature=0, max_tokens=80)
        choice = r.choices[0]
        problem = calls_only_problem(tools, choice)
        problems.append(problem)
        calls = choice.message.tool_calls or []
        first = calls[0].function if calls else None
        picked = problem is None and first.name == case["expected_tool"]
        picks += picked
        shown = f"{first.name}({first.arguments.strip()})" if first else repr(choice.message.content)
        rows.append(f"  {'BAD ' if problem else 'ok  ' if picked else 'MISS'} {case['prompt'][:40]:40} "
                    f"-> {shown} [{len(calls)} call(s), {choice.finish_reason}]" + (f" {problem}" if problem else ""))
    valid = sum(p is None for p in problems)
    print(f"\ndrone set: {valid}/{len(cases)} responses with valid calls, {picks}/{len(cases)} pick the expected tool "
          f"first ({time.monotonic() - started:.0f}s)\n" + "\n".join(rows))
    assert valid == len(cases), "\n".join(f"{c['prompt'][:60]!r}: {p}" for c, p in zip(cases, problems) if p)


@pytest.mark.anyio
async def test_concurrent_streams_all_complete_with_valid_calls(server, async_client):
    """8 streaming requests at once share the engine's batch; each stream stays whole and valid."""
    tools, cases = DRONE["tools"], DRONE["cases"][:8]

    async def one(prompt: str) -> dict:
        stream = await async_client.chat.completions.create(
            model=server.model, messages=drone_messages(prompt), tools=tools, tool_choice="required",
            parallel_tool_calls=False, temperature=0, max_tokens=80, stream=True)
        calls: dict[int, dict] = {}
        finish, content = None, ""
        async for chunk in stream:
            for choice in chunk.choices:
                content += choice.delta.content or ""
                for tc in choice.delta.tool_calls or []:
                    if tc.id is not None:
                        calls[tc.index] = {"id": tc.id, "name": tc.function.name, "arguments": ""}
                    calls[tc.index]["arguments"] += tc.function.arguments or ""
                finish = choice.finish_reason or finish
        return {"prompt": prompt, "calls": list(calls.values()), "finish": finish, "content": content}

    started = time.monotonic()
    results = await asyncio.gather(*(one(c["prompt"]) for c in cases))
    elapsed = time.monotonic() - started
    for res in results:
        assert res["finish"] == "tool_calls", res
        assert res["content"] == "", res
        assert len(res["calls"]) == 1, res
        call = res["calls"][0]
        check_arguments(tools, call["name"], call["arguments"])
    ids = [res["calls"][0]["id"] for res in results]
    assert len(set(ids)) == len(ids)
    print(f"\n8 concurrent streams in {elapsed:.0f}s: " + ", ".join(r["calls"][0]["name"] for r in results))
