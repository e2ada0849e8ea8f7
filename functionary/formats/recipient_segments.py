"""Replies made of recipient segments: the grammar and the parser, side by side.

Functionary's v3.llama3 and v2 formats write a reply as segments, each addressed to a
recipient: `all` (text for the user), a function (JSON arguments) or `python` (raw code):

    v3.llama3:  >>>all\\nI'll check.>>>get_weather\\n{"city": "Paris"}
    v2:         all\\n<|content|>I'll check.\\n<|from|>assistant\\n<|recipient|>get_weather\\n<|content|>{...}

They differ only in the marker that opens a segment, what ends the recipient name,
whether the reply itself opens with a marker, and the end-of-turn token, so one
`RecipientSyntax` describes each and drives both the constraint and the parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from functionary import constraint as C
from functionary.constraint import ConstraintSpec
from functionary.formats.base import (
    Event,
    Function,
    ParsedCall,
    TextDelta,
    ToolRequest,
    normalize_arguments,
)
from functionary.formats.code_tool import CODE_TOOL_NAME, code_of
from functionary.formats.json_scan import JsonEndScanner
from functionary.formats.step_parser import StepParser
from functionary.formats.text_scan import TextReleaser, partial_suffix

TEXT_RECIPIENT = "all"
MAX_RECIPIENT = 80  # longer than this without the name's end: not a recipient after all


@dataclass(frozen=True)
class RecipientSyntax:
    mark: str  # opens a segment
    name_end: str  # ends the recipient name
    opens_with_mark: bool  # False when the generation prompt already holds the first marker
    # End-of-turn tokens. The model may write one when the engine does not stop on it (it is
    # not the model's EOS); the grammar then ends the reply and the parser stops reading.
    ends: tuple[str, ...]
    # Markup that never belongs inside text or code (other turns' headers): kept out of both.
    reserved: tuple[str, ...] = ()

    @property
    def not_in_text(self) -> list[str]:
        return [*self.ends, *self.reserved]

    # -- rendering --

    def render(self, content: str, calls: list[ParsedCall]) -> str:
        segments = [TEXT_RECIPIENT + self.name_end + content] if content or not calls else []
        for c in calls:
            code = code_of(c.arguments) if c.name == CODE_TOOL_NAME else None
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

    # -- the constraint --

    def constraint(self, request: ToolRequest) -> ConstraintSpec:
        lead = [C.const(self.mark)] if self.opens_with_mark else []
        end = C.optional(C.one_of(*[C.const(e) for e in self.ends]))
        plain_text = C.any_text(self.not_in_text)
        text_body = C.json_value(request.response_schema) if request.response_schema is not None else plain_text
        text_segment = C.sequence(C.const(TEXT_RECIPIENT + self.name_end), text_body)
        if not request.calls_allowed:
            return ConstraintSpec.structural_tag(C.sequence(*lead, text_segment, end))

        functions = request.allowed_functions()
        call = C.one_of(*[C.sequence(C.const(f.name + self.name_end), self._body(f)) for f in functions])
        single = request.mode == "named" or not request.parallel
        more = [] if single else [C.star(C.sequence(C.const(self.mark), call))]
        calls = C.sequence(call, *more)
        if request.mode in ("required", "named"):
            return ConstraintSpec.structural_tag(C.sequence(*lead, calls, end))
        if request.response_schema is not None:  # JSON content, or calls
            return ConstraintSpec.structural_tag(C.sequence(*lead, C.one_of(text_segment, calls), end))
        # auto: the recipient is the first choice; text may hand over to calls at a marker
        tags = [C.tag(self.mark + f.name + self.name_end, self._body(f), "") for f in functions]
        text_then_calls = C.sequence(
            C.const(TEXT_RECIPIENT + self.name_end),
            # (xgrammar mishandles excluded strings that overlap the trigger: those stay allowed)
            C.triggered_tags([self.mark], tags, at_least_one=False, stop_after_first=True,
                             excludes=[x for x in self.not_in_text if x not in self.mark]),
            *more,
        )
        return ConstraintSpec.structural_tag(C.sequence(*lead, C.one_of(text_then_calls, calls), end))

    def _body(self, f: Function) -> dict:
        if f.code:  # raw code, up to the next segment or the end of the turn
            return C.any_text([self.mark, *self.not_in_text])
        return C.json_value(f.parameters)


class RecipientParser(StepParser):
    def __init__(self, syntax: RecipientSyntax, request: ToolRequest) -> None:
        self.syntax = syntax
        self.calls_enabled = request.calls_allowed
        self.code_names = {f.name for f in request.allowed_functions() if f.code}
        self.state = "start" if syntax.opens_with_mark else "recipient"
        self.entered_by = ""  # the marker read to reach the recipient ("" at the start of v2)
        self.pending = ""
        self.text = TextReleaser()
        self.calls = 0
        self.scanner: Optional[JsonEndScanner] = None
        # A marker made of one repeated character (">>>") may follow text ending in that
        # character: in a run, the marker is taken to be the last len(mark) characters
        # (`render` never writes such runs; this keeps odd model output readable).
        self.run_char = syntax.mark[0] if len(set(syntax.mark)) == 1 else None

    def _step(self, events: list[Event]) -> bool:
        """Advance the state machine once; True when it may advance again."""
        s = self.syntax
        if self.state == "done":  # after the end-of-turn token nothing is read
            self.pending = ""
            return False
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
                return True
            if name in self.code_names:
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

    def _release(self, text: str, events: list[Event]) -> None:
        if not text:
            return
        if self.state == "code":  # raw code goes out JSON-escaped, inside {"code": "..."}
            self._emit_code(text, events)
        else:
            out = self.text.release(text)
            if out:
                events.append(TextDelta(out))



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
