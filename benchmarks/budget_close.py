"""Calls that always finish: the full grid, per engine, with budget closing on and off.

Over the nested-tools set (benchmarks/data/nested_tools.json: 54 prompts, arrays of
objects, enums, formats, patterns), every tool_choice mode x max_tokens {16, 32, 64, 128,
200}, temperature 0. For each response: a 400 naming the minimum, complete valid calls,
calls whose close the budget forced (finish_reason "length"), no call, or an invalid call
(judged by the server's own call judge). Then output tokens/s of the same requests with
closing on and off, one server after the other, in alternating order.

    .venv/bin/python benchmarks/budget_close.py --engines transformers,vllm --json out.json
    .venv/bin/python benchmarks/budget_close.py --budgets 200 --modes required   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path

import openai

from functionary.validation import CallJudge

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_process import running_server  # noqa: E402

DATA = json.loads((Path(__file__).resolve().parent / "data" / "nested_tools.json").read_text())
JUDGE = CallJudge.from_tools(DATA["tools"])


def outcome(response, mode: str) -> str:
    choice = response.choices[0]
    calls = choice.message.tool_calls or []
    if any(not JUDGE.valid(c.function.name, c.function.arguments) for c in calls):
        return "invalid call"
    if not calls:
        return "no call" if mode != "auto" else "text"
    return "forced close" if choice.finish_reason == "length" else "calls"


async def one(client, model: str, case: dict, mode: str, budget: int, extra: dict) -> dict:
    choice = {"type": "function", "function": {"name": case["tool"]}} if mode == "named" else mode
    started = time.perf_counter()
    try:
        r = await client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": case["prompt"]}], tools=DATA["tools"],
            tool_choice=choice, max_tokens=budget, temperature=0, extra_body=extra or None)
    except openai.BadRequestError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        return {"mode": mode, "budget": budget, "outcome": "400" if body.get("code") == "max_tokens_too_small"
                else f"error {body.get('code')}", "tokens": 0, "seconds": time.perf_counter() - started}
    return {"mode": mode, "budget": budget, "outcome": outcome(r, mode), "tokens": r.usage.completion_tokens,
            "over_budget": r.usage.completion_tokens > budget, "seconds": time.perf_counter() - started}


async def grid(url: str, modes, budgets, concurrency: int, extra: dict) -> tuple[list[dict], float]:
    client = openai.AsyncOpenAI(base_url=url, api_key="none", timeout=900, max_retries=0)
    model = (await client.models.list()).data[0].id
    gate = asyncio.Semaphore(concurrency)

    async def gated(*args):
        async with gate:
            return await one(client, model, *args, extra)

    await gated(DATA["cases"][0], "required", 64)  # warm the prefix and grammar caches
    started = time.perf_counter()
    rows = await asyncio.gather(*[gated(c, m, b) for m in modes for b in budgets for c in DATA["cases"]])
    return rows, time.perf_counter() - started


def summarize(rows: list[dict], wall: float) -> dict:
    out = {"requests": len(rows), "output_tokens": sum(r["tokens"] for r in rows), "wall_s": wall,
           "over_budget": sum(bool(r.get("over_budget")) for r in rows)}
    out["tokens_per_s"] = out["output_tokens"] / wall
    for key in sorted({(r["mode"], r["budget"]) for r in rows}):
        counts = Counter(r["outcome"] for r in rows if (r["mode"], r["budget"]) == key)
        out[f"{key[0]}@{key[1]}"] = dict(counts)
    answered = [r for r in rows if r["outcome"] in ("calls", "forced close")]
    out["forced_share"] = sum(r["outcome"] == "forced close" for r in answered) / max(len(answered), 1)
    return out


def print_table(engine: str, closing: str, s: dict) -> None:
    print(f"\n### {engine}, budget closing {closing}: {s['requests']} requests in {s['wall_s']:.1f} s "
          f"({s['requests'] / s['wall_s']:.2f} req/s, {s['tokens_per_s']:.1f} output tok/s counted in usage), "
          f"forced close {100 * s['forced_share']:.1f}% of answers with calls, over budget {s['over_budget']}")
    print("| mode @ max_tokens | 400 | calls | forced close | no call | text | invalid call |")
    print("|---|---|---|---|---|---|---|")
    for key, counts in s.items():
        if "@" in key:
            print(f"| {key} | " + " | ".join(str(counts.get(k, 0)) for k in
                                            ("400", "calls", "forced close", "no call", "text", "invalid call")) + " |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--engines", default="transformers")
    p.add_argument("--closing", default="on,off", help="budget closing settings to run, in this order")
    p.add_argument("--modes", default="required,named,auto")
    p.add_argument("--budgets", default="16,32,64,128,200")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--extra", default="{}", help="extra request fields, as JSON (e.g. a penalty)")
    p.add_argument("--server-args", default="", help="more server options, e.g. '--tool-format hermes'")
    p.add_argument("--json", default=None, help="write every row and summary here")
    args = p.parse_args()
    modes, budgets = args.modes.split(","), [int(b) for b in args.budgets.split(",")]
    results = {}
    for engine in args.engines.split(","):
        for closing in args.closing.split(","):
            with running_server(["--engine", engine, "--budget-closing", closing, *args.server_args.split()]) as url:
                rows, wall = asyncio.run(grid(url, modes, budgets, args.concurrency, json.loads(args.extra)))
            summary = summarize(rows, wall)
            results[f"{engine}/{closing}"] = {"summary": summary, "rows": rows}
            print_table(engine, closing, summary)
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=1))
        runs = [results.get(f"{engine}/{c}") for c in ("on", "off")]
        if all(runs):  # the same requests: wall time is the fair measure (usage counts differ by design)
            on, off = (r["summary"]["wall_s"] for r in runs)
            print(f"\n{engine}: requests/s with closing / without = {off / on:.2f}x (wall {on:.1f} s / {off:.1f} s)")


if __name__ == "__main__":
    main()
