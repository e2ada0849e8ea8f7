"""`<tool_call>` JSON blocks for models with tool-less templates (the bundled model).

    Sure, let me check.
    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>
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

OPEN = "<tool_call>"
CLOSE = "</tool_call>"
HEADER = re.compile(r'\s*\{\s*"name"\s*:\s*"([^"]*)"\s*,\s*"arguments"\s*:\s*')
MAX_HEADER = 256  # longer than this without matching: not a call after all


def call_prefix(name: str) -> str:
    return f'{OPEN}\n{{"name": "{name}", "arguments": '


def call_suffix() -> str:
    return f"}}\n{CLOSE}"


class PlainTagsFormat(PlainTemplateFormat):
    name = "plain-tags"
    tools_prompt_file = "plain_tools_tags.txt"

    def render_assistant(self, content: str, calls: list[ParsedCall]) -> str:
        blocks = "".join(call_prefix(c.name) + normalize_arguments(c.arguments) + call_suffix() for c in calls)
        return "\n".join(part for part in (content, blocks) if part)

    def constraint(self, request: ToolRequest) -> Optional[ConstraintSpec]:
        text_json = C.json_value(request.response_schema) if request.response_schema is not None else None
        if not request.calls_allowed:
            return ConstraintSpec.structural_tag(text_json) if text_json else None
        tags = [C.tag(call_prefix(f.name), C.json_value(f.parameters), call_suffix()) for f in request.allowed_functions()]
        single = request.mode == "named" or not request.parallel
        # Calls follow each other with nothing between: after `</tool_call>` a small model
        # that may write "\n" writes it and then another call, forever; offered only the
        # end of turn or `<tool_call>`, it ends (drone set: 20/20 stop instead of 2/20).
        calls_only = C.tags_with_separator(tags, "", at_least_one=True, stop_after_first=single)
        if request.mode in ("required", "named"):
            return ConstraintSpec.structural_tag(calls_only)
        if text_json:  # auto with a response format: JSON content, or calls
            return ConstraintSpec.structural_tag(C.one_of(text_json, calls_only))
        first = C.triggered_tags([OPEN], tags, at_least_one=False, stop_after_first=True)
        if single:
            return ConstraintSpec.structural_tag(first)
        more = C.star(C.one_of(*tags))
        return ConstraintSpec.structural_tag(C.sequence(first, more))

    def stream_parser(self, request: ToolRequest) -> StreamParser:
        return TagsParser(calls_enabled=request.calls_allowed)


class TagsParser(StepParser):
    def __init__(self, calls_enabled: bool = True) -> None:
        self.calls_enabled = calls_enabled
        self.state = "text"
        self.pending = ""
        self.text = TextReleaser()
        self.calls = 0
        self.scanner: Optional[JsonEndScanner] = None

    def _step(self, events: list[Event]) -> bool:
        """Advance the state machine once; True when it may advance again."""
        if self.state == "text":
            at = self.pending.find(OPEN) if self.calls_enabled else -1
            if at < 0:
                keep = partial_suffix(self.pending, OPEN) if self.calls_enabled else 0
                self._emit_text(self.pending[: len(self.pending) - keep], events)
                self.pending = self.pending[len(self.pending) - keep :]
                return False
            self._emit_text(self.pending[:at], events)
            self.pending = self.pending[at + len(OPEN) :]
            self.state = "header"
            return True
        if self.state == "header":
            # Bounded match, so that the verdict does not depend on how the text arrives.
            m = HEADER.match(self.pending, 0, MAX_HEADER)
            if m is None:
                if len(self.pending) < MAX_HEADER:
                    return False
                # Not a well-formed call: the opener was text; read on from just after it.
                self._emit_text(OPEN, events)
                self.state = "text"
                return True
            self._start_call(m.group(1), events)
            self.pending = self.pending[m.end() :]
            self.state = "args"
            return True
        if self.state == "args":
            if not self._scan_args(events):
                return False
            self.state = "trailer"
            return True
        # trailer: the wrapper's closing brace and CLOSE
        end = self.pending.find(CLOSE)
        if end < 0:
            return False
        self._end_call(events)
        self.pending = self.pending[end + len(CLOSE) :]
        self.state = "text"
        return True


    def finish(self) -> list[Event]:
        events: list[Event] = []
        if self.state == "text" and self.pending:
            self._emit_text(self.pending, events)
        # A call cut off mid-way (max tokens) stays incomplete; none of it is content.
        self.pending = ""
        return events
