"""Run an evaluation set against any OpenAI-compatible endpoint and score every case.

A failed request (HTTP error, timeout, a reply that is not a chat completion) is scored
as a miss with its error recorded, never raised: one bad case must not lose a run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import datetime, timezone
from typing import Optional

from functionary.eval.scoring import aggregate, score_case


def request_for(case: dict, model: str, *, tool_choice: Optional[str], max_tokens: int,
                temperature: float) -> dict:
    """The chat request for a case (`tool_choice` from the command line wins over the case's)."""
    body = {"model": model, "messages": case["messages"], "max_tokens": max_tokens, "temperature": temperature}
    if case.get("tools"):
        body["tools"] = case["tools"]
        choice = tool_choice or case.get("tool_choice")
        if choice:
            body["tool_choice"] = choice
    return body


def message_dict(message) -> dict:
    """The assistant message as plain data (the scorer's and the results file's shape)."""
    calls = [{"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
             for c in message.tool_calls or []]
    return {"content": message.content, "tool_calls": calls}


async def run(cases: list[dict], client, model: str, *, tool_choice: Optional[str] = None, concurrency: int = 4,
              max_tokens: int = 256, temperature: float = 0.0, progress: bool = True, meta: Optional[dict] = None
              ) -> dict:
    """Results: {"meta", "metrics", "cases": [...]} (the JSON that `report` reads)."""
    from tqdm import tqdm

    gate = asyncio.Semaphore(concurrency)  # first come, first served: cases go out in order
    bar = tqdm(total=len(cases), desc="cases", disable=not progress)

    async def one(case: dict):
        body = request_for(case, model, tool_choice=tool_choice, max_tokens=max_tokens, temperature=temperature)
        message, error, usage = None, None, None
        async with gate:
            started = time.perf_counter()
            try:
                response = await client.chat.completions.create(**body)
                message = message_dict(response.choices[0].message)
                usage = response.usage
            except Exception as exc:  # noqa: BLE001 - any failure is a scored miss, with its reason
                error = f"{type(exc).__name__}: {exc}"[:500]
            latency = time.perf_counter() - started
        bar.update(1)
        score = score_case(case, message, error=error)
        return score, {**dataclasses.asdict(score), "latency": latency,
                       "prompt_tokens": getattr(usage, "prompt_tokens", None),
                       "completion_tokens": getattr(usage, "completion_tokens", None), "message": message}

    started = time.perf_counter()
    scored = await asyncio.gather(*[one(c) for c in cases])
    bar.close()
    wall = time.perf_counter() - started
    rows = [row for _, row in scored]
    # Figures per case, None where unknown: a failed request's time is not a latency.
    answered = [r["error"] is None for r in rows]
    metrics = aggregate([score for score, _ in scored],
                        [r["latency"] if ok else None for r, ok in zip(rows, answered)],
                        [r["prompt_tokens"] if ok else None for r, ok in zip(rows, answered)],
                        [r["completion_tokens"] if ok else None for r, ok in zip(rows, answered)])
    info = {"model": model, "tool_choice": tool_choice or "per case", "max_tokens": max_tokens,
            "temperature": temperature, "concurrency": concurrency, "cases": len(cases), "wall_s": round(wall, 2),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), **(meta or {})}
    return {"meta": info, "metrics": metrics, "cases": rows}

