"""The client's messages as the turns a native format renders.

Every native format needs the same clean-up first: `developer` is a system turn, tool
results sit in the order of the calls they answer (clients may send them in any order),
a result without `name` takes it from its call, and earlier calls carry their arguments
in API form (code-tool calls as `{"code": ...}`, see code_tool.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from functionary.domain import CODE_TOOL, ParsedCall, normalize_arguments
from functionary.formats.code_tool import history_arguments
from functionary.openai_types import ChatMessage


@dataclass
class Turn:
    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    calls: list[ParsedCall] = field(default_factory=list)  # assistant turns
    call_ids: list[str] = field(default_factory=list)  # assistant turns: the calls' ids ("" when absent)
    name: str = ""  # tool turns: the function whose result this is
    call_id: str = ""  # tool turns: the call it answers


def conversation(messages: list[ChatMessage]) -> list[Turn]:
    turns: list[Turn] = []
    names_by_id: dict[str, str] = {}
    for m in _results_in_call_order(messages):
        if m.role in ("system", "developer"):
            turns.append(Turn("system", m.text()))
        elif m.role == "user":
            turns.append(Turn("user", m.text()))
        elif m.role == "assistant":
            calls, ids = [], []
            for tc in m.tool_calls or []:
                calls.append(_call(tc.function.name, tc.function.arguments))
                ids.append(tc.id or "")
                if tc.id:
                    names_by_id[tc.id] = tc.function.name
            if m.function_call is not None:  # legacy single call
                calls.append(_call(m.function_call.name, m.function_call.arguments))
                ids.append("")
            turns.append(Turn("assistant", m.text(), calls, ids))
        else:  # tool, or a legacy function result
            call_id = m.tool_call_id or ""
            turns.append(Turn("tool", m.text(), name=m.name or names_by_id.get(call_id, ""), call_id=call_id))
    return turns


def _call(name: str, arguments: str) -> ParsedCall:
    if name == CODE_TOOL.name:
        return ParsedCall(name, history_arguments(arguments))
    return ParsedCall(name, normalize_arguments(arguments))


def _results_in_call_order(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Each run of tool results sorted by the position of its call in the assistant turn
    before it (results without a known id keep their place after the known ones)."""
    out: list[ChatMessage] = []
    order: dict[str, int] = {}
    run: list[ChatMessage] = []

    def flush() -> None:
        run.sort(key=lambda r: order.get(r.tool_call_id or "", len(order)))  # stable sort
        out.extend(run)
        run.clear()

    for m in messages:
        if m.role in ("tool", "function"):
            run.append(m)
            continue
        flush()
        if m.role == "assistant":
            order = {tc.id: i for i, tc in enumerate(m.tool_calls or []) if tc.id}
        out.append(m)
    flush()
    return out
