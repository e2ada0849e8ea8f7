"""The engine loop, on the worker thread that owns the model: one `step()` at a time.

A step schedules (takes one waiting request when the batch has room), prefills it alone
and merges it into the running batch, then decodes one token for every row: sample
under the row's grammar and penalties, then postprocess (accept the token, emit its
text, drop rows that finished or were aborted). So a late request never waits for an
earlier one to end.
"""

from __future__ import annotations

import logging
import os
import queue
from typing import Callable, Optional

import torch
from transformers import DynamicCache

from functionary.engines.base import GenerationDelta
from functionary.engines.transformers_engine.batch import Batch
from functionary.engines.transformers_engine.kv_cache import PrefixCache
from functionary.engines.transformers_engine.sampling import next_token
from functionary.engines.transformers_engine.sequence import Sequence

log = logging.getLogger(__package__)  # the package's logger, as before the split into modules

PREFILL_BLOCK = 128  # prompt tokens per prefill pass (and the prefix cache's unit of reuse)
# Fault injection for the engine-death tests: the loop dies after this many decode steps.
FAULT_ENV = "FUNCTIONARY_FAULT_ENGINE_DEATH_AFTER_STEPS"


class EngineKilled(BaseException):
    """Injected death of the loop (BaseException: no `except Exception` may absorb it)."""


class EngineLoop:
    def __init__(
        self,
        model,
        *,
        device: torch.device,
        vocab_size: int,
        max_batch_size: int,
        make_cache: Callable[..., DynamicCache],
        prefix_cache: Optional[PrefixCache],
        waiting: "queue.Queue[Optional[Sequence]]",
    ) -> None:
        self.model = model
        self.device = device
        self.vocab_size = vocab_size
        self.max_batch_size = max_batch_size
        self.make_cache = make_cache
        self.prefix_cache = prefix_cache
        self.waiting = waiting  # filled by the engine; None only wakes the loop
        self.batch = Batch(device, make_cache)
        self.running = False
        self.batch_rows = 0  # written by the worker, read by the engine's stats()
        self.death: Optional[str] = None  # why the loop stopped for good, once it has
        self.decode_steps = 0
        fault = os.environ.get(FAULT_ENV)
        self.die_after_steps = int(fault) if fault else None

    def run(self) -> None:
        try:
            with torch.inference_mode():
                while self.running:
                    self.step()
        except BaseException as exc:  # the worker is gone: nobody will answer these rows
            self.death = f"the engine loop died: {exc!r}"
            log.critical("%s", self.death, exc_info=not isinstance(exc, EngineKilled))
            self.fail_all(self.death)

    def fail_all(self, why: str) -> None:
        """Finish every row and waiting request with an error."""
        rows = list(self.batch.rows)
        while True:
            try:
                seq = self.waiting.get_nowait()
            except queue.Empty:
                break
            if seq is not None:
                rows.append(seq)
        for row in rows:
            if not row.finished:
                row.finished = True
                row.emit(GenerationDelta("", len(row.output_ids), f"error: {why}"))

    def step(self) -> None:
        seq = self._schedule()
        try:
            if seq is not None and not seq.aborted:
                self._prefill(seq)
            if self.batch.rows:
                self._decode()
            self.batch_rows = len(self.batch.rows)
        except Exception as exc:  # a bug must not wedge every client: fail the batch
            log.exception("engine step failed")
            for row in self.batch.rows + ([seq] if seq is not None else []):
                if not row.finished:
                    row.finished = True
                    row.emit(GenerationDelta("", len(row.output_ids), f"error: {exc}"))
            self.batch = Batch(self.device, self.make_cache)

    def _schedule(self) -> Optional[Sequence]:
        """The request to admit now, if any: wait for one when idle, none when the batch is full."""
        try:
            if not self.batch.rows:
                return self.waiting.get()
            if len(self.batch.rows) < self.max_batch_size:
                return self.waiting.get_nowait()
        except queue.Empty:
            pass
        return None

    def _prefill(self, seq: Sequence) -> None:
        shared, prefix = self.prefix_cache.lookup(seq.prompt_ids) if self.prefix_cache else (0, None)
        cache = self.make_cache(prefix)
        # Block-aligned chunks: a cached prefix then equals a fresh prefill bit for bit.
        for start in range(shared, len(seq.prompt_ids), PREFILL_BLOCK):
            ids = torch.tensor([seq.prompt_ids[start : start + PREFILL_BLOCK]], device=self.device)
            out = self.model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
            cache = out.past_key_values
        if self.prefix_cache is not None:
            self.prefix_cache.store(seq.prompt_ids, out.past_key_values)
        token = next_token(seq, out.logits[0, -1], self.vocab_size)
        if seq.append(token) is None:
            self.batch.add(seq, out.past_key_values, token)

    def _decode(self) -> None:
        self.decode_steps += 1
        if self.die_after_steps is not None and self.decode_steps > self.die_after_steps:
            raise EngineKilled(f"fault injected after {self.die_after_steps} decode steps ({FAULT_ENV})")
        batch = self.batch
        batch.drop([r for r in batch.rows if r.aborted or r.finished])
        if not batch.rows:
            return
        input_ids, mask, positions = batch.step_inputs()
        out = self.model(
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=batch.cache,
            use_cache=True,
        )
        batch.cache = out.past_key_values
        logits = out.logits[:, -1, :]
        finished = []
        for i, row in enumerate(batch.rows):
            token = next_token(row, logits[i], self.vocab_size)
            if row.append(token) is None:
                batch.last_tokens[i] = token
            else:
                finished.append(row)
        batch.drop(finished)
