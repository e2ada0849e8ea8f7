"""One request as the engine loop sees it, and the rules that end it.

A sequence ends on a stop token, when its grammar is complete, at max_tokens, when the
context is full, or when its client has gone (aborted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import torch
import xgrammar as xgr

from functionary.engines.base import GenerationDelta, SamplingParams
from functionary.engines.transformers_engine.detokenizer import IncrementalDetokenizer


@dataclass(eq=False)  # a request is itself: the batch finds rows by identity
class Sequence:
    request_id: str
    prompt_ids: list[int]
    params: SamplingParams
    matcher: Optional[xgr.GrammarMatcher]
    emit: Callable[[GenerationDelta], None]  # thread-safe: hands a delta to the request's event loop
    detok: IncrementalDetokenizer
    generator: torch.Generator
    stop_token_ids: list[int]
    max_model_len: int
    output_ids: list[int] = field(default_factory=list)
    counts: dict[int, int] = field(default_factory=dict)
    bitmask: Optional[torch.Tensor] = None
    aborted: bool = False
    finished: bool = False

    def append(self, token: int) -> Optional[str]:
        """Record a sampled token and emit its text; the finish reason when the sequence is
        done, else None. An aborted sequence ends silently: nobody is listening."""
        if self.aborted:
            self.finished = True
            return "abort"
        if self.matcher is not None and not self.matcher.accept_token(token):
            raise RuntimeError(f"grammar rejected token {token} it allowed")  # a bug, not client input
        finish = None
        text = ""
        if token in self.stop_token_ids:
            finish = "stop"  # the stop token itself is neither output nor text
        else:
            self.output_ids.append(token)
            self.counts[token] = self.counts.get(token, 0) + 1
            text = self.detok.push(token)
            finish = self._limit_reached()
        self.emit(GenerationDelta(text, len(self.output_ids), finish))
        if finish is not None:
            self.finished = True
        return finish

    def _limit_reached(self) -> Optional[str]:
        if self.matcher is not None and self.matcher.is_terminated():
            return "stop"
        if len(self.output_ids) >= self.params.max_tokens:
            return "length"
        if len(self.prompt_ids) + len(self.output_ids) >= self.max_model_len:
            return "length"
        return None
