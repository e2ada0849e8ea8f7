"""Micro-batches without wasted work: shared prefixes, or packed rows.

Two layouts, both exact (the loss and its gradient are what one-example-at-a-time
training would give):

- **shared prefix**: examples made for one tool set start with the same long system
  prompt and tool list (the drone prompt: ~1,050 of ~1,100 tokens). A micro-batch holds
  examples of one group; the shared tokens run through the model once and their
  key/value cache is broadcast to every example's suffix. Gradients flow through the
  broadcast back into the prefix, so nothing is approximated, and a batch of 16 costs
  one prefix plus 16 short suffixes instead of 16 full prompts.
- **packed**: examples with nothing in common are packed into rows of up to
  `max_length` tokens; each example's positions restart at 0, which makes transformers
  build a block-diagonal causal mask (no attention across examples) and saves all padding.

The layout is chosen per data set (`choose_layout`): shared prefixes pay off when the
examples of a group share many tokens.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

import torch

from functionary.train.render import IGNORE, Rendered


@dataclass
class PrefixBatch:
    prefix: list[int]
    suffixes: list[list[int]]
    labels: list[list[int]]

    def tokens(self) -> int:
        return len(self.prefix) + sum(map(len, self.suffixes))


@dataclass
class PackedBatch:
    rows: list[list[int]]
    positions: list[list[int]]
    labels: list[list[int]]

    def tokens(self) -> int:
        return sum(map(len, self.rows))


def common_prefix(seqs: Sequence[Sequence[int]]) -> int:
    if not seqs:
        return 0
    first, n = seqs[0], min(map(len, seqs))
    for i in range(n):
        t = first[i]
        if any(s[i] != t for s in seqs):
            return i
    return n


def shared_prefixes(examples: Sequence[Rendered]) -> dict[str, int]:
    """Per group, how many leading tokens all its examples share, stopping one token
    before the earliest label (the prefix's last position predicts the first suffix
    token, which must not be a label: its logits are not computed in the suffix pass)."""
    groups: dict[str, list[Rendered]] = defaultdict(list)
    for ex in examples:
        groups[ex.group].append(ex)
    out = {}
    for g, members in groups.items():
        n = common_prefix([m.input_ids for m in members]) if len(members) > 1 else 0
        out[g] = max(0, min(n, min(m.first_label for m in members) - 1))
    return out


def choose_layout(examples: Sequence[Rendered], batch_size: int) -> str:
    """`shared-prefix` when broadcasting prefixes saves at least half the tokens, else `packed`."""
    prefixes = shared_prefixes(examples)
    total = sum(len(e.input_ids) for e in examples) or 1
    saved = sum(prefixes[e.group] for e in examples) * (1 - 1 / max(1, batch_size))
    return "shared-prefix" if saved / total >= 0.5 else "packed"


def prefix_batches(examples: Sequence[Rendered], batch_size: int, rng: random.Random) -> list[PrefixBatch]:
    prefixes = shared_prefixes(examples)
    groups: dict[str, list[Rendered]] = defaultdict(list)
    for ex in examples:
        groups[ex.group].append(ex)
    batches = []
    for g, members in groups.items():
        members = list(members)
        rng.shuffle(members)
        # Suffixes of similar length batch together (a batch pads to its longest), in
        # windows of a few batches so that batches still mix examples of every kind.
        window = batch_size * 4
        members = [m for i in range(0, len(members), window)
                   for m in sorted(members[i: i + window], key=lambda m: len(m.input_ids))]
        n = prefixes[g]
        for i in range(0, len(members), batch_size):
            chunk = members[i: i + batch_size]
            batches.append(PrefixBatch(chunk[0].input_ids[:n], [m.input_ids[n:] for m in chunk],
                                       [m.labels[n:] for m in chunk]))
    rng.shuffle(batches)
    return batches


def packed_batches(examples: Sequence[Rendered], max_length: int, rows_per_batch: int,
                   rng: random.Random) -> list[PackedBatch]:
    """First-fit-decreasing packing into rows, then rows grouped into batches."""
    order = sorted(examples, key=lambda e: len(e.input_ids), reverse=True)
    rows: list[list[Rendered]] = []
    room: list[int] = []
    for ex in order:
        n = len(ex.input_ids)
        for i, left in enumerate(room):
            if n <= left:
                rows[i].append(ex)
                room[i] -= n
                break
        else:
            rows.append([ex])
            room.append(max_length - n)
    rng.shuffle(rows)
    batches = []
    for i in range(0, len(rows), rows_per_batch):
        chunk = rows[i: i + rows_per_batch]
        batches.append(PackedBatch([sum((e.input_ids for e in r), []) for r in chunk],
                                   [sum((list(range(len(e.input_ids))) for e in r), []) for r in chunk],
                                   [sum((e.labels for e in r), []) for r in chunk]))
    return batches


def _pad(seqs: list[list[int]], value: int) -> torch.Tensor:
    width = max(map(len, seqs))
    return torch.tensor([s + [value] * (width - len(s)) for s in seqs], dtype=torch.long)


def collate(items: list) -> dict:
    """Tensors for one micro-batch (the data loader's batch size is one micro-batch)."""
    (batch,) = items
    if isinstance(batch, PrefixBatch):
        widths = [len(s) for s in batch.suffixes]
        mask = torch.zeros(len(widths), len(batch.prefix) + max(widths), dtype=torch.long)
        for i, w in enumerate(widths):
            mask[i, : len(batch.prefix) + w] = 1
        return {"layout": "shared-prefix", "prefix_ids": torch.tensor([batch.prefix], dtype=torch.long),
                "input_ids": _pad(batch.suffixes, 0), "labels": _pad(batch.labels, IGNORE), "attention_mask": mask}
    # Padding continues the last row's positions from 0 as a sequence of its own (so it
    # never joins a real example's block) and carries no loss.
    width = max(map(len, batch.rows))
    positions = [p + list(range(width - len(p))) for p in batch.positions]
    return {"layout": "packed", "input_ids": _pad(batch.rows, 0),
            "position_ids": torch.tensor(positions, dtype=torch.long), "labels": _pad(batch.labels, IGNORE)}


class Batches(torch.utils.data.Dataset):
    """Micro-batches as a map-style data set (Trainer shuffles their order each epoch)."""

    def __init__(self, batches: list):
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int):
        return self.batches[i]
