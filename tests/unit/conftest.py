"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    """A tiny random Llama model with the bundled tokenizer, saved as a model folder: what
    the training tests train (seconds, not minutes)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from tests.unit.formats.support import load_tokenizer

    torch.manual_seed(0)
    tok = load_tokenizer()
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id)
    path = tmp_path_factory.mktemp("tiny")
    LlamaForCausalLM(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path
