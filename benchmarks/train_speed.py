"""Training speed: our Trainer (shared-prefix and packed layouts) against TRL's SFTTrainer
(packing, padding-free), on the same rendered examples, the same model, LoRA settings and
examples per optimizer step. Prints examples/s and tokens/s, one after the other in one run.

    .venv/bin/python benchmarks/train_speed.py --steps 4            # drone synthetic data, bundled model
    .venv/bin/python benchmarks/train_speed.py --data train.jsonl --steps 8

"tokens/s" counts the tokens each trainer runs through the model; "example tokens/s"
counts the examples' own tokens (what a one-example-at-a-time trainer would process), so
it is comparable across layouts.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from functionary.train.run import TrainConfig, load_model, make_batches  # noqa: E402


def examples(args):
    from transformers import AutoTokenizer

    from functionary.data.synth import Settings, Synthesizer, write
    from functionary.data.toolset import load_toolset
    from functionary.model_store import resolve_model
    from functionary.train import data
    from functionary.train.render import ConversationRenderer, served_format

    path = args.data
    if path is None:
        tools = json.loads((REPO.parent / "shared" / "data" / "drone_copilot.json").read_text())
        tmp = Path(tempfile.mkdtemp())
        (tmp / "tools.json").write_text(json.dumps({"system_prompt": tools["system_prompt"], "tools": tools["tools"]}))
        ts = load_toolset(str(tmp / "tools.json"))
        path = str(write(Synthesizer(ts, Settings(examples=400, seed=0)).run(), ts, tmp)["train"])
    model_path, _ = resolve_model(args.model)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    loaded = data.load([path], ConversationRenderer(served_format(tokenizer)), args.max_length)
    return model_path, tokenizer, loaded.examples


class StepTimer:
    """Times optimizer steps after the first (warm-up) one."""

    def __init__(self):
        self.times = []
        self.last = None

    def callback(self):
        from transformers import TrainerCallback

        timer = self

        class _Cb(TrainerCallback):
            def on_step_begin(self, args, state, control, **kw):
                timer.last = time.perf_counter()

            def on_step_end(self, args, state, control, **kw):
                timer.times.append(time.perf_counter() - timer.last)

        return _Cb()


def ours(layout, model_path, tokenizer, exs, args) -> dict:
    from transformers import TrainingArguments

    from functionary.train.batching import Batches, collate
    from functionary.train.trainer import FunctionCallingTrainer

    config = TrainConfig(data=[], out="", model=model_path, batch_size=args.examples_per_step, lr=1e-4,
                         max_length=args.max_length, layout=layout, lora_r=args.lora_r, lora_alpha=2 * args.lora_r)
    batches = make_batches(exs, layout, config, random.Random(0))[: args.steps + 1]
    timer = StepTimer()
    trainer = FunctionCallingTrainer(
        model=load_model(model_path, config), data_collator=collate, train_dataset=Batches(batches),
        args=TrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=1, max_steps=len(batches),
                               learning_rate=1e-4, report_to=[], save_strategy="no", logging_steps=1000,
                               remove_unused_columns=False, use_cpu=True, disable_tqdm=True),
        callbacks=[timer.callback()])
    trainer.train()
    timed = batches[1:]
    n_ex = sum(len(b.suffixes) if hasattr(b, "suffixes") else sum(p.count(0) for p in b.positions) for b in timed)
    tokens = sum(b.tokens() for b in timed)
    unshared = sum(len(b.suffixes) * len(b.prefix) + sum(map(len, b.suffixes)) if hasattr(b, "suffixes")
                   else b.tokens() for b in timed)
    return _row(f"ours, {layout}", timer, n_ex, tokens, unshared)


def trl(model_path, tokenizer, exs, args) -> dict:
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from functionary.train.run import TrainConfig, load_model

    config = TrainConfig(data=[], out="", model=model_path, lora_r=args.lora_r, lora_alpha=2 * args.lora_r)
    ds = Dataset.from_dict({"input_ids": [e.input_ids for e in exs], "labels": [e.labels for e in exs]})
    per_row = max(1, args.max_length // max(len(e.input_ids) for e in exs))
    rows = max(1, args.examples_per_step // per_row)
    timer = StepTimer()
    # One packed row per forward, accumulated to the same examples per step: padding-free
    # batches of several rows are flattened into one sequence, and without flash attention
    # (CPU) attention over it is quadratic in the whole batch (8 rows: >20 min for 5 steps, 14 GB).
    trainer = SFTTrainer(
        model=load_model(model_path, config), processing_class=tokenizer, train_dataset=ds,
        args=SFTConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=1, gradient_accumulation_steps=rows,
                       max_steps=args.steps + 1,
                       learning_rate=1e-4, report_to=[], save_strategy="no", logging_steps=1000, packing=True,
                       max_length=args.max_length, use_cpu=True, disable_tqdm=True, bf16=False),
        callbacks=[timer.callback()])
    trainer.train()
    # Under packing a step holds `rows` packed sequences; their mean content comes from the
    # packed data set (TRL records each row's sequence lengths).
    packed = trainer.train_dataset
    lengths = packed["seq_lengths"] if "seq_lengths" in packed.column_names else [[len(r)] for r in packed["input_ids"]]
    per_row_examples = sum(map(len, lengths)) / len(lengths)
    per_row_tokens = sum(map(sum, lengths)) / len(lengths)
    n_ex = rows * per_row_examples * args.steps
    tokens = rows * per_row_tokens * args.steps
    return _row("TRL SFTTrainer, packed", timer, n_ex, tokens, tokens)


def _row(name, timer, n_examples, tokens, example_tokens) -> dict:
    seconds = sum(timer.times[1:])
    return {"trainer": name, "steps": len(timer.times) - 1, "seconds": round(seconds, 1),
            "examples_per_s": n_examples / seconds, "tokens_per_s": tokens / seconds,
            "example_tokens_per_s": example_tokens / seconds}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="training JSONL (default: drone synthetic data)")
    p.add_argument("--model", default=None)
    p.add_argument("--steps", type=int, default=4, help="timed optimizer steps per trainer (after one warm-up)")
    p.add_argument("--examples-per-step", type=int, default=16)
    p.add_argument("--max-length", type=int, default=2304)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--trainers", default="shared-prefix,packed,trl")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    model_path, tokenizer, exs = examples(args)
    rows = []
    for which in args.trainers.split(","):
        row = trl(model_path, tokenizer, exs, args) if which == "trl" else ours(which, model_path, tokenizer, exs, args)
        rows.append(row)
        print(json.dumps(row), flush=True)
    base = next((r for r in rows if r["trainer"].startswith("TRL")), rows[-1])
    print("\n| trainer | timed steps | s | examples/s | tokens/s | example tokens/s | vs TRL (examples/s) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['trainer']} | {r['steps']} | {r['seconds']} | {r['examples_per_s']:.2f} | {r['tokens_per_s']:.0f} "
              f"| {r['example_tokens_per_s']:.0f} | {r['examples_per_s'] / base['examples_per_s']:.2f}x |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
