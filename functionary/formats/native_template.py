"""Prompts for families whose own chat template knows tools (Hermes/Qwen, Llama 3.1, Mistral).

Such a template is what the model was trained on, so it is preferred: the tools, earlier
calls and tool results go to `tokenizer.apply_chat_template(..., tools=...)`. It is used
only when a probe shows that it really renders tools (many fine-tunes keep a template
that silently drops them) and only for conversations it accepts (some refuse parallel
calls or insist on strict role alternation). Otherwise the prompt is built the way the
plain formats build it, with the family's own tool listing in the system message.
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import cached_property

from functionary.domain import ToolRequest
from functionary.formats.base import response_format_text
from functionary.formats.history import Turn, conversation
from functionary.formats.plain import PlainTemplateFormat
from functionary.openai_types import ChatMessage
from functionary.prompts import prompt

log = logging.getLogger(__name__)

PROBE_TOOL = "functionary_probe_tool"


def template_renders_tools(tokenizer) -> bool:
    """Whether the tokenizer's chat template shows the tools it is given."""
    if not getattr(tokenizer, "chat_template", None):
        return False
    probe = {"type": "function", "function": {"name": PROBE_TOOL, "description": "A probe.",
                                              "parameters": {"type": "object", "properties": {}}}}
    try:
        text = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tools=[probe],
                                             tokenize=False, add_generation_prompt=True)
    except Exception:  # templates raise many kinds of errors
        return False
    return PROBE_TOOL in text


def short_id(key: str) -> str:
    """A 9-character alphanumeric call id (Mistral's templates accept no other), stable per key."""
    return hashlib.sha1(key.encode()).hexdigest()[:9]


def template_messages(turns: list[Turn], extra_system: str) -> list[dict]:
    """Turns as the dicts HF chat templates read: arguments as objects, ids on calls and results."""
    out: list[dict] = []
    open_ids: list[str] = []  # ids of the last assistant turn's calls, for results without one
    answered = 0
    for n, t in enumerate(turns):
        if t.role == "assistant":
            message: dict = {"role": "assistant", "content": t.content}
            open_ids = [short_id(cid or f"{n}:{i}") for i, cid in enumerate(t.call_ids)]
            answered = 0
            if t.calls:
                message["tool_calls"] = [
                    {"id": cid, "type": "function", "function": {"name": c.name, "arguments": _as_object(c.arguments)}}
                    for cid, c in zip(open_ids, t.calls)
                ]
            out.append(message)
        elif t.role == "tool":
            cid = short_id(t.call_id) if t.call_id else (open_ids[answered] if answered < len(open_ids) else short_id(f"{n}"))
            answered += 1
            out.append({"role": "tool", "content": t.content, "name": t.name, "tool_call_id": cid})
        else:
            out.append({"role": t.role, "content": t.content})
    if extra_system:
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": f"{out[0]['content']}\n\n{extra_system}"}
        else:
            out.insert(0, {"role": "system", "content": extra_system})
    return out


def _as_object(arguments: str):
    try:
        return json.loads(arguments)
    except json.JSONDecodeError:
        return arguments


class NativeTemplateFormat(PlainTemplateFormat):
    """Renders through the model's template when it knows tools, else like a plain format
    with the tools listed by `tools_listing` in `tools_prompt_file` (placeholder `{tools}`)."""

    def tools_listing(self, request: ToolRequest) -> str:
        return "\n".join(json.dumps(f.as_openai_tool(), ensure_ascii=False) for f in request.allowed_functions())

    def tools_text(self, request: ToolRequest) -> str:
        return prompt(self.tools_prompt_file, tools=self.tools_listing(request))

    @cached_property
    def uses_model_template(self) -> bool:
        uses = template_renders_tools(self.tokenizer)
        log.info("%s: %s", self.name, "the model's chat template renders tools: prompts go through it" if uses
                 else "the model's chat template ignores tools: the server lists them itself")
        return uses

    def render_prompt(self, messages: list[ChatMessage], request: ToolRequest) -> str:
        if self.uses_model_template:
            try:
                return self.render_with_model_template(messages, request)
            except Exception as exc:  # the template refused this conversation
                log.info("%s: the chat template cannot render this conversation (%s); using our own rendering",
                         self.name, exc)
        return super().render_prompt(messages, request)

    def render_with_model_template(self, messages: list[ChatMessage], request: ToolRequest) -> str:
        extra = response_format_text(request) if request.response_schema is not None else ""
        tools = [f.as_openai_tool() for f in request.callable_functions()] or None
        return self.tokenizer.apply_chat_template(
            template_messages(conversation(messages), extra), tools=tools, tokenize=False, add_generation_prompt=True
        )
