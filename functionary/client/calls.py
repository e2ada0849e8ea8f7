"""Validate and run one turn's tool calls.

Every call gets an outcome: a result, or an error message meant for the model (unknown
name, bad JSON, failed validation, or a ToolError the tool raised on purpose). Any other
exception from a tool is a bug in the tool and propagates. Valid calls run concurrently:
async functions are gathered, sync ones run in worker threads.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Sequence

import pydantic_core
from pydantic import BaseModel

from functionary.client.schemas import ArgumentsError, Tool

__all__ = ["ToolError", "CallOutcome", "run_calls", "result_content"]


class ToolError(Exception):
    """Raise from a tool to send `str(error)` back to the model as the call's result
    and have the call retried (when retries are left)."""


@dataclass
class CallOutcome:
    id: str
    name: str
    arguments: str  # the raw JSON text the model produced
    tool: Tool | None  # None: the model named a tool that does not exist
    ok: bool = False
    result: Any = None
    error: str | None = None

    def call(self) -> dict:
        """The call as it appears in an assistant message."""
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}

    def tool_message(self) -> dict:
        """The `tool` message answering this call: its result, or the error for the model."""
        content = result_content(self.result) if self.ok else f"Error: {self.error}"
        return {"role": "tool", "tool_call_id": self.id, "content": content}


def result_content(result: Any) -> str:
    """A tool result as message text: strings as they are, anything else as JSON
    (pydantic models, dataclasses, dates ... via pydantic; str() as the last resort)."""
    if isinstance(result, str):
        return result
    if isinstance(result, BaseModel):
        return result.model_dump_json()
    return pydantic_core.to_json(result, fallback=str).decode()


async def run_calls(calls: Sequence[tuple[str, str, str]], tools: dict[str, Tool]) -> list[CallOutcome]:
    """Validate then run (id, name, arguments) calls; outcomes come back in call order."""
    outcomes = [CallOutcome(cid, name, args, tools.get(name)) for cid, name, args in calls]
    runnable = []
    for o in outcomes:
        if o.tool is None:
            o.error = (f"there is no function named {o.name!r}; the functions are: "
                       f"{', '.join(tools)}. Call one of them.")
            continue
        try:
            validated = o.tool.validate(o.arguments)
        except ArgumentsError as e:
            o.error = f"{e}\nCall `{o.name}` again with corrected arguments."
            continue
        runnable.append(_run(o, validated))
    await asyncio.gather(*runnable)
    return outcomes


async def _run(o: CallOutcome, validated: BaseModel) -> None:
    tool = o.tool
    try:
        if tool.fn is None:  # a pydantic-model tool: the validated instance is the result
            o.result = validated
        else:
            args, kwargs = tool.call_args(validated)
            if tool.is_async:
                o.result = await tool.fn(*args, **kwargs)
            else:
                o.result = await asyncio.to_thread(tool.fn, *args, **kwargs)
        o.ok = True
    except ToolError as e:
        o.error = str(e) or type(e).__name__

