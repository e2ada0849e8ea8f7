"""Shared rendering for models whose chat template knows nothing of tools.

The server writes the tool prompt itself (TypeScript definitions in the system
message), turns earlier calls into the call syntax inside assistant turns, and feeds
tool results back as user turns, which every chat template accepts. The final text
comes from the tokenizer's own chat template, so the model sees its native turn markup.
Subclasses choose the call syntax (render, constraint and parser).
"""

from __future__ import annotations

import json
from abc import abstractmethod

from functionary.formats.base import ParsedCall, ToolFormat, ToolRequest
from functionary.openai_types import ChatMessage
from functionary.prompts import prompt
from functionary.schema import tools_to_typescript

# Used when a tokenizer has no chat template at all.
CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def normalize_arguments(arguments: str) -> str:
    """Arguments as the constraint would have the model write them (`{"a": 1, "b": 2}`)."""
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False)
    except (json.JSONDecodeError, TypeError):
        return arguments if arguments.strip() else "{}"


class PlainTemplateFormat(ToolFormat):
    tools_prompt_file: str = ""

    # -- the call syntax, supplied by subclasses --

    @abstractmethod
    def render_assistant(self, content: str, calls: list[ParsedCall]) -> str: ...

    def render_tool_result(self, name: str, content: str) -> str:
        return f"<tool_response>\n{content}\n</tool_response>"

    # -- prompt --

    def system_text(self, request: ToolRequest) -> str:
        parts = []
        if request.calls_allowed:
            namespace = tools_to_typescript([f.as_openai_tool() for f in request.allowed_functions()])
            parts.append(prompt(self.tools_prompt_file, namespace=namespace))
        if request.response_schema is not None:
            parts.append(prompt("response_format.txt", schema=json.dumps(request.response_schema)))
        return "\n\n".join(parts)

    def conversation(self, messages: list[ChatMessage], request: ToolRequest) -> list[dict]:
        """Messages as plain {role, content} turns for the model's own template."""
        turns: list[dict] = []
        call_names: dict[str, str] = {}
        for m in _tool_results_in_call_order(messages):
            if m.role in ("system", "developer"):
                turns.append({"role": "system", "content": m.text()})
            elif m.role == "user":
                turns.append({"role": "user", "content": m.text()})
            elif m.role == "assistant":
                calls = _assistant_calls(m)
                for tc in m.tool_calls or []:
                    if tc.id:
                        call_names[tc.id] = tc.function.name
                turns.append({"role": "assistant", "content": self.render_assistant(m.text(), calls)})
            else:  # tool or legacy function result
                name = m.name or call_names.get(m.tool_call_id or "", "")
                turns.append({"role": "user", "content": self.render_tool_result(name, m.text())})
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


def _assistant_calls(m: ChatMessage) -> list[ParsedCall]:
    calls = [ParsedCall(tc.function.name, normalize_arguments(tc.function.arguments)) for tc in m.tool_calls or []]
    if m.function_call is not None:
        calls.append(ParsedCall(m.function_call.name, normalize_arguments(m.function_call.arguments)))
    return calls


def _tool_results_in_call_order(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Consecutive tool results sorted by the position of their call in the assistant turn."""
    out: list[ChatMessage] = []
    order: dict[str, int] = {}
    run: list[ChatMessage] = []

    def flush():
        run.sort(key=lambda r: order.get(r.tool_call_id or "", len(order)))
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


def _merge_same_role(turns: list[dict]) -> list[dict]:
    """Join neighbouring turns of one role: many templates insist roles alternate."""
    merged: list[dict] = []
    for t in turns:
        if merged and merged[-1]["role"] == t["role"] and t["role"] != "assistant":
            merged[-1] = {"role": t["role"], "content": merged[-1]["content"] + "\n\n" + t["content"]}
        else:
            merged.append(dict(t))
    return merged
