"""The evaluation harness around the scorer: dataset readers, the runner against a
scripted endpoint (deterministic, no model), reports and their chart, the CLI's gate."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import jsonschema
import pytest

from functionary.eval import dataset, report
from functionary.eval.__main__ import main as eval_main
from functionary.eval.runner import request_for, run

from .scripted import MODEL, Scripted, reply, text

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city.", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
    "required": ["city"]}}}
DRONE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "drone_copilot.json"


def case(**kw) -> dict:
    row = {"id": "w1", "category": "simple", "prompt": "Weather in Paris?", "tools": [WEATHER],
           "expected": {"kind": "calls", "calls": [{"name": "get_weather", "arguments": {"city": ["Paris"]},
                                                    "optional": ["unit"]}]}}
    return dataset.from_case({**row, **kw}, "x")


# ----------------------------------------------------------------------------- readers


def test_our_format_turns_prompt_and_system_into_messages():
    [c] = dataset.read_jsonl([json.dumps({**case(), "messages": None} | {"prompt": "hi", "system": "be brief"})
                              .replace('"messages": null, ', "")], "t")
    assert c["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]


def test_a_finetuning_line_scores_against_its_last_assistant_turn():
    line = {"messages": [{"role": "user", "content": "Paris and Rome weather"},
                         {"role": "assistant", "content": None, "tool_calls": [
                             {"id": "a", "type": "function", "function": {"name": "get_weather",
                                                                          "arguments": '{"city": "Paris"}'}},
                             {"id": "b", "type": "function", "function": {"name": "get_weather",
                                                                          "arguments": '{"city": "Rome"}'}}]}],
            "tools": [WEATHER]}
    [c] = dataset.read_jsonl([json.dumps(line)], "ft")
    assert c["messages"] == line["messages"][:1] and c["category"] == "parallel"
    assert c["expected"] == {"kind": "calls", "calls": [{"name": "get_weather", "arguments": {"city": ["Paris"]}},
                                                        {"name": "get_weather", "arguments": {"city": ["Rome"]}}]}


def test_a_finetuning_line_with_a_text_answer_expects_no_call():
    line = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}],
            "tools": [WEATHER]}
    [c] = dataset.read_jsonl([json.dumps(line)], "ft")
    assert c["expected"] == {"kind": "no_call"} and c["category"] == "irrelevance"


@pytest.mark.parametrize("line, message", [
    ("{not json", "not JSON"),
    ('{"prompt": "x", "expected": {"kind": "maybe"}}', "expected.kind"),
    ('{"prompt": "x", "expected": {"kind": "calls", "calls": []}}', "none are listed"),
    ('{"prompt": "x", "expected": {"kind": "answer"}}', "mentions"),
    ('{"messages": [{"role": "user", "content": "x"}]}', "assistant turn"),
])
def test_bad_lines_fail_naming_the_line(line, message):
    with pytest.raises(dataset.DatasetError, match=message):
        dataset.read_jsonl(["", line], "set")


def test_the_drone_file_gives_name_only_expectations():
    if not DRONE.is_file():
        pytest.fail(f"the drone set is missing at {DRONE}")
    cases = dataset.load(str(DRONE))
    assert len(cases) == 20 and all(c["tool_choice"] == "required" for c in cases)
    first = cases[0]["expected"]["calls"][0]
    assert first["arguments"] == {} and first["name"] in {t["function"]["name"] for t in cases[0]["tools"]}


def test_the_builtin_multidomain_set_is_consistent():
    cases = dataset.load("multidomain")
    assert len(cases) >= 150 and len({c["id"] for c in cases}) == len(cases)
    domains = {c.get("domain") for c in cases}
    assert len(domains) >= 10
    kinds = {c["category"]: set() for c in cases}
    for c in cases:
        kinds[c["category"]].add(c["expected"]["kind"])
        tools = {t["function"]["name"]: t["function"].get("parameters") or {} for t in c["tools"]}
        for call in c["expected"].get("calls", []):
            schema = tools[call["name"]]
            for arg, acceptable in call["arguments"].items():
                for value in acceptable:  # every acceptable value is one the schema allows
                    jsonschema.validate(value, schema["properties"][arg])
    for category in ("simple", "multiple", "parallel", "parallel_multiple", "irrelevance", "multi_turn",
                     "missing_argument"):
        assert sum(c["category"] == category for c in cases) >= 15, category
    assert kinds["irrelevance"] == {"no_call"} and kinds["missing_argument"] == {"ask"}


# ----------------------------------------------------------------------------- runner


def test_request_for_uses_the_command_lines_tool_choice_over_the_cases():
    c = case(tool_choice="auto")
    assert request_for(c, "m", tool_choice=None, max_tokens=5, temperature=0)["tool_choice"] == "auto"
    assert request_for(c, "m", tool_choice="required", max_tokens=5, temperature=0)["tool_choice"] == "required"
    assert "tools" not in request_for(case(tools=[]), "m", tool_choice="required", max_tokens=5, temperature=0)


def test_the_runner_scores_hits_misses_and_failed_requests_without_raising():
    endpoint = Scripted(reply(("get_weather", {"city": "paris"})),  # a hit (case-insensitive)
                        reply(("get_weather", {"city": "Lyon"})),  # wrong value
                        text("It is sunny."))  # no call
    cases = [case(id=f"w{i}") for i in range(4)]  # the 4th finds the script exhausted: HTTP 500

    async def go():
        async with endpoint.async_client() as client:
            return await run(cases, client, MODEL, concurrency=1, progress=False, meta={"label": "scripted"})

    results = asyncio.run(go())
    rows = results["cases"]
    assert [r["full_ok"] for r in rows] == [True, False, False, False]
    assert [r["name_ok"] for r in rows] == [True, True, False, False]
    assert rows[3]["error"] and rows[3]["message"] is None
    overall = results["metrics"]["overall"]
    assert (overall["cases"], overall["errors"], overall["full_accuracy"]) == (4, 1, 0.25)
    assert overall["prompt_tokens_mean"] == 10 and results["meta"]["label"] == "scripted"
    assert endpoint.requests[0]["messages"] == cases[0]["messages"] and endpoint.requests[0]["temperature"] == 0


# ----------------------------------------------------------------------------- reports


def fake_run(label: str, accuracy: float) -> dict:
    group = {"cases": 10, "name_accuracy": accuracy, "full_accuracy": accuracy / 2, "calls": 10, "valid_calls": 10,
             "valid_call_rate": 1.0, "errors": 0}
    overall = {**group, "latency_mean": 1.0, "latency_p50": 0.9, "latency_p95": 2.0, "prompt_tokens_mean": 300,
               "completion_tokens_mean": 20}
    return {"meta": {"label": label, "dataset": "multidomain", "tool_choice": "auto"},
            "metrics": {"overall": overall, "per_category": {"simple": group, "parallel": dict(group, cases=3)}},
            "cases": [{"id": "a", "full_ok": False, "reasons": ["x"]}]}


def test_the_report_puts_runs_side_by_side(tmp_path):
    text_ = report.markdown([fake_run("base", 0.5), fake_run("tuned", 0.9)])
    assert "| base | multidomain | auto | 10 | 50.0% | 25.0% |" in text_
    assert "| tuned | multidomain | auto | 10 | 90.0% | 45.0% |" in text_
    assert "| run | simple | parallel |" in text_ and "45.0% (10) | 45.0% (3)" in text_


def test_the_report_gives_latency_and_tokens_per_category():
    tuned = fake_run("tuned", 0.9)
    tuned["metrics"]["per_category"]["simple"].update(latency_mean=1.25, latency_p50=1.0, latency_p95=3.5,
                                                      prompt_tokens_mean=310, completion_tokens_mean=22)
    base = fake_run("base", 0.5)  # a results file from before per-category figures: dashes, no crash
    text_ = report.markdown([base, tuned])
    latency = text_.split("## Latency by category (s, mean / p50 / p95)")[1].split("##")[0]
    assert "| run | simple | parallel |" in latency
    assert "| tuned | 1.25 / 1.00 / 3.50 | – / – / – |" in latency
    assert "| base | – / – / – | – / – / – |" in latency
    tokens = text_.split("## Tokens per request by category (prompt / completion, mean)")[1]
    assert "| tuned | 310 / 22 | – / – |" in tokens


def test_the_chart_labels_every_bar_zero_included_and_keeps_the_legend_off_the_bars():
    base, tuned = fake_run("base", 0.0), fake_run("tuned", 0.8)
    del tuned["metrics"]["per_category"]["parallel"]  # a category this run does not have
    fig = report.figure([base, tuned])
    try:
        top, bottom = fig.axes
        labels = [t.get_text() for t in top.texts]
        # base: overall, simple, parallel all 0% (full = accuracy / 2); tuned: 40%, 40%, n/a
        assert labels == ["0%", "0%", "0%", "40%", "40%", "n/a"]
        assert [t.get_text() for t in bottom.texts] == ["0%", "0%", "0%", "80%", "80%", "n/a"]
        heights = [bar.get_height() for bar in top.patches]
        assert len(heights) == 5 and min(heights) > 0  # 0% is a visible stub; n/a has no bar
        assert not top.get_legend() and not bottom.get_legend()
        (legend,) = fig.legends
        assert [t.get_text() for t in legend.get_texts()] == ["base", "tuned"]
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        legend_box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            assert legend_box.y1 <= ax.get_window_extent(renderer).y0, "the legend overlaps the axes"
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_the_cli_writes_report_and_chart(tmp_path):
    paths = []
    for label, acc in (("base", 0.4), ("tuned", 0.8)):
        paths.append(tmp_path / f"{label}.json")
        paths[-1].write_text(json.dumps(fake_run(label, acc)))
    md, png = tmp_path / "r.md", tmp_path / "r.png"
    assert eval_main(["report", *map(str, paths), "--out", str(md), "--plot", str(png)]) == 0
    assert "| tuned |" in md.read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_run_refuses_a_missing_dataset_with_exit_2(capsys):
    assert eval_main(["run", "no-such-set.jsonl", "--base-url", "http://127.0.0.1:9/v1"]) == 2
    assert "no such file" in capsys.readouterr().err


def _gated_run(tmp_path, min_accuracy: str, *replies) -> tuple[int, Scripted, dict]:
    """`run` through the CLI against a scripted endpoint (two cases, the set on disk)."""
    data = tmp_path / "set.jsonl"
    row = {"category": "simple", "prompt": "Weather in Paris?", "tools": [WEATHER],
           "expected": {"kind": "calls", "calls": [{"name": "get_weather", "arguments": {"city": ["Paris"]}}]}}
    data.write_text("\n".join(json.dumps({"id": f"w{i}", **row}) for i in range(2)))
    endpoint = Scripted(*replies)
    out = tmp_path / "r.json"
    code = eval_main(["run", str(data), "--base-url", endpoint.base_url, "--concurrency", "1", "--out", str(out),
                      "--min-accuracy", min_accuracy],
                     http_client=httpx.AsyncClient(transport=httpx.MockTransport(endpoint.handle)))
    return code, endpoint, json.loads(out.read_text())


def test_min_accuracy_exits_1_below_the_bar(tmp_path, capsys):
    code, endpoint, results = _gated_run(tmp_path, "0.6", reply(("get_weather", {"city": "Paris"})),
                                         reply(("get_weather", {"city": "Lyon"})))
    assert results["metrics"]["overall"]["full_accuracy"] == 0.5
    assert len(endpoint.requests) == 2 and endpoint.requests[0]["model"] == MODEL  # the model the endpoint lists
    assert code == 1
    assert "accuracy 0.500 is below --min-accuracy 0.6" in capsys.readouterr().err


def test_min_accuracy_exits_0_at_or_above_the_bar(tmp_path, capsys):
    code, _, results = _gated_run(tmp_path, "0.5", reply(("get_weather", {"city": "Paris"})),
                                  reply(("get_weather", {"city": "Lyon"})))
    assert results["metrics"]["overall"]["full_accuracy"] == 0.5 and code == 0
    assert "below" not in capsys.readouterr().err
