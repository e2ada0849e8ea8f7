"""`get_completion`: tool calls in, validated results out, with retries and clean history.

One round: ask for calls, validate and run them (concurrently), feed errors back as
`tool` messages. Retries re-ask only for the failed calls and offer only their tools.
With `respond=True` the results go back to the model for a final text answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import openai
from openai.types import CompletionUsage

from functionary.client.calls import CallOutcome, run_calls
from functionary.client.finetune import append_jsonl, finetune_example
from functionary.client.history import assistant_message, clean_history, prompt_messages
from functionary.client.schemas import Tool, as_tools

__all__ = ["CompletionResult", "ToolCallsFailed", "get_completion", "get_completion_sync", "default_client",
           "DEFAULT_BASE_URL"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"

# Set by `capture_completions()`: every finished completion is appended (distill_pipeline
# uses it to see the steps a pipeline took).
_captured: contextvars.ContextVar[list | None] = contextvars.ContextVar("functionary_captured", default=None)
# Served model per base URL, looked up once.
_default_models: dict[str, str] = {}


@dataclass
class CompletionResult:
    results: list[Any]  # validated model instances / function return values, in call order
    usage: CompletionUsage  # summed over every request made
    raw_history: list[dict]  # everything said, failed attempts and feedback included
    clean_history: list[dict]  # prompt, one assistant turn with the successful calls, results, answer
    final_message: str | None  # the model's text answer (respond=True, or a text reply under "auto")
    attempts: int  # tool-call requests made (the respond request is not counted)
    calls: list[CallOutcome] = field(default_factory=list)  # last outcome per call, in call order
    tools: list[dict] = field(default_factory=list)  # the tool definitions offered first
    parallel_tool_calls: bool | None = None
    errors: list[str] = field(default_factory=list)  # what was still wrong when retries ran out

    @property
    def ok(self) -> bool:
        return not self.errors

    def finetune_example(self) -> dict:
        """The clean history as an OpenAI chat fine-tuning example."""
        return finetune_example(self.clean_history, self.tools, self.parallel_tool_calls)


class ToolCallsFailed(RuntimeError):
    """Retries ran out with calls still failing; `.result` holds what was done (partial
    results, both histories, usage)."""

    def __init__(self, result: CompletionResult):
        super().__init__("tool calls still failing after {} attempt(s): {}".format(
            result.attempts, "; ".join(e.splitlines()[0] for e in result.errors)))
        self.result = result


def default_client(*, sync: bool = False) -> openai.OpenAI | openai.AsyncOpenAI:
    """A client for the local server; FUNCTIONARY_BASE_URL / FUNCTIONARY_API_KEY override."""
    cls = openai.OpenAI if sync else openai.AsyncOpenAI
    return cls(base_url=os.environ.get("FUNCTIONARY_BASE_URL", DEFAULT_BASE_URL),
               api_key=os.environ.get("FUNCTIONARY_API_KEY") or "none")


async def get_completion(
    messages: Iterable[Any] | None = None,
    *,
    system_prompt: str | None = None,
    user_message: str | None = None,
    tools: Any,
    tool_choice: Any = None,
    retries: int = 0,
    respond: bool = False,
    finetune_file: str | Path | None = None,
    client: openai.AsyncOpenAI | openai.OpenAI | None = None,
    model: str | None = None,
    **kwargs: Any,
) -> CompletionResult:
    """Ask the model for tool calls and return their validated results.

    - `tools`: pydantic model classes (the result is the validated instance) and/or plain
      sync or async functions (the result is the return value), or `Tool`s.
    - `tool_choice`: by default the one tool when there is exactly one (forced: exactly
      one call; pass "required" to allow several), else "required" — this helper exists to
      get results, so a text-only reply is not accepted unless you pass "auto".
    - `retries`: extra rounds for failed calls (unknown name, bad JSON, validation error,
      ToolError); each retry sees the errors and is offered only the failed calls' tools.
    - `respond`: send the results back for a final text answer (`.final_message`).
    - `finetune_file`: append the clean history to this JSONL file when all calls succeed.
    - `client`: any OpenAI or AsyncOpenAI client (default: the local server); `model`:
      default the first one the server lists; other keyword arguments go to
      `chat.completions.create` on every request.

    Raises ToolCallsFailed (with `.result`) when calls still fail after the retries.
    """
    if client is None:
        async with default_client() as c:
            return await _complete(messages, system_prompt, user_message, tools, tool_choice, retries,
                                   respond, finetune_file, c, model, kwargs)
    return await _complete(messages, system_prompt, user_message, tools, tool_choice, retries, respond,
                           finetune_file, client, model, kwargs)


def get_completion_sync(messages: Iterable[Any] | None = None, **kwargs: Any) -> CompletionResult:
    """`get_completion` for synchronous code; same arguments. Works with sync and async
    clients (default: a sync client for the local server) and from inside a running event
    loop (it then runs on a private loop in a worker thread)."""
    if kwargs.get("client") is None:
        with default_client(sync=True) as c:
            return _run_sync(get_completion(messages, **{**kwargs, "client": c}))
    return _run_sync(get_completion(messages, **kwargs))


def _run_sync(coro):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    ctx = contextvars.copy_context()  # keep capture_completions() and the like working
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(ctx.run, asyncio.run, coro).result()


@contextlib.contextmanager
def capture_completions() -> Iterator[list[CompletionResult]]:
    """Collect every CompletionResult produced (in this context) while inside the block."""
    captured: list[CompletionResult] = []
    token = _captured.set(captured)
    try:
        yield captured
    finally:
        _captured.reset(token)


async def _complete(messages, system_prompt, user_message, tools, tool_choice, retries, respond, finetune_file,
                    client, model, kwargs) -> CompletionResult:
    if kwargs.get("stream"):
        raise ValueError("get_completion does not stream; leave `stream` out")
    if retries < 0:
        raise ValueError("retries must be >= 0")
    all_tools = as_tools(tools)
    by_name = {t.name: t for t in all_tools}
    prompt = prompt_messages(messages, system_prompt, user_message)
    model = model or await _served_model(client)

    raw = list(prompt)
    usage = CompletionUsage(prompt_tokens=0, completion_tokens=0, total_tokens=0)
    slots: list[CallOutcome] = []  # one per call the model meant to make; retries replace failed ones
    seen_ids: set[str] = set()
    content: str | None = None  # text said alongside the first calls
    final: str | None = None
    missing_calls = False
    offered, choice = all_tools, tool_choice if tool_choice is not None else _default_choice(all_tools, 1)
    attempts = 0

    for _ in range(retries + 1):
        attempts += 1
        response = await _create(client, model=model, messages=raw, tools=[t.definition() for t in offered],
                                 tool_choice=choice, **kwargs)
        usage = _add_usage(usage, response.usage)
        msg = response.choices[0].message
        calls = [(_unique_id(tc.id, seen_ids), tc.function.name, tc.function.arguments)
                 for tc in (msg.tool_calls or [])]
        if not calls:
            raw.append({"role": "assistant", "content": msg.content})
            if choice in ("auto", "none") and not slots:
                final = msg.content  # a text answer is allowed: done
                break
            missing_calls = not slots
            raw.append({"role": "user", "content": "Answer by calling the function(s): "
                        + ", ".join(t.name for t in offered) + "."})
            continue
        missing_calls = False
        outcomes = await run_calls(calls, by_name)
        raw.append(assistant_message(msg.content, outcomes))
        raw.extend(o.tool_message() for o in outcomes)
        if content is None and not slots:
            content = msg.content
        _merge(slots, outcomes)
        pending = [s for s in slots if not s.ok]
        if not pending:
            break
        offered, choice = _retry_offer(pending, all_tools)

    errors = [f"{s.name}: {s.error}" for s in slots if not s.ok]
    if missing_calls:
        errors.append("the model answered without calling a tool")
    if respond and slots and not errors:
        response = await _create(client, model=model, messages=clean_history(prompt, slots, content),
                                 tools=[t.definition() for t in all_tools], tool_choice="none", **kwargs)
        usage = _add_usage(usage, response.usage)
        final = response.choices[0].message.content
        raw.append({"role": "assistant", "content": final})

    result = CompletionResult(
        results=[s.result for s in slots if s.ok], usage=usage, raw_history=raw,
        clean_history=clean_history(prompt, slots, content, final), final_message=final, attempts=attempts,
        calls=slots, tools=[t.definition() for t in all_tools],
        parallel_tool_calls=kwargs.get("parallel_tool_calls"), errors=errors)
    captured = _captured.get()
    if captured is not None:
        captured.append(result)
    if errors:
        raise ToolCallsFailed(result)
    if finetune_file is not None:
        append_jsonl(finetune_file, result.finetune_example())
    return result


def _default_choice(tools: list[Tool], calls_wanted: int) -> Any:
    """Force the tool when there is one tool and one call is wanted, else "required"."""
    if len(tools) == 1 and calls_wanted == 1:
        return {"type": "function", "function": {"name": tools[0].name}}
    return "required"


def _retry_offer(pending: list[CallOutcome], all_tools: list[Tool]) -> tuple[list[Tool], Any]:
    """The tools to offer for a retry: those of the failed calls (all tools when a failed
    call named no real tool), and the matching tool_choice."""
    if any(s.tool is None for s in pending):
        offered = all_tools
    else:
        names = {s.name for s in pending}
        offered = [t for t in all_tools if t.name in names]
    return offered, _default_choice(offered, len(pending))


def _merge(slots: list[CallOutcome], outcomes: list[CallOutcome]) -> None:
    """Put a retry's outcomes in the slots of the failed calls they redo (same tool first,
    then a call to an unknown name), so results keep the order the calls were first made."""
    pending = [i for i, s in enumerate(slots) if not s.ok]
    for o in outcomes:
        j = next((i for i in pending if slots[i].name == o.name), None)
        if j is None:
            j = next((i for i in pending if slots[i].tool is None), None)
        if j is None:
            slots.append(o)
        else:
            slots[j] = o
            pending.remove(j)


def _unique_id(call_id: str | None, seen: set[str]) -> str:
    """Some servers number calls per response (call_0 ...); ids must be unique per history."""
    cid = call_id or f"call_{len(seen)}"
    while cid in seen:
        cid = f"{cid}_{len(seen)}"
    seen.add(cid)
    return cid


def _add_usage(total: CompletionUsage, usage: CompletionUsage | None) -> CompletionUsage:
    if usage is None:
        return total
    return CompletionUsage(prompt_tokens=total.prompt_tokens + usage.prompt_tokens,
                           completion_tokens=total.completion_tokens + usage.completion_tokens,
                           total_tokens=total.total_tokens + usage.total_tokens)


async def _create(client, **params):
    if isinstance(client, openai.AsyncOpenAI):
        return await client.chat.completions.create(**params)
    return await asyncio.to_thread(client.chat.completions.create, **params)  # a sync client


async def _served_model(client) -> str:
    key = str(client.base_url)
    if key not in _default_models:
        if isinstance(client, openai.AsyncOpenAI):
            page = await client.models.list()
        else:
            page = await asyncio.to_thread(client.models.list)
        if not page.data:
            raise RuntimeError(f"the server at {key} lists no models; pass model=")
        _default_models[key] = page.data[0].id
    return _default_models[key]
