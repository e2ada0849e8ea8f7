"""Replies made of recipient segments: the syntax and its parser.

A reply is a run of segments, each addressed to a recipient: `all` (text for the user),
a function (JSON arguments) or, with a code channel, `python` (raw code):

    plain-recipient, v3.llama3:  >>>all\\nI'll check.>>>get_weather\\n{"city": "Paris"}
    v2:  all\\n<|content|>I'll check.\\n<|from|>assistant\\n<|recipient|>get_weather\\n<|content|>{...}

The first generated tokens pick the recipient, so the choice among text and the tools
is one constrained decision. Formats differ only in the marker that opens a segment,
what ends the recipient name, whether the reply opens with a marker, the code channel
and the end-of-turn tokens: one `RecipientSyntax` describes each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from functionary import constraint as C
from functionary.domain import CODE_TOOL, Function, ParsedCall, ToolRequest, normalize_arguments
from functionary.formats.call_syntax import CallSyntax
from functionary.formats.code_tool import code_of
from functionary.formats.parser import Ending, Event, StepParser
from functionary.formats.text_scan import partial_suffix

TEXT_RECIPIENT = "all"
MAX_RECIPIENT = 80  # longer than this without the name's end: not a recipient after all


@dataclass(frozen=True, kw_only=True)
class RecipientSyntax(CallSyntax):
    mark: str  # opens a segment
    name_end: str  # ends the recipient name
    opens_with_mark: bool  # False when the generation prompt already holds the first marker
    code_channel: bool = False  # the code tool's segment holds raw code, not JSON arguments

    def render(self, content: str, calls: list[ParsedCall]) -> str:
        segments = [TEXT_RECIPIENT + self.name_end + content] if content or not calls else []
        for c in calls:
            code = code_of(c.arguments) if self.code_channel and c.name == CODE_TOOL.name else None
            body = code if code is not None else normalize_arguments(c.arguments)
            segments.append(c.name + self.name_end + body)
        if len(set(self.mark)) == 1:
            # "a>" + ">>>" reads as "a" + ">>>>" to some grammars: a newline keeps them apart
            # (text is stripped; code ending in ">" before another segment gains a newline).
            segments = [s + "\n" if s.endswith(self.mark[0]) and i < len(segments) - 1 else s
                        for i, s in enumerate(segments)]
        if self.opens_with_mark:
            return "".join(self.mark + s for s in segments)
        return self.mark.join(segments)

    def parser(self, request: ToolRequest) -> "RecipientParser":
        return RecipientParser(self, request)

    # -- grammar pieces --

    def lead(self) -> list[dict]:
        return [C.const(self.mark)] if self.opens_with_mark else []

    def text(self, answer: Optional[dict]) -> dict:
        return C.sequence(C.const(TEXT_RECIPIENT + self.name_end), answer or C.any_text(self.not_in_text))

    def calls(self, functions: Sequence[Function], single: bool) -> dict:
        return C.sequence(self._call(functions), *self._more(functions, single))

    def text_then_calls(self, functions: Sequence[Function], single: bool) -> dict:
        # The recipient is the first choice: text that may hand over to calls at a marker,
        # or calls straight away.
        tags = [C.tag(self.mark + f.name + self.name_end, self._body(f), "") for f in functions]
        text_then_calls = C.sequence(
            C.const(TEXT_RECIPIENT + self.name_end),
            # (xgrammar mishandles excluded strings that overlap the trigger: those stay allowed)
            C.triggered_tags([self.mark], tags, at_least_one=False, stop_after_first=True,
                             excludes=[x for x in self.not_in_text if x not in self.mark]),
            *self._more(functions, single),
        )
        return C.one_of(text_then_calls, self.calls(functions, single))

    def _call(self, functions: Sequence[Function]) -> dict:
        return C.one_of(*[C.sequence(C.const(f.name + self.name_end), self._body(f)) for f in functions])

    def _more(self, functions: Sequence[Function], single: bool) -> list[dict]:
        return [] if single else [C.star(C.sequence(C.const(self.mark), self._call(functions)))]

    def _body(self, f: Function) -> dict:
        if f.code and self.code_channel:  # raw code, up to the next segment or the end of the turn
            return C.any_text([self.mark, *self.not_in_text])
        return C.json_value(f.parameters)


class RecipientParser(StepParser):
    def __init__(self, syntax: RecipientSyntax, request: ToolRequest) -> None:
        super().__init__(request, "start" if syntax.opens_with_mark else "recipient")
        self.syntax = syntax
        self.code_names = {f.name for f in request.allowed_functions() if f.code} if syntax.code_channel else set()
        self.entered_by = ""  # the marker read to reach the recipient ("" at the start of v2)
        # A marker made of one repeated character (">>>") may follow text ending in that
        # character: in a run, the marker is taken to be the last len(mark) characters
        # (`render` never writes such runs; this keeps odd model output readable).
        self.run_char = syntax.mark[0] if len(set(syntax.mark)) == 1 else None

    def _step(self, events: list[Event]) -> bool:
        s = self.syntax
        if self.state in ("start", "between"):
            for end in s.ends:
                if self.pending.startswith(end):
                    self.state = "done"
                    return True
            if self.pending.startswith(s.mark):
                self.pending = self.pending[len(s.mark):]
                self.entered_by, self.state = s.mark, "recipient"
                return True
            if any(m.startswith(self.pending) for m in (s.mark, *s.ends)):
                return False  # may still become a marker
            self.state = "text"  # tolerated: bare text without a marker
            return True
        if self.state == "recipient":
            # Bounded search, so that the verdict does not depend on how the text arrives.
            limit = MAX_RECIPIENT + len(s.name_end)
            at = self.pending.find(s.name_end, 0, limit)
            if at < 0:
                if len(self.pending) < limit:
                    return False
                self._emit_text(self.entered_by, events)  # not a recipient: the marker was text
                self.state = "text"
                return True
            name, self.pending = self.pending[:at], self.pending[at + len(s.name_end):]
            if name == TEXT_RECIPIENT or not self.calls_enabled:
                self.state = "text"
            elif name in self.code_names:
                self._open_code(name, events)
                self.state = "code"
            else:
                self._start_call(name, events)
                self.state = "args"
            return True
        if self.state in ("text", "code"):
            return self._scan_free_text(events)
        # args
        if not self._scan_args(events):
            return False
        self._end_call(events)
        self.state = "between"
        return True

    def _ending(self) -> Optional[Ending]:
        if self.state == "args":
            return Ending(True, "", self.calls + 1)
        if self.state == "between" and not self.pending:
            return Ending(False, "", self.calls)
        return None

    def _scan_free_text(self, events: list[Event]) -> bool:
        """Text or code: release it up to the next marker or end token."""
        s = self.syntax
        mark_at = self.pending.find(s.mark) if self.calls_enabled else -1
        ends = [(i, e) for e in s.ends if (i := self.pending.find(e)) >= 0]
        if ends and (mark_at < 0 or min(ends)[0] < mark_at):
            at, end = min(ends)
            self._release(self.pending[:at], events)
            self.pending = self.pending[at + len(end):]
            if self.state == "code":
                self._close_code(events)
            self.state = "done"
            return True
        if mark_at < 0:
            marks = (s.mark, *s.ends) if self.calls_enabled else s.ends
            keep = max((partial_suffix(self.pending, m) for m in marks), default=0)
            self._release(self.pending[: len(self.pending) - keep], events)
            self.pending = self.pending[len(self.pending) - keep:]
            return False
        if self.run_char is not None:
            run_end = mark_at + len(s.mark)
            while run_end < len(self.pending) and self.pending[run_end] == self.run_char:
                run_end += 1
            if run_end == len(self.pending):  # the run may go on in the next piece
                self._release(self.pending[:mark_at], events)
                self.pending = self.pending[mark_at:]
                return False
            mark_at = run_end - len(s.mark)
        self._release(self.pending[:mark_at], events)
        self.pending = self.pending[mark_at + len(s.mark):]
        if self.state == "code":
            self._close_code(events)
        self.entered_by, self.state = s.mark, "recipient"
        return True

    def finish(self) -> list[Event]:
        events: list[Event] = []
        s = self.syntax
        if self.state in ("text", "code"):
            if self.calls_enabled and self.run_char is not None and self.pending.startswith(s.mark):
                self.pending = self.pending[: -len(s.mark)]  # a held run: its last characters were a marker cut off
            self._release(self.pending, events)
            if self.state == "code":  # code runs to the end of the turn: the call is complete
                self._close_code(events)
        elif self.state in ("start", "between") and self.pending.strip():
            if not any(m.startswith(self.pending) for m in (s.mark, *s.ends)):
                self._emit_text(self.pending, events)
        elif self.state == "recipient" and self.pending and not self.calls_enabled:
            self._emit_text(self.entered_by + self.pending, events)
        # A call cut off mid-way (max tokens) stays incomplete; none of it is content.
        self.pending = ""
        return events
