"""Turning one row of logits into a token: grammar mask, penalties, temperature, top-p,
seeded draws."""

from __future__ import annotations

import torch
import xgrammar as xgr

from functionary.engines.base import SamplingParams
from functionary.engines.transformers_engine.sequence import Sequence


def next_token(seq: Sequence, logits: torch.Tensor, vocab_size: int) -> int:
    """The sequence's next token from its row of logits, under its grammar and penalties."""
    logits = logits.float()
    if seq.matcher is not None:
        if seq.bitmask is None:  # one buffer per sequence, refilled every token
            seq.bitmask = xgr.allocate_token_bitmask(1, vocab_size)
        seq.matcher.fill_next_token_bitmask(seq.bitmask)
        logits = logits.unsqueeze(0)
        xgr.apply_token_bitmask_inplace(logits, seq.bitmask.to(logits.device))
        logits = logits[0]
    apply_penalties(logits, seq.counts, seq.params)
    return sample(logits.cpu(), seq.params, seq.generator)


def apply_penalties(logits: torch.Tensor, counts: dict[int, int], params: SamplingParams) -> None:
    """OpenAI-style presence/frequency penalties, in place, on a 1-D float tensor."""
    if not counts or (params.presence_penalty == 0 and params.frequency_penalty == 0):
        return
    ids = torch.tensor(list(counts.keys()), dtype=torch.long)
    freq = torch.tensor(list(counts.values()), dtype=logits.dtype)
    logits[ids] -= params.frequency_penalty * freq + params.presence_penalty


def sample(logits: torch.Tensor, params: SamplingParams, generator: torch.Generator) -> int:
    """Pick a token from a 1-D float tensor where disallowed tokens are already -inf."""
    if params.temperature == 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / params.temperature, dim=-1)
    if params.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        cumulative = torch.cumsum(sorted_probs, dim=-1)
        # keep the smallest prefix whose mass reaches top_p (always at least one token)
        drop = cumulative - sorted_probs > params.top_p
        sorted_probs[drop] = 0.0
        probs = torch.zeros_like(probs).scatter_(0, order, sorted_probs)
    return int(torch.multinomial(probs, 1, generator=generator))
