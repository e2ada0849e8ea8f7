"""The pure helpers of benchmarks/grammar_overhead.py: what it replays and how it sums up."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import grammar_overhead as go  # noqa: E402


def test_token_stats_mean_nearest_rank_p99_and_max():
    costs = [float(i) for i in range(1, 201)]  # 1..200, shuffled order must not matter
    stats = go.token_stats(costs[::-1])
    assert stats == {"mean": pytest.approx(100.5), "p99": 198.0, "max": 200.0}
    assert go.token_stats([0.25]) == {"mean": 0.25, "p99": 0.25, "max": 0.25}
    with pytest.raises(ValueError):
        go.token_stats([])


def test_replays_give_enough_samples_for_short_and_long_answers():
    assert go.replays(15) == 200 and go.replays(15) * 15 >= go.SAMPLES
    assert go.replays(300) == 10 and go.replays(3000) == 10  # never fewer than 10 passes
    assert go.replays(0) == go.SAMPLES


def test_prose_is_long_fixed_plain_text():
    text = go.prose(go.LONG_WORDS)
    assert len(text.split()) >= go.LONG_WORDS and text == go.prose(go.LONG_WORDS)
    assert "<" not in text and "\n" not in text  # nothing that could open a call or a tag


def test_long_string_call_is_valid_for_its_tool():
    nested = json.loads(go.NESTED.read_text())
    schema = next(t["function"]["parameters"] for t in nested["tools"] if t["function"]["name"] == "book_table")
    call = go.long_notes_call(go.LONG_WORDS)
    args = json.loads(call.arguments)
    jsonschema.validate(args, schema, format_checker=jsonschema.FormatChecker())
    assert call.name == "book_table" and len(args["notes"].split()) >= go.LONG_WORDS
    assert '\\"' in call.arguments and "\\n" in call.arguments  # escapes inside the string


def test_cases_cover_short_calls_free_text_and_a_long_string():
    drone = {"system_prompt": "You fly drones.", "tools": [
        {"type": "function", "function": {"name": "land_drone", "parameters": {"type": "object", "properties": {}}}}]}
    nested = json.loads(go.NESTED.read_text())
    rows = [(c.tools, c.mode, c.answer) for c in go.cases(drone, nested)]
    assert rows == [("drone", "auto", "text + short call"), ("drone", "required", "short call"),
                    ("drone", "named", "short call"), ("drone", "auto", "free text"),
                    ("nested", "required", "call, long string")]
    free_text = go.cases(drone, nested)[3]
    assert free_text.calls == [] and len(free_text.text.split()) >= go.LONG_WORDS
