"""Calls written as JSON objects `{"name": N, "<args key>": {...}}`: the syntax and its parser.

Two families write them, with different wrapping:

    Llama 3.1/3.2:  {"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": ...}
                    (a reply may also open, or continue after text, with <|python_tag|>)
    Mistral:        [TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}, {...}]

`JsonCallSyntax` captures the differences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from functionary import constraint as C
from functionary.domain import Function, ParsedCall, ToolRequest, normalize_arguments
from functionary.formats.call_syntax import CallSyntax
from functionary.formats.parser import Ending, Event, StepParser

MAX_HEADER = 256  # longer than this without matching: not a call after all


@dataclass(frozen=True, kw_only=True)
class JsonCallSyntax(CallSyntax):
    args_key: str  # "parameters" or "arguments"
    opener: str  # the token that starts the calls ("<|python_tag|>", "[TOOL_CALLS]")
    separator: str  # between two calls
    bracketed: bool  # the calls form a JSON list after the opener
    bare_calls: bool  # a call may also start without the opener, at `{"name": `

    @property
    def bare_trigger(self) -> str:
        return '{"name": '

    def call_begin(self, name: str) -> str:
        return f'{{"name": "{name}", "{self.args_key}": '

    def header(self) -> re.Pattern:
        return re.compile(r'\s*\{\s*"name"\s*:\s*"([^"]*)"\s*,\s*"' + re.escape(self.args_key) + r'"\s*:\s*')

    def may_become_header(self, text: str) -> bool:
        """Whether more text could still make `text` a call header. JSON content such as
        `{"name": "Ada", "age": 36}` (response_format) starts like one, and is text as soon
        as it parts ways with the header."""
        i = 0
        for piece in ("{", '"name"', ":", '"', None, ",", f'"{self.args_key}"', ":"):
            if piece is not None:  # whitespace may come before each piece
                while i < len(text) and text[i].isspace():
                    i += 1
            else:  # the name, up to its closing quote
                while i < len(text) and text[i] != '"':
                    i += 1
                piece = '"'
            for ch in piece:
                if i == len(text):
                    return True
                if text[i] != ch:
                    return False
                i += 1
        return True

    # -- rendering --

    def render(self, content: str, calls: list[ParsedCall]) -> str:
        if not calls:
            return content
        objects = self.separator.join(self.call_begin(c.name) + normalize_arguments(c.arguments) + "}" for c in calls)
        if self.bracketed:
            return f"{content}{self.opener} [{objects}]"
        # Without text, the plain object is the trained form; after text the opener marks the switch.
        return f"{content}{self.opener}{objects}" if content else objects

    def parser(self, request: ToolRequest) -> "JsonCallsParser":
        return JsonCallsParser(self, request)

    # -- grammar pieces --

    def text(self, answer: Optional[dict]) -> Optional[dict]:
        return answer  # free text needs no grammar: nothing in it ends the turn early

    def calls(self, functions: Sequence[Function], single: bool) -> dict:
        one, more = self._one(functions), self._more(functions, single)
        if self.bracketed:
            return C.sequence(C.const(self.opener), self._items(one, more), C.const("]"))
        return C.sequence(C.optional(C.const(self.opener)), one, *more)

    def text_then_calls(self, functions: Sequence[Function], single: bool) -> dict:
        # Free text until an opener (or a bare call object), then the calls.
        one, more = self._one(functions), self._more(functions, single)
        if self.bracketed:
            opener_tag, after = C.tag(self.opener, self._items(one, more), "]"), []
        else:
            opener_tag, after = C.tag(self.opener, one, ""), more
        triggers, tags = [self.opener], [opener_tag]
        if self.bare_calls:
            triggers.append(self.bare_trigger)
            tags += self._objects(functions)
        first = C.triggered_tags(triggers, tags, at_least_one=False, stop_after_first=True)
        return C.sequence(first, *after)

    def _objects(self, functions: Sequence[Function]) -> list[dict]:
        return [C.tag(self.call_begin(f.name), C.json_value(f.parameters), "}") for f in functions]

    def _one(self, functions: Sequence[Function]) -> dict:
        return C.one_of(*self._objects(functions))

    def _more(self, functions: Sequence[Function], single: bool) -> list[dict]:
        return [] if single else [C.star(C.sequence(C.const(self.separator), self._one(functions)))]

    @staticmethod
    def _items(one: dict, more: list[dict]) -> dict:
        """The bracketed list after the opener, without its closing bracket."""
        return C.sequence(C.optional(C.const(" ")), C.const("["), one, *more)


class JsonCallsParser(StepParser):
    def __init__(self, syntax: JsonCallSyntax, request: ToolRequest) -> None:
        super().__init__(request, "text")
        self.syntax = syntax
        self.header = syntax.header()
        self.markers = [syntax.opener] + ([syntax.bare_trigger] if syntax.bare_calls else [])
        self.taken = ""  # what was read since the text ended, given back if no call follows

    def _step(self, events: list[Event]) -> bool:
        s = self.syntax
        if self.state == "text":
            found = self._release_up_to(self.markers if self.calls_enabled else [], events)
            if found is None:
                return False
            marker = found[1]
            if marker == s.opener:
                self.taken = marker
                self.state = "open" if s.bracketed else "header"
            else:  # the bare object is itself the call
                self.pending, self.taken = marker + self.pending, ""
                self.state = "header"
            return True
        if self.state == "open":  # after the opener: the list's "["
            body = self.pending.lstrip()
            if not body:
                return False
            if body[0] != "[":
                return self._not_a_call(events)
            self._take(len(self.pending) - len(body) + 1)
            self.state = "header"
            return True
        if self.state == "header":
            # Bounded match, so that the verdict does not depend on how the text arrives.
            m = self.header.match(self.pending, 0, MAX_HEADER)
            if m is None:
                if len(self.pending) < MAX_HEADER and self.syntax.may_become_header(self.pending):
                    return False
                return self._not_a_call(events)
            self._start_call(m.group(1), events)
            self.pending = self.pending[m.end():]
            self.state = "args"
            return True
        if self.state in ("args", "trailer"):  # the arguments, then the object's closing brace
            if not self._read_call("}", events):
                return False
            self.state = "between"
            return True
        # between: another call, the end of the list, or (tolerated) text
        body = self.pending.lstrip()
        if not body:
            return False
        sep = s.separator.strip()
        if body.startswith(sep):
            self.pending, self.taken = body[len(sep):], ""
            self.state = "header"
        elif s.bracketed and body.startswith("]"):
            self.pending = body[1:]
            self.state = "text"
        else:
            self.pending = body
            self.state = "text"
        return True

    def _ending(self) -> Optional[Ending]:
        close = "]" if self.syntax.bracketed else ""
        if self.state == "args":
            return Ending(True, "}" + close, self.calls + 1)
        if self.pending.strip():
            return None
        if self.state == "trailer":
            return Ending(False, "}" + close, self.calls + 1)
        return Ending(False, close, self.calls) if self.state == "between" else None

    def _take(self, n: int) -> None:
        self.taken += self.pending[:n]
        self.pending = self.pending[n:]

    def _not_a_call(self, events: list[Event]) -> bool:
        """What looked like the start of calls was text; read on just after where it began."""
        if not self.taken:  # a bare `{"name": ` that is no call: its brace is text
            self._take(1)
        self._emit_text(self.taken, events)
        self.taken = ""
        self.state = "text"
        return True

    def finish(self) -> list[Event]:
        events: list[Event] = []
        if self.state == "text" and self.pending:
            self._emit_text(self.pending, events)
        # A call cut off mid-way (max tokens) stays incomplete; none of it is content.
        self.pending = ""
        return events
