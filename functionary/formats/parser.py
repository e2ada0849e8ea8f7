"""Stream parsing: the events a parser yields, and the machinery the parsers share.

A parser turns generated text, fed in arbitrary pieces, into content and tool-call
events. It is told the request, so it knows the mode: with calls not allowed, call
syntax is text; with calls only (`required`, named), no text is content (a parser may
flush the cut-off start of an opener at the end, which is never the client's content).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Optional, Union

from functionary.domain import ParsedCall, ParsedMessage, ToolRequest
from functionary.formats.json_scan import JsonEndScanner
from functionary.formats.text_scan import TextReleaser, partial_suffix


@dataclass
class TextDelta:
    text: str


@dataclass
class CallStart:
    index: int
    name: str


@dataclass
class ArgsDelta:
    index: int
    text: str


@dataclass
class CallEnd:
    index: int


Event = Union[TextDelta, CallStart, ArgsDelta, CallEnd]


@dataclass(frozen=True)
class Ending:
    """How a reply could end at the point a parser has read to: complete the open call's
    JSON arguments (when `arguments`), then write `tail`; the reply then holds `calls`
    complete calls."""

    arguments: bool
    tail: str
    calls: int


class StreamParser(ABC):
    @abstractmethod
    def feed(self, text: str) -> list[Event]: ...

    @abstractmethod
    def finish(self) -> list[Event]:
        """End of generation: flush what is held back. Calls still open are left open."""

    def parse(self, text: str) -> ParsedMessage:
        """Whole-text parse, by definition the stream parse of one chunk."""
        return collect(self.feed(text) + self.finish())


def collect(events: list[Event]) -> ParsedMessage:
    content: list[str] = []
    calls: list[ParsedCall] = []
    for ev in events:
        if isinstance(ev, TextDelta):
            content.append(ev.text)
        elif isinstance(ev, CallStart):
            calls.append(ParsedCall(ev.name, ""))
        elif isinstance(ev, ArgsDelta):
            calls[ev.index].arguments += ev.text
    return ParsedMessage("".join(content), calls)


class StepParser(StreamParser):
    """A marker-driven parser: subclasses write `_step`, a state machine over
    `self.pending`; this base feeds it, releases text and code, and streams arguments."""

    def __init__(self, request: ToolRequest, state: str) -> None:
        self.calls_enabled = request.calls_allowed
        self.text_allowed = not request.calls_only
        self.state = state
        self.pending = ""
        self.text = TextReleaser()
        self.calls = 0
        self.scanner: Optional[JsonEndScanner] = None

    def feed(self, chunk: str) -> list[Event]:
        self.pending += chunk
        events: list[Event] = []
        while self.state != "done" and self._step(events):
            pass
        if self.state == "done":  # after the end-of-turn token nothing is read
            self.pending = ""
        return events

    @abstractmethod
    def _step(self, events: list[Event]) -> bool:
        """Advance the state machine once; True when it may advance again."""

    def ending(self) -> Optional[Ending]:
        """How the reply could end here; None inside markup that cannot be cut (an opener,
        a name, a partial marker held back)."""
        if self.state == "done":
            return Ending(False, "", self.calls)
        if self.state == "text":
            return None if self.pending else Ending(False, "", self.calls)
        if self.state == "code":  # raw code runs to the end of the turn: ending closes it
            return Ending(False, "", self.calls + 1)
        return self._ending()

    def _ending(self) -> Optional[Ending]:
        """`ending` for the parser's own states."""
        return None

    def held_text(self) -> str:
        """Whitespace read as content but not yet released (it may still be trailing)."""
        return self.text.held_ws if self.text.started else ""

    def _emit_text(self, text: str, events: list[Event]) -> None:
        out = self.text.release(text)
        if out and self.text_allowed:
            events.append(TextDelta(out))

    def _release(self, text: str, events: list[Event]) -> None:
        """Free text up to a marker: content, or raw code while a code call is open."""
        if not text:
            return
        if self.state == "code":
            self._emit_code(text, events)
        else:
            self._emit_text(text, events)

    def _release_up_to(self, markers: list[str], events: list[Event]) -> Optional[tuple[int, str]]:
        """The first marker in `pending` as (position, marker), releasing the text before
        it; with none, release all but a tail that may begin one, and return None."""
        found = [(i, m) for m in markers if (i := self.pending.find(m)) >= 0]
        if not found:
            keep = max((partial_suffix(self.pending, m) for m in markers), default=0)
            self._release(self.pending[: len(self.pending) - keep], events)
            self.pending = self.pending[len(self.pending) - keep:]
            return None
        at, marker = min(found)
        self._release(self.pending[:at], events)
        self.pending = self.pending[at + len(marker):]
        return at, marker

    def _read_call(self, close: str, events: list[Event]) -> bool:
        """States "args" then "trailer": stream the JSON arguments, then skip the rest of the
        call's wrapping up to `close`. True once the call has ended there."""
        if self.state == "args":
            if not self._scan_args(events):
                return False
            self.state = "trailer"
        at = self.pending.find(close)
        if at < 0:
            return False
        self._end_call(events)
        self.pending = self.pending[at + len(close):]
        return True

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

