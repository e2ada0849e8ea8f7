"""Throughput and latency of a running (or freshly started) server.

Measures, with streaming requests through the official `openai` client:
- output tokens/s of one request at a time (concurrency 1),
- aggregate output tokens/s with 16 requests in flight (concurrency 16),
- time to first token (first content or tool-call fragment),
- the share of responses whose tool calls parse and validate (every call judged, a reply
  closed at max_tokens included), and how many replies ended with finish_reason "length",
- failed requests (HTTP errors, timeouts, broken streams), counted in an errors column
  (the exit status is 1 if any request failed),
for two workloads: plain chat (no tools) and the drone tool set with tool_choice=required.
With --rounds N every workload and level runs N times: medians with per-round ranges, and
the concurrency ratio taken within each round.

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

import httpx
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


def _valid_calls(calls: dict[int, dict], tools: list[dict]) -> bool:
    """The server's own call judge: at least one call, every call names a tool and its
    arguments validate. Every call is judged, a reply cut by max_tokens included: with
    budget closing (the default) the server closes a cut call, so it must validate too."""
    return CallJudge.from_tools(tools).reply([(calls[i]["name"], calls[i]["arguments"]) for i in sorted(calls)]).valid


async def one_request(client, model: str, messages, tools, max_tokens: int) -> dict:
    """One streamed request; a failure (HTTP error, timeout, a broken stream) is returned
    as {"error": ...}, never raised, so it is counted instead of ending the benchmark."""
    extra = {"tools": tools, "tool_choice": "required"} if tools else {}
    started = time.perf_counter()
    first = None
    tokens = 0
    calls: dict[int, dict] = {}
    finish = None
    try:
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
    except (openai.OpenAIError, httpx.HTTPError) as exc:  # APIError, APIConnectionError, APITimeoutError, ...
        return {"error": f"{type(exc).__name__}: {exc}"[:300], "seconds": time.perf_counter() - started}
    elapsed = time.perf_counter() - started
    if finish is None:
        return {"error": "the stream ended without a finish_reason", "seconds": elapsed}
    return {"tokens": tokens, "seconds": elapsed, "ttft": first or elapsed, "finish": finish,
            "valid": _valid_calls(calls, tools) if tools else None}


def level_row(results: list[dict], concurrency: int, wall: float) -> dict:
    """One concurrency level of one round: failed requests in `errors`, the figures over
    the requests that completed (tokens/s over the level's wall time)."""
    done = [r for r in results if "error" not in r]
    tokens = sum(r["tokens"] for r in done)
    valid = [r["valid"] for r in done if r["valid"] is not None]
    return {
        "concurrency": concurrency,
        "requests": len(results),
        "errors": len(results) - len(done),
        "error_examples": [r["error"] for r in results if "error" in r][:2],
        "output_tokens": tokens,
        "tokens_per_s": tokens / wall if done else None,
        "ttft_p50_s": statistics.median(r["ttft"] for r in done) if done else None,
        "ttft_max_s": max(r["ttft"] for r in done) if done else None,
        "valid": sum(valid),
        "judged": len(valid),
        "finish_length": sum(r["finish"] == "length" for r in done),
    }


async def run_level(client, model, workload, concurrency: int, requests: int, max_tokens: int) -> dict:
    prompts, tools = workload
    gate = asyncio.Semaphore(concurrency)

    async def gated(i):
        async with gate:
            return await one_request(client, model, prompts[i % len(prompts)], tools, max_tokens)

    started = time.perf_counter()
    results = await asyncio.gather(*[gated(i) for i in range(requests)])
    return level_row(results, concurrency, time.perf_counter() - started)


def workloads() -> dict:
    chat = [[{"role": "user", "content": p}] for p in CHAT_PROMPTS]
    data = json.loads(DRONE.read_text())
    drone = [[{"role": "system", "content": data["system_prompt"]}, {"role": "user", "content": c["prompt"]}]
             for c in data["cases"]]
    return {"chat": (chat, None), "drone-required": (drone, data["tools"])}


async def bench(base_url: str, api_key: str, levels: list[int], max_tokens: int, requests_per_level: int,
                rounds: int) -> list[dict]:
    """Every (workload, level), `rounds` times over (a round runs every workload and level once)."""
    client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=600, max_retries=0)
    model = (await client.models.list()).data[0].id
    rows = []
    for name, workload in workloads().items():
        await run_level(client, model, workload, 1, 2, max_tokens)  # warm-up (prefix cache, grammar cache)
    for round_no in range(1, rounds + 1):
        for name, workload in workloads().items():
            for level in levels:
                row = await run_level(client, model, workload, level, max(level, requests_per_level), max_tokens)
                row.update(workload=name, round=round_no)
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def combine(rows: list[dict]) -> list[dict]:
    """One row per (workload, level): tok/s and TTFT as the median over the rounds with the
    per-round range, counts summed, and `rounds`; plus the concurrency ratio per round."""
    out = []
    keys = list(dict.fromkeys((r["workload"], r["concurrency"]) for r in rows))
    for workload, level in keys:
        group = [r for r in rows if (r["workload"], r["concurrency"]) == (workload, level)]
        row = {"workload": workload, "concurrency": level, "rounds": len(group)}
        for key in ("requests", "errors", "output_tokens", "valid", "judged", "finish_length"):
            row[key] = sum(g[key] for g in group)
        row["error_examples"] = [e for g in group for e in g["error_examples"]][:2]
        for key in ("tokens_per_s", "ttft_p50_s", "ttft_max_s"):
            values = [g[key] for g in group if g[key] is not None]
            row[key] = statistics.median(values) if values else None
            row[f"{key}_range"] = (min(values), max(values)) if values else None
        out.append(row)
    return out


