"""The evaluation CLI against the live server (both engines): `run` on the drone set and
on part of the multi-domain set, the CI gate, and `report` over both runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .support import DRONE_DATA, REPO

pytestmark = pytest.mark.e2e


def eval_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "functionary.eval", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=1200)


def test_run_both_sets_gate_and_report(server, tmp_path):
    common = ["--base-url", server.v1, "--api-key", server.api_key, "--max-tokens", "64", "--concurrency", "4"]
    drone, multi = tmp_path / "drone.json", tmp_path / "multi.json"
    # An impossible bar: the run is written, then the gate fails it.
    gated = eval_cli("run", str(DRONE_DATA), "--tool-choice", "required", "--out", str(drone),
                     "--min-accuracy", "1.01", *common)
    assert gated.returncode == 1 and "below --min-accuracy" in gated.stderr, gated.stderr[-2000:]
    done = eval_cli("run", "multidomain", "--limit", "24", "--out", str(multi), *common)
    assert done.returncode == 0, done.stderr[-2000:]

    for path, cases in ((drone, 20), (multi, 24)):
        results = json.loads(path.read_text())
        overall = results["metrics"]["overall"]
        assert overall["cases"] == cases and overall["errors"] == 0, overall
        assert results["meta"]["model"] == server.model
        assert all(0 <= overall[k] <= 1 for k in ("name_accuracy", "full_accuracy"))
        assert overall["latency_p50"] > 0 and overall["prompt_tokens_mean"] > 0
        for category, group in results["metrics"]["per_category"].items():  # figures per category too
            assert group["latency_p50"] > 0 and group["latency_p95"] >= group["latency_p50"], category
            assert group["prompt_tokens_mean"] > 0 and group["completion_tokens_mean"] > 0, category
    drone_results = json.loads(drone.read_text())
    # Under required, every drone answer is a call that validates (our server's promise).
    assert drone_results["metrics"]["overall"]["valid_call_rate"] == 1.0
    assert all(row["calls"] >= 1 for row in drone_results["cases"])

    md, png = tmp_path / "report.md", tmp_path / "report.png"
    made = eval_cli("report", str(drone), str(multi), "--out", str(md), "--plot", str(png))
    assert made.returncode == 0, made.stderr[-2000:]
    text = md.read_text()
    assert "| drone |" in text and "| multi |" in text
    assert "## Latency by category" in text and "## Tokens per request by category" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
