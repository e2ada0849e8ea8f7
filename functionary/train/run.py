"""One fine-tuning run: data -> batches -> model (LoRA or full) -> Trainer -> outputs."""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    data: list[str]
    out: str
    val: list[str] = field(default_factory=list)
    model: Optional[str] = None
    lora: bool = True
    tool_format: str = "auto"
    epochs: float = 3.0
    max_steps: int = -1
    lr: Optional[float] = None
    batch_size: int = 16
    grad_accum: int = 1
    max_length: int = 2048
    layout: str = "auto"
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_targets: str = "all-linear"
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    dtype: str = "bfloat16"
    save_steps: int = 25
    logging_steps: int = 5
    seed: int = 0
    threads: Optional[int] = None
    merge: bool = True
    progress: bool = True

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (1e-3 if self.lora else 5e-5)


def make_batches(examples, layout: str, config: TrainConfig, rng: random.Random) -> list:
    from functionary.train.batching import packed_batches, prefix_batches

    if layout == "shared-prefix":
        return prefix_batches(examples, config.batch_size, rng)
    return packed_batches(examples, config.max_length, max(1, config.batch_size // 8), rng)


def load_model(path: str, config: TrainConfig):
    import torch
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if config.dtype == "bfloat16" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation="sdpa")
    if torch.cuda.is_available():
        model = model.to("cuda")
    if not config.lora:
        return model
    from peft import LoraConfig, get_peft_model

    targets = "all-linear" if config.lora_targets == "all-linear" else config.lora_targets.split(",")
    return get_peft_model(model, LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha,
                                            lora_dropout=config.lora_dropout, target_modules=targets,
                                            task_type="CAUSAL_LM"))


def train(config: TrainConfig) -> dict:
    import torch
    from transformers import AutoTokenizer, TrainingArguments
    from transformers.trainer_callback import ProgressCallback
    from transformers.trainer_utils import get_last_checkpoint

    from functionary.model_store import resolve_model
    from functionary.train import data
    from functionary.train.batching import Batches, choose_layout, collate
    from functionary.train.render import ConversationRenderer, served_format
    from functionary.train.trainer import FunctionCallingTrainer, LossBar

    started = time.time()
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    model_path, _ = resolve_model(config.model)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    fmt = served_format(tokenizer, config.tool_format)
    renderer = ConversationRenderer(fmt)
    train_set = data.load(config.data, renderer, config.max_length)
    val_set = data.load(config.val, renderer, config.max_length) if config.val else None
    if not train_set.examples:
        raise ValueError("no usable training examples" + (f" ({'; '.join(train_set.samples[:3])})"
                                                          if train_set.samples else ""))
    layout = config.layout if config.layout != "auto" else choose_layout(train_set.examples, config.batch_size)
    rng = random.Random(config.seed)  # batch composition is fixed by the seed, so a resumed run sees the same batches
    train_batches = make_batches(train_set.examples, layout, config, rng)
    val_batches = make_batches(val_set.examples, layout, config, rng) if val_set and val_set.examples else []
    log.info("%d training examples (%d skipped) in %d %s micro-batches", len(train_set.examples),
             sum(train_set.skipped.values()), len(train_batches), layout)

    model = load_model(model_path, config)
    args = TrainingArguments(
        output_dir=str(out / "checkpoints"), per_device_train_batch_size=1, per_device_eval_batch_size=1,
        gradient_accumulation_steps=config.grad_accum, num_train_epochs=config.epochs, max_steps=config.max_steps,
        # warmup_steps below 1 is a share of the steps
        learning_rate=config.learning_rate, lr_scheduler_type="cosine", warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay, logging_steps=config.logging_steps, logging_first_step=True,
        save_strategy="steps", save_steps=config.save_steps, save_total_limit=2,
        eval_strategy="epoch" if val_batches else "no", report_to=[], seed=config.seed, data_seed=config.seed,
        dataloader_num_workers=0, remove_unused_columns=False, use_cpu=not torch.cuda.is_available(),
        disable_tqdm=not config.progress)
    trainer = FunctionCallingTrainer(model=model, args=args, train_dataset=Batches(train_batches),
                                     eval_dataset=Batches(val_batches) if val_batches else None,
                                     data_collator=collate, processing_class=tokenizer)
    if config.progress:
        trainer.remove_callback(ProgressCallback)
        trainer.add_callback(LossBar())
    resume = get_last_checkpoint(args.output_dir) if Path(args.output_dir).is_dir() else None
    if resume:
        log.info("resuming from %s", resume)
    initial_val = trainer.evaluate()["eval_loss"] if val_batches and not resume else None
    result = trainer.train(resume_from_checkpoint=resume)
    final_val = None
    if val_batches:  # the per-epoch evaluation may already have measured the final model
        last = [h for h in trainer.state.log_history if "eval_loss" in h]
        done = last and last[-1].get("step") == trainer.state.global_step
        final_val = last[-1]["eval_loss"] if done else trainer.evaluate()["eval_loss"]

    saved = save_outputs(trainer, model_path, tokenizer, out, config)
    history = trainer.state.log_history
    losses = [h["loss"] for h in history if "loss" in h]
    tokens = sum(b.tokens() for b in train_batches)
    unshared = sum(len(e.input_ids) for e in train_set.examples)
    runtime = result.metrics.get("train_runtime") or (time.time() - started)
    epochs_run = result.metrics.get("epoch") or trainer.state.epoch or config.epochs
    report = {
        "config": asdict(config), "model": model_path, "tool_format": fmt.name, "layout": layout,
        "examples": {"train": len(train_set.examples), "val": len(val_set.examples) if val_set else 0,
                     "skipped": dict(train_set.skipped), "skipped_samples": train_set.samples},
        "target_tokens": sum(e.target_tokens for e in train_set.examples),
        "steps": trainer.state.global_step, "epochs": epochs_run, "resumed_from": resume,
        "train_loss_first": losses[0] if losses else float("nan"),
        "train_loss_last": losses[-1] if losses else float("nan"),
        "val_loss_before": initial_val, "val_loss_after": final_val,
        "val_loss_per_epoch": [h["eval_loss"] for h in history if "eval_loss" in h],
        "train_runtime_s": runtime, "wall_s": time.time() - started,
        # tokens run through the model per second, and the tokens the same examples would
        # cost without shared prefixes (what a per-example trainer processes)
        "tokens_per_s": tokens * epochs_run / runtime if runtime else None,
        "example_tokens_per_s": unshared * epochs_run / runtime if runtime else None,
        "log_history": history, **saved,
    }
    if trainer.is_world_process_zero():
        (out / "train_report.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    return report


def save_outputs(trainer, model_path: str, tokenizer, out: Path, config: TrainConfig) -> dict:
    """OUT/adapter (LoRA) and OUT/merged (a complete model folder the server loads).

    Trainer.save_model gathers sharded weights under FSDP or DeepSpeed; the merge then
    loads the saved adapter onto a fresh copy of the base model on the main process, so
    it never touches a wrapped or sharded model."""
    saved = {}
    target = out / ("adapter" if config.lora else "merged")
    trainer.save_model(str(target))
    if not trainer.is_world_process_zero():
        return saved
    tokenizer.save_pretrained(target)
    saved["adapter" if config.lora else "merged"] = str(target)
    if config.lora and config.merge:
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM

        dtype = torch.bfloat16 if config.dtype == "bfloat16" else torch.float32
        base = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)
        merged = PeftModel.from_pretrained(base, target).merge_and_unload()
        merged.save_pretrained(out / "merged")
        tokenizer.save_pretrained(out / "merged")
        saved["merged"] = str(out / "merged")
    return saved
