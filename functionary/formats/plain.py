"""Shared rendering for models whose chat template knows nothing of tools.

The server writes the tool prompt itself (TypeScript definitions in the system
message), turns earlier calls into the call syntax inside assistant turns, and feeds
tool results back as user turns, which every chat template accepts. The final text
comes from the tokenizer's own chat template, so the model sees its native turn markup.
Two call syntaxes are offered: `plain-tags` (the default, `<tool_call>` JSON blocks) and
`plain-recipient` (`>>>recipient` segments).
"""

from __future__ import annotations

from functionary.domain import ToolRequest
from functionary.formats import history
from functionary.formats.base import ToolFormat, response_format_text, typescript_namespace
from functionary.formats.recipient_segments import RecipientSyntax
from functionary.formats.tagged_calls import TOOL_CALL_TAGS
from functionary.openai_types import ChatMessage
from functionary.prompts import prompt

# Used when a tokenizer has no chat template at all.
CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class PlainTemplateFormat(ToolFormat):
    tools_prompt_file: str = ""

    def render_tool_result(self, name: str, content: str) -> str:
        return f"<tool_response>\n{content}\n</tool_response>"

    # -- prompt --

    def tools_text(self, request: ToolRequest) -> str:
        """The system message's tool section: here, a TypeScript namespace."""
        return prompt(self.tools_prompt_file, namespace=typescript_namespace(request.callable_functions()))

    def system_text(self, request: ToolRequest) -> str:
        parts = [self.tools_text(request)] if request.calls_allowed else []
        if request.response_schema is not None:
            parts.append(response_format_text(request))
        return "\n\n".join(parts)

    def conversation(self, messages: list[ChatMessage], request: ToolRequest) -> list[dict]:
        """Messages as plain {role, content} turns for the model's own template."""
        turns: list[dict] = []
        for t in history.conversation(messages):
            if t.role == "assistant":
                turns.append({"role": "assistant", "content": self.render_assistant(t.content, t.calls)})
            elif t.role == "tool":
                turns.append({"role": "user", "content": self.render_tool_result(t.name, t.content)})
            else:
                turns.append({"role": t.role, "content": t.content})
        extra = self.system_text(request)
        if extra:
            if turns and turns[0]["role"] == "system":
                turns[0] = {"role": "system", "content": f"{turns[0]['content']}\n\n{extra}".lstrip()}
            else:
                turns.insert(0, {"role": "system", "content": extra})
        return _merge_same_role(turns)

    def render_prompt(self, messages: list[ChatMessage], request: ToolRequest) -> str:
        turns = self.conversation(messages, request)
        template = None if getattr(self.tokenizer, "chat_template", None) else CHATML_TEMPLATE
        return self.tokenizer.apply_chat_template(
            turns, tokenize=False, add_generation_prompt=True, chat_template=template
        )


def _merge_same_role(turns: list[dict]) -> list[dict]:
    """Join neighbouring turns of one role: many templates insist roles alternate."""
    merged: list[dict] = []
    for t in turns:
        if merged and merged[-1]["role"] == t["role"] and t["role"] != "assistant":
            merged[-1] = {"role": t["role"], "content": merged[-1]["content"] + "\n\n" + t["content"]}
        else:
            merged.append(dict(t))
    return merged


class PlainTagsFormat(PlainTemplateFormat):
    """`<tool_call>` JSON blocks after optional text (the bundled model's default)."""

    name = "plain-tags"
    tools_prompt_file = "plain_tools_tags.txt"
    syntax = TOOL_CALL_TAGS


class PlainRecipientFormat(PlainTemplateFormat):
    """`>>>all` text and `>>>name` call segments: the recipient is the first choice."""

    name = "plain-recipient"
    tools_prompt_file = "plain_tools_recipient.txt"
    syntax = RecipientSyntax(mark=">>>", name_end="\n", opens_with_mark=True)
