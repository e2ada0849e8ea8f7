"""Our server on the vLLM engine against vLLM's own OpenAI server: same model, same requests.

Starts, one after the other (never two at once), each server on a free port:
  ours:        server_vllm.py --engine vllm --model MODEL [engine args]
  vllm:        python -m vllm.entrypoints.openai.api_server --model MODEL
               --enable-auto-tool-choice --tool-call-parser hermes [engine args]
  vllm-tools:  the same, with a Hermes-style chat template that shows the tools to the model
warms it up, streams each workload at each concurrency level through the official `openai`
client, and stops it. Workloads: the drone co-pilot requests (tools marked "strict") with
tool_choice `required` or `auto`, and `chat` (no tools: identical prompts on every server,
so it measures serving overhead alone). Per server and level it reports output tokens/s,
time to first token (first content or tool-call fragment), the share of responses whose
tool calls all parse and validate against the tool's schema (under `auto`, of the responses
that made calls), and those valid responses per second. With --rounds, servers take turns
(order reversed every other round); figures are medians over the rounds with their per-round
range, and ours/theirs ratios are taken within each round (median and range).
Failed requests (HTTP errors, timeouts, unparseable or cut-off streams) are counted in an
errors column, and count as invalid where calls are required; a round in which a server
fails is marked in the tables and listed at the end. Either makes the exit status 1.

    .venv/bin/python benchmarks/vs_vllm.py
    .venv/bin/python benchmarks/vs_vllm.py --levels 1,4 --requests 8 --workloads required,auto,chat
    .venv/bin/python benchmarks/vs_vllm.py --servers vllm --requests 4 --levels 1,4 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import openai

from functionary.validation import CallJudge

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_process import REPO, free_port, launched

DRONE = REPO.parent / "shared" / "data" / "drone_copilot.json"
# vllm: its stock chat template (SmolLM2's ignores `tools`, so the model never sees them);
# vllm-tools: the same server with a Hermes-style template that lists the tools.
SERVERS = ("ours", "vllm", "vllm-tools")
CHAT_PROMPTS = [
    "Explain how a quadcopter's flight controller keeps it level in gusty wind.",
    "Write a short story about a delivery drone that gets lost in fog.",
    "List the checks a drone pilot should make before take-off, and say why each matters.",
    "Describe how GPS, a barometer and an IMU work together to hold a drone's position.",
]
# Without a GPU, vLLM's CPU backend needs eager mode and an explicit KV cache size
# (its default sizing trips over NUMA memory checks on this kind of machine).
CPU_ENGINE_ARGS = "--enforce-eager --kv-cache-memory-bytes 1073741824"
WARMUP_REQUESTS = 2
# For --vllm-tools-template: a Hermes-style system prompt that lists the tools, for ChatML models
# whose own template ignores `tools` (the bundled SmolLM2 does; vLLM then never shows them).
HERMES_CHATML_TEMPLATE = """\
{%- if messages and messages[0]['role'] == 'system' %}{% set system = messages[0]['content'] %}\
{%- else %}{% set system = 'You are a helpful assistant.' %}{% endif -%}
<|im_start|>system
{{ system }}
{%- if tools %}

You can call functions. Their signatures are listed as JSON between <tools> and </tools>:
<tools>
{%- for t in tools %}
{{ (t['function'] if t['function'] is defined else t) | tojson }}
{%- endfor %}
</tools>
To call one, answer with its name and arguments as a JSON object between <tool_call> and </tool_call>:
<tool_call>
{"name": "function_name", "arguments": {"argument": "value"}}
</tool_call>
{%- endif %}<|im_end|>
{% for m in messages %}{% if not (loop.first and m['role'] == 'system') -%}
<|im_start|>{{ m['role'] }}
{{ m['content'] or '' }}<|im_end|>
{% endif %}{% endfor -%}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""


# ---------------------------------------------------------------- workload


