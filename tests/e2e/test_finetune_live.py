"""The fine-tuning loop end to end, tiny: synthesize data for a tool set, LoRA-train the
bundled model for a few steps, serve OUT/merged and get a valid call from it.

The two CLIs run as a user runs them (subprocesses); the server is the real one on each
engine. Only the size is small: a few dozen examples, a few optimizer steps.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from functionary.validation import CallJudge

from .conftest import REPO, _start_server, _stop_server

TOOLS = [
    {"type": "function", "function": {
        "name": "set_alarm", "description": "Set an alarm clock.",
        "parameters": {"type": "object", "required": ["hour", "minute"], "properties": {
            "hour": {"type": "integer", "minimum": 0, "maximum": 23},
            "minute": {"type": "integer", "minimum": 0, "maximum": 59},
            "label": {"type": "string", "maxLength": 30}}}}},
    {"type": "function", "function": {
        "name": "play_music", "description": "Play music of a genre.",
        "parameters": {"type": "object", "required": ["genre"], "properties": {
            "genre": {"type": "string", "enum": ["jazz", "rock", "classical"]}}}}},
]
SYSTEM = "You are a bedside assistant. Use the tools."


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    work = tmp_path_factory.mktemp("finetune")
    (work / "tools.json").write_text(json.dumps({"system_prompt": SYSTEM, "tools": TOOLS}))
    run = lambda *args: subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,  # noqa: E731
                                       timeout=900)
    synth = run("-m", "functionary.data", "synth", str(work / "tools.json"), "--out", str(work / "data"),
                "--examples", "48", "--seed", "1")
    assert synth.returncode == 0, synth.stderr[-2000:]
    trained = run("-m", "functionary.train", "--data", str(work / "data" / "train.jsonl"), "--val",
                  str(work / "data" / "val.jsonl"), "--out", str(work / "out"), "--lora", "--max-steps", "6",
                  "--batch-size", "8", "--lr", "2e-3", "--logging-steps", "1", "--save-steps", "3")
    assert trained.returncode == 0, trained.stderr[-3000:]
    return work


def test_loss_goes_down_and_outputs_are_written(tuned):
    report = json.loads((tuned / "out" / "train_report.json").read_text())
    assert report["steps"] == 6 and report["layout"] == "shared-prefix"
    assert report["val_loss_after"] < report["val_loss_before"], report
    assert report["train_loss_last"] < report["train_loss_first"], report
    assert (tuned / "out" / "adapter" / "adapter_config.json").is_file()
    assert (tuned / "out" / "merged" / "model.safetensors").is_file()
    assert list((tuned / "out" / "checkpoints").glob("checkpoint-*"))  # resumable


def test_the_merged_model_serves_valid_calls(tuned, engine, tmp_path):
    from transformers import AutoTokenizer

    from functionary.train.render import ConversationRenderer, served_format

    proc, live = _start_server(tmp_path, "tuned", ["--model", str(tuned / "out" / "merged")], engine)
    try:
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Wake me at 6:30 please."}]
        with live.client() as client:
            r = client.chat.completions.create(model=live.model, messages=messages, tools=TOOLS,
                                               tool_choice="required", max_tokens=64, temperature=0)
        calls = r.choices[0].message.tool_calls
        assert calls, r
        judge = CallJudge.from_tools(TOOLS)
        assert all(judge.valid(c.function.name, c.function.arguments) for c in calls)
        # the server saw the very prompt the trainer renders for this conversation
        renderer = ConversationRenderer(served_format(AutoTokenizer.from_pretrained(tuned / "out" / "merged")))
        ids, _ = renderer.prompt_ids({"tools": TOOLS}, messages)
        assert r.usage.prompt_tokens == len(ids)
    finally:
        _stop_server(proc)
