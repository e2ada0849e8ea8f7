"""Machinery shared by the marker-driven stream parsers: subclasses write `_step`, a state
machine over `self.pending`; this base feeds it, releases text and streams arguments."""

from __future__ import annotations

import json
from abc import abstractmethod
from typing import Optional

from functionary.formats.base import (
    ArgsDelta,
    CallEnd,
    CallStart,
    Event,
    StreamParser,
    TextDelta,
)
from functionary.formats.json_scan import JsonEndScanner
from functionary.formats.text_scan import TextReleaser


class StepParser(StreamParser):
    pending: str = ""
    text: TextReleaser
    calls: int = 0
    scanner: Optional[JsonEndScanner] = None

    def feed(self, chunk: str) -> list[Event]:
        self.pending += chunk
        events: list[Event] = []
        while self._step(events):
            pass
        return events

    @abstractmethod
    def _step(self, events: list[Event]) -> bool:
        """Advance the state machine once; True when it may advance again."""

    def _emit_text(self, text: str, events: list[Event]) -> None:
        out = self.text.release(text)
        if out:
            events.append(TextDelta(out))

    def _scan_args(self, events: list[Event]) -> bool:
        """Stream the arguments JSON from `pending`; True once the value is complete."""
        if not self.scanner.started:  # whitespace before the value is not part of it
            self.pending = self.pending.lstrip()
        n = self.scanner.feed(self.pending)
        if n:
            events.append(ArgsDelta(self.calls, self.pending[:n]))
        self.pending = self.pending[n:]
        return self.scanner.done

    def _start_call(self, name: str, events: list[Event], *, json_arguments: bool = True) -> None:
        """A call begins: whitespace before it is not content; JSON arguments stream next."""
        self.text.drop_whitespace()
        events.append(CallStart(self.calls, name))
        if json_arguments:
            self.scanner = JsonEndScanner()

    def _end_call(self, events: list[Event]) -> None:
        events.append(CallEnd(self.calls))
        self.calls += 1

    def _open_code(self, name: str, events: list[Event]) -> None:
        """A code call begins: its raw code becomes {"code": "..."} arguments."""
        self._start_call(name, events, json_arguments=False)
        events.append(ArgsDelta(self.calls, '{"code": "'))

    def _emit_code(self, code: str, events: list[Event]) -> None:
        """Raw code goes out JSON-escaped, inside the call's {"code": "..."} arguments."""
        events.append(ArgsDelta(self.calls, json.dumps(code, ensure_ascii=False)[1:-1]))

    def _close_code(self, events: list[Event]) -> None:
        events.append(ArgsDelta(self.calls, '"}'))
        self._end_call(events)
