"""Loading a Hugging Face model for the engine: dtype, attention, stop tokens, KV caches."""

from __future__ import annotations

import logging

import torch
from transformers import AutoModelForCausalLM, DynamicCache

from functionary.engines.transformers_engine import cpu_attention

log = logging.getLogger(__package__)  # the package's logger, as before the split into modules


def load_model(path: str, dtype: torch.dtype, device: torch.device):
    if device.type == "cpu":
        try:
            attn = cpu_attention.register()
            return AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation=attn).eval()
        except (ValueError, ImportError) as exc:  # a model that cannot use SDPA-style attention
            log.info("stock attention for this model (%s)", exc)
    return AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device).eval()


def dynamic_cache(layers=None) -> DynamicCache:
    """HF's own cache, for models whose layers growing caches cannot replace."""
    return DynamicCache(ddp_cache_data=layers) if layers else DynamicCache()


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype in ("auto", None):
        return torch.bfloat16  # ~1.7x faster than fp32 for decoding on our CPUs, native on GPUs
    table = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16, "half": torch.float16,
             "float32": torch.float32, "float": torch.float32, "fp32": torch.float32}
    if dtype not in table:
        raise ValueError(f"unsupported dtype {dtype!r}; choose from auto, {', '.join(table)}")
    return table[dtype]


def stop_token_ids(tokenizer, model) -> list[int]:
    """Every end-of-sequence id the model's configs or the tokenizer name."""
    ids = set()
    for source in (getattr(model, "generation_config", None), model.config):
        eos = getattr(source, "eos_token_id", None) if source is not None else None
        if isinstance(eos, int):
            ids.add(eos)
        elif isinstance(eos, (list, tuple)):
            ids.update(eos)
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return sorted(ids)
