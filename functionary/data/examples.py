"""Training conversations of every kind, in OpenAI's chat fine-tuning shape.

An `Example` holds its messages plus what the pipeline needs to check and split it: the
invocations it uses (the split keeps them on one side) and its kind. `record()` is the
JSONL line: `{"messages": [...], "tools": [...], "parallel_tool_calls"?}`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from functionary.data.invocations import Invocation

KINDS = ("call", "parallel", "multi_turn", "missing_argument", "rejection")


@dataclass
class Example:
    kind: str
    messages: list[dict]
    keys: tuple[str, ...]  # the invocations (or rejection texts) it is built from
    functions: tuple[str, ...] = ()  # the functions its assistant turns call
    detail: str = ""  # e.g. the rejection's sub-kind
    parallel: Optional[bool] = None
    meta: dict = field(default_factory=dict)

    def record(self, tools: list[dict]) -> dict:
        out: dict[str, Any] = {"messages": self.messages, "tools": tools}
        if self.parallel is not None:
            out["parallel_tool_calls"] = self.parallel
        return out

    def calls(self) -> list[tuple[str, str]]:
        """Every call in its assistant turns, as (name, arguments JSON)."""
        return [(c["function"]["name"], c["function"]["arguments"])
                for m in self.messages if m["role"] == "assistant" for c in m.get("tool_calls") or []]

    def user_texts(self) -> list[str]:
        return [m["content"] for m in self.messages if m["role"] == "user"]

    def fingerprint(self) -> str:
        """What makes two examples the same (for de-duplication): the user's words, folded,
        and everything the assistant says or calls."""
        users = [" ".join(t.lower().split()).rstrip(".!?") for t in self.user_texts()]
        answers = [(m.get("content"), [(c["function"]["name"], _canonical(c["function"]["arguments"]))
                                       for c in m.get("tool_calls") or []])
                   for m in self.messages if m["role"] == "assistant"]
        return json.dumps([users, answers], sort_keys=True, ensure_ascii=False)


def _canonical(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except json.JSONDecodeError:
        return arguments


class Builder:
    """Conversations around one system prompt; call ids numbered per conversation."""

    def __init__(self, system_prompt: Optional[str]):
        self.system_prompt = system_prompt

    def _start(self) -> list[dict]:
        return [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []

    @staticmethod
    def _calls(invocations: list[Invocation], first_id: int = 1) -> list[dict]:
        return [{"id": f"call_{first_id + i}", "type": "function",
                 "function": {"name": inv.name, "arguments": inv.call_json()}} for i, inv in enumerate(invocations)]

    def call(self, inv: Invocation, request: str) -> Example:
        msgs = self._start() + [{"role": "user", "content": request},
                                {"role": "assistant", "content": None, "tool_calls": self._calls([inv])}]
        return Example("call", msgs, (inv.key,), (inv.name,))

    def parallel(self, invocations: list[Invocation], request: str) -> Example:
        msgs = self._start() + [{"role": "user", "content": request},
                                {"role": "assistant", "content": None, "tool_calls": self._calls(invocations)}]
        return Example("parallel", msgs, tuple(i.key for i in invocations), tuple(i.name for i in invocations),
                       parallel=True)

    def multi_turn(self, inv: Invocation, request: str, result: Any, answer: str) -> Example:
        calls = self._calls([inv])
        content = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
        msgs = self._start() + [
            {"role": "user", "content": request},
            {"role": "assistant", "content": None, "tool_calls": calls},
            {"role": "tool", "tool_call_id": calls[0]["id"], "content": content},
            {"role": "assistant", "content": answer},
        ]
        return Example("multi_turn", msgs, (inv.key,), (inv.name,))

    def missing_argument(self, inv: Invocation, request: str, ask: str, supply: str, missing: str) -> Example:
        msgs = self._start() + [
            {"role": "user", "content": request},
            {"role": "assistant", "content": ask},
            {"role": "user", "content": supply},
            {"role": "assistant", "content": None, "tool_calls": self._calls([inv])},
        ]
        return Example("missing_argument", msgs, (inv.key,), (inv.name,), detail=missing)

    def rejection(self, request: str, key: str, detail: str, *, reject: Optional[Invocation] = None,
                  refusal: Optional[str] = None) -> Example:
        if reject is not None:
            answer = {"role": "assistant", "content": None, "tool_calls": self._calls([reject])}
        else:
            answer = {"role": "assistant", "content": refusal}
        msgs = self._start() + [{"role": "user", "content": request}, answer]
        return Example("rejection", msgs, (key,), (reject.name,) if reject else (), detail=detail)
