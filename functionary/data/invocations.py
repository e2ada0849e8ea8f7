"""The cookbook's enumeration: which calls of a function the data should show.

For each function: its required arguments alone; every value of every enum; both values
of every boolean; numbers at and inside their bounds; each optional argument added on
its own, then all of them together; then seeded random fills up to the limit. Conditions
written in parameter descriptions ("Required if mode is 'video'", "Not required if
pattern is 'rainbow'") are honoured, so an argument appears exactly when its author
says it is needed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Optional

from functionary.data.values import ValueMaker, resolved

_REQUIRED_IF = re.compile(r"\b(not\s+)?required\s+(?:only\s+)?(?:if|when)\s+[`'\"]?(\w+)[`'\"]?\s+is\s+[`'\"]?([\w-]+)",
                          re.IGNORECASE)


@dataclass(frozen=True)
class Invocation:
    name: str
    arguments: dict

    @property
    def key(self) -> str:
        """What identifies the invocation (the train/validation split keeps keys apart)."""
        return f"{self.name}:{json.dumps(self.arguments, sort_keys=True, ensure_ascii=False)}"

    def call_json(self) -> str:
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass(frozen=True)
class Condition:
    """`param` is wanted exactly when `other == value` (or, negated, when it is not)."""

    param: str
    other: str
    value: str
    negated: bool

    def wanted(self, arguments: dict) -> Optional[bool]:
        """True / False when the condition decides, None when `other` is not set."""
        if self.other not in arguments:
            return None if not self.negated else True
        holds = str(arguments[self.other]).lower() == self.value.lower()
        return holds != self.negated


def parameters(function: dict) -> tuple[dict, list[str], list[str]]:
    """(properties, required names, optional names) of a function, `$ref`s inlined."""
    schema = resolved(function.get("parameters") or {})
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = [k for k in schema.get("required", []) if k in props]
    return props, required, [k for k in props if k not in required]


def conditions(function: dict) -> list[Condition]:
    props, _, _ = parameters(function)
    found = []
    for name, schema in props.items():
        text = schema.get("description", "") if isinstance(schema, dict) else ""
        m = _REQUIRED_IF.search(text or "")
        if m and m.group(2) in props and m.group(2) != name:
            found.append(Condition(name, m.group(2), m.group(3), bool(m.group(1))))
    return found


def axis_values(schema: Any, maker: ValueMaker, name: str) -> list:
    """The values every enumeration must cover for one parameter."""
    if not isinstance(schema, dict):
        return []
    if schema.get("enum"):
        return list(schema["enum"])
    kind = schema.get("type")
    if kind == "boolean":
        return [True, False]
    if kind in ("integer", "number"):
        low, high = schema.get("minimum"), schema.get("maximum")
        picks = [v for v in (low, high) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if picks:  # the bounds themselves and one value inside them
            return picks + [maker.value(name, schema)]
    return []


class Enumerator:
    def __init__(self, maker: ValueMaker):
        self.maker = maker

    def fill(self, function: dict, fixed: dict, extra_optional: tuple[str, ...] = (),
             random_optional: bool = False) -> dict:
        """Arguments with `fixed` values kept, the required ones filled, and optional ones
        added as asked; description conditions decide conditional arguments."""
        props, required, optional = parameters(function)
        rules = {c.param: c for c in conditions(function)}
        chosen = set(required) | set(extra_optional) | {k for k in fixed if k in props}
        if random_optional:
            chosen |= {k for k in optional if self.maker.rng.random() < 0.35}
        args = {k: fixed[k] if k in fixed else self.maker.value(k, props[k]) for k in props
                if k in chosen and k not in rules}
        for k in props:  # the conditioned ones last: they depend on the others' values
            rule = rules.get(k)
            if rule is None:
                continue
            wanted = rule.wanted(args)
            if wanted or (wanted is None and k in chosen):
                args[k] = fixed[k] if k in fixed else self.maker.value(k, props[k])
        return {k: args[k] for k in props if k in args}  # the schema's order

    def enumerate(self, function: dict, limit: int) -> list[Invocation]:
        """Up to `limit` distinct invocations, the coverage ones first."""
        props, _, optional = parameters(function)
        name = function["name"]
        wanted: list[dict] = [self.fill(function, {})]
        for p, schema in props.items():
            for v in axis_values(schema, self.maker, p):
                wanted.append(self.fill(function, {p: v}))
        for p in optional:
            wanted.append(self.fill(function, {}, (p,)))
        if len(optional) > 1:
            wanted.append(self.fill(function, {}, tuple(optional)))
        out: dict[str, Invocation] = {}
        for args in wanted:
            inv = Invocation(name, args)
            out.setdefault(inv.key, inv)
        coverage = list(out.values())
        if len(coverage) > limit:  # keep a seeded sample, the required-only call first
            rest = coverage[1:]
            self.maker.rng.shuffle(rest)
            return [coverage[0], *rest[: limit - 1]]
        tries = 0
        while len(out) < limit and tries < limit * 6 and props:
            tries += 1
            inv = Invocation(name, self.fill(function, {}, random_optional=True))
            out.setdefault(inv.key, inv)
        return list(out.values())
