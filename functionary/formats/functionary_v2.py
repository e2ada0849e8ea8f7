"""`<|from|>` / `<|recipient|>` / `<|content|>` messages (Functionary v2, `v2`).

    <|from|>user\\n<|recipient|>all\\n<|content|>Weather in Paris?
    <|from|>assistant\\n<|recipient|>get_weather\\n<|content|>{"city": "Paris"}<|stop|>

Every message names its sender and recipient; parallel calls are consecutive assistant
messages; `<|stop|>` ends the assistant's turn. The generation prompt ends at
`<|recipient|>`, so the first generated tokens pick the recipient. Tool results are sent
by the tool's *name*, so a result without `name` takes it from the call it answers.
"""

from __future__ import annotations

from functionary.domain import ToolRequest
from functionary.formats.base import ToolFormat, response_format_text, typescript_namespace
from functionary.formats.code_tool import has_code_tool
from functionary.formats.history import conversation
from functionary.formats.recipient_segments import TEXT_RECIPIENT, RecipientSyntax
from functionary.openai_types import ChatMessage
from functionary.prompts import prompt

STOP = "<|stop|>"
ASSISTANT_PREFIX = "\n<|from|>assistant\n<|recipient|>"
SYNTAX = RecipientSyntax(mark=ASSISTANT_PREFIX, name_end="\n<|content|>", opens_with_mark=False, code_channel=True,
                         ends=(STOP,), reserved=("<|from|>", "<|recipient|>", "<|content|>"))
BOS = "<s>"  # the Mistral-based v2 models; the prompt holds it because serving encodes without special tokens


def message(sender: str, content: str) -> str:
    return f"<|from|>{sender}\n<|recipient|>{TEXT_RECIPIENT}\n<|content|>{content}"


class FunctionaryV2Format(ToolFormat):
    name = "v2"
    syntax = SYNTAX

    def render_conversation(self, messages: list[ChatMessage], request: ToolRequest) -> str:
        """The prompt without BOS and generation prompt (the form of the reference renderings)."""
        shown = request.callable_functions()
        second = "functionary_code_interpreter.txt" if has_code_tool(shown) else "functionary_v2_default_system.txt"
        out = [message("system", typescript_namespace(f for f in shown if not f.code)),
               "\n" + message("system", prompt(second))]
        if request.response_schema is not None:
            out.append("\n" + message("system", response_format_text(request)))
        for t in conversation(messages):
            if t.role == "assistant":
                if t.content or t.calls:
                    out.append(ASSISTANT_PREFIX + self.render_assistant(t.content, t.calls) + STOP)
            elif t.role == "tool":
                out.append("\n" + message(t.name or "tool", t.content))
            else:
                out.append("\n" + message(t.role, t.content))
        return "".join(out)

    def render_prompt(self, messages: list[ChatMessage], request: ToolRequest) -> str:
        bos = BOS if getattr(self.tokenizer, "bos_token", None) == BOS else ""
        return bos + self.render_conversation(messages, request) + ASSISTANT_PREFIX
