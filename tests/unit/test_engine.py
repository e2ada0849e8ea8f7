"""The transformers engine on the bundled model: batching, prefix cache, sampling, constraints.

fp32 keeps greedy decoding free of bf16 rounding, so "batched equals alone" and "equals
HF generate" are exact comparisons.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import torch

from functionary.constraint import ConstraintSpec
from functionary.engines.base import SamplingParams
from functionary.engines.transformers_engine import TransformersEngine
from functionary.model_store import ensure_bundled_model


@pytest.fixture(scope="module")
def engine():
    eng = TransformersEngine(str(ensure_bundled_model()), served_name="test", dtype="float32")
    loop = asyncio.new_event_loop()
    loop.run_until_complete(eng.start())
    eng.loop = loop
    yield eng
    loop.run_until_complete(eng.stop())
    loop.close()


def chat_ids(engine, text: str) -> list[int]:
    return engine.tokenizer.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                                tokenize=True, return_dict=False)


async def collect(engine, rid, ids, params, spec=None, stop_after=None):
    text, last = "", None
    gen = engine.generate(rid, ids, params, spec)
    async for delta in gen:
        text += delta.text
        last = delta
        if stop_after is not None and delta.num_tokens >= stop_after:
            break
    await gen.aclose()
    return text, last


def run(engine, coro):
    return engine.loop.run_until_complete(coro)


def test_greedy_matches_hf_generate(engine):
    ids = chat_ids(engine, "What is the capital of France?")
    text, last = run(engine, collect(engine, "a", ids, SamplingParams(max_tokens=12, temperature=0)))
    with torch.inference_mode():
        ref = engine.model.generate(torch.tensor([ids]), max_new_tokens=12, do_sample=False)
    expected = engine.tokenizer.decode(ref[0, len(ids):], skip_special_tokens=True)
    assert text == expected.split("<|im_end|>")[0]


def test_batched_requests_equal_sequential(engine):
    prompts = [chat_ids(engine, p) for p in ["Name three fruits.", "Write one sentence about the moon and stars."]]
    params = SamplingParams(max_tokens=16, temperature=0)
    alone = [run(engine, collect(engine, f"s{i}", ids, params))[0] for i, ids in enumerate(prompts)]

    async def together():
        return await asyncio.gather(*[collect(engine, f"t{i}", ids, params) for i, ids in enumerate(prompts)])

    batched = [text for text, _ in run(engine, together())]
    assert batched == alone


def test_prefix_cache_hit_gives_same_tokens(engine):
    long_system = "You are a careful assistant. " * 60  # several prefill blocks
    ids = engine.tokenizer.apply_chat_template(
        [{"role": "system", "content": long_system}, {"role": "user", "content": "Say hello."}],
        add_generation_prompt=True, tokenize=True, return_dict=False)
    hits = engine.prefix_cache.hits
    params = SamplingParams(max_tokens=10, temperature=0)
    first = run(engine, collect(engine, "p1", ids, params))[0]
    second = run(engine, collect(engine, "p2", ids, params))[0]
    assert engine.prefix_cache.hits > hits
    assert first == second


def test_max_tokens_finishes_with_length(engine):
    _, last = run(engine, collect(engine, "m", chat_ids(engine, "Tell me a long story."),
                                  SamplingParams(max_tokens=5, temperature=0)))
    assert last.finish_reason == "length" and last.num_tokens == 5


def test_seed_reproducible_and_varies(engine):
    ids = chat_ids(engine, "Invent a name for a cat.")
    outs = [run(engine, collect(engine, f"r{i}", ids, SamplingParams(max_tokens=12, temperature=1.0, seed=s)))[0]
            for i, s in enumerate([7, 7, 8, 9])]
    assert outs[0] == outs[1]
    assert len(set(outs[1:])) > 1


def test_constraint_forces_schema(engine):
    schema = {"type": "object", "properties": {"color": {"type": "string", "enum": ["red", "green"]},
                                               "count": {"type": "integer"}},
              "required": ["color", "count"], "additionalProperties": False}
    spec = ConstraintSpec.structural_tag({"type": "json_schema", "json_schema": schema})
    run(engine, engine.prepare(spec))
    text, last = run(engine, collect(engine, "c", chat_ids(engine, "Pick a color."),
                                     SamplingParams(max_tokens=40, temperature=0.9, seed=1), spec))
    value = json.loads(text)
    assert value["color"] in ("red", "green") and isinstance(value["count"], int)
    assert last.finish_reason == "stop"


def test_invalid_constraint_is_value_error(engine):
    with pytest.raises(ValueError):
        run(engine, engine.prepare(ConstraintSpec("structural_tag", '{"type": "structural_tag", "format": 3}')))


def test_closing_the_stream_aborts(engine):
    ids = chat_ids(engine, "Count from one to one hundred in words.")
    _, last = run(engine, collect(engine, "x", ids, SamplingParams(max_tokens=200, temperature=0), stop_after=3))
    assert last.finish_reason is None

    async def settle():
        for _ in range(100):
            if engine.stats()["running"] == 0:
                return True
            await asyncio.sleep(0.05)
        return False

    assert run(engine, settle())