def chat_workload() -> dict:
    """No tools: both servers render the same ChatML prompt, so this isolates serving overhead."""
    cases = [([{"role": "user", "content": p}], None) for p in CHAT_PROMPTS]
    return {"name": "chat", "cases": cases, "tools": None, "tool_choice": None, "judge": None}


def workload(name: str) -> dict:
    return chat_workload() if name == "chat" else drone_workload(name)


def drone_workload(tool_choice: str) -> dict:
    """The drone co-pilot prompts with every tool marked strict; identical bodies for both servers."""
    data = json.loads(DRONE.read_text())
    tools = copy.deepcopy(data["tools"])
    for t in tools:
        t["function"]["strict"] = True
    cases = [([{"role": "system", "content": data["system_prompt"]}, {"role": "user", "content": c["prompt"]}],
              c["expected_tool"]) for c in data["cases"]]
    return {"name": f"drone-{tool_choice}", "cases": cases, "tools": tools, "tool_choice": tool_choice,
            "judge": CallJudge.from_tools(tools)}


def judge_response(calls: list[dict], workload: dict) -> dict:
    """The server's own call judge on what came back. valid: at least one call and every
    call parses and validates; valid_but_cut: the same after setting aside a last call whose
    arguments are unfinished (what max_tokens cuts). None where there is nothing to judge:
    no tools, or a text answer where `auto` allows one."""
    if workload["judge"] is None or (not calls and workload["tool_choice"] == "auto"):
        return {"valid": None, "valid_but_cut": None}
    verdict = workload["judge"].reply([(c["name"], c["arguments"]) for c in calls])
    return {"valid": verdict.valid, "valid_but_cut": verdict.valid_but_cut}


# ---------------------------------------------------------------- measuring


class IncompleteResponse(ValueError):
    """A stream that ended without saying how it finished."""


# What a failed request raises: HTTP and server errors, timeouts (the client's and the
# transport's), and responses the client cannot make sense of (bad JSON in the stream, chunks
# without their fields, a stream cut off before its finish_reason).
REQUEST_ERRORS = (openai.APIError, httpx.HTTPError, TimeoutError, ValueError, TypeError, AttributeError)


def error_kind(exc: BaseException) -> str:
    """timeout, http (an HTTP status, a refused or dropped connection, an error event) or unparseable."""
    if isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException, TimeoutError)):
        return "timeout"
    if isinstance(exc, openai.APIResponseValidationError):
        return "unparseable"
    if isinstance(exc, (openai.APIError, httpx.HTTPError)):
        return "http"
    return "unparseable"


def failed_request(exc: BaseException, seconds: float, workload: dict) -> dict:
    """A request that got no usable response. It is judged like a response without calls, so
    where calls are required it counts as invalid, not as one request fewer."""
    return {"error": f"{type(exc).__name__}: {exc}"[:300], "error_kind": error_kind(exc), "seconds": seconds,
            **judge_response([], workload)}


