"""Batch layouts are exact (packing isolates examples; a broadcast prefix gives the same
loss and gradients as full sequences), and a run checkpoints, resumes and writes its
outputs. A tiny random model with the bundled tokenizer keeps these fast."""

from __future__ import annotations

import json
import random

import pytest
import torch
from transformers import AutoModelForCausalLM

from functionary.train.batching import (PackedBatch, choose_layout, collate, common_prefix, packed_batches,
                                        prefix_batches, shared_prefixes)
from functionary.train.render import IGNORE, ConversationRenderer
from functionary.train.run import TrainConfig, train
from functionary.train.trainer import batch_loss
from tests.unit.formats.support import load_format

SYSTEM = "You operate a warehouse robot. " * 12
TOOLS = [{"type": "function", "function": {"name": "move", "description": "Move the robot.", "parameters": {
    "type": "object", "required": ["meters"], "properties": {"meters": {"type": "integer"}}}}}]


def row(i: int, system: str = SYSTEM) -> dict:
    return {"messages": [{"role": "system", "content": system},
                         {"role": "user", "content": f"Move {i} meters " * (i % 3 + 1)},
                         {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function",
                          "function": {"name": "move", "arguments": json.dumps({"meters": i})}}]}], "tools": TOOLS}


@pytest.fixture(scope="module")
def renderer():
    return ConversationRenderer(load_format("plain-tags"))


@pytest.fixture(scope="module")
def tiny(tiny_dir):
    return AutoModelForCausalLM.from_pretrained(tiny_dir, dtype=torch.float32, attn_implementation="sdpa")


def test_common_prefix():
    assert common_prefix([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix([[5], [6]]) == 0


def test_shared_prefix_stops_before_the_first_label(renderer):
    examples = [renderer.render(row(i)) for i in range(4)]
    (n,) = shared_prefixes(examples).values()
    assert 0 < n < min(e.first_label for e in examples)
    assert all(e.input_ids[:n] == examples[0].input_ids[:n] for e in examples)
    assert choose_layout(examples, 4) == "shared-prefix"
    mixed = [renderer.render(row(i, system=f"Short system {i}.")) for i in range(4)]
    assert choose_layout(mixed, 4) == "packed"


def test_packing_isolates_examples(renderer, tiny):
    a, b = renderer.render(row(1)), renderer.render(row(2, system="Another prompt."))
    alone = tiny(input_ids=torch.tensor([a.input_ids])).logits[0]
    packed = collate([PackedBatch([b.input_ids + a.input_ids],
                                  [list(range(len(b.input_ids))) + list(range(len(a.input_ids)))],
                                  [b.labels + a.labels])])
    logits = tiny(input_ids=packed["input_ids"], position_ids=packed["position_ids"], use_cache=False).logits[0]
    torch.testing.assert_close(logits[len(b.input_ids):], alone, atol=1e-5, rtol=1e-4)


def _grads(model, inputs_list):
    model.zero_grad()
    loss = None
    for inputs in inputs_list:
        loss = batch_loss(model, inputs)
        loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_a_broadcast_prefix_gives_the_same_loss_and_gradients(renderer, tiny):
    examples = [renderer.render(row(i)) for i in range(3)]
    (shared,) = prefix_batches(examples, 3, random.Random(0))
    assert len(shared.suffixes) == 3 and len(shared.prefix) > 100
    one_per_row = PackedBatch([e.input_ids for e in examples], [list(range(len(e.input_ids))) for e in examples],
                              [e.labels for e in examples])
    loss_a, grads_a = _grads(tiny, [collate([shared])])
    loss_b, grads_b = _grads(tiny, [collate([one_per_row])])
    torch.testing.assert_close(loss_a, loss_b, atol=1e-5, rtol=1e-5)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:  # including the embeddings of the prefix tokens: the gradient flows back through it
        torch.testing.assert_close(grads_a[name], grads_b[name], atol=1e-6, rtol=1e-3)


def test_packed_batches_fill_rows_and_keep_every_token(renderer):
    examples = [renderer.render(row(i, system=f"System {i}")) for i in range(7)]
    batches = packed_batches(examples, 1024, 2, random.Random(0))
    assert sum(b.tokens() for b in batches) == sum(len(e.input_ids) for e in examples)
    assert all(len(r) <= 1024 for b in batches for r in b.rows)
    labelled = sum(t != IGNORE for b in batches for lab in b.labels for t in lab)
    assert labelled == sum(e.target_tokens for e in examples)


def _data(tmp_path, n=24):
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(row(i)) + "\n" for i in range(n)))
    return str(path)


def test_a_run_checkpoints_resumes_and_writes_adapter_and_merged_model(tmp_path, tiny_dir):
    data = _data(tmp_path)
    config = TrainConfig(data=[data], val=[data], out=str(tmp_path / "out"), model=str(tiny_dir), max_steps=2,
                         save_steps=1, batch_size=4, lr=1e-2, progress=False, dtype="float32")
    first = train(config)
    assert first["steps"] == 2 and first["resumed_from"] is None and first["layout"] == "shared-prefix"
    assert first["val_loss_before"] is not None and first["val_loss_after"] is not None
    config.max_steps = 4  # the same run asked to go on: it picks up the last checkpoint
    second = train(config)
    assert second["resumed_from"].endswith("checkpoint-2") and second["steps"] == 4
    assert (tmp_path / "out" / "adapter" / "adapter_config.json").is_file()
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "out" / "merged")
    assert merged.config.num_hidden_layers == 2
    report = json.loads((tmp_path / "out" / "train_report.json").read_text())
    assert report["tool_format"] == "plain-tags" and report["examples"]["train"] == 24


def test_full_fine_tuning_and_packed_layout(tmp_path, tiny_dir):
    config = TrainConfig(data=[_data(tmp_path, 12)], out=str(tmp_path / "full"), model=str(tiny_dir), lora=False,
                         max_steps=3, batch_size=16, layout="packed", lr=5e-3, progress=False, dtype="float32",
                         save_steps=100, logging_steps=1)
    report = train(config)
    assert report["layout"] == "packed" and report["steps"] == 3
    assert not (tmp_path / "full" / "adapter").exists()
    assert (tmp_path / "full" / "merged" / "config.json").is_file()
    assert report["train_loss_last"] < report["train_loss_first"]
