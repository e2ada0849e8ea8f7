"""`<function=name>{json}</function>` calls and `<|python_tag|>` code: grammar and parser.

    I'll look both up.<function=get_weather>{"city": "Paris"}</function><function=get_weather>{"city": "Oslo"}</function>
    Let me compute that.<|python_tag|>sum(range(10))

Optional text, then calls back to back; code after `<|python_tag|>` runs to the end of
the turn, so it comes last. Used by Functionary v3.1 (`v3-llama3.1`).
"""

from __future__ import annotations

from typing import Optional

from functionary import constraint as C
from functionary.constraint import ConstraintSpec
from functionary.formats.base import Event, ParsedCall, ToolRequest, normalize_arguments
from functionary.formats.code_tool import CODE_TOOL_NAME, code_of
from functionary.formats.json_scan import JsonEndScanner
from functionary.formats.llama3_markup import (
    END_OF_MESSAGE,
    END_OF_TURN,
    HEADER_TOKENS,
    PYTHON_TAG,
)
from functionary.formats.step_parser import StepParser
from functionary.formats.text_scan import TextReleaser, partial_suffix

OPEN = "<function="
CLOSE = "</function>"
# The engine stops on these when they are the model's stop tokens; otherwise the model
# writes one, the grammar ends there and the parser stops reading.
ENDS = (END_OF_MESSAGE, END_OF_TURN)
NOT_IN_TEXT = [*ENDS, *HEADER_TOKENS]  # neither text nor code may hold these
MAX_NAME = 80  # longer than this without ">": not a call after all


def render(content: str, calls: list[ParsedCall]) -> str:
    out = [content]
    for c in calls:
        code = code_of(c.arguments) if c.name == CODE_TOOL_NAME else None
        if code is not None:
            out.append(PYTHON_TAG + code)
        else:
            out.append(f"{OPEN}{c.name}>{normalize_arguments(c.arguments)}{CLOSE}")
    return "".join(out)


def constraint(request: ToolRequest) -> ConstraintSpec:
    end = C.optional(C.one_of(*[C.const(e) for e in ENDS]))
    text_json = C.json_value(request.response_schema) if request.response_schema is not None else None
    if not request.calls_allowed:  # text that cannot pass for a call
        return ConstraintSpec.structural_tag(C.sequence(text_json or C.any_text([*NOT_IN_TEXT, OPEN, PYTHON_TAG]), end))
    allowed = request.allowed_functions()
    fn_tags = [C.tag(f"{OPEN}{f.name}>", C.json_value(f.parameters), CLOSE) for f in allowed if not f.code]
    code = C.tag(PYTHON_TAG, C.any_text(NOT_IN_TEXT), "") if any(f.code for f in allowed) else None
    single = request.mode == "named" or not request.parallel
    if request.mode in ("required", "named") or text_json is not None:
        if single or not fn_tags:
            calls = C.one_of(*fn_tags, *([code] if code else []))
        else:
            calls = C.plus(C.one_of(*fn_tags))
            if code:
                calls = C.one_of(C.sequence(calls, C.optional(code)), code)
        body = calls if text_json is None else C.one_of(text_json, calls)
        return ConstraintSpec.structural_tag(C.sequence(body, end))
    # auto: text, then calls once the text reaches an opener
    triggers = ([OPEN] if fn_tags else []) + ([PYTHON_TAG] if code else [])
    tags = fn_tags + ([code] if code else [])
    if single:
        body = C.triggered_tags(triggers, tags, at_least_one=False, stop_after_first=True, excludes=NOT_IN_TEXT)
    elif fn_tags:
        text = C.triggered_tags([OPEN], fn_tags, at_least_one=False, stop_after_first=True,
                                excludes=[*NOT_IN_TEXT, PYTHON_TAG])
        body = C.sequence(text, C.star(C.one_of(*fn_tags)), *([C.optional(code)] if code else []))
    else:  # the code tool alone
        body = C.sequence(C.any_text([*NOT_IN_TEXT, PYTHON_TAG]), C.optional(code))
    return ConstraintSpec.structural_tag(C.sequence(body, end))


class FunctionTagParser(StepParser):
    def __init__(self, request: ToolRequest) -> None:
        self.calls_enabled = request.calls_allowed
        self.code_enabled = request.calls_allowed and any(f.code for f in request.allowed_functions())
        self.state = "text"
        self.pending = ""
        self.text = TextReleaser()
        self.calls = 0
        self.scanner: Optional[JsonEndScanner] = None

    def _markers(self) -> list[str]:
        """What the text or code in hand may run into."""
        if self.state == "code":
            return list(ENDS)
        return ([OPEN] if self.calls_enabled else []) + ([PYTHON_TAG] if self.code_enabled else []) + list(ENDS)

    def _step(self, events: list[Event]) -> bool:
        """Advance the state machine once; True when it may advance again."""
        if self.state == "done":  # after the end-of-turn token nothing is read
            self.pending = ""
            return False
        if self.state in ("text", "code"):
            found = [(i, m) for m in self._markers() if (i := self.pending.find(m)) >= 0]
            if not found:
                keep = max(partial_suffix(self.pending, m) for m in self._markers())
                self._release(self.pending[: len(self.pending) - keep], events)
                self.pending = self.pending[len(self.pending) - keep:]
                return False
            at, marker = min(found)
            self._release(self.pending[:at], events)
            self.pending = self.pending[at + len(marker):]
            if self.state == "code":
                self._close_code(events)
                self.state = "done"
            elif marker == OPEN:
                self.state = "name"
            elif marker == PYTHON_TAG:
                self._open_code(CODE_TOOL_NAME, events)
                self.state = "code"
            else:
                self.state = "done"
            return True
        if self.state == "name":
            # Bounded search, so that the verdict does not depend on how the text arrives.
            at = self.pending.find(">", 0, MAX_NAME + 1)
            if at < 0:
                if len(self.pending) <= MAX_NAME:
                    return False
                self._release(OPEN, events)  # not a call: the opener was text
                self.state = "text"
                return True
            self._start_call(self.pending[:at], events)
            self.pending = self.pending[at + 1:]
            self.state = "args"
            return True
        if self.state == "args":
            if not self._scan_args(events):
                return False
            self.state = "trailer"
            return True
        # trailer: the closing tag
        at = self.pending.find(CLOSE)
        if at < 0:
            return False
        self._end_call(events)
        self.pending = self.pending[at + len(CLOSE):]
        self.state = "text"
        return True

    def _release(self, text: str, events: list[Event]) -> None:
        if not text:
            return
        if self.state == "code":  # raw code goes out JSON-escaped, inside {"code": "..."}
            self._emit_code(text, events)
            return
        self._emit_text(text, events)


    def finish(self) -> list[Event]:
        events: list[Event] = []
        if self.state in ("text", "code"):
            self._release(self.pending, events)  # a partial marker at the very end is text, as in plain-tags
            if self.state == "code":  # code runs to the end of the turn: the call is complete
                self._close_code(events)
        # A call cut off mid-way (max tokens) stays incomplete; none of it is content.
        self.pending = ""
        return events
