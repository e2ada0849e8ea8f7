"""The loss of a micro-batch in either layout, and transformers' Trainer around it.

transformers' `Trainer` does the rest: optimizer and schedule, gradient accumulation,
checkpoints that resume, evaluation per epoch, logging, and (launched with accelerate)
several GPUs with FSDP or DeepSpeed. TRL's SFTTrainer was measured against it
(`benchmarks/train_speed.py`): it cannot broadcast a shared prefix, which is where most of
the time goes on tool-calling data, so this one is used.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import Trainer
from transformers.trainer_callback import ProgressCallback

from functionary.train.render import IGNORE


def batch_loss(model, inputs: dict) -> torch.Tensor:
    """Mean cross-entropy over the label tokens of one micro-batch."""
    labels = inputs["labels"]
    if inputs["layout"] == "shared-prefix":
        prefix = inputs["prefix_ids"]
        batch, width = inputs["input_ids"].shape
        start = prefix.shape[1]
        cache = None
        if start:
            cache = model(input_ids=prefix, use_cache=True).past_key_values
            cache.batch_repeat_interleave(batch)  # one prefix, broadcast (gradients flow back through it)
        positions = torch.arange(start, start + width, device=labels.device).unsqueeze(0).expand(batch, -1)
        logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                       position_ids=positions, past_key_values=cache, use_cache=cache is not None).logits
    else:
        # No attention mask and no cache: then positions that restart at 0 make transformers
        # mask each packed example off from the others (with a cache it would not look).
        logits = model(input_ids=inputs["input_ids"], position_ids=inputs["position_ids"], use_cache=False).logits
    targets = labels[:, 1:]
    count = (targets != IGNORE).sum()
    loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), targets.reshape(-1),
                           ignore_index=IGNORE, reduction="sum")
    return loss / count.clamp(min=1)


class FunctionCallingTrainer(Trainer):
    """Trainer with the loss above (each micro-batch is one item of the data set)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = False  # the loss is a per-micro-batch mean; Trainer scales it

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss = batch_loss(model, inputs)
        return (loss, None) if return_outputs else loss

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad():
            loss = batch_loss(model, inputs)
        return loss.detach(), None, None


class LossBar(ProgressCallback):
    """Trainer's progress bar, with the latest training and validation loss on it."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and self.training_bar is not None and logs:
            shown = {k: f"{v:.4f}" for k, v in logs.items() if k in ("loss", "eval_loss")}
            if shown:
                self.training_bar.set_postfix(shown, refresh=False)
        super().on_log(args, state, control, logs=logs, **kwargs)
