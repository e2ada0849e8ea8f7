"""`python -m functionary.train`: fine-tune a model for function calling on our own stack.

    python -m functionary.train --data data/drone/train.jsonl --val data/drone/val.jsonl --out runs/drone --lora
    python -m functionary.train --data a.jsonl --data distill_data/x.jsonl --out runs/mine --full --epochs 2
    accelerate launch --config_file functionary/train/accelerate/fsdp.yaml -m functionary.train ...   # several GPUs

Data: OpenAI chat fine-tuning JSONL with `tools` (what `python -m functionary.data synth`,
the client helpers' `finetune_file` and `@distill` write). Output: OUT/adapter (LoRA),
OUT/merged (a model folder the server serves: `server_vllm.py --model OUT/merged`),
OUT/checkpoints (an interrupted run resumes from the last one), OUT/train_report.json.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads: spinning threads thrash small machines

import argparse  # noqa: E402
import sys  # noqa: E402

from functionary.train.run import TrainConfig, train  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m functionary.train", description=__doc__.splitlines()[0])
    p.add_argument("--data", action="append", required=True, help="training JSONL (repeat for several files)")
    p.add_argument("--val", action="append", default=[], help="validation JSONL (loss after every epoch)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--model", default=None, help="model folder or hub id (default: the bundled SmolLM2-135M-Instruct)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--lora", dest="lora", action="store_true", default=True, help="LoRA adapters (default)")
    kind.add_argument("--full", dest="lora", action="store_false", help="full fine-tuning")
    p.add_argument("--tool-format", default="auto", help="the format the server will use (default: as it detects)")
    p.add_argument("--epochs", type=float, default=3.0)
    p.add_argument("--max-steps", type=int, default=-1, help="stop after this many optimizer steps (overrides epochs)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: 1e-3 LoRA, 5e-5 full)")
    p.add_argument("--batch-size", type=int, default=16,
                   help="examples per micro-batch (shared-prefix layout); packed: max(1, this / 8) rows")
    p.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step")
    p.add_argument("--max-length", type=int, default=2048, help="longest example (and packed row), in tokens")
    p.add_argument("--layout", choices=["auto", "shared-prefix", "packed"], default="auto")
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=int, default=32)
    p.add_argument("--lora-dropout", type=float, default=0.0)
    p.add_argument("--lora-targets", default="all-linear", help="'all-linear' or comma-separated module names")
    p.add_argument("--warmup-ratio", type=float, default=0.05)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--dtype", choices=["bfloat16", "float32"], default="bfloat16")
    p.add_argument("--save-steps", type=int, default=25, help="checkpoint every N steps (resumable)")
    p.add_argument("--logging-steps", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--no-merge", action="store_true", help="LoRA: write OUT/adapter only")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = TrainConfig(
        data=args.data, val=args.val, out=args.out, model=args.model, lora=args.lora, tool_format=args.tool_format,
        epochs=args.epochs, max_steps=args.max_steps, lr=args.lr, batch_size=args.batch_size,
        grad_accum=args.grad_accum, max_length=args.max_length, layout=args.layout, lora_r=args.lora_r,
        lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout, lora_targets=args.lora_targets,
        warmup_ratio=args.warmup_ratio, weight_decay=args.weight_decay, dtype=args.dtype, save_steps=args.save_steps,
        logging_steps=args.logging_steps, seed=args.seed, threads=args.threads, merge=not args.no_merge)
    try:
        report = train(config)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"done in {report['wall_s']:.0f} s: train loss {report['train_loss_first']:.3f} -> "
          f"{report['train_loss_last']:.3f}; outputs in {config.out}")
    if report.get("merged"):
        print(f"serve it: python server_vllm.py --model {report['merged']}"
              + (f" --tool-format {report['tool_format']}" if config.tool_format != "auto" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
