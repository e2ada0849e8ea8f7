"""KV caches for the transformers engine.

- `GrowingLayer`: a cache layer with spare capacity, so a decode step writes one column
  in place instead of copying the whole cache (HF's DynamicLayer concatenates per step).
- `PrefixCache`: keeps the KV of recent prompts so a new prompt that shares a prefix
  (the same system prompt and tools, an earlier turn of the conversation) only
  prefills the part that differs.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Optional

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

SPARE = 128  # columns added beyond what is needed when a layer (re)allocates


class GrowingLayer(DynamicLayer):
    def __init__(self, keys: Optional[torch.Tensor] = None, values: Optional[torch.Tensor] = None, **kwargs):
        super().__init__(**kwargs)
        self._k: Optional[torch.Tensor] = None
        self._v: Optional[torch.Tensor] = None
        self._n = 0
        if keys is not None:
            self.update(keys, values)

    # DynamicLayer code reads `self.keys` / `self.values`: expose the filled part.
    @property
    def keys(self) -> torch.Tensor:
        return self._k[:, :, : self._n] if self._k is not None else torch.empty(0)

    @keys.setter
    def keys(self, value) -> None:  # only DynamicLayer.lazy_initialization assigns; ignore
        pass

    @property
    def values(self) -> torch.Tensor:
        return self._v[:, :, : self._n] if self._v is not None else torch.empty(0)

    @values.setter
    def values(self, value) -> None:
        pass

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if not self.is_initialized:
            self.dtype, self.device = key_states.dtype, key_states.device
            self.is_initialized = True
        new = key_states.shape[-2]
        if self._k is None or self._n + new > self._k.shape[-2]:
            self._reserve(self._n + new + SPARE, key_states)
        self._k[:, :, self._n : self._n + new] = key_states
        self._v[:, :, self._n : self._n + new] = value_states
        self._n += new
        return self.keys, self.values

    def _reserve(self, capacity: int, like: torch.Tensor) -> None:
        b, h, _, d = like.shape
        k = like.new_zeros(b, h, capacity, d)
        v = like.new_zeros(b, h, capacity, d)
        if self._k is not None and self._n:
            k[:, :, : self._n] = self._k[:, :, : self._n]
            v[:, :, : self._n] = self._v[:, :, : self._n]
        self._k, self._v = k, v

    def get_seq_length(self) -> int:
        return self._n


def new_cache(layers: Optional[list[tuple[torch.Tensor, torch.Tensor]]] = None) -> DynamicCache:
    """A DynamicCache made of GrowingLayers, optionally filled with (keys, values) per layer."""
    cache = DynamicCache()
    cache.layer_class_to_replicate = GrowingLayer
    if layers is not None:
        cache.layers = [GrowingLayer(k, v) for k, v in layers]
    return cache


def supports_growing(model) -> bool:
    """Growing layers replace plain full-attention layers only (no sliding windows, no
    linear-attention states)."""
    probe = DynamicCache(config=model.config)
    return all(type(layer) is DynamicLayer for layer in probe.layers) or not probe.layers


class PrefixCache:
    """LRU of prompt KV caches keyed by token ids; lookups find the longest shared prefix.

    Reuse is cut to whole blocks because the engine prefills block by block: a reused
    prefix then holds exactly the numbers a fresh prefill would compute, so the same
    request gives the same tokens whether or not it hit the cache."""

    def __init__(self, max_tokens: int = 65536, block: int = 128) -> None:
        self.max_tokens = max_tokens
        self.block = block
        self._entries: OrderedDict[tuple[int, ...], list[tuple[torch.Tensor, torch.Tensor]]] = OrderedDict()
        self.hits = 0
        self.reused_tokens = 0

    def lookup(self, prompt: list[int]) -> tuple[int, Optional[list[tuple[torch.Tensor, torch.Tensor]]]]:
        """(shared length, per-layer KV views of that length). At least one prompt token is
        always left to prefill, since its logits pick the first generated token."""
        best, best_key = 0, None
        for key in self._entries:
            n = _shared_prefix(key, prompt, limit=len(prompt) - 1)
            if n > best:
                best, best_key = n, key
        best -= best % self.block
        if best_key is None or best == 0:
            return 0, None
        self._entries.move_to_end(best_key)
        self.hits += 1
        self.reused_tokens += best
        return best, [(k[:, :, :best], v[:, :, :best]) for k, v in self._entries[best_key]]

    def store(self, prompt: list[int], cache: DynamicCache) -> None:
        """Remember a freshly prefilled prompt (batch of one). Stored tensors are copies:
        the live cache keeps growing in place."""
        if len(prompt) <= self.block or len(prompt) > self.max_tokens:
            return
        key = tuple(prompt)
        for old in [k for k in self._entries if len(k) <= len(key) and key[: len(k)] == k]:
            del self._entries[old]  # the new prompt extends it
        n = len(prompt)
        self._entries[key] = [(layer.keys[:, :, :n].clone(), layer.values[:, :, :n].clone()) for layer in cache.layers]
        while sum(len(k) for k in self._entries) > self.max_tokens:
            self._entries.popitem(last=False)


def _shared_prefix(a: tuple[int, ...], b: list[int], limit: int) -> int:
    n = min(len(a), len(b), limit)
    # compare in blocks: prompts share long prefixes, so this is mostly memcmp-speed
    i = 0
    while i < n:
        j = min(i + 256, n)
        if list(a[i:j]) == b[i:j]:
            i = j
            continue
        while i < j and a[i] == b[i]:
            i += 1
        return i
    return n
