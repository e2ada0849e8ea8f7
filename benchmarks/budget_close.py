"""Calls that always finish: the full grid, per engine, with budget closing on and off.

Over the nested-tools set (benchmarks/data/nested_tools.json: 54 prompts, arrays of
objects, enums, formats, patterns), every tool_choice mode x max_tokens {16, 32, 64, 128,
200}, temperature 0. For each response: a 400 naming the minimum, complete valid calls,
calls whose close the budget forced (finish_reason "length"), no call, or an invalid call
(judged by the server's own call judge). Then the throughput of the same requests with
closing on and off, one server after the other (in `--closing` order), side by side:

- engine tok/s: the tokens the engine generated per second of wall time: max_tokens for a
  reply that ran out of budget (`length`, closed or not), usage otherwise, 0 for a 400.
  The same work on both sides where both answer the same requests, so this is the fair
  measure of what closing costs;
- usage tok/s: `usage.completion_tokens` per second, as clients are billed: lower with
  closing on by design (tokens after the safe point are discarded, not counted).

Keep to budgets every mode can answer (>= 128 on the nested set) for an exact like for like:
below the shortest call, closing on answers 400 at once where closing off generates.

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
    finish = r.choices[0].finish_reason
    return {"mode": mode, "budget": budget, "outcome": outcome(r, mode), "tokens": r.usage.completion_tokens,
            "generated": budget if finish == "length" else r.usage.completion_tokens, "finish_reason": finish,
            "over_budget": r.usage.completion_tokens > budget, "seconds": time.perf_counter() - started}


async def grid(url: str, modes, budgets, concurrency: int, extra: dict) -> tuple[list[dict], float]:
    # closed before the event loop ends (else its connections are closed on a dead loop)
    async with openai.AsyncOpenAI(base_url=url, api_key="none", timeout=900, max_retries=0) as client:
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
           "generated_tokens": sum(r.get("generated", 0) for r in rows),
           "answered_400": sum(r["outcome"] == "400" for r in rows),
           "over_budget": sum(bool(r.get("over_budget")) for r in rows)}
    out["tokens_per_s"] = out["output_tokens"] / wall
    out["generated_per_s"] = out["generated_tokens"] / wall
    for key in sorted({(r["mode"], r["budget"]) for r in rows}):
        counts = Counter(r["outcome"] for r in rows if (r["mode"], r["budget"]) == key)
        out[f"{key[0]}@{key[1]}"] = dict(counts)
    answered = [r for r in rows if r["outcome"] in ("calls", "forced close")]
    out["forced_share"] = sum(r["outcome"] == "forced close" for r in answered) / max(len(answered), 1)
    return out


def print_table(engine: str, closing: str, s: dict) -> None:
    print(f"\n### {engine}, budget closing {closing}: {s['requests']} requests in {s['wall_s']:.1f} s "
          f"({s['requests'] / s['wall_s']:.2f} req/s, {s['generated_per_s']:.1f} tok/s generated, "
          f"{s['tokens_per_s']:.1f} tok/s counted in usage), "
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
    print_side_by_side(results, args.engines.split(","), args.closing.split(","))


def side_by_side(results: dict, engines: list[str], order: list[str]) -> list[str]:
    """Markdown rows: per engine, closing on and off, and on / off."""
    lines = ["| engine (run order) | requests | closing | wall s | 400s | engine tok/s | usage tok/s | req/s |",
             "|---|---|---|---|---|---|---|---|"]
    for engine in engines:
        runs = {c: results[f"{engine}/{c}"]["summary"] for c in ("on", "off") if f"{engine}/{c}" in results}
        label = f"{engine} ({' then '.join(order)})"
        for closing, s in runs.items():
            lines.append(f"| {label} | {s['requests']} | {closing} | {s['wall_s']:.1f} | {s['answered_400']} | "
                         f"{s['generated_per_s']:.1f} | {s['tokens_per_s']:.1f} | {s['requests'] / s['wall_s']:.2f} |")
        if len(runs) == 2:
            on, off = runs["on"], runs["off"]
            lines.append(f"| {label} | | **on / off** | {on['wall_s'] / off['wall_s']:.2f}x | | "
                         f"**{on['generated_per_s'] / off['generated_per_s']:.2f}x** | "
                         f"{on['tokens_per_s'] / off['tokens_per_s']:.2f}x | "
                         f"{(on['requests'] / on['wall_s']) / (off['requests'] / off['wall_s']):.2f}x |")
    return lines


def print_side_by_side(results: dict, engines: list[str], order: list[str]) -> None:
    if not any(f"{e}/on" in results and f"{e}/off" in results for e in engines):
        return
    print("\n### Throughput with and without budget closing (the same requests, one server after the other)\n")
    print("\n".join(side_by_side(results, engines, order)))


if __name__ == "__main__":
    main()
