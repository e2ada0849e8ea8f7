"""Throughput and latency of a running (or freshly started) server.

Measures, with streaming requests through the official `openai` client:
- output tokens/s of one request at a time (concurrency 1),
- aggregate output tokens/s with 16 requests in flight (concurrency 16),
- time to first token (first content or tool-call fragment),
- the share of responses whose tool calls parse and validate,
for two workloads: plain chat (no tools) and the drone tool set with tool_choice=required.

    .venv/bin/python benchmarks/throughput.py                   # starts the bundled model on a free port
    .venv/bin/python benchmarks/throughput.py --base-url http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import openai

from functionary.validation import CallJudge

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_process import running_server  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DRONE = REPO.parent / "shared" / "data" / "drone_copilot.json"
CHAT_PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a bicycle stays upright.",
    "Describe the water cycle to a child.",
    "Give me tips for learning a new language.",
    "What makes a good cup of coffee?",
    "Tell me about the history of paper.",
    "How do bees communicate?",
    "Describe a walk through a forest in autumn.",
]


def _valid_calls(calls: dict[int, dict], tools: list[dict], cut: bool) -> bool:
    """The server's own call judge: every call names a tool and its arguments validate.
    When the answer was cut by max_tokens (finish_reason "length"), a last call with
    unfinished arguments is set aside, as with any OpenAI-compatible server."""
    verdict = CallJudge.from_tools(tools).reply([(calls[i]["name"], calls[i]["arguments"]) for i in sorted(calls)])
    return verdict.valid_but_cut if cut else verdict.valid


async def one_request(client, model: str, messages, tools, max_tokens: int) -> dict:
    extra = {"tools": tools, "tool_choice": "required"} if tools else {}
    started = time.perf_counter()
    first = None
    tokens = 0
    calls: dict[int, dict] = {}
    finish = None
    stream = await client.chat.completions.create(
        model=model, messages=messages, max_tokens=max_tokens, temperature=0, stream=True,
        stream_options={"include_usage": True}, **extra,
    )
    async for chunk in stream:
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            delta = choice.delta
            if first is None and (delta.content or delta.tool_calls):
                first = time.perf_counter() - started
            for tc in delta.tool_calls or []:
                entry = calls.setdefault(tc.index, {"name": "", "arguments": ""})
                entry["name"] += tc.function.name or ""
                entry["arguments"] += tc.function.arguments or ""
    elapsed = time.perf_counter() - started
    return {"tokens": tokens, "seconds": elapsed, "ttft": first or elapsed,
            "valid": _valid_calls(calls, tools, finish == "length") if tools else None}


async def run_level(client, model, workload, concurrency: int, requests: int, max_tokens: int) -> dict:
    prompts, tools = workload
    gate = asyncio.Semaphore(concurrency)

    async def gated(i):
        async with gate:
            return await one_request(client, model, prompts[i % len(prompts)], tools, max_tokens)

    started = time.perf_counter()
    results = await asyncio.gather(*[gated(i) for i in range(requests)])
    wall = time.perf_counter() - started
    tokens = sum(r["tokens"] for r in results)
    valid = [r["valid"] for r in results if r["valid"] is not None]
    return {
        "concurrency": concurrency,
        "requests": requests,
        "output_tokens": tokens,
        "tokens_per_s": tokens / wall,
        "ttft_p50_s": statistics.median(r["ttft"] for r in results),
        "ttft_max_s": max(r["ttft"] for r in results),
        "valid_share": (sum(valid) / len(valid)) if valid else None,
    }


def workloads() -> dict:
    chat = [[{"role": "user", "content": p}] for p in CHAT_PROMPTS]
    data = json.loads(DRONE.read_text())
    drone = [[{"role": "system", "content": data["system_prompt"]}, {"role": "user", "content": c["prompt"]}]
             for c in data["cases"]]
    return {"chat": (chat, None), "drone-required": (drone, data["tools"])}


async def bench(base_url: str, api_key: str, levels: list[int], max_tokens: int, requests_per_level: int) -> list[dict]:
    client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=600)
    model = (await client.models.list()).data[0].id
    rows = []
    for name, workload in workloads().items():
        await run_level(client, model, workload, 1, 2, max_tokens)  # warm-up (prefix cache, grammar cache)
        for level in levels:
            row = await run_level(client, model, workload, level, max(level, requests_per_level), max_tokens)
            row["workload"] = name
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def print_table(rows: list[dict]) -> None:
    print("\n| workload | concurrency | requests | output tok/s | TTFT p50 (s) | TTFT max (s) | valid calls |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        valid = "-" if r["valid_share"] is None else f"{100 * r['valid_share']:.0f}%"
        print(f"| {r['workload']} | {r['concurrency']} | {r['requests']} | {r['tokens_per_s']:.1f} | "
              f"{r['ttft_p50_s']:.2f} | {r['ttft_max_s']:.2f} | {valid} |")
    by = {(r["workload"], r["concurrency"]): r["tokens_per_s"] for r in rows}
    for w in {r["workload"] for r in rows}:
        if (w, 1) in by and (w, 16) in by:
            print(f"{w}: concurrency 16 / concurrency 1 = {by[(w, 16)] / by[(w, 1)]:.2f}x")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base-url", default=None, help="benchmark this server instead of starting one")
    p.add_argument("--api-key", default="none")
    p.add_argument("--levels", default="1,16")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--requests", type=int, default=16, help="requests per concurrency level (at least the level)")
    p.add_argument("--server-args", default="", help="extra arguments for the started server")
    args = p.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    def run(url):
        return asyncio.run(bench(url, args.api_key, levels, args.max_tokens, args.requests))

    if args.base_url:
        rows = run(args.base_url)
    else:
        with running_server(args.server_args.split()) as url:
            rows = run(url)
    print_table(rows)


if __name__ == "__main__":
    main()
