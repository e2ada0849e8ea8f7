"""The arithmetic of benchmarks/throughput.py: its table goes into benchmarks/README.md, so
failed requests must be counted (not dropped or fatal) and rounds must combine right."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import openai

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import throughput  # noqa: E402

TOOLS = [{"type": "function", "function": {"name": "takeoff", "parameters": {
    "type": "object", "required": ["altitude"], "properties": {"altitude": {"type": "integer", "maximum": 120}}}}}]


def done(tokens=10, ttft=0.1, finish="stop", valid=None) -> dict:
    return {"tokens": tokens, "seconds": 1.0, "ttft": ttft, "finish": finish, "valid": valid}


def test_a_level_counts_errors_and_judges_only_completed_requests():
    results = [done(20, 0.1, "tool_calls", True), done(30, 0.3, "length", False), done(10, 0.2, "length", True),
               {"error": "APITimeoutError: timed out", "seconds": 600.0}]
    row = throughput.level_row(results, 4, wall=2.0)
    assert (row["requests"], row["errors"], row["output_tokens"], row["tokens_per_s"]) == (4, 1, 60, 30.0)
    assert (row["ttft_p50_s"], row["ttft_max_s"]) == (0.2, 0.3)
    assert (row["valid"], row["judged"], row["finish_length"]) == (2, 3, 2)
    assert row["error_examples"] == ["APITimeoutError: timed out"]


def test_a_level_where_everything_failed_has_no_speed():
    row = throughput.level_row([{"error": "x", "seconds": 1.0}], 1, wall=1.0)
    assert row["errors"] == 1 and row["tokens_per_s"] is None and row["ttft_p50_s"] is None


def _row(workload, level, round_no, tps, errors=0):
    return {"workload": workload, "concurrency": level, "round": round_no, "requests": 16, "errors": errors,
            "error_examples": ["e"] * errors, "output_tokens": 100, "tokens_per_s": tps, "ttft_p50_s": 0.5,
            "ttft_max_s": 1.0, "valid": 16 - errors, "judged": 16 - errors, "finish_length": 0}


def test_rounds_combine_into_medians_with_ranges_and_ratios_per_round():
    rows = [_row("chat", 1, 1, 20.0), _row("chat", 16, 1, 160.0, errors=1),
            _row("chat", 1, 2, 10.0), _row("chat", 16, 2, 120.0),
            _row("chat", 1, 3, 30.0), _row("chat", 16, 3, 150.0)]
    low, high = throughput.combine(rows)
    assert (low["rounds"], low["requests"], low["tokens_per_s"]) == (3, 48, 20.0)
    assert low["tokens_per_s_range"] == (10.0, 30.0)
    assert (high["errors"], high["valid"], high["judged"]) == (1, 47, 47)
    # ratios within each round (8x, 12x, 5x), not the ratio of the medians (150 / 20 = 7.5x)
    assert throughput.ratios(rows, 1, 16) == {"chat": [8.0, 12.0, 5.0]}
    text = throughput.table(rows, [1, 16])
    assert "| chat | 1 | 3 | 48 | 0 | 20.0 (10.0-30.0) |" in text
    assert "| chat | 16 | 3 | 48 | 1 | 150.0 (120.0-160.0) |" in text and "| 100% (47/47) | 0 |" in text
    assert "concurrency 16 / concurrency 1 = 8.00x (5.00-12.00, 3 rounds)" in text
    assert "errors, e.g.: e" in text


def test_one_round_prints_no_ranges():
    text = throughput.table([_row("chat", 1, 1, 20.0), _row("chat", 16, 1, 160.0)], [1, 16])
    assert "| chat | 1 | 1 | 16 | 0 | 20.0 | 0.50 | 1.00 | 100% (16/16) | 0 |" in text
    assert "= 8.00x\n" in text + "\n"


def test_a_failed_request_is_returned_not_raised():
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": {"message": "engine died", "type": "server_error"}})

    async def go():
        client = openai.AsyncOpenAI(base_url="http://bench.test/v1", api_key="k", max_retries=0,
                                    http_client=httpx.AsyncClient(transport=httpx.MockTransport(handle)))
        return await throughput.one_request(client, "m", [{"role": "user", "content": "hi"}], TOOLS, 8)

    out = asyncio.run(go())
    assert out["error"].startswith("InternalServerError") and "engine died" in out["error"]


def test_every_call_is_judged_even_when_the_reply_hit_max_tokens():
    calls = {0: {"name": "takeoff", "arguments": '{"altitude": 10}'}, 1: {"name": "takeoff", "arguments": '{"alti'}}
    assert throughput._valid_calls(calls, TOOLS) is False  # a cut call is invalid: closing should have closed it
    assert throughput._valid_calls({0: calls[0]}, TOOLS) is True
    assert throughput._valid_calls({}, TOOLS) is False
