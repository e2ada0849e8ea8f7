"""What the constraint costs per token, next to what the model costs per token.

For the drone tool set (16 tools) in each tool_choice mode: grammar compile time (cold
and cached) and the per-token cost of filling and applying xgrammar's mask while the
model's own answer is replayed token by token; then one decode step of the bundled
model at the same context length, unconstrained, for scale.

    .venv/bin/python benchmarks/grammar_overhead.py
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch
import xgrammar as xgr

from functionary.engines.transformers_engine.grammar import GrammarCache
from functionary.engines.transformers_engine.kv_cache import new_cache
from functionary.formats import detect
from functionary.domain import ParsedCall
from functionary.model_store import ensure_bundled_model
from functionary.openai_types import ChatCompletionRequest
from functionary.domain import tool_request

REPO = Path(__file__).resolve().parents[1]
DRONE = REPO.parent / "shared" / "data" / "drone_copilot.json"


def mask_cost(grammars: GrammarCache, spec, token_ids: list[int], vocab: int) -> list[float]:
    matcher = grammars.matcher(spec)
    bitmask = xgr.allocate_token_bitmask(1, vocab)
    logits = torch.randn(1, vocab)
    costs = []
    for token in token_ids:
        started = time.perf_counter()
        matcher.fill_next_token_bitmask(bitmask)
        xgr.apply_token_bitmask_inplace(logits, bitmask)
        costs.append(time.perf_counter() - started)
        assert matcher.accept_token(token), "replayed answer left the grammar"
    return costs


def main() -> None:
    from transformers import AutoTokenizer

    from functionary.engines.transformers_engine.loader import load_model

    path = ensure_bundled_model()
    tokenizer = AutoTokenizer.from_pretrained(path)
    fmt = detect(tokenizer)
    data = json.loads(DRONE.read_text())
    vocab = 49152
    messages = [{"role": "system", "content": data["system_prompt"]}, {"role": "user", "content": "Land at home base"}]
    answer_calls = [ParsedCall("land_drone", '{"location": "home_base"}')]

    print(f"format: {fmt.name}")
    print("| mode | compile cold (ms) | compile cached (ms) | mask per token mean (ms) | p99 (ms) | max (ms) |")
    print("|---|---|---|---|---|---|")
    mean_costs = []
    for mode, text in [("auto", "Landing now."), ("required", ""), ("named", "")]:
        choice = mode if mode != "named" else {"type": "function", "function": {"name": "land_drone"}}
        req = ChatCompletionRequest(messages=messages, tools=data["tools"], tool_choice=choice)
        tools = tool_request(req)
        spec = fmt.constraint(tools)
        grammars = GrammarCache(tokenizer, vocab, [tokenizer.eos_token_id])
        t0 = time.perf_counter()
        grammars.get(spec)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        grammars.get(spec)
        warm = time.perf_counter() - t0
        tokens = tokenizer.encode(fmt.render_assistant(text, answer_calls), add_special_tokens=False)
        costs = []
        for _ in range(20):
            costs += mask_cost(grammars, spec, tokens, vocab)
        costs.sort()
        mean_costs.append(statistics.mean(costs))
        print(f"| {mode} | {cold * 1e3:.1f} | {warm * 1e3:.3f} | {statistics.mean(costs) * 1e3:.3f} | "
              f"{costs[int(len(costs) * 0.99)] * 1e3:.3f} | {costs[-1] * 1e3:.3f} |")

    # One unconstrained decode step at the drone prompt's length, for scale.
    model = load_model(str(path), torch.bfloat16, torch.device("cpu"))
    tools = tool_request(ChatCompletionRequest(messages=messages, tools=data["tools"], tool_choice="required"))
    prompt = tokenizer.encode(fmt.render_prompt(ChatCompletionRequest(messages=messages).messages, tools),
                              add_special_tokens=False)
    with torch.inference_mode():
        out = model(input_ids=torch.tensor([prompt]), past_key_values=new_cache(), use_cache=True, logits_to_keep=1)
        cache, steps = out.past_key_values, []
        token = torch.tensor([[int(out.logits[0, -1].argmax())]])
        for _ in range(32):
            t0 = time.perf_counter()
            out = model(input_ids=token, past_key_values=cache, use_cache=True)
            steps.append(time.perf_counter() - t0)
            cache = out.past_key_values
            token = out.logits[:, -1].argmax(-1, keepdim=True)
    step = statistics.median(steps)
    print(f"\nmodel decode step at {len(prompt)} context tokens: {step * 1e3:.1f} ms (median of 32)")
    print(f"constraint overhead per token: {max(mean_costs) * 1e3:.3f} ms = "
          f"{100 * max(mean_costs) / step:.1f}% of a decode step (worst mode)")


if __name__ == "__main__":
    main()
