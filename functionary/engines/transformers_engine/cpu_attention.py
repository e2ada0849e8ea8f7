"""A faster decode-step attention for CPUs, registered with transformers.

For one new token per sequence, torch's CPU SDPA kernel spends most of a batched decode
step on attention (measured ~8x slower than two grouped matmuls at 16 x 1100 tokens).
Here queries are grouped per key/value head (no repeated K/V), scores are taken in fp32,
and prefill (several new tokens) still goes to the stock SDPA path.
"""

from __future__ import annotations

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

NAME = "functionary_cpu_decode"


def decode_attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, **kwargs):
    if query.shape[2] != 1 or kwargs.get("position_bias") is not None or kwargs.get("softcap") is not None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, **kwargs)
    batch, heads, _, dim = query.shape
    kv_heads = key.shape[1]
    scale = scaling if scaling is not None else dim**-0.5
    grouped = query.reshape(batch, kv_heads, heads // kv_heads, dim)
    scores = torch.matmul(grouped, key.transpose(-1, -2)).float() * scale  # [batch, kv_heads, group, keys]
    if attention_mask is not None:
        mask = attention_mask[:, :, -1:, :]  # this token's row: [batch, 1, 1, keys]
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))
        else:
            scores = scores + mask.float()
    probs = torch.softmax(scores, dim=-1).to(value.dtype)
    out = torch.matmul(probs, value).reshape(batch, heads, 1, dim)
    return out.transpose(1, 2).contiguous(), None


def register() -> str:
    """Register the implementation (idempotent) and return the name to load models with."""
    AttentionInterface.register(NAME, decode_attention)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    return NAME
