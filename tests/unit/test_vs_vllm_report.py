"""The judging and arithmetic of benchmarks/vs_vllm.py: its figures go into the README,
so how a response counts as valid and how rounds combine must be right."""

from __future__ import annotations

import sys
from pathlib import Path

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


def run(round_no: int, server: str, tok_s: float) -> dict:
    return {"round": round_no, "server": server, "workload": "chat", "concurrency": 16, "tokens_per_s": tok_s,
            "requests_per_s": tok_s / 128, "valid_per_s": 0.0, "ttft_p50_s": 1.0, "ttft_p90_s": 1.2,
            "requests": 32, "output_tokens": 4096, "valid": 0, "valid_but_cut": 0, "judged": 0,
            "finish_length": 32, "no_calls": 32, "right_tool": 0, "errors": 0}


def test_rounds_combine_to_medians_and_paired_ratios_cancel_drift():
    # The machine slows down from round to round; within each round ours is 2% behind.
    runs = [r for n, speed in enumerate([250.0, 200.0, 150.0], 1)
            for r in (run(n, "ours", speed * 0.98), run(n, "vllm", speed))]
    rows = {r["server"]: r for r in vs_vllm.combine_rounds(runs)}
    assert rows["ours"]["tokens_per_s"] == pytest.approx(196.0)
    assert rows["vllm"]["tokens_per_s_range"] == (150.0, 250.0)
    assert rows["vllm"]["requests"] == 96 and rows["vllm"]["rounds"] == 3
    ratios = vs_vllm.paired_ratios(runs)[("vllm", "chat", 16)]
    assert ratios == pytest.approx([0.98, 0.98, 0.98])
