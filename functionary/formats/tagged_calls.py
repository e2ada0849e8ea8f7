"""Calls wrapped in tags after optional text: the syntax and its parser.

    plain-tags, hermes:  Let me check.\\n<tool_call>\\n{"name": "get_weather", "arguments": {"city": "Paris"}}\\n</tool_call>
    v3-llama3.1:         Let me check.<function=get_weather>{"city": "Paris"}</function><|python_tag|>print(1)

Calls follow each other directly. A code channel (`<|python_tag|>` + raw code) runs to
the end of the turn, so code comes last. `TaggedSyntax` says how one format writes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Optional, Sequence

from functionary import constraint as C
from functionary.domain import CODE_TOOL, Function, ParsedCall, ToolRequest, normalize_arguments
from functionary.formats.call_syntax import CallSyntax
from functionary.formats.code_tool import code_of
from functionary.formats.parser import Ending, Event, StepParser


@dataclass(frozen=True, kw_only=True)
class TaggedSyntax(CallSyntax):
    opener: str  # starts every call: "<tool_call>", "<function="
    begin: str  # what a call to {name} writes before its arguments (the opener first)
    end: str  # what it writes after them
    close: str  # the part of `end` the parser waits for (what comes before it is ignored)
    # What the parser reads after the opener: a regex whose group 1 is the name. It must
    # match within `max_header` characters, else the opener was text after all.
    header: str
    max_header: int
    after_text: str = ""  # between the reply's text and its first call
    code_tag: Optional[str] = None  # opens raw code, which runs to the end of the turn

    @cached_property
    def header_re(self) -> re.Pattern:
        return re.compile(self.header)

    def call_begin(self, name: str) -> str:
        return self.begin.replace("{name}", name)

    def render(self, content: str, calls: list[ParsedCall]) -> str:
        blocks = []
        for c in calls:
            code = code_of(c.arguments) if self.code_tag and c.name == CODE_TOOL.name else None
            if code is not None:
                blocks.append(self.code_tag + code)
            else:
                blocks.append(self.call_begin(c.name) + normalize_arguments(c.arguments) + self.end)
        return self.after_text.join(part for part in (content, "".join(blocks)) if part)

    def parser(self, request: ToolRequest) -> "TaggedCallParser":
        return TaggedCallParser(self, request)

    # -- grammar pieces --

    def text(self, answer: Optional[dict]) -> Optional[dict]:
        if answer is not None:
            return answer
        if not self.not_in_text:  # free text: nothing in it can end the turn early
            return None
        return C.any_text([*self.not_in_text, self.opener, *self._code_opener()])

    def calls(self, functions: Sequence[Function], single: bool) -> dict:
        tags, code = self._tags(functions), self._code(functions)
        if single or not tags:
            return C.one_of(*tags, *code)
        many = C.plus(C.one_of(*tags))
        return C.one_of(C.sequence(many, C.optional(code[0])), code[0]) if code else many

    def text_then_calls(self, functions: Sequence[Function], single: bool) -> dict:
        tags, code = self._tags(functions), self._code(functions)
        if single:
            triggers = ([self.opener] if tags else []) + (self._code_opener() if code else [])
            # Without the code tool its opener is no text either (as in parallel auto and none).
            return C.triggered_tags(triggers, tags + code, at_least_one=False, stop_after_first=True,
                                    excludes=[*self.not_in_text, *([] if code else self._code_opener())])
        text_excludes = [*self.not_in_text, *self._code_opener()]
        if not tags:  # the code tool alone
            return C.sequence(C.any_text(text_excludes), C.optional(code[0]))
        first = C.triggered_tags([self.opener], tags, at_least_one=False, stop_after_first=True,
                                 excludes=text_excludes)
        return C.sequence(first, C.star(C.one_of(*tags)), *[C.optional(c) for c in code])

    def _raw_code(self, f: Function) -> bool:
        return f.code and self.code_tag is not None

    def _tags(self, functions: Sequence[Function]) -> list[dict]:
        return [C.tag(self.call_begin(f.name), C.json_value(f.parameters), self.end)
                for f in functions if not self._raw_code(f)]

    def _code(self, functions: Sequence[Function]) -> list[dict]:
        """The code call's tag, when the request offers the code tool and there is a channel."""
        if not any(self._raw_code(f) for f in functions):
            return []
        return [C.tag(self.code_tag, C.any_text(self.not_in_text), "")]

    def _code_opener(self) -> list[str]:
        return [self.code_tag] if self.code_tag else []


class TaggedCallParser(StepParser):
    def __init__(self, syntax: TaggedSyntax, request: ToolRequest) -> None:
        super().__init__(request, "text")
        self.syntax = syntax
        self.code_enabled = self.calls_enabled and any(syntax._raw_code(f) for f in request.allowed_functions())

    def _ending(self) -> Optional[Ending]:
        end = self.syntax.end
        if self.state == "args":
            return Ending(True, end, self.calls + 1)
        if self.state == "trailer" and end.startswith(self.pending):
            return Ending(False, end[len(self.pending):], self.calls + 1)
        return None

    def _markers(self) -> list[str]:
        """What the text or code in hand may run into."""
        s = self.syntax
        if self.state == "code":
            return list(s.ends)
        return ([s.opener] if self.calls_enabled else []) + ([s.code_tag] if self.code_enabled else []) + list(s.ends)

    def _step(self, events: list[Event]) -> bool:
        s = self.syntax
        if self.state in ("text", "code"):
            found = self._release_up_to(self._markers(), events)
            if found is None:
                return False
            marker = found[1]
            if self.state == "code":
                self._close_code(events)
                self.state = "done"
            elif marker == s.opener:
                self.state = "header"
            elif marker == s.code_tag:
                self._open_code(CODE_TOOL.name, events)
                self.state = "code"
            else:
                self.state = "done"
            return True
        if self.state == "header":
            # Bounded match, so that the verdict does not depend on how the text arrives.
            m = s.header_re.match(self.pending, 0, s.max_header)
            if m is None:
                if len(self.pending) < s.max_header:
                    return False
                self._emit_text(s.opener, events)  # not a well-formed call: the opener was text
                self.state = "text"
                return True
            self._start_call(m.group(1), events)
            self.pending = self.pending[m.end():]
            self.state = "args"
            return True
        # args, trailer
        if not self._read_call(s.close, events):
            return False
        self.state = "text"
        return True

    def finish(self) -> list[Event]:
        events: list[Event] = []
        if self.state in ("text", "code"):
            self._release(self.pending, events)  # a partial marker at the very end is text
            if self.state == "code":  # code runs to the end of the turn: the call is complete
                self._close_code(events)
        # A call cut off mid-way (max tokens) stays incomplete; none of it is content.
        self.pending = ""
        return events


# The `<tool_call>` JSON blocks of Hermes / Qwen2.5, also the plain-tags format's.
TOOL_CALL_TAGS = TaggedSyntax(
    opener="<tool_call>",
    begin='<tool_call>\n{"name": "{name}", "arguments": ',
    end="}\n</tool_call>",
    close="</tool_call>",
    header=r'\s*\{\s*"name"\s*:\s*"([^"]*)"\s*,\s*"arguments"\s*:\s*',
    max_header=256,
    after_text="\n",
)
