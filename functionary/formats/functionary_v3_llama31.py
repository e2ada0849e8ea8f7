"""`<function=name>{json}</function>` calls on Llama 3.1 markup (Functionary v3.1, `v3-llama3.1`).

    <|start_header_id|>assistant<|end_header_id|>\\n\\n<function=get_weather>{"city": "Paris"}</function><|eom_id|>

Tools are listed as JSON in the system turn with instructions for the call syntax;
`Environment: ipython` turns on the code interpreter (`<|python_tag|>` + raw code).
Turns with calls end `<|eom_id|>`, others `<|eot_id|>`; tool results come back as
`ipython` turns.
"""

from __future__ import annotations

import json

from functionary.domain import ToolRequest
from functionary.formats import llama3_markup as L
from functionary.formats.base import ToolFormat, response_format_text
from functionary.formats.code_tool import has_code_tool
from functionary.formats.history import conversation
from functionary.formats.tagged_calls import TaggedSyntax
from functionary.openai_types import ChatMessage
from functionary.prompts import prompt

KNOWLEDGE_CUTOFF = "Cutting Knowledge Date: December 2023\n\n"
SYNTAX = TaggedSyntax(
    opener="<function=", begin="<function={name}>", end="</function>", close="</function>",
    header=r"([^>]*)>", max_header=81,  # a name of up to 80 characters, then ">"
    code_tag=L.PYTHON_TAG,
    # Turns with calls end <|eom_id|>, others <|eot_id|>; the engine stops on them when they are
    # the model's stop tokens, otherwise the grammar ends the reply there.
    ends=(L.END_OF_MESSAGE, L.END_OF_TURN), reserved=L.HEADER_TOKENS,
)


def tool_listing(functions) -> str:
    return "".join(
        f"Use the function '{f.name}' to '{f.description}'\n"
        + json.dumps(f.as_openai_tool()["function"], ensure_ascii=False) + "\n\n"
        for f in functions
    )


class FunctionaryV3Llama31Format(ToolFormat):
    name = "v3-llama3.1"
    syntax = SYNTAX

    def system_text(self, request: ToolRequest) -> str:
        shown = request.callable_functions()
        functions = [f for f in shown if not f.code]
        text = ("Environment: ipython\n\n" if has_code_tool(shown) else "\n") + KNOWLEDGE_CUTOFF
        if functions:  # the prompt file loses its trailing blank line when read, hence "\n\n"
            text += "\n" + prompt("functionary_v3_llama31_tools.txt", functions=tool_listing(functions)) + "\n\n"
        return text

    def render_conversation(self, messages: list[ChatMessage], request: ToolRequest) -> str:
        """The prompt without BOS and generation prompt (the form of the reference renderings)."""
        out = [L.turn("system", self.system_text(request))]
        if request.response_schema is not None:
            out.append(L.turn("system", response_format_text(request)))
        for t in conversation(messages):
            if t.role == "assistant":
                if t.content or t.calls:
                    end = L.END_OF_MESSAGE if t.calls else L.END_OF_TURN
                    out.append(L.header("assistant") + self.render_assistant(t.content, t.calls) + end)
            elif t.role == "tool":
                out.append(L.turn("ipython", t.content))
            else:
                out.append(L.turn(t.role, t.content))
        return "".join(out)

    def render_prompt(self, messages: list[ChatMessage], request: ToolRequest) -> str:
        return L.begin_of_text(self.tokenizer) + self.render_conversation(messages, request) + L.header("assistant")
