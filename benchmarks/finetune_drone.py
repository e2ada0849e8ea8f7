"""The cookbook's recipe on our own stack: drone tools -> synthetic data -> LoRA fine-tune of
the bundled model -> serve -> the evaluation harness before and after.

    .venv/bin/python benchmarks/finetune_drone.py --out benchmarks/results/finetune_drone

Steps (each skipped when its output exists, so an interrupted run picks up where it
stopped; training itself resumes from its last checkpoint):
  1. synth   python -m functionary.data synth <drone tools + system prompt> (the generator
             never sees the 20 test prompts: it is given the tools file without its cases)
  2. before  the bundled model served by our server: drone set and the multi-domain set,
             tool_choice required and auto
  3. train   python -m functionary.train --lora on the synthetic train/val split
  4. after   OUT/run/merged served the same way, the same evaluations
  5. report  OUT/report.md (before/after table with wall times) and the harness's own
             report + chart per set
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_compare  # noqa: E402
from eval_compare import SETS, run_all, server_argv  # noqa: E402
from server_process import REPO, free_port, launched  # noqa: E402
from vs_vllm import child_env, default_model  # noqa: E402

from functionary.eval import report  # noqa: E402

DRONE = REPO.parent / "shared" / "data" / "drone_copilot.json"
MODES = ("required", "auto")
# Our own 20 drone requests in everyday words (benchmarks/data/drone_dev.jsonl), written for
# tuning the generator without looking at the test set's prompts.
SETS["drone-dev"] = str(REPO / "benchmarks" / "data" / "drone_dev.jsonl")
assert eval_compare.SETS is SETS


def timed(out: Path, step: str, fn) -> None:
    """Run a step and record its wall time (kept across resumed runs)."""
    path = out / "timings.json"
    timings = json.loads(path.read_text()) if path.exists() else {}
    started = time.time()
    fn()
    timings[step] = round(time.time() - started, 1)  # a resumed step: the run that finished it
    path.write_text(json.dumps(timings, indent=1) + "\n")


def sh(*argv: str) -> None:
    print("$", " ".join(argv), flush=True)
    subprocess.run([sys.executable, *argv], cwd=REPO, check=True)


def synth(out: Path, args) -> None:
    tools = json.loads(DRONE.read_text())
    # Only the tools and the system prompt reach the generator; the labelled cases stay behind.
    (out / "drone_tools.json").write_text(json.dumps({"system_prompt": tools["system_prompt"], "tools": tools["tools"]},
                                                     indent=1))
    sh("-m", "functionary.data", "synth", str(out / "drone_tools.json"), "--out", str(out / "data"),
       "--examples", str(args.examples), "--seed", str(args.seed))


def evaluate(out: Path, label: str, model: str, args) -> None:
    todo = [(s, m, out / "eval" / f"{label}-{s}-{m}.json") for s in args.sets.split(",") for m in MODES]
    todo = [t for t in todo if not t[2].exists()]
    if not todo:
        return
    (out / "eval").mkdir(parents=True, exist_ok=True)
    which = f"ours-{args.engine}"
    port = free_port()
    with launched(server_argv(which, model, port), port, timeout=600, env=child_env(),
                  log_path=out / "eval" / f"{label}-server.log") as url:
        asyncio.run(run_all(url, label, todo, args))


def train(out: Path, args) -> None:
    sh("-m", "functionary.train", "--data", str(out / "data" / "train.jsonl"), "--val", str(out / "data" / "val.jsonl"),
       "--out", str(out / "run"), "--lora", "--epochs", str(args.epochs), "--lr", str(args.lr),
       "--batch-size", str(args.batch_size), "--lora-r", str(args.lora_r), "--lora-alpha", str(2 * args.lora_r),
       "--seed", str(args.seed), "--save-steps", "10")


def summary(out: Path, args) -> str:
    timings = json.loads((out / "timings.json").read_text()) if (out / "timings.json").exists() else {}
    train_report = json.loads((out / "run" / "train_report.json").read_text())
    synth_report = json.loads((out / "data" / "report.json").read_text())
    rows = []
    for s in args.sets.split(","):
        for m in MODES:
            pair = [out / "eval" / f"{label}-{s}-{m}.json" for label in ("before", "after")]
            if not all(p.exists() for p in pair):
                continue
            runs = [json.loads(p.read_text()) for p in pair]
            before, after = (r["metrics"]["overall"] for r in runs)
            n = before["cases"]
            calls = [sum(1 for c in r["cases"] if (c.get("message") or {}).get("tool_calls")) for r in runs]
            named = [round(x["name_accuracy"] * n) for x in (before, after)]
            rows.append(f"| {s} | {m} | {named[0]}/{n} -> **{named[1]}/{n}** "
                        f"| {before['full_accuracy']:.1%} -> {after['full_accuracy']:.1%} "
                        f"| {calls[0]} -> {calls[1]} | {_pct(before.get('valid_call_rate'))} -> "
                        f"{_pct(after.get('valid_call_rate'))} |")
    lines = [
        "# Fine-tuning the bundled model on the drone tools", "",
        f"Synthetic set: {synth_report['train']['examples']} train / {synth_report['val']['examples']} validation "
        f"examples ({json.dumps(synth_report['train']['per_kind'])}); LoRA r={args.lora_r}, {args.epochs} epochs, "
        f"lr {args.lr}, batch {args.batch_size}, layout {train_report['layout']}; validation loss "
        f"{train_report['val_loss_before']:.3f} -> {train_report['val_loss_after']:.3f}.", "",
        "| set | tool_choice | expected function(s) | name+arguments | responses with calls | valid calls |",
        "|---|---|---|---|---|---|", *rows, "",
        "Wall time per step (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()), "",
    ]
    return "\n".join(lines)


def _pct(x) -> str:
    return "–" if x is None else f"{x:.0%}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="benchmarks/results/finetune_drone")
    p.add_argument("--examples", type=int, default=700)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=float, default=2)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--engine", choices=["vllm", "transformers"], default="vllm", help="the server that evaluates")
    p.add_argument("--sets", default="drone,drone-dev,multidomain")
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--limit", type=int, default=None, help="only the first N cases of each set")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "data" / "report.json").exists():
        timed(out, "synth", lambda: synth(out, args))
    if not all((out / "eval" / f"before-{s}-{m}.json").exists() for s in args.sets.split(",") for m in MODES):
        timed(out, "eval before", lambda: evaluate(out, "before", default_model(), args))
    if not (out / "run" / "train_report.json").exists():
        timed(out, "train", lambda: train(out, args))
    if not all((out / "eval" / f"after-{s}-{m}.json").exists() for s in args.sets.split(",") for m in MODES):
        timed(out, "eval after", lambda: evaluate(out, "after", str(out / "run" / "merged"), args))
    for s in args.sets.split(","):
        paths = [out / "eval" / f"{label}-{s}-{m}.json" for label in ("before", "after") for m in MODES]
        runs = [report.load_run(str(path)) for path in paths if path.exists()]
        (out / f"report-{s}.md").write_text(report.markdown(runs))
        report.plot(runs, str(out / f"report-{s}.png"))
    # The model, checkpoints and data stay local (ignored); their reports are the record.
    for src, dst in ((out / "run" / "train_report.json", out / "train_report.json"),
                     (out / "data" / "report.json", out / "synth_report.json")):
        dst.write_text(src.read_text())
    text = summary(out, args)
    (out / "report.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
