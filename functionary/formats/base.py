"""The format seam: one object renders prompts, builds the constraint and parses output.

Keeping the three together is what lets property tests promise that every string the
constraint accepts parses, and that every rendered assistant turn is accepted.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal, Optional, Union

from functionary.constraint import ConstraintSpec
from functionary.openai_types import ChatMessage


def normalize_arguments(arguments: str) -> str:
    """Arguments as the constraint would have the model write them (`{"a": 1, "b": 2}`)."""
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False)
    except (json.JSONDecodeError, TypeError):
        return arguments if arguments.strip() else "{}"


@dataclass(frozen=True)
class Function:
    name: str
    description: str = ""
    parameters: dict = field(default_factory=lambda: {"type": "object", "properties": {}})
    # A code_interpreter tool: formats with a native code channel let the model write raw
    # code; the API shows the call as arguments {"code": "..."} (see formats/code_tool.py).
    code: bool = False

    def as_openai_tool(self) -> dict:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass(frozen=True)
class ToolRequest:
    """What a request asks of the tool layer, legacy fields already folded in."""

    functions: tuple[Function, ...] = ()
    mode: Literal["auto", "none", "required", "named"] = "none"
    forced_name: Optional[str] = None  # set when mode == "named"
    parallel: bool = True
    response_schema: Optional[dict] = None  # response_format json_schema / json_object

    @property
    def calls_allowed(self) -> bool:
        return bool(self.functions) and self.mode != "none"

    def allowed_functions(self) -> tuple[Function, ...]:
        if self.mode == "named":
            return tuple(f for f in self.functions if f.name == self.forced_name)
        return self.functions


@dataclass
class ParsedCall:
    name: str
    arguments: str


@dataclass
class ParsedMessage:
    content: str
    calls: list[ParsedCall]


# -- stream events --


@dataclass
class TextDelta:
    text: str


@dataclass
class CallStart:
    index: int
    name: str


@dataclass
class ArgsDelta:
    index: int
    text: str


@dataclass
class CallEnd:
    index: int


Event = Union[TextDelta, CallStart, ArgsDelta, CallEnd]


class StreamParser(ABC):
    """Turns generated text, fed in arbitrary pieces, into content and tool-call events."""

    @abstractmethod
    def feed(self, text: str) -> list[Event]: ...

    @abstractmethod
    def finish(self) -> list[Event]:
        """End of generation: flush what is held back. Calls still open are left open."""

    def parse(self, text: str) -> ParsedMessage:
        """Whole-text parse, by definition the stream parse of one chunk."""
        return collect(self.feed(text) + self.finish())


def collect(events: list[Event]) -> ParsedMessage:
    content: list[str] = []
    calls: list[ParsedCall] = []
    for ev in events:
        if isinstance(ev, TextDelta):
            content.append(ev.text)
        elif isinstance(ev, CallStart):
            calls.append(ParsedCall(ev.name, ""))
        elif isinstance(ev, ArgsDelta):
            calls[ev.index].arguments += ev.text
    return ParsedMessage("".join(content), calls)


class ToolFormat(ABC):
    """A wire format: how tools, calls and results look to one family of models."""

    name: str = ""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    @abstractmethod
    def render_prompt(self, messages: list[ChatMessage], request: ToolRequest) -> str:
        """The full prompt text, ending where the assistant's reply begins."""

    @abstractmethod
    def render_assistant(self, content: str, calls: list[ParsedCall]) -> str:
        """An assistant turn's generated text (without the end-of-turn token)."""

    @abstractmethod
    def constraint(self, request: ToolRequest) -> Optional[ConstraintSpec]:
        """What may be generated, or None for free text."""

    @abstractmethod
    def stream_parser(self, request: ToolRequest) -> StreamParser: ...
