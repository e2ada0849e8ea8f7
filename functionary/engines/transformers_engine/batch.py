"""The running batch: active sequences sharing one KV cache.

Rows are left-padded to a common length (as HF batched generation does) and an
attention mask marks the padding, so rows of different lengths decode in one step.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch
from transformers import DynamicCache

from functionary.engines.transformers_engine.sequence import Sequence


class Batch:
    """Active rows sharing one left-padded KV cache."""

    def __init__(self, device: torch.device, make_cache: Callable[..., DynamicCache]) -> None:
        self.device = device
        self.make_cache = make_cache
        self.rows: list[Sequence] = []
        self.last_tokens: list[int] = []
        self.cache: Optional[DynamicCache] = None
        self.mask: Optional[torch.Tensor] = None  # [rows, cache length]; 0 marks padding

    def add(self, seq: Sequence, cache: DynamicCache, token: int) -> None:
        length = cache.get_seq_length()
        row_mask = torch.ones(1, length, dtype=torch.long, device=self.device)
        if self.cache is None:
            self.cache, self.mask = cache, row_mask
        else:
            width = max(length, self.mask.shape[1])
            layers = []
            for old, new in zip(self.cache.layers, cache.layers):
                keys = torch.cat([_left_pad(old.keys, width), _left_pad(new.keys, width)])
                values = torch.cat([_left_pad(old.values, width), _left_pad(new.values, width)])
                layers.append((keys, values))
            self.cache = self.make_cache(layers)
            self.mask = torch.cat([_left_pad(self.mask, width, dim=1), _left_pad(row_mask, width, dim=1)])
        self.rows.append(seq)
        self.last_tokens.append(token)

    def drop(self, gone: list[Sequence]) -> None:
        if not gone:
            return
        keep = [i for i, r in enumerate(self.rows) if r not in gone]
        self.rows = [self.rows[i] for i in keep]
        self.last_tokens = [self.last_tokens[i] for i in keep]
        if not keep:
            self.cache, self.mask = None, None
            return
        index = torch.tensor(keep, device=self.device)
        mask = self.mask.index_select(0, index)
        # columns that are padding in every remaining row can go
        first = int(mask.any(dim=0).nonzero()[0])
        layers = [
            (layer.keys.index_select(0, index)[:, :, first:], layer.values.index_select(0, index)[:, :, first:])
            for layer in self.cache.layers
        ]
        self.cache = self.make_cache(layers)
        self.mask = mask[:, first:]

    def step_inputs(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Input ids, attention mask and positions for one decode step of every row."""
        ones = torch.ones(len(self.rows), 1, dtype=self.mask.dtype, device=self.device)
        self.mask = torch.cat([self.mask, ones], dim=1)
        positions = self.mask.sum(dim=1, keepdim=True) - 1
        input_ids = torch.tensor(self.last_tokens, device=self.device).unsqueeze(1)
        return input_ids, self.mask, positions


def _left_pad(t: torch.Tensor, width: int, dim: int = 2) -> torch.Tensor:
    missing = width - t.shape[dim]
    if missing <= 0:
        return t
    shape = list(t.shape)
    shape[dim] = missing
    return torch.cat([torch.zeros(shape, dtype=t.dtype, device=t.device), t], dim=dim)
