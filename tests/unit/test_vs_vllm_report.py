"""The judging and arithmetic of benchmarks/vs_vllm.py: its figures go into the README,
so how a response counts as valid and how rounds combine must be right."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import httpx
import openai
import pytest

from functionary.validation import CallJudge

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import vs_vllm  # noqa: E402

TOOLS = [{"type": "function", "function": {
    "name": "takeoff", "parameters": {"type": "object", "required": ["altitude"],
                                      "properties": {"altitude": {"type": "integer", "maximum": 120}}}}}]


def workload(tool_choice: str) -> dict:
    return {"name": f"t-{tool_choice}", "tools": TOOLS, "tool_choice": tool_choice,
            "judge": CallJudge.from_tools(TOOLS)}


def call(args: str, name: str = "takeoff") -> dict:
    return {"name": name, "arguments": args}


@pytest.mark.parametrize("calls, valid, excused", [
    ([call('{"altitude": 10}')], True, True),
    ([call('{"altitude": 1000}')], False, False),  # breaks the schema's maximum
    ([call('{"altitude": 10}', name="land")], False, False),  # not a listed tool
    ([], False, False),  # required, yet no call
    ([call('{"altitude": 10}'), call('{"alti')], False, True),  # the last call cut by max_tokens
    ([call('{"alti'), call('{"altitude": 10}')], False, False),  # only the last may be excused
])
def test_required_responses_are_judged_by_every_call(calls, valid, excused):
    assert vs_vllm.judge_response(calls, workload("required")) == {"valid": valid, "valid_but_cut": excused}


def test_auto_text_answer_is_not_judged_but_its_calls_are():
    assert vs_vllm.judge_response([], workload("auto")) == {"valid": None, "valid_but_cut": None}
    assert vs_vllm.judge_response([call('{"altitude": "high"}')], workload("auto"))["valid"] is False


def test_chat_is_never_judged():
    chat = {"name": "chat", "tools": None, "tool_choice": None, "judge": None}
    assert vs_vllm.judge_response([], chat)["valid"] is None


# ---------------------------------------------------------------- failed requests

REQUEST = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")


@pytest.mark.parametrize("exc, kind", [
    (openai.APITimeoutError(request=REQUEST), "timeout"),
    (httpx.ReadTimeout("read", request=REQUEST), "timeout"),
    (openai.APIConnectionError(request=REQUEST), "http"),
    (openai.InternalServerError("boom", response=httpx.Response(500, request=REQUEST), body=None), "http"),
    (httpx.RemoteProtocolError("peer closed connection"), "http"),
    (json.JSONDecodeError("Expecting value", "data: {", 6), "unparseable"),
    (vs_vllm.IncompleteResponse("no finish_reason"), "unparseable"),
    (AttributeError("'ChatCompletionChunk' object has no attribute 'choices'"), "unparseable"),
])
def test_failed_requests_are_sorted_by_kind(exc, kind):
    assert isinstance(exc, vs_vllm.REQUEST_ERRORS)
    assert vs_vllm.error_kind(exc) == kind


def chunk(content=None, finish=None, usage=None, tool_calls=None):
    choice = SimpleNamespace(finish_reason=finish, delta=SimpleNamespace(content=content, tool_calls=tool_calls))
    return SimpleNamespace(usage=usage, choices=[] if usage else [choice])


class FakeClient:
    """Plays back one stream per request: a list of chunks, where an exception is raised there."""

    def __init__(self, stream):
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self._create))
        self.stream = stream

    async def _create(self, **_):
        if isinstance(self.stream, Exception):
            raise self.stream

        async def play():
            for item in self.stream:
                if isinstance(item, Exception):
                    raise item
                yield item
        return play()


def request(stream, tool_choice="required") -> dict:
    return asyncio.run(vs_vllm.one_request(FakeClient(stream), "m", workload(tool_choice),
                                           ([{"role": "user", "content": "hi"}], "takeoff"), 16))


USAGE = SimpleNamespace(completion_tokens=3, prompt_tokens=9)


def test_a_complete_stream_is_no_error():
    tc = SimpleNamespace(index=0, function=SimpleNamespace(name="takeoff", arguments='{"altitude": 10}'))
    r = request([chunk(tool_calls=[tc]), chunk(finish="tool_calls"), chunk(usage=USAGE)])
    assert "error" not in r and r["valid"] is True and r["tokens"] == 3


@pytest.mark.parametrize("stream, kind", [
    (openai.APITimeoutError(request=REQUEST), "timeout"),  # before the first byte
    ([chunk(content="<tool"), httpx.RemoteProtocolError("peer closed connection")], "http"),  # dropped mid-stream
    ([chunk(content="<tool"), json.JSONDecodeError("Expecting value", "{", 1)], "unparseable"),
    ([chunk(content="<tool"), chunk(usage=USAGE)], "unparseable"),  # ended without a finish_reason
])
def test_a_failed_request_is_an_error_and_invalid_where_calls_are_required(stream, kind):
    r = request(stream)
    assert r["error_kind"] == kind and r["valid"] is False
    assert request(stream, "auto")["valid"] is None  # under auto nothing says a call was due


def ok(tokens=10, valid=True, ttft=0.5) -> dict:
    return {"tokens": tokens, "prompt_tokens": 50, "seconds": 1.0, "ttft": ttft, "finish": "tool_calls",
            "calls": [call('{"altitude": 10}')], "text": "", "right_tool": True, "valid": valid,
            "valid_but_cut": valid}


def test_summarize_counts_failed_requests_instead_of_dropping_them():
    failed = [vs_vllm.failed_request(exc, 2.0, workload("required")) for exc in
              (openai.APITimeoutError(request=REQUEST), openai.APIConnectionError(request=REQUEST))]
    row = vs_vllm.summarize([ok(), ok(), ok(valid=False), *failed], wall=2.0, concurrency=4)
    assert row["requests"] == 5 and row["completed"] == 3 and row["errors"] == 2
    assert row["error_kinds"] == {"timeout": 1, "http": 1} and len(row["error_examples"]) == 2
    assert (row["valid"], row["judged"]) == (2, 5)  # a failed request is no valid answer
    assert row["right_tool"] == 3  # of the 5 requests
    assert row["requests_per_s"] == pytest.approx(1.5) and row["valid_per_s"] == pytest.approx(1.0)
    assert row["output_tokens"] == 30 and row["tokens_per_s"] == pytest.approx(15.0)


def test_summarize_when_every_request_failed():
    row = vs_vllm.summarize([vs_vllm.failed_request(ValueError("bad"), 1.0, workload("auto"))], 1.0, 1)
    assert (row["completed"], row["errors"], row["judged"], row["tokens_per_s"]) == (0, 1, 0, 0.0)
    assert row["ttft_p50_s"] is None and row["error_kinds"] == {"unparseable": 1}


# ---------------------------------------------------------------- rounds


def run(round_no: int, server: str, tok_s: float, errors: int = 0, workload_name: str = "chat",
        judged: int = 0, valid: int = 0, ttft: float = 1.0) -> dict:
    return {"round": round_no, "server": server, "workload": workload_name, "concurrency": 16,
            "tokens_per_s": tok_s, "requests_per_s": tok_s / 128, "valid_per_s": valid / 10, "ttft_p50_s": ttft,
            "ttft_p90_s": ttft * 1.2, "requests": 32, "completed": 32 - errors, "output_tokens": 4096,
            "valid": valid, "valid_but_cut": valid, "judged": judged, "finish_length": 32 - errors,
            "no_calls": 32 - errors, "right_tool": 0, "text_with_tool_call_tag": 0, "usage_missing": 0,
            "prompt_tokens_mean": 48.0, "calls_per_response": 0.0, "errors": errors,
            "error_kinds": {"timeout": errors} if errors else {}, "error_examples": ["APITimeoutError"] * errors,
            "invalid_examples": []}


def drifting_runs():
    # The machine slows down from round to round; within each round ours is 2% behind.
    return [r for n, speed in enumerate([250.0, 200.0, 150.0], 1)
            for r in (run(n, "ours", speed * 0.98, ttft=speed / 100), run(n, "vllm", speed, ttft=speed / 200))]


def test_rounds_combine_to_medians_and_paired_ratios_cancel_drift():
    runs = drifting_runs()
    rows = {r["server"]: r for r in vs_vllm.combine_rounds(runs)}
    assert rows["ours"]["tokens_per_s"] == pytest.approx(196.0)
    assert rows["vllm"]["tokens_per_s_range"] == (150.0, 250.0)
    assert rows["vllm"]["requests"] == 96 and rows["vllm"]["rounds"] == 3 and rows["vllm"]["rounds_failed"] == 0
    ratios = vs_vllm.paired_ratios(runs)[("vllm", "chat", 16)]
    assert ratios == pytest.approx([0.98, 0.98, 0.98])


def test_every_median_has_its_per_round_range():
    row = vs_vllm.combine_rounds(drifting_runs())[0]
    assert row["server"] == "ours"
    assert row["requests_per_s_range"] == pytest.approx((150 * 0.98 / 128, 250 * 0.98 / 128))
    assert row["ttft_p50_s_range"] == pytest.approx((1.5, 2.5))
    assert row["ttft_p90_s_range"] == pytest.approx((1.8, 3.0))
    assert row["valid_per_s_range"] == (0.0, 0.0)


def test_errors_and_their_kinds_add_up_over_rounds():
    runs = [run(1, "ours", 100.0, errors=2), run(2, "ours", 100.0), run(3, "ours", 100.0, errors=1)]
    row = vs_vllm.combine_rounds(runs)[0]
    assert (row["requests"], row["completed"], row["errors"]) == (96, 93, 3)
    assert row["error_kinds"] == {"timeout": 3} and vs_vllm._errors(row) == "3 (3 timeout)"


def test_ratios_for_every_figure_and_their_edge_cases():
    runs = [run(1, "ours", 200.0, workload_name="drone-required", judged=32, valid=32, ttft=1.0),
            run(1, "vllm", 100.0, workload_name="drone-required", judged=32, valid=0, ttft=2.0),
            run(2, "ours", 150.0, workload_name="drone-required", judged=32, valid=16, ttft=1.0),
            run(2, "vllm", 100.0, workload_name="drone-required", judged=32, valid=8, ttft=4.0)]
    key = ("vllm", "drone-required", 16)
    assert vs_vllm.paired_ratios(runs, "tokens_per_s")[key] == pytest.approx([2.0, 1.5])
    assert vs_vllm.paired_ratios(runs, "requests_per_s")[key] == pytest.approx([2.0, 1.5])
    assert vs_vllm.paired_ratios(runs, "valid_per_s")[key] == [float("inf"), 2.0]  # theirs had no valid answer
    assert vs_vllm.paired_ratios(runs, "ttft_p50_s")[key] == pytest.approx([0.5, 0.25])
    chat = drifting_runs()
    assert vs_vllm.paired_ratios(chat, "valid_per_s")[("vllm", "chat", 16)] == []  # nothing judged: no ratio


def test_a_failed_round_is_marked_and_pairs_only_whole_rounds(capsys):
    runs = [r for r in drifting_runs() if not (r["round"] == 2 and r["server"] == "vllm")]
    failures = [{"round": 2, "server": "vllm", "error": "RuntimeError: server exited"}]
    rows = {r["server"]: r for r in vs_vllm.combine_rounds(runs, failures)}
    assert (rows["vllm"]["rounds"], rows["vllm"]["rounds_failed"]) == (2, 1)
    assert (rows["ours"]["rounds"], rows["ours"]["rounds_failed"]) == (3, 0)
    assert vs_vllm.paired_ratios(runs)[("vllm", "chat", 16)] == pytest.approx([0.98, 0.98])  # rounds 1 and 3

    vs_vllm.print_table(list(rows.values()))
    vs_vllm.print_ratios(runs, rounds=3)
    vs_vllm.print_failures(failures, list(rows.values()))
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line.startswith("| vllm | chat")]
    assert table and "| 2 (1 failed) |" in table[0]
    ratio_line = next(line for line in out.splitlines() if line.startswith("| ours/vllm | chat | 16 |"))
    assert "| 2 of 3 |" in ratio_line
    assert "FAILED: round 2, server vllm: RuntimeError: server exited" in out


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def test_table_shows_rounds_errors_and_ranges(capsys):
    runs = drifting_runs()
    runs[0] = run(1, "ours", 245.0, errors=2, ttft=2.5)
    vs_vllm.print_table(vs_vllm.combine_rounds(runs))
    lines = capsys.readouterr().out.strip().splitlines()
    header, ours = cells(lines[0]), dict(zip(cells(lines[0]), cells(lines[2])))
    assert len(lines[1].split("|")) - 2 == len(header)  # the separator row fits the header
    assert ours["rounds"] == "3" and ours["requests"] == "96" and ours["errors"] == "2 (2 timeout)"
    assert ours["output tok/s (range)"] == "196.0 (147.0-245.0)"
    assert ours["req/s (range)"] == "1.53 (1.15-1.91)"
    assert ours["TTFT p50 (s) (range)"] == "2.00 (1.50-2.50)"
    assert ours["valid req/s (range)"] == "-"  # nothing judged on chat
    assert ours["output tok/req"] == f"{3 * 4096 / 94:.0f}"  # per completed request


def test_ratio_table_gives_every_ratio_with_its_range(capsys):
    vs_vllm.print_ratios(drifting_runs(), rounds=3)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    row = dict(zip(cells(lines[0]), cells(lines[2])))
    assert row["rounds"] == "3" and row["errors (ours / theirs)"] == "0 / 0"
    assert row["output tok/s"] == "0.98x (0.98-0.98)" and row["req/s"] == "0.98x (0.98-0.98)"
    assert row["TTFT p50"] == "2.00x (2.00-2.00)"
    assert row["valid req/s"] == "-"


def test_ratio_cell_says_when_rounds_gave_no_ratio():
    assert vs_vllm._ratio_cell([1.0, 1.5], 3) == "1.25x (1.00-1.50) (2 of 3 rounds)"
    assert vs_vllm._ratio_cell([0.9], 1) == "0.90x"
    assert vs_vllm._ratio_cell([], 2) == "-"


def test_main_reports_a_failed_round_and_exits_non_zero(monkeypatch, capsys, tmp_path):
    calls = []  # round 1: ours, vllm; round 2, reversed: vllm (fails), ours

    def measure(which, args, workloads):
        calls.append(which)
        if len(calls) == 3:
            raise RuntimeError("server exited")
        return [{k: v for k, v in run(0, which, 100.0).items() if k != "round"}]

    monkeypatch.setattr(vs_vllm, "measure", measure)
    out_json = tmp_path / "out.json"
    monkeypatch.setattr(sys, "argv", ["vs_vllm.py", "--model", "m", "--engine-args=", "--servers", "ours,vllm",
                                      "--workloads", "chat", "--rounds", "2", "--json", str(out_json)])
    assert vs_vllm.main() == 1
    assert calls == ["ours", "vllm", "vllm", "ours"]
    out = capsys.readouterr().out
    assert "FAILED: round 2, server vllm: RuntimeError: server exited" in out
    saved = json.loads(out_json.read_text())
    assert saved["failures"] == [{"round": 2, "server": "vllm", "error": "RuntimeError: server exited"}]
    assert {r["server"]: r["rounds_failed"] for r in saved["rows"]} == {"ours": 0, "vllm": 1}


def test_main_exits_zero_when_nothing_failed(monkeypatch, capsys):
    monkeypatch.setattr(vs_vllm, "measure", lambda which, args, workloads: [
        {k: v for k, v in run(0, which, 100.0).items() if k != "round"}])
    monkeypatch.setattr(sys, "argv", ["vs_vllm.py", "--model", "m", "--engine-args=", "--servers", "ours,vllm",
                                      "--workloads", "chat"])
    assert vs_vllm.main() == 0
    assert "FAILED" not in capsys.readouterr().out
