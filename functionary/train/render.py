"""Training sequences rendered exactly as the server renders prompts.

A conversation's prompt before each assistant turn is built by the serving path itself
(`domain.tool_request` on a chat request, then `prompt_tokens.encode_prompt` with the
served format), so training and serving prompts are the same bytes and the same token
ids. Each assistant turn's target is what the model must generate there: the format's
rendering of its text and calls (`render_assistant`) and then the end-of-turn token. Only
those target tokens carry loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from functionary.domain import ToolRequest, tool_request
from functionary.formats import history
from functionary.formats.base import ToolFormat
from functionary.openai_types import ChatCompletionRequest, ChatMessage
from functionary.prompt_tokens import encode_prompt

IGNORE = -100  # the label of a token that carries no loss

_MARK = "fnendofturnprobe"


class ExampleError(ValueError):
    """A training example the renderer cannot use (the message says why)."""


@dataclass
class Rendered:
    input_ids: list[int]
    labels: list[int]  # IGNORE where no loss
    prompt_ids: list[int]  # the prompt before the last assistant turn (what the server would see)
    group: str  # examples with the same group share their leading tokens (system prompt, tools)
    skipped_turns: int = 0  # earlier assistant turns whose tokens did not line up (no loss on them)

    @property
    def first_label(self) -> int:
        return next(i for i, t in enumerate(self.labels) if t != IGNORE)

    @property
    def target_tokens(self) -> int:
        return sum(t != IGNORE for t in self.labels)


def end_of_turn_id(fmt: ToolFormat) -> int:
    """The token that ends an assistant turn in this format: what the format writes right
    after an assistant message in history (the chat template's own marker), if it is a
    single added token; else the tokenizer's end-of-sequence token."""
    tok = fmt.tokenizer
    messages = [ChatMessage(role="user", content="hello"), ChatMessage(role="assistant", content=_MARK),
                ChatMessage(role="user", content="thanks")]
    try:
        text = fmt.render_prompt(messages, ToolRequest())
    except Exception:  # noqa: BLE001 - a template that refuses this probe: fall back
        text = ""
    after = text.split(_MARK, 1)[1] if _MARK in text else ""
    for content, token_id in sorted(((t.content, i) for i, t in tok.added_tokens_decoder.items()),
                                    key=lambda ci: -len(ci[0])):
        if after.startswith(content):
            return token_id
    if tok.eos_token_id is None:
        raise ExampleError("the tokenizer has no end-of-sequence token and the template shows no end-of-turn token")
    return tok.eos_token_id


class ConversationRenderer:
    def __init__(self, fmt: ToolFormat):
        self.fmt = fmt
        self.tokenizer = fmt.tokenizer
        self.eot = end_of_turn_id(fmt)

    def request(self, row: dict, messages: list[dict]) -> ChatCompletionRequest:
        """The chat request a client would send for `messages` with this example's tools."""
        body = {"model": "training", "messages": messages}
        if row.get("tools"):
            body["tools"] = row["tools"]
        elif row.get("functions"):
            body["functions"] = row["functions"]
        if row.get("parallel_tool_calls") is not None:
            body["parallel_tool_calls"] = row["parallel_tool_calls"]
        try:
            return ChatCompletionRequest.model_validate(body)
        except ValueError as exc:
            raise ExampleError(f"not a valid chat conversation: {exc}") from None

    def prompt_ids(self, row: dict, messages: list[dict]) -> tuple[list[int], ToolRequest]:
        req = self.request(row, messages)
        try:
            tools = tool_request(req)
        except Exception as exc:  # noqa: BLE001 - BadRequest and kin: the example's tools are unusable
            raise ExampleError(f"unusable tools: {getattr(exc, 'message', exc)}") from None
        return encode_prompt(self.fmt, req.messages, tools), tools

    def target_ids(self, row: dict, messages: list[dict], index: int) -> list[int]:
        """The tokens the model must generate for the assistant message at `index`."""
        req = self.request(row, messages[: index + 1])
        turn = history.conversation(req.messages)[-1]
        text = self.fmt.render_assistant(turn.content, turn.calls)
        return self.tokenizer.encode(text, add_special_tokens=False) + [self.eot]

    def render(self, row: dict) -> Rendered:
        messages = row.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ExampleError("no messages")
        turns = [i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "assistant"]
        if not turns:
            raise ExampleError("no assistant turn to learn from")
        last = turns[-1]
        messages = messages[: last + 1]  # anything after the last answer teaches nothing
        prompt, tools = self.prompt_ids(row, messages[:last])
        target = self.target_ids(row, messages, last)
        ids = prompt + target
        labels = [IGNORE] * len(prompt) + target
        skipped = 0
        for a in turns[:-1]:  # earlier answers carry loss where their tokens line up
            before, _ = self.prompt_ids(row, messages[:a])
            span = self.target_ids(row, messages, a)
            if ids[: len(before) + len(span)] == before + span:
                labels[len(before): len(before) + len(span)] = span
            else:
                skipped += 1
        return Rendered(ids, labels, prompt, _group(row, tools), skipped)


def _group(row: dict, tools: ToolRequest) -> str:
    """Examples of one group render the same system prompt and tool list first."""
    import json

    system = [m.get("content") for m in row["messages"][:1] if m.get("role") in ("system", "developer")]
    return json.dumps([system, [f.as_openai_tool() for f in tools.functions], tools.parallel], sort_keys=True)


def served_format(tokenizer, tool_format: Optional[str] = "auto") -> ToolFormat:
    """The format the server would pick for this tokenizer (or the one named)."""
    from functionary.formats import detect

    return detect(tokenizer, tool_format or "auto")
