"""Finds where a streamed JSON object or array ends, one piece at a time."""

from __future__ import annotations


class JsonEndScanner:
    """Tracks nesting and string state; `feed` returns how many chars of the piece belong
    to the value (all of them while it is still open)."""

    def __init__(self) -> None:
        self.depth = 0
        self.started = False
        self.in_string = False
        self.escaped = False
        self.done = False

    def feed(self, text: str) -> int:
        for i, ch in enumerate(text):
            if self.done:
                return i
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif ch == "\\":
                    self.escaped = True
                elif ch == '"':
                    self.in_string = False
                continue
            if ch == '"':
                self.in_string = True
            elif ch in "{[":
                self.depth += 1
                self.started = True
            elif ch in "}]":
                self.depth -= 1
                if self.started and self.depth == 0:
                    self.done = True
                    return i + 1
        return len(text)