def ratios(rows: list[dict], low: int, high: int) -> dict[str, list[float]]:
    """tok/s at `high` over tok/s at `low`, per workload, one ratio per round (same round only)."""
    by = {(r["workload"], r["round"], r["concurrency"]): r["tokens_per_s"] for r in rows}
    out: dict[str, list[float]] = {}
    for (workload, round_no, level), value in by.items():
        base = by.get((workload, round_no, low))
        if level == high and value is not None and base:
            out.setdefault(workload, []).append(value / base)
    return out


def _spread(row: dict, key: str, digits: int) -> str:
    value, span = row[key], row.get(f"{key}_range")
    if value is None:
        return "-"
    if row["rounds"] > 1 and span is not None:
        return f"{value:.{digits}f} ({span[0]:.{digits}f}-{span[1]:.{digits}f})"
    return f"{value:.{digits}f}"


def table(rows: list[dict], levels: list[int]) -> str:
    """The Markdown table (medians over rounds, per-round range in brackets) and the ratios."""
    lines = ["| workload | concurrency | rounds | requests | errors | output tok/s | TTFT p50 (s) | TTFT max (s) "
             "| valid calls | finish `length` |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in combine(rows):
        valid = "-" if not r["judged"] else f"{100 * r['valid'] / r['judged']:.0f}% ({r['valid']}/{r['judged']})"
        lines.append(f"| {r['workload']} | {r['concurrency']} | {r['rounds']} | {r['requests']} | {r['errors']} | "
                     f"{_spread(r, 'tokens_per_s', 1)} | {_spread(r, 'ttft_p50_s', 2)} | "
                     f"{_spread(r, 'ttft_max_s', 2)} | {valid} | {r['finish_length']} |")
    if len(levels) >= 2:
        low, high = min(levels), max(levels)
        for workload, values in ratios(rows, low, high).items():
            cell = f"{statistics.median(values):.2f}x"
            if len(values) > 1:
                cell += f" ({min(values):.2f}-{max(values):.2f}, {len(values)} rounds)"
            lines.append(f"\n{workload}: concurrency {high} / concurrency {low} = {cell}")
    examples = [e for r in combine(rows) for e in r["error_examples"]]
    if examples:
        lines.append("\nerrors, e.g.: " + "; ".join(examples[:3]))
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base-url", default=None, help="benchmark this server instead of starting one")
    p.add_argument("--api-key", default="none")
    p.add_argument("--levels", default="1,16")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--requests", type=int, default=16, help="requests per concurrency level (at least the level)")
    p.add_argument("--rounds", type=int, default=1, help="repeat every workload and level this many times")
    p.add_argument("--server-args", default="", help="extra arguments for the started server")
    args = p.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    def run(url):
        return asyncio.run(bench(url, args.api_key, levels, args.max_tokens, args.requests, args.rounds))

    if args.base_url:
        rows = run(args.base_url)
    else:
        with running_server(args.server_args.split()) as url:
            rows = run(url)
    print()
    print(table(rows, levels))
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
