""">>>recipient segments on Llama 3 markup (Functionary v3.0 / v3.2, `v3.llama3`).

    <|start_header_id|>assistant<|end_header_id|>\\n\\n>>>all\\nLet me check.>>>get_weather\\n{"city": "Paris"}<|eot_id|>

Tools are a TypeScript namespace in the first system turn; the code interpreter adds a
second system turn and is called as `>>>python` with raw code. The generation prompt
ends after the assistant header, so the reply opens with `>>>` and the recipient: the
choice among `all`, the tools and `python` is one constrained decision.
"""

from __future__ import annotations

from functionary.domain import ToolRequest
from functionary.formats import llama3_markup as L
from functionary.formats.base import ToolFormat, response_format_text, typescript_namespace
from functionary.formats.code_tool import has_code_tool
from functionary.formats.history import conversation
from functionary.formats.recipient_segments import RecipientSyntax
from functionary.openai_types import ChatMessage
from functionary.prompts import prompt

SYNTAX = RecipientSyntax(mark=">>>", name_end="\n", opens_with_mark=True, code_channel=True,
                         ends=(L.END_OF_TURN,), reserved=L.HEADER_TOKENS)


class FunctionaryV3Llama3Format(ToolFormat):
    name = "v3.llama3"
    syntax = SYNTAX

    def render_conversation(self, messages: list[ChatMessage], request: ToolRequest) -> str:
        """The prompt without BOS and generation prompt (the form of the reference renderings)."""
        shown = request.callable_functions()
        namespace = typescript_namespace(f for f in shown if not f.code)
        out = [L.turn("system", prompt("functionary_v3_llama3_tools.txt", namespace=namespace))]
        if has_code_tool(shown):
            out.append(L.turn("system", prompt("functionary_code_interpreter.txt")))
        if request.response_schema is not None:
            out.append(L.turn("system", response_format_text(request)))
        for t in conversation(messages):
            if t.role == "assistant":
                if t.content or t.calls:
                    out.append(L.turn("assistant", self.render_assistant(t.content, t.calls)))
            else:
                out.append(L.turn(t.role, t.content))
        return "".join(out)

    def render_prompt(self, messages: list[ChatMessage], request: ToolRequest) -> str:
        return L.begin_of_text(self.tokenizer) + self.render_conversation(messages, request) + L.header("assistant")
