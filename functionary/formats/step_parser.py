"""Machinery shared by the marker-driven stream parsers: subclasses write `_step`, a state
machine over `self.pending`; this base feeds it, releases text and streams arguments."""

from __future__ import annotations

from abc import abstractmethod
from typing import Optional

from functionary.formats.base import ArgsDelta, Event, StreamParser, TextDelta
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