async def one_request(client, model: str, workload: dict, case: tuple, max_tokens: int) -> dict:
    """Stream one request; collect timing, usage, the streamed calls and any plain text."""
    messages, expected = case
    started = time.perf_counter()
    first = None
    usage = None
    finish = None
    text = ""
    calls: dict[int, dict] = {}
    try:
        tools = {"tools": workload["tools"], "tool_choice": workload["tool_choice"]} if workload["tools"] else {}
        stream = await client.chat.completions.create(
            model=model, messages=messages, **tools, max_tokens=max_tokens, temperature=0, stream=True, stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                finish = choice.finish_reason or finish
                delta = choice.delta
                if first is None and (delta.content or delta.tool_calls):
                    first = time.perf_counter() - started
                text += delta.content or ""
                for tc in delta.tool_calls or []:
                    entry = calls.setdefault(tc.index, {"name": "", "arguments": ""})
                    if tc.function is not None:
                        entry["name"] += tc.function.name or ""
                        entry["arguments"] += tc.function.arguments or ""
        if finish is None:
            raise IncompleteResponse("the stream ended without a finish_reason")
    except REQUEST_ERRORS as exc:
        return failed_request(exc, time.perf_counter() - started, workload)
    ordered = [calls[i] for i in sorted(calls)]
    return {"tokens": usage and usage.completion_tokens, "prompt_tokens": usage and usage.prompt_tokens,
            "seconds": time.perf_counter() - started, "ttft": first, "finish": finish, "calls": ordered,
            "text": text, "right_tool": bool(ordered) and ordered[0]["name"] == expected,
            **judge_response(ordered, workload)}


async def run_level(client, model: str, workload: dict, concurrency: int, requests: int, max_tokens: int) -> dict:
    gate = asyncio.Semaphore(concurrency)
    cases = workload["cases"]

    async def gated(i: int) -> dict:
        async with gate:
            return await one_request(client, model, workload, cases[i % len(cases)], max_tokens)

    started = time.perf_counter()
    results = await asyncio.gather(*[gated(i) for i in range(requests)])
    return summarize(results, time.perf_counter() - started, concurrency)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _mean(values: list[float]) -> float | None:
    return statistics.mean(values) if values else None


def summarize(results: list[dict], wall: float, concurrency: int) -> dict:
    """One level's figures. Every request sent is in `requests`; the failed ones are counted in
    `errors` (by kind in `error_kinds`), count as invalid where calls are required, and add
    nothing to the speeds (tokens/s, requests/s are of the completed requests)."""
    done = [r for r in results if "error" not in r]
    failed = [r for r in results if "error" in r]
    ttfts = sorted(r["ttft"] for r in done if r["ttft"] is not None)
    tokens = sum(r["tokens"] or 0 for r in done)
    valid = sum(r.get("valid") is True for r in results)
    bad = [r for r in done if r["valid"] is False]
    return {
        "concurrency": concurrency,
        "requests": len(results),
        "completed": len(done),
        "wall_s": wall,
        "output_tokens": tokens,
        "tokens_per_s": tokens / wall,
        "requests_per_s": len(done) / wall,
        # Goodput: responses whose calls all parse and validate, per second (tool workloads only).
        "valid_per_s": valid / wall,
        "ttft_p50_s": _pct(ttfts, 50),
        "ttft_p90_s": _pct(ttfts, 90),
        "valid": valid,
        "valid_but_cut": sum(r.get("valid_but_cut") is True for r in results),
        "judged": sum(r.get("valid") is not None for r in results),  # failed requests included where calls are due
        "finish_length": sum(r["finish"] == "length" for r in done),
        "no_calls": sum(not r["calls"] for r in done),
        "right_tool": sum(r["right_tool"] for r in done),  # first call names the case's expected tool
        "prompt_tokens_mean": _mean([r["prompt_tokens"] for r in done if r["prompt_tokens"] is not None]),
        "text_with_tool_call_tag": sum("<tool_call>" in r["text"] for r in done),  # tags the parser left in content
        "calls_per_response": _mean([len(r["calls"]) for r in done]),
        "usage_missing": sum(r["tokens"] is None for r in done),  # their tokens are not in tokens/s
        "errors": len(failed),
        "error_kinds": dict(Counter(r["error_kind"] for r in failed)),
        "error_examples": [r["error"] for r in failed[:2]],
        "invalid_examples": [{"finish": r["finish"], "calls": r["calls"], "text": r["text"][:300]} for r in bad[:3]],
    }


async def bench_server(base_url: str, workloads: list[dict], levels: list[int], requests: int,
                       max_tokens: int, verbose: bool, timeout: float = 900) -> list[dict]:
    client = openai.AsyncOpenAI(base_url=base_url, api_key="none", timeout=timeout, max_retries=0)
    model = (await client.models.list()).data[0].id
    rows = []
    for workload in workloads:
        # Warm-up: first-request costs (grammar compile, prefix cache, lazy init) stay out of the numbers.
        warm = await run_level(client, model, workload, 1, WARMUP_REQUESTS, max_tokens)
        if warm["errors"]:
            print(f"  {workload['name']} warm-up: {warm['errors']}/{warm['requests']} failed: "
                  f"{warm['error_examples'][0]}", flush=True)
        for level in levels:
            row = await run_level(client, model, workload, level, max(level, requests), max_tokens)
            row["workload"] = workload["name"]
            rows.append(row)
            print("  " + _brief(row), flush=True)
            if row["errors"] and not verbose:
                print("    error:", row["error_examples"][0], flush=True)
            if verbose:
                for ex in row["invalid_examples"]:
                    print("    invalid:", json.dumps(ex)[:600], flush=True)
                for ex in row["error_examples"]:
                    print("    error:", ex, flush=True)
    await client.close()
    return rows


def _brief(row: dict) -> str:
    return (f"{row['workload']} c={row['concurrency']}: {row['tokens_per_s']:.1f} tok/s, "
            f"TTFT p50 {_secs(row['ttft_p50_s'])}s, valid {row['valid']}/{row['requests']}, "
            f"length {row['finish_length']}, no call {row['no_calls']}, "
            f"<tool_call> left in text {row['text_with_tool_call_tag']}, errors {_errors(row)}")


# ---------------------------------------------------------------- servers


def server_argv(which: str, model: str, port: int, engine_args: list[str],
                vllm_python: str = sys.executable, vllm_only: list[str] = ()) -> list[str]:
    common = ["--model", model, "--host", "127.0.0.1", "--port", str(port)]
    if which == "ours":
        return [sys.executable, "server_vllm.py", "--engine", "vllm", *common, *engine_args]
    if which == "vllm-tools":
        vllm_only = [*vllm_only, "--chat-template", str(tools_template())]
    return [vllm_python, "-m", "vllm.entrypoints.openai.api_server", *common,
            "--enable-auto-tool-choice", "--tool-call-parser", "hermes", *engine_args, *vllm_only]


def tools_template() -> Path:
    path = Path(tempfile.gettempdir()) / "vs_vllm_hermes_chatml.jinja"
    path.write_text(HERMES_CHATML_TEMPLATE)
    return path


def child_env() -> dict:
    # Idle OpenMP threads otherwise spin and steal the shared cores from the HTTP side and the client.
    return {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}


def measure(which: str, args, workloads: list[dict]) -> list[dict]:
    port = free_port()
    argv = server_argv(which, args.model, port, shlex.split(args.engine_args), args.vllm_python,
                        shlex.split(args.vllm_args))
    log_path = Path(args.log_dir) / f"vs_vllm-{which}.log" if args.log_dir else None
    if log_path:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"[{which}] starting: {shlex.join(argv)}", flush=True)
    started = time.perf_counter()
    with launched(argv, port, timeout=args.startup_timeout, env=child_env(), log_path=log_path) as url:
        ready = time.perf_counter() - started
        print(f"[{which}] ready in {ready:.0f}s", flush=True)
        rows = asyncio.run(bench_server(url, workloads, args.levels, args.requests, args.max_tokens, args.verbose,
                                        args.request_timeout))
    for row in rows:
        row.update(server=which, startup_s=ready)
    return rows


