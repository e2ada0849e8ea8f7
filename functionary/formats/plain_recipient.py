"""`>>>recipient` segments for models with tool-less templates.

    >>>all
    Sure, let me check.>>>get_weather
    {"city": "Paris"}

The first generated tokens pick the recipient (`all` = text to the user, else a function
name), so the choice of tool is one constrained decision at the start of the reply.
"""

from __future__ import annotations

import re
from typing import Optional

from functionary import constraint as C
from functionary.constraint import ConstraintSpec
from functionary.formats.base import (
    Event,
    ParsedCall,
    StreamParser,
    ToolRequest,
    normalize_arguments,
)
from functionary.formats.json_scan import JsonEndScanner
from functionary.formats.plain import PlainTemplateFormat
from functionary.formats.step_parser import StepParser
from functionary.formats.text_scan import TextReleaser, partial_suffix

MARK = ">>>"
TEXT_RECIPIENT = "all"
MAX_RECIPIENT = 80
# Text may end in ">" (the grammar only keeps ">>>" out of it), so in a run of ">" the
# marker is the last three: "ok>>>>add" is the text "ok>" and a call to add.
MARK_RUN = re.compile(f"{re.escape(MARK)}>*")


class PlainRecipientFormat(PlainTemplateFormat):
    name = "plain-recipient"
    tools_prompt_file = "plain_tools_recipient.txt"

    def render_assistant(self, content: str, calls: list[ParsedCall]) -> str:
        out = f"{MARK}{TEXT_RECIPIENT}\n{content}" if content or not calls else ""
        if calls and out.endswith(">"):  # "a>>>>f" is ambiguous; "a>\n>>>f" is not
            out += "\n"
        return out + "".join(f"{MARK}{c.name}\n{normalize_arguments(c.arguments)}" for c in calls)

    def constraint(self, request: ToolRequest) -> Optional[ConstraintSpec]:
        text_body = C.json_value(request.response_schema) if request.response_schema is not None else C.any_text()
        text_segment = C.sequence(C.const(f"{TEXT_RECIPIENT}\n"), text_body)
        if not request.calls_allowed:
            return ConstraintSpec.structural_tag(C.sequence(C.const(MARK), text_segment))
        functions = request.allowed_functions()
        call = C.one_of(*[C.sequence(C.const(f"{f.name}\n"), C.json_value(f.parameters)) for f in functions])
        single = request.mode == "named" or not request.parallel
        more = [] if single else [{"type": "star", "content": C.sequence(C.const(MARK), call)}]
        calls_only = C.sequence(C.const(MARK), call, *more)
        if request.mode in ("required", "named"):
            return ConstraintSpec.structural_tag(calls_only)
        if request.response_schema is not None:
            return ConstraintSpec.structural_tag(C.one_of(C.sequence(C.const(MARK), text_segment), calls_only))
        # auto: text that may hand over to calls at the next `>>>`, or calls straight away
        tags = [C.tag(f"{MARK}{f.name}\n", C.json_value(f.parameters), "") for f in functions]
        text_then_calls = C.sequence(
            C.const(f"{TEXT_RECIPIENT}\n"),
            C.triggered_tags([MARK], tags, at_least_one=False, stop_after_first=True),
            *more,
        )
        return ConstraintSpec.structural_tag(C.sequence(C.const(MARK), C.one_of(text_then_calls, C.sequence(call, *more))))

    def stream_parser(self, request: ToolRequest) -> StreamParser:
        return RecipientParser(calls_enabled=request.calls_allowed)


class RecipientParser(StepParser):
    def __init__(self, calls_enabled: bool = True) -> None:
        self.calls_enabled = calls_enabled
        self.state = "start"
        self.pending = ""
        self.text = TextReleaser()
        self.calls = 0
        self.scanner: Optional[JsonEndScanner] = None

    def _step(self, events: list[Event]) -> bool:
        if self.state in ("start", "between"):
            # A segment marker, or (tolerated) bare text without one.
            probe = self.pending.lstrip() if self.state == "between" else self.pending
            if probe.startswith(MARK):
                self.pending = probe[len(MARK) :]
                self.state = "recipient"
                return True
            if MARK.startswith(probe):
                return False
            self.state = "text"
            return True
        if self.state == "recipient":
            # Bounded search, so that the verdict does not depend on how the text arrives.
            nl = self.pending.find("\n", 0, MAX_RECIPIENT + 1)
            if nl < 0:
                if len(self.pending) <= MAX_RECIPIENT:
                    return False
                # Not a recipient: the marker was text; read on from just after it.
                self._emit_text(MARK, events)
                self.state = "text"
                return True
            name, self.pending = self.pending[:nl], self.pending[nl + 1 :]
            if name == TEXT_RECIPIENT or not self.calls_enabled:
                self.state = "text"
                return True
            self._start_call(name, events)
            self.state = "args"
            return True
        if self.state == "text":
            run = MARK_RUN.search(self.pending) if self.calls_enabled else None
            if run is None:
                keep = partial_suffix(self.pending, MARK) if self.calls_enabled else 0
                self._emit_text(self.pending[: len(self.pending) - keep], events)
                self.pending = self.pending[len(self.pending) - keep :]
                return False
            if run.end() == len(self.pending):  # the run of ">" may go on in the next piece
                self._emit_text(self.pending[: run.start()], events)
                self.pending = self.pending[run.start() :]
                return False
            self._emit_text(self.pending[: run.end() - len(MARK)], events)
            self.pending = self.pending[run.end() :]
            self.state = "recipient"
            return True
        # args
        if not self._scan_args(events):
            return False
        self._end_call(events)
        self.state = "between"
        return True


    def finish(self) -> list[Event]:
        events: list[Event] = []
        if self.state == "text" and self.calls_enabled and self.pending.startswith(MARK):
            self.pending = self.pending[: -len(MARK)]  # a held run of ">": its marker was cut off
        if self.state in ("text", "start", "between") and self.pending.strip():
            self._emit_text(self.pending, events)
        elif self.state == "recipient" and self.pending and not self.calls_enabled:
            self._emit_text(MARK + self.pending, events)
        # A call cut off mid-way (max tokens) stays incomplete; none of it is content.
        self.pending = ""
        return events
