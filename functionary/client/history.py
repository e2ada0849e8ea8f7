"""Chat histories as plain OpenAI message dicts.

The raw history is everything that was said, failed attempts and error feedback
included. The clean history tells the same story as if the model had got every call
right the first time: the prompt, one assistant turn with all successful calls, their
results, and the final answer if there is one. It is what you continue a conversation
from, or train on.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from pydantic import BaseModel

from functionary.client.calls import CallOutcome

__all__ = ["message_dict", "prompt_messages", "assistant_message", "clean_history"]


def message_dict(message: Any) -> dict:
    """A message as a plain dict (accepts dicts and pydantic/OpenAI message objects)."""
    if isinstance(message, BaseModel):
        return message.model_dump(exclude_none=True)
    if isinstance(message, dict):
        return dict(message)
    raise TypeError(f"a message must be a dict or a pydantic model, got {type(message).__name__}")


def prompt_messages(messages: Iterable[Any] | None, system_prompt: str | None,
                    user_message: str | None) -> list[dict]:
    """`system_prompt` first (unless the messages start with a system message), then the
    messages, then `user_message`."""
    out = [message_dict(m) for m in (messages or [])]
    if system_prompt is not None:
        if out and out[0].get("role") == "system":
            raise ValueError("system_prompt given but the messages already start with a system message")
        out.insert(0, {"role": "system", "content": system_prompt})
    if user_message is not None:
        out.append({"role": "user", "content": user_message})
    if not out:
        raise ValueError("no messages: pass messages, user_message or both")
    return out


def assistant_message(content: str | None, outcomes: Sequence[CallOutcome]) -> dict:
    msg: dict = {"role": "assistant", "content": content}
    if outcomes:
        msg["tool_calls"] = [o.call() for o in outcomes]
    return msg


def clean_history(prompt: Sequence[dict], outcomes: Sequence[CallOutcome], content: str | None = None,
                  final_message: str | None = None) -> list[dict]:
    """prompt + one assistant turn with the successful calls + their tool messages
    (+ the final answer)."""
    ok = [o for o in outcomes if o.ok]
    history = [dict(m) for m in prompt]
    if ok:
        history.append(assistant_message(content, ok))
        history.extend(o.tool_message() for o in ok)
    if final_message is not None:
        history.append({"role": "assistant", "content": final_message})
    return history
