"""The synthesis pipeline: tools in, verified and split training data out.

    invocations (enumerated per function; a teacher adds its own)
      -> split by invocation: each goes to train or validation, never both
      -> examples of every kind from each side's invocations (offline writer or teacher)
      -> verification: format (every call validates), execution (tools that are Python
         callables run, examples that raise are dropped), semantic (optional: the teacher
         answers each request and must agree), de-duplication
      -> train.jsonl, val.jsonl, report.json
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from functionary.data.examples import KINDS, Builder, Example
from functionary.data.invocations import Enumerator, Invocation, parameters
from functionary.data.phrasing import Writer
from functionary.data.rejections import Rejection, RejectionWriter, refusal_text, reject_function
from functionary.data.teacher import Teacher, TeacherError
from functionary.data.toolset import ToolSet
from functionary.data.values import ValueMaker
from functionary.validation import CallJudge

# Shares of each kind when the tool set has a reject function, and when it has none
# (then rejections are text answers, which `auto` allows and `required` does not).
MIX_WITH_REJECT = {"call": 0.6, "parallel": 0.08, "multi_turn": 0.08, "missing_argument": 0.04, "rejection": 0.2}
# Within rejections: mostly requests the tools plainly cannot serve, fewer vague ones (short
# unclear requests look like terse commands, and too many of them teach refusing those).
REJECTION_SHARES = {"off_domain": 0.35, "unsupported": 0.35, "out_of_range": 0.15, "vague": 0.15}
MIX_PLAIN = {"call": 0.55, "parallel": 0.1, "multi_turn": 0.1, "missing_argument": 0.1, "rejection": 0.15}


@dataclass
class Settings:
    examples: int = 600
    seed: int = 0
    val_fraction: float = 0.1
    requests_per_invocation: int = 3
    mix: Optional[dict[str, float]] = None  # None: by whether the tools have a reject function
    # What a request that lacks a required value gets: "ask" (a question, then the call),
    # "reject" (the reject function), or "auto": reject when the tools have a reject
    # function and the system prompt says to reject unclear requests, else ask.
    missing: str = "auto"
    semantic: bool = True  # with a teacher: keep only examples the teacher agrees with


@dataclass
class Dropped:
    stage: str
    reason: str
    kind: str
    text: str


@dataclass
class Result:
    train: list[Example]
    val: list[Example]
    dropped: list[Dropped]
    report: dict = field(default_factory=dict)


class Synthesizer:
    def __init__(self, toolset: ToolSet, settings: Settings, teacher: Optional[Teacher] = None):
        self.toolset, self.s, self.teacher = toolset, settings, teacher
        self.rng = random.Random(settings.seed)
        self.maker = ValueMaker(self.rng)
        self.writer = Writer(self.rng)
        self.enumerator = Enumerator(self.maker)
        self.builder = Builder(toolset.system_prompt)
        self.judge = CallJudge.from_tools(toolset.tools)
        self.reject_name = reject_function(toolset.functions)
        self.functions = [f for f in toolset.functions if f["name"] != self.reject_name]
        self.mix = settings.mix or (MIX_WITH_REJECT if self.reject_name else MIX_PLAIN)
        self.dropped: list[Dropped] = []
        self.teacher_failures: Counter[str] = Counter()
        self.missing_policy = self._missing_policy()

    def _missing_policy(self) -> str:
        if self.s.missing != "auto":
            return self.s.missing
        strict = any(w in (self.toolset.system_prompt or "").lower() for w in ("ambiguous", "unclear", "not clear"))
        return "reject" if self.reject_name and strict else "ask"

    # ------------------------------------------------------------------ invocations

    def invocations(self) -> dict[str, list[Invocation]]:
        quota = self.s.examples * self.mix.get("call", 0.5) / max(1, self.s.requests_per_invocation)
        per_function = max(3, math.ceil(quota / max(1, len(self.functions))) + 1)
        found: dict[str, list[Invocation]] = {}
        for f in self.functions:
            invs = self.enumerator.enumerate(f, per_function)
            if self.teacher is not None:
                invs += self._teacher_invocations(f, max(1, per_function // 3))
            found[f["name"]] = list({i.key: i for i in invs}.values())
        return found

    def _teacher_invocations(self, function: dict, n: int) -> list[Invocation]:
        out = []
        for _ in range(n):
            try:
                args = self.teacher.fill(function)
            except TeacherError as exc:
                self.teacher_failures["fill"] += 1
                self._drop("teacher", str(exc), "call", function["name"])
                continue
            problem = self.judge.problem(function["name"], json.dumps(args))
            if problem:
                self._drop("format", problem, "call", f"teacher fill of {function['name']}")
                continue
            out.append(Invocation(function["name"], args))
        return out

    def split(self, invocations: dict[str, list[Invocation]]) -> tuple[dict, dict]:
        """Each function's invocations to train or validation; a function with a single
        invocation stays in train (the model must see every function)."""
        train, val = {}, {}
        for name, invs in invocations.items():
            invs = list(invs)
            self.rng.shuffle(invs)
            k = int(round(len(invs) * self.s.val_fraction)) if len(invs) > 1 else 0
            k = min(max(k, 1 if len(invs) >= 3 and self.s.val_fraction > 0 else 0), len(invs) - 1)
            val[name], train[name] = invs[:k], invs[k:]
        return train, val

    # ------------------------------------------------------------------ requests

    def requests(self, inv: Invocation, n: int) -> list[str]:
        function = self.toolset.function(inv.name)
        if self.teacher is not None:
            try:
                return self.teacher.phrase(function, inv.arguments, n)
            except TeacherError as exc:
                self.teacher_failures["phrase"] += 1
                self._drop("teacher", str(exc), "call", inv.name)
        return self.writer.requests(function, inv.arguments, n)

    # ------------------------------------------------------------------ kinds

    def build(self, pool: dict[str, list[Invocation]], rejections: list[Rejection], total: int) -> list[Example]:
        quotas = _quotas(self.mix, total)
        out: list[Example] = []
        out += self.calls(pool, quotas["call"])
        out += self.parallels(pool, quotas["parallel"])
        out += self.multi_turns(pool, quotas["multi_turn"])
        out += self.missing_arguments(pool, quotas["missing_argument"])
        out += self.rejections(rejections, quotas["rejection"])
        return out

    def _round_robin(self, pool: dict[str, list[Invocation]], wanted=None):
        """Invocations taking turns by function, so every function gets its share."""
        names = [n for n, invs in pool.items() if invs and (wanted is None or wanted(n))]
        if not names:
            return
        cursors = {n: 0 for n in names}
        while True:
            for n in names:
                invs = pool[n]
                yield invs[cursors[n] % len(invs)], cursors[n] // len(invs)
                cursors[n] += 1

    def calls(self, pool, quota: int) -> list[Example]:
        out: list[Example] = []
        used: dict[str, list[str]] = defaultdict(list)
        rounds = 0
        for inv, lap in self._round_robin(pool):
            if len(out) >= quota or rounds > quota * 4:
                break
            rounds += 1
            if not used[inv.key]:
                used[inv.key] = self.requests(inv, self.s.requests_per_invocation)
            texts = used[inv.key]
            if lap < len(texts):
                out.append(self.builder.call(inv, texts[lap]))
            elif lap < len(texts) + 3:  # more phrasings when the pool is small
                extra = self.writer.request(self.toolset.function(inv.name), inv.arguments)
                out.append(self.builder.call(inv, extra))
        return out

    def parallels(self, pool, quota: int) -> list[Example]:
        out = []
        names = [n for n, invs in pool.items() if invs]
        if not names:
            return out
        joiners = (" and ", ", then ", ". Also, ", ". After that, ", "; and ", ", and also ", ". ")
        for _ in range(quota):
            k = min(len(names), self.rng.choice((2, 2, 3)))
            chosen = self.rng.sample(names, k) if len(names) >= k else names
            invs = [self.rng.choice(pool[n]) for n in chosen]
            parts = [self.writer.request(self.toolset.function(i.name), i.arguments, bare=True) for i in invs]
            text = parts[0]
            for p in parts[1:]:
                j = self.rng.choice(joiners)
                text += j + (p[:1].upper() + p[1:] if j.endswith(". ") else p[:1].lower() + p[1:])
            out.append(self.builder.parallel(invs, text[:1].upper() + text[1:] + "."))
        return out

    def multi_turns(self, pool, quota: int) -> list[Example]:
        out = []
        for inv, lap in self._round_robin(pool):
            if len(out) >= quota or lap > 3:
                break
            function = self.toolset.function(inv.name)
            try:
                result = self.result(inv)
            except Exception as exc:  # noqa: BLE001 - a tool that raises loses its example
                self._drop("execution", f"{inv.name} raised {type(exc).__name__}: {exc}", "multi_turn", inv.key)
                continue
            request = self.writer.request(function, inv.arguments)
            answer = self.writer.answer(function, inv.arguments, result)
            out.append(self.builder.multi_turn(inv, request, result, answer))
        return out

    def result(self, inv: Invocation) -> Any:
        """What the tool returns: the real function's result when it is a callable, else a
        plausible status object echoing the arguments (every value in it is true to the call)."""
        run = self.toolset.callables.get(inv.name)
        if run is not None:
            value = run(inv.arguments)
            return value.model_dump(mode="json") if hasattr(value, "model_dump") else value
        return {"status": "success", **inv.arguments} if inv.arguments else {"status": "success"}

    def missing_arguments(self, pool, quota: int) -> list[Example]:
        out = []
        needs = lambda n: bool(parameters(self.toolset.function(n))[1])  # noqa: E731 - has required args
        for inv, lap in self._round_robin(pool, needs):
            if len(out) >= quota or lap > 3:
                break
            function = self.toolset.function(inv.name)
            props, required, _ = parameters(function)
            missing = self.rng.choice([r for r in required if r in inv.arguments])
            partial = {k: v for k, v in inv.arguments.items() if k != missing}
            request = self.writer.request(function, partial)
            if self.missing_policy == "reject":
                out.append(self.builder.rejection(request, f"missing:{inv.key}:{missing}", "missing_argument",
                                                  reject=self._reject_call()))
                continue
            out.append(self.builder.missing_argument(
                inv, request, self.writer.ask_for(function, missing),
                self.writer.supply(missing, props.get(missing), inv.arguments[missing]), missing))
        return out

    def _reject_call(self) -> Invocation:
        return Invocation(self.reject_name, self.enumerator.fill(self.toolset.function(self.reject_name), {}))

    def rejections(self, rejections: list[Rejection], quota: int) -> list[Example]:
        by_kind: dict[str, list[Rejection]] = defaultdict(list)
        for r in rejections:
            by_kind[r.kind].append(r)
        for items in by_kind.values():
            self.rng.shuffle(items)
        # Shares per kind; what one kind cannot fill goes to the others.
        wanted = _quotas({k: REJECTION_SHARES.get(k, 0.1) for k in by_kind}, quota, kinds=sorted(by_kind))
        picked = {k: by_kind[k][: wanted[k]] for k in by_kind}
        spare = [r for k in sorted(by_kind) for r in by_kind[k][wanted[k]:]]
        self.rng.shuffle(spare)
        chosen = [r for k in sorted(picked) for r in picked[k]]
        chosen += spare[: max(0, quota - len(chosen))]
        out = []
        for r in chosen:
            key = f"reject:{r.key}"
            if self.reject_name:
                out.append(self.builder.rejection(r.text, key, r.kind, reject=self._reject_call()))
            else:
                out.append(self.builder.rejection(r.text, key, r.kind, refusal=refusal_text(self.rng, r)))
        return out

    # ------------------------------------------------------------------ verification

    def verify(self, examples: list[Example], seen: Optional[set[str]] = None) -> list[Example]:
        """The examples that pass every stage, in order: format, execution, de-duplication
        (before the teacher, whose answers cost a request each), semantic."""
        kept: list[Example] = []
        seen = seen if seen is not None else set()
        stages = [("format", self._format), ("execution", self._execution), ("dedup", lambda ex: self._dedup(ex, seen))]
        if self.teacher is not None and self.s.semantic:
            stages.append(("semantic", lambda ex: self.teacher.disagreement(ex.messages, self.toolset.tools)))
        for ex in examples:
            failed = next(((stage, why) for stage, check in stages if (why := check(ex)) is not None), None)
            if failed is None:
                kept.append(ex)
            else:
                self._drop(*failed, ex.kind, ex.user_texts()[0] if ex.user_texts() else "")
        return kept

    @staticmethod
    def _dedup(ex: Example, seen: set[str]) -> Optional[str]:
        fp = ex.fingerprint()
        if fp in seen:
            return "a duplicate of an earlier example"
        seen.add(fp)
        return None

    def _format(self, ex: Example) -> Optional[str]:
        for name, arguments in ex.calls():
            problem = self.judge.problem(name, arguments)
            if problem:
                return f"{name}: {problem}"
        if not any(m["role"] == "assistant" for m in ex.messages):
            return "no assistant turn"
        return None

    def _execution(self, ex: Example) -> Optional[str]:
        for name, arguments in ex.calls():
            run = self.toolset.callables.get(name)
            if run is None:
                continue
            try:
                run(json.loads(arguments))
            except Exception as exc:  # noqa: BLE001 - the tool's own failure drops the example
                return f"{name} raised {type(exc).__name__}: {exc}"
        return None

    def _drop(self, stage: str, reason: str, kind: str, text: str) -> None:
        self.dropped.append(Dropped(stage, reason[:300], kind, text[:200]))

    # ------------------------------------------------------------------ the whole run

    def run(self) -> Result:
        invocations = self.invocations()
        train_pool, val_pool = self.split(invocations)
        rejections = RejectionWriter(self.rng, self.maker, self.writer, self.functions).all()
        bases = sorted({r.key for r in rejections})  # wordings of one request stay on one side
        self.rng.shuffle(bases)
        val_bases = set(bases[: int(round(len(bases) * self.s.val_fraction))])
        val_rej = [r for r in rejections if r.key in val_bases]
        train_rej = [r for r in rejections if r.key not in val_bases]
        n_val = int(round(self.s.examples * self.s.val_fraction))
        seen: set[str] = set()
        built = {"train": self.build(train_pool, train_rej, self.s.examples - n_val),
                 "val": self.build(val_pool, val_rej, n_val) if n_val else []}
        train = self.verify(built["train"], seen)
        val = self.verify(built["val"], seen)
        self.rng.shuffle(train)
        self.rng.shuffle(val)
        report = self.report(train, val, invocations, train_pool, val_pool)
        report["built"] = {split: len(examples) for split, examples in built.items()}
        return Result(train, val, self.dropped, report)

    def report(self, train, val, invocations, train_pool, val_pool) -> dict:
        def counts(examples: list[Example]) -> dict:
            per_function: Counter[str] = Counter(n for ex in examples for n in ex.functions)
            return {"examples": len(examples), "per_kind": dict(Counter(ex.kind for ex in examples)),
                    "per_function": dict(sorted(per_function.items())),
                    "rejections": dict(Counter(ex.detail for ex in examples if ex.kind == "rejection"))}

        dropped: dict[str, Counter] = defaultdict(Counter)
        for d in self.dropped:
            dropped[d.stage][d.reason.split(":")[0][:80]] += 1
        return {
            "source": self.toolset.source, "settings": {**self.s.__dict__, "mix": self.mix},
            "reject_function": self.reject_name, "missing_argument_policy": self.missing_policy,
            "teacher": None if self.teacher is None else {"model": self.teacher.model,
                                                          "failures": dict(self.teacher_failures)},
            "invocations": {n: {"train": len(train_pool[n]), "val": len(val_pool[n])} for n in invocations},
            "train": counts(train), "val": counts(val),
            "dropped": {"total": len(self.dropped), "by_stage": {k: dict(v) for k, v in dropped.items()},
                        "samples": [d.__dict__ for d in self.dropped[:40]]},
        }


def _quotas(mix: dict[str, float], total: int, kinds=KINDS) -> dict[str, int]:
    """Whole numbers per kind that add up to `total` (largest remainders)."""
    weights = {k: max(0.0, mix.get(k, 0.0)) for k in kinds}
    s = sum(weights.values()) or 1.0
    exact = {k: total * w / s for k, w in weights.items()}
    out = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - out[k], reverse=True)[: total - sum(out.values())]:
        out[k] += 1
    return out


def write(result: Result, toolset: ToolSet, out_dir: str | Path) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"train": out / "train.jsonl", "val": out / "val.jsonl", "report": out / "report.json"}
    for split in ("train", "val"):
        with paths[split].open("w", encoding="utf-8") as f:
            for ex in getattr(result, split):
                f.write(json.dumps(ex.record(toolset.tools), ensure_ascii=False) + "\n")
    paths["report"].write_text(json.dumps(result.report, indent=1, ensure_ascii=False) + "\n")
    return paths


def parse_mix(text: str) -> dict[str, float]:
    """`call=0.5,rejection=0.3` -> shares (kinds left out get 0)."""
    mix = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, share = part.partition("=")
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r} in --mix (kinds: {', '.join(KINDS)})")
        mix[kind] = float(share)
    if not mix or sum(mix.values()) <= 0:
        raise ValueError("--mix needs at least one positive share")
    return mix
