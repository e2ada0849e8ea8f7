"""What the constraint costs per token, next to what the model costs per token.

Grammar compile time (cold and cached) and the per-token cost of the constraint (fill
xgrammar's mask, apply it to the logits, accept the token: what the engine does each step)
while a fixed answer is replayed token by token, ending with the end-of-turn token:
- the drone tool set (16 tools) in each tool_choice mode, on one short call (~15 tokens);
- the drone tools under `auto`, on a reply that is free text (a few hundred tokens);
- the nested-tools set (benchmarks/data/nested_tools.json) under `required`, on a call
  whose `notes` string is a few hundred tokens long.
Then one decode step of the bundled model at the drone prompt's length, unconstrained, for
scale. Runs in-process (no server); about a minute on 2 cores.

    .venv/bin/python benchmarks/grammar_overhead.py
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import xgrammar as xgr

from functionary.domain import ParsedCall, tool_request
from functionary.engines.transformers_engine.grammar import GrammarCache
from functionary.engines.transformers_engine.kv_cache import new_cache
from functionary.formats import detect
from functionary.model_store import ensure_bundled_model
from functionary.openai_types import ChatCompletionRequest

REPO = Path(__file__).resolve().parents[1]
DRONE = REPO.parent / "shared" / "data" / "drone_copilot.json"
NESTED = REPO / "benchmarks" / "data" / "nested_tools.json"
SAMPLES = 3000  # timed tokens per row at least: p99 is then the 30th slowest
LONG_WORDS = 220  # about 300 tokens of English prose for the bundled tokenizer
SENTENCES = [
    "The drone held its position over the ridge while the wind picked up from the west.",
    "Its flight controller read the gyroscope a thousand times a second and corrected every small tilt.",
    "Below, the survey team marked the fence posts that the storm had knocked over last week.",
    "When the battery fell to forty percent, the pilot turned the drone back towards the landing pad.",
    "The camera kept recording, so the team could count the damaged posts again in the evening.",
    "Fog rolled in from the valley, and the obstacle sensors began to see less than ten meters ahead.",
    "The pilot slowed the drone down, raised it above the tree line and waited for the fog to clear.",
]


@dataclass
class Case:
    tools: str  # which tool set
    mode: str  # tool_choice: auto, required, named
    answer: str  # what is replayed, in words
    request: ChatCompletionRequest
    text: str
    calls: list[ParsedCall]


def prose(words: int) -> str:
    """At least `words` words of plain English, the same every run (the sentences, cycled)."""
    out: list[str] = []
    i = 0
    while len(" ".join(out).split()) < words:
        out.append(SENTENCES[i % len(SENTENCES)])
        i += 1
    return " ".join(out)


def long_notes_call(words: int) -> ParsedCall:
    """A nested-set `book_table` call whose free-form `notes` string is long, with the
    escapes a real note has (quotes, a line break)."""
    notes = prose(words) + '\nPlease write "Happy birthday, Ben!" on the cake.'
    args = {"restaurant": "Trattoria Sole", "date": "2026-12-24", "time": "19:30",
            "guests": [{"name": "Ana", "vegetarian": True, "allergies": ["peanuts"]},
                       {"name": "Ben", "vegetarian": False}],
            "notes": notes}
    return ParsedCall("book_table", json.dumps(args))


def replays(answer_tokens: int, samples: int = SAMPLES, at_least: int = 10) -> int:
    """How many times to replay an answer of this many tokens for `samples` timed tokens."""
    return max(at_least, math.ceil(samples / max(1, answer_tokens)))


def token_stats(costs: list[float]) -> dict[str, float]:
    """Mean, p99 (nearest rank) and max of per-token costs, in seconds."""
    if not costs:
        raise ValueError("no costs")
    ordered = sorted(costs)
    return {"mean": statistics.fmean(ordered), "p99": ordered[math.ceil(0.99 * len(ordered)) - 1],
            "max": ordered[-1]}


def cases(drone: dict, nested: dict) -> list[Case]:
    land = [{"role": "system", "content": drone["system_prompt"]}, {"role": "user", "content": "Land at home base"}]
    short_call = [ParsedCall("land_drone", '{"location": "home_base"}')]
    named = {"type": "function", "function": {"name": "land_drone"}}
    story = [{"role": "system", "content": drone["system_prompt"]},
             {"role": "user", "content": "Tell me about today's survey flight."}]
    booking = [{"role": "user", "content": "Book Trattoria Sole for Ana and Ben on Christmas Eve at 19:30, "
                                          "and tell them everything about Ben's birthday."}]

    def req(messages, tools, choice):
        return ChatCompletionRequest(messages=messages, tools=tools, tool_choice=choice)

    return [
        Case("drone", "auto", "text + short call", req(land, drone["tools"], "auto"), "Landing now.", short_call),
        Case("drone", "required", "short call", req(land, drone["tools"], "required"), "", short_call),
        Case("drone", "named", "short call", req(land, drone["tools"], named), "", short_call),
        Case("drone", "auto", "free text", req(story, drone["tools"], "auto"), prose(LONG_WORDS), []),
        Case("nested", "required", "call, long string", req(booking, nested["tools"], "required"), "",
             [long_notes_call(LONG_WORDS)]),
    ]


def replay_cost(grammars: GrammarCache, spec, token_ids: list[int], vocab: int) -> list[float]:
    """Seconds per token of the constraint's work in the engine's decode step."""
    matcher = grammars.matcher(spec)
    bitmask = xgr.allocate_token_bitmask(1, vocab)
    logits = torch.randn(1, vocab)
    costs = []
    for token in token_ids:
        started = time.perf_counter()
        matcher.fill_next_token_bitmask(bitmask)
        xgr.apply_token_bitmask_inplace(logits, bitmask)
        accepted = matcher.accept_token(token)
        costs.append(time.perf_counter() - started)
        assert accepted, f"replayed answer left the grammar at token {token}"
    return costs


def main() -> None:
    from transformers import AutoTokenizer

    from functionary.engines.transformers_engine.loader import load_model

    path = ensure_bundled_model()
    tokenizer = AutoTokenizer.from_pretrained(path)
    fmt = detect(tokenizer)
    drone, nested = json.loads(DRONE.read_text()), json.loads(NESTED.read_text())
    vocab = 49152
    eos = tokenizer.eos_token_id

    print(f"format: {fmt.name}")
    print("| tools | mode | answer | tokens | compile cold (ms) | compile cached (ms) | "
          "per token mean (ms) | p99 (ms) | max (ms) |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst = (0.0, "")
    for case in cases(drone, nested):
        spec = fmt.constraint(tool_request(case.request))
        grammars = GrammarCache(tokenizer, vocab, [eos])
        t0 = time.perf_counter()
        grammars.get(spec)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        grammars.get(spec)
        warm = time.perf_counter() - t0
        tokens = tokenizer.encode(fmt.render_assistant(case.text, case.calls), add_special_tokens=False) + [eos]
        costs = []
        for _ in range(replays(len(tokens))):
            costs += replay_cost(grammars, spec, tokens, vocab)
        stats = token_stats(costs)
        worst = max(worst, (stats["mean"], f"{case.tools} {case.mode}, {case.answer}"))
        print(f"| {case.tools} | {case.mode} | {case.answer} | {len(tokens)} | {cold * 1e3:.1f} | {warm * 1e3:.3f} | "
              f"{stats['mean'] * 1e3:.3f} | {stats['p99'] * 1e3:.3f} | {stats['max'] * 1e3:.3f} |")

    # One unconstrained decode step at the drone prompt's length, for scale.
    model = load_model(str(path), torch.bfloat16, torch.device("cpu"))
    first = cases(drone, nested)[1].request
    prompt = tokenizer.encode(fmt.render_prompt(first.messages, tool_request(first)), add_special_tokens=False)
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
    print(f"constraint overhead per token: {worst[0] * 1e3:.3f} ms = "
          f"{100 * worst[0] / step:.2f}% of a decode step (worst row: {worst[1]})")


if __name__ == "__main__":
    main()