# ---------------------------------------------------------------- report


# Figures that are medians over rounds, each with its per-round range; and the ratios printed.
MEDIANS = ("tokens_per_s", "requests_per_s", "valid_per_s", "ttft_p50_s", "ttft_p90_s")
SUMS = ("requests", "completed", "output_tokens", "valid", "valid_but_cut", "judged", "finish_length", "no_calls",
        "right_tool", "text_with_tool_call_tag", "usage_missing", "errors")
RATIOS = (("tokens_per_s", "output tok/s"), ("requests_per_s", "req/s"), ("valid_per_s", "valid req/s"),
          ("ttft_p50_s", "TTFT p50"))


def combine_rounds(runs: list[dict], failures: list[dict] = ()) -> list[dict]:
    """One row per (server, workload, level): median speed and latency over the rounds with
    their per-round range, counts summed, `rounds` measured and `rounds_failed` (rounds in which
    the server failed, from `failures`: {"round", "server", "error"})."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["server"], r["workload"], r["concurrency"]), []).append(r)
    rows = []
    for (server, _, _), group in groups.items():
        row = {k: v for k, v in group[0].items() if k != "round"}
        for key in MEDIANS:
            values = [g[key] for g in group if g[key] is not None]
            row[key] = statistics.median(values) if values else None
            row[f"{key}_range"] = (min(values), max(values)) if values else None
        for key in SUMS:
            row[key] = sum(g[key] for g in group)
        for key in ("prompt_tokens_mean", "calls_per_response"):
            row[key] = _mean([g[key] for g in group if g[key] is not None])
        row["error_kinds"] = dict(sum((Counter(g["error_kinds"]) for g in group), Counter()))
        row["error_examples"] = [e for g in group for e in g["error_examples"]][:3]
        row["invalid_examples"] = [e for g in group for e in g["invalid_examples"]][:3]
        row["rounds"] = len(group)
        row["rounds_failed"] = len({f["round"] for f in failures if f["server"] == server})
        rows.append(row)
    return rows


def _secs(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _spread(row: dict, key: str, digits: int) -> str:
    """The median, and with several rounds its per-round range: `102.1 (92.1-104.2)`."""
    value, span = row[key], row.get(f"{key}_range")
    if value is None:
        return "-"
    if row["rounds"] > 1 and span is not None:
        return f"{value:.{digits}f} ({span[0]:.{digits}f}-{span[1]:.{digits}f})"
    return f"{value:.{digits}f}"


def _errors(row: dict) -> str:
    """`0`, or the count and its kinds: `3 (2 http, 1 timeout)`."""
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(row["error_kinds"].items()))
    return f"{row['errors']} ({kinds})" if row["errors"] else "0"


def _rounds(row: dict) -> str:
    return f"{row['rounds']} ({row['rounds_failed']} failed)" if row.get("rounds_failed") else str(row["rounds"])


def print_table(rows: list[dict]) -> None:
    # Output tok/s rewards long answers (prefill is shared by more tokens), so show the lengths,
    # requests/s and valid responses/s beside it. With several rounds: medians and per-round ranges.
    print("\n| server | workload | conc. | rounds | requests | errors | prompt tok | output tok/req | "
          "output tok/s (range) | req/s (range) | valid req/s (range) | TTFT p50 (s) (range) | TTFT p90 (s) (range) | "
          "valid | valid, cut call excused | finish=length | no call | right tool |")
    print("|---" * 18 + "|")
    for r in rows:
        n = r["requests"]
        prompt = "-" if r["prompt_tokens_mean"] is None else f"{r['prompt_tokens_mean']:.0f}"
        per_request = f"{r['output_tokens'] / r['completed']:.0f}" if r["completed"] else "-"
        goodput = _spread(r, "valid_per_s", 2) if r["judged"] else "-"
        print(f"| {r['server']} | {r['workload']} | {r['concurrency']} | {_rounds(r)} | {n} | {_errors(r)} | "
              f"{prompt} | {per_request} | {_spread(r, 'tokens_per_s', 1)} | {_spread(r, 'requests_per_s', 2)} | "
              f"{goodput} | {_spread(r, 'ttft_p50_s', 2)} | {_spread(r, 'ttft_p90_s', 2)} | {_share(r, 'valid')} | "
              f"{_share(r, 'valid_but_cut')} | {r['finish_length']} | {r['no_calls']} | {r['right_tool']}/{n} |")


def _share(row: dict, key: str) -> str:
    return f"{row[key]}/{row['judged']}" if row["judged"] else "-"


def paired_runs(runs: list[dict]) -> dict[tuple, list[tuple[dict, dict]]]:
    """(ours, theirs) from the same round, keyed (other server, workload, level), in round order."""
    by = {(r["round"], r["server"], r["workload"], r["concurrency"]): r for r in runs}
    out: dict[tuple, list[tuple[dict, dict]]] = {}
    for (round_no, server, workload, level), ours in sorted(by.items(), key=lambda kv: kv[0][0]):
        if server != "ours":
            continue
        for other in SERVERS[1:]:
            theirs = by.get((round_no, other, workload, level))
            if theirs is not None:
                out.setdefault((other, workload, level), []).append((ours, theirs))
    return out


def _ratio(ours: dict, theirs: dict, key: str) -> float | None:
    """ours/theirs for one figure; None where it means nothing (a missing figure, 0/0, or
    valid req/s where a side judged nothing); inf where only theirs is 0."""
    if key == "valid_per_s" and not (ours["judged"] and theirs["judged"]):
        return None
    a, b = ours[key], theirs[key]
    if a is None or b is None or (a == 0 and b == 0):
        return None
    return a / b if b else float("inf")


def paired_ratios(runs: list[dict], key: str = "tokens_per_s") -> dict[tuple, list[float]]:
    """ours/other for one figure within each round, keyed (other, workload, level). Both servers
    of a round ran minutes apart, so a ratio per round cancels the slow drift of a shared machine.
    Rounds where the ratio means nothing (see _ratio) are left out of the list."""
    out: dict[tuple, list[float]] = {}
    for pair_key, pairs in paired_runs(runs).items():
        ratios = [_ratio(ours, theirs, key) for ours, theirs in pairs]
        out[pair_key] = [x for x in ratios if x is not None]
    return out


def _ratio_cell(ratios: list[float], rounds: int) -> str:
    """Median of the per-round ratios and their range: `0.97x (0.94-1.09)`; `(2 of 3 rounds)`
    when some rounds gave no ratio."""
    if not ratios:
        return "-"
    cell = f"{statistics.median(ratios):.2f}x"
    if len(ratios) > 1:
        cell += f" ({min(ratios):.2f}-{max(ratios):.2f})"
    if len(ratios) < rounds:
        cell += f" ({len(ratios)} of {rounds} rounds)"
    return cell


def print_ratios(runs: list[dict], rounds: int | None = None) -> None:
    """ours/other per round for every figure: median over the rounds and per-round range.
    `rounds`: the rounds planned, so rounds lost to a failure show as `2 of 3`."""
    pairs = paired_runs(runs)
    if not pairs:
        return
    print("\nRatios ours/other, per round (ours and theirs from the same round): median (range). "
          "TTFT: below 1 is ours faster.")
    print("\n| ratio | workload | conc. | rounds | errors (ours / theirs) | "
          + " | ".join(label for _, label in RATIOS) + " |")
    print("|---" * (5 + len(RATIOS)) + "|")
    for (other, workload, level), pair in pairs.items():
        paired = len(pair) if rounds is None or len(pair) == rounds else f"{len(pair)} of {rounds}"
        errors = f"{sum(o['errors'] for o, _ in pair)} / {sum(t['errors'] for _, t in pair)}"
        cells = [_ratio_cell([x for x in (_ratio(o, t, key) for o, t in pair) if x is not None], len(pair))
                 for key, _ in RATIOS]
        print(f"| ours/{other} | {workload} | {level} | {paired} | {errors} | " + " | ".join(cells) + " |")


def print_failures(failures: list[dict], rows: list[dict]) -> None:
    """Rounds that were lost, and requests that failed: never left for the reader to notice."""
    for f in failures:  # the first line (the whole error, a server log's tail, came when it failed)
        print(f"\nFAILED: round {f['round']}, server {f['server']}: {f['error'].splitlines()[0]}")
    failed = sum(r["errors"] for r in rows)
    if failed:
        print(f"\nFAILED: {failed} of {sum(r['requests'] for r in rows)} requests (the errors column)")
    missing = sum(r["usage_missing"] for r in rows)
    if missing:
        print(f"\nWARNING: {missing} responses came without usage; their tokens are not in tokens/s")


# ---------------------------------------------------------------- main


def default_engine_args() -> str:
    try:
        import torch
        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    return "" if has_cuda else CPU_ENGINE_ARGS


def default_model() -> str:
    from functionary.model_store import resolve_model

    return resolve_model(None)[0]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model folder or hub id (default: the bundled model)")
    p.add_argument("--requests", type=int, default=32, help="requests per level (at least the level)")
    p.add_argument("--levels", default="1,16", help="comma-separated concurrency levels")
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--workloads", default="required,chat",
                   help="comma-separated: required, auto (drone tools with that tool_choice), chat (no tools)")
    p.add_argument("--rounds", type=int, default=1, help="measure every server this many times, in turns")
    p.add_argument("--servers", default=",".join(SERVERS), help=f"comma-separated subset of {', '.join(SERVERS)}")
    p.add_argument("--engine-args", default=None,
                   help="vLLM engine args for both servers, written --engine-args=\"...\" "
                        f"(default without CUDA: {CPU_ENGINE_ARGS!r})")
    p.add_argument("--vllm-python", default=sys.executable, help="interpreter for vLLM's own server")
    p.add_argument("--vllm-args", default="", help="extra arguments for vLLM's own server only (--vllm-args=\"...\")")
    p.add_argument("--startup-timeout", type=float, default=900)
    p.add_argument("--request-timeout", type=float, default=900,
                   help="seconds before a request counts as failed (timeout)")
    p.add_argument("--log-dir", default=None, help="keep the server logs here (default: temporary files)")
    p.add_argument("--json", default=None, metavar="OUT", help="also write the rows to this file")
    p.add_argument("-v", "--verbose", action="store_true", help="print examples of invalid responses and of all errors")
    args = p.parse_args()
    args.levels = [int(x) for x in args.levels.split(",")]
    args.model = args.model or default_model()
    if args.engine_args is None:
        args.engine_args = default_engine_args()
    return args


# What makes a server's round fail (it did not start, died, or stopped answering at all).
ROUND_ERRORS = (RuntimeError, TimeoutError, OSError, openai.APIError, httpx.HTTPError)


def main() -> int:
    """Exit status 1 when a round failed or any request failed (the tables are printed anyway)."""
    args = parse_args()
    workloads = [workload(name.strip()) for name in args.workloads.split(",")]
    runs, failures = [], []
    # Servers take turns, round after round, in reversed order every other round: drift on a
    # shared machine then hits all of them, and no server always goes first.
    servers = [w.strip() for w in args.servers.split(",")]
    for round_no in range(1, args.rounds + 1):
        for which in servers if round_no % 2 else servers[::-1]:
            try:
                runs += [{**row, "round": round_no} for row in measure(which, args, workloads)]
            except ROUND_ERRORS as exc:  # one server failing should not lose the others' numbers
                failures.append({"round": round_no, "server": which, "error": f"{type(exc).__name__}: {exc}"[:2000]})
                print(f"[{which}] round {round_no} failed: {exc}", flush=True)
    rows = combine_rounds(runs, failures)
    print_table(rows)
    print_ratios(runs, args.rounds)
    print_failures(failures, rows)
    if args.json:
        meta = {k: getattr(args, k) for k in ("model", "requests", "levels", "max_tokens", "engine_args",
                                              "vllm_args", "servers", "workloads", "rounds", "request_timeout")}
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows, "runs": runs, "failures": failures},
                                              indent=1))
    return 1 if failures or any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
