"""The format seam: one object renders prompts, builds the constraint and parses output.

A format is a prompt style (how tools, history and results are written into the prompt)
plus a call syntax (how calls look in the reply). Keeping the syntax's rendering, grammar
and parser in one object is what lets property tests promise that every string the
constraint accepts parses, and that every rendered assistant turn is accepted.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Optional

from functionary.constraint import ConstraintSpec
from functionary.domain import ParsedCall, ToolRequest
from functionary.formats.call_syntax import CallSyntax, constraint
from functionary.formats.parser import StreamParser
from functionary.openai_types import ChatMessage
from functionary.prompts import prompt
from functionary.schema import tools_to_typescript


class ToolFormat(ABC):
    """A wire format: how tools, calls and results look to one family of models."""

    name: str = ""
    syntax: CallSyntax

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    @abstractmethod
    def render_prompt(self, messages: list[ChatMessage], request: ToolRequest) -> str:
        """The full prompt text, ending where the assistant's reply begins."""

    def render_assistant(self, content: str, calls: list[ParsedCall]) -> str:
        """An assistant turn's generated text (without the end-of-turn token)."""
        return self.syntax.render(content, calls)

    def constraint(self, request: ToolRequest) -> Optional[ConstraintSpec]:
        """What may be generated, or None for free text."""
        return constraint(self.syntax, request)

    def stream_parser(self, request: ToolRequest) -> StreamParser:
        return self.syntax.parser(request)


def typescript_namespace(functions) -> str:
    """Functions as the TypeScript namespace that Functionary models were trained on (and
    that the plain formats show every model)."""
    return tools_to_typescript([f.as_openai_tool() for f in functions])


def response_format_text(request: ToolRequest) -> str:
    """The instruction every format adds when response_format asks for JSON."""
    return prompt("response_format.txt", schema=json.dumps(request.response_schema))
