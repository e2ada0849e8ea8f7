"""Calls written as JSON objects `{"name": N, "<args key>": {...}}`: grammar and parser.

Two families write them, with different wrapping:

    Llama 3.1/3.2:  {"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": ...}
                    (a reply may also open, or continue after text, with <|python_tag|>)
    Mistral:        [TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}, {...}]

`JsonCallSyntax` captures the differences, and drives the constraint, the rendering and
the stream parser, so the three cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from functionary import constraint as C
from functionary.constraint import ConstraintSpec
from functionary.formats.base import Event, ParsedCall, ToolRequest, normalize_arguments
from functionary.formats.json_scan import JsonEndScanner
from functionary.formats.step_parser import StepParser
from functionary.formats.text_scan import TextReleaser, partial_suffix

MAX_HEADER = 256  # longer than this without matching: not a call after all


@dataclass(frozen=True)
class JsonCallSyntax:
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

    # -- the constraint --

    def constraint(self, request: ToolRequest) -> ConstraintSpec:
        text_json = C.json_value(request.response_schema) if request.response_schema is not None else None
        if not request.calls_allowed:
            return ConstraintSpec.structural_tag(text_json or C.any_text())
        objects = [C.tag(self.call_begin(f.name), C.json_value(f.parameters), "}") for f in request.allowed_functions()]
        one = C.one_of(*objects)
        single = request.mode == "named" or not request.parallel
        more = [] if single else [C.star(C.sequence(C.const(self.separator), one))]
        if self.bracketed:
            items = C.sequence(C.optional(C.const(" ")), C.const("["), one, *more)
            calls = C.sequence(C.const(self.opener), items, C.const("]"))
            opener_tag, after = C.tag(self.opener, items, "]"), []
        else:
            calls = C.sequence(C.optional(C.const(self.opener)), one, *more)
            opener_tag, after = C.tag(self.opener, one, ""), more
        if request.mode in ("required", "named"):
            return ConstraintSpec.structural_tag(calls)
        if text_json is not None:  # JSON content, or calls
            return ConstraintSpec.structural_tag(C.one_of(text_json, calls))
        # auto: free text until an opener (or a bare call object), then the calls
        triggers, tags = [self.opener], [opener_tag]
        if self.bare_calls:
            triggers.append(self.bare_trigger)
            tags += objects
        first = C.triggered_tags(triggers, tags, at_least_one=False, stop_after_first=True)
        return ConstraintSpec.structural_tag(C.sequence(first, *after))


class JsonCallsParser(StepParser):
    def __init__(self, syntax: JsonCallSyntax, request: ToolRequest) -> None:
        self.syntax = syntax
        self.calls_enabled = request.calls_allowed
        self.header = syntax.header()
        self.markers = [syntax.opener] + ([syntax.bare_trigger] if syntax.bare_calls else [])
        self.state = "text"
        self.pending = ""
        self.taken = ""  # what was read since the text ended, given back if no call follows
        self.text = TextReleaser()
        self.calls = 0
        self.scanner: Optional[JsonEndScanner] = None

    def _step(self, events: list[Event]) -> bool:
        """Advance the state machine once; True when it may advance again."""
        s = self.syntax
        if self.state == "text":
            found = [(i, m) for m in self.markers if (i := self.pending.find(m)) >= 0] if self.calls_enabled else []
            if not found:
                keep = max(partial_suffix(self.pending, m) for m in self.markers) if self.calls_enabled else 0
                self._emit_text(self.pending[: len(self.pending) - keep], events)
                self.pending = self.pending[len(self.pending) - keep:]
                return False
            at, marker = min(found)
            self._emit_text(self.pending[:at], events)
            self.pending = self.pending[at:]
            self.taken = ""
            if marker == s.opener:
                self._take(len(marker))
                self.state = "open" if s.bracketed else "header"
            else:
                self.state = "header"  # the bare object is itself the call
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
        if self.state == "args":
            if not self._scan_args(events):
                return False
            self.state = "trailer"
            return True
        if self.state == "trailer":  # the object's closing brace
            at = self.pending.find("}")
            if at < 0:
                return False
            self._end_call(events)
            self.pending = self.pending[at + 1:]
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


class JsonCallsFormatMixin:
    """Render, constraint and parser of a native format whose calls are JSON objects
    (`syntax` says how they look); mixed into the format class."""

    syntax: JsonCallSyntax

    def render_assistant(self, content: str, calls: list[ParsedCall]) -> str:
        return self.syntax.render(content, calls)

    def constraint(self, request: ToolRequest) -> Optional[ConstraintSpec]:
        if not request.calls_allowed and request.response_schema is None:
            return None  # free text
        return self.syntax.constraint(request)

    def stream_parser(self, request: ToolRequest) -> StepParser:
        return JsonCallsParser(self.syntax, request)
