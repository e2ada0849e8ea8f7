"""A call syntax, and the one function that turns it into a constraint for any request.

A call syntax says how calls look inside a reply (the markers around them, how the name
ends, what may end the turn). It is a small declarative object that renders calls,
supplies the grammar pieces for them, and makes the parser that reads them back. Three
families cover every format: recipient segments, tagged calls and JSON call lists.

`constraint` is where every tool_choice mode, `parallel_tool_calls` and
`response_format` get their meaning (with the `ToolRequest` properties it reads): the
syntaxes only say what text, calls, and text-then-calls look like.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Optional, Sequence

from functionary import constraint as C
from functionary.constraint import ConstraintSpec
from functionary.domain import Function, ParsedCall, ToolRequest
from functionary.formats.parser import StreamParser


@dataclass(frozen=True, kw_only=True)
class CallSyntax(ABC):
    # End-of-turn tokens. The model may write one when the engine does not stop on it (it is
    # not the model's EOS); the grammar then ends the reply and the parser stops reading.
    ends: tuple[str, ...] = ()
    # Markup that never belongs inside text or code (other turns' headers).
    reserved: tuple[str, ...] = ()

    @property
    def not_in_text(self) -> list[str]:
        return [*self.ends, *self.reserved]

    @abstractmethod
    def render(self, content: str, calls: list[ParsedCall]) -> str:
        """An assistant turn's generated text (without the end-of-turn token)."""

    @abstractmethod
    def parser(self, request: ToolRequest) -> StreamParser: ...

    # -- grammar pieces (xgrammar structural-tag dicts), assembled by `constraint` --

    @abstractmethod
    def text(self, answer: Optional[dict]) -> Optional[dict]:
        """A reply of content only: `answer` (a JSON value) as the content, or free text
        when it is None. None means free text needs no grammar at all."""

    @abstractmethod
    def calls(self, functions: Sequence[Function], single: bool) -> dict:
        """A reply of calls and nothing else: one call, or one or more."""

    @abstractmethod
    def text_then_calls(self, functions: Sequence[Function], single: bool) -> dict:
        """Text that may hand over to calls (one, or one or more) at the syntax's opener."""

    def lead(self) -> list[dict]:
        """What every reply opens with (nothing, unless the syntax says otherwise)."""
        return []

    def frame(self, body: dict) -> dict:
        """The whole reply around `body`: the lead, and an optional end-of-turn token."""
        tail = [C.optional(C.one_of(*[C.const(e) for e in self.ends]))] if self.ends else []
        parts = [*self.lead(), body, *tail]
        return parts[0] if len(parts) == 1 else C.sequence(*parts)


def constraint(syntax: CallSyntax, request: ToolRequest) -> Optional[ConstraintSpec]:
    """What the model may write for `request` in `syntax`, or None for free text."""
    answer = C.json_value(request.response_schema) if request.response_schema is not None else None
    if not request.calls_allowed:  # tool_choice none, or no tools: content only
        body = syntax.text(answer)
    else:
        functions, single = request.allowed_functions(), request.single_call
        if request.calls_only:  # required / named: calls and nothing else
            body = syntax.calls(functions, single)
        elif answer is not None:  # auto with a response format: the JSON answer, or calls
            body = C.one_of(syntax.text(answer), syntax.calls(functions, single))
        else:  # auto: text, then calls once the text reaches an opener
            body = syntax.text_then_calls(functions, single)
    return None if body is None else ConstraintSpec.structural_tag(syntax.frame(body))
