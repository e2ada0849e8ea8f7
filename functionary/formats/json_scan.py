"""Finds where a streamed JSON object or array ends, one piece at a time."""

from __future__ import annotations


class JsonEndScanner:
    """Tracks nesting and string state; `feed` returns how many chars of the piece belong
    to the value (all of them while it is still open)."""

    def __init__(self) -> None:
        self.depth = 0
        self.started = False  # any non-whitespace read: whitespace before it is not the value's
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
            # Any non-whitespace starts the value, so callers strip the same leading
            # whitespace however the text is cut (a malformed value need not open with a bracket).
            self.started = self.started or not ch.isspace()
            if ch == '"':
                self.in_string = True
            elif ch in "{[":
                self.depth += 1
            elif ch in "}]":
                self.depth -= 1
                if self.started and self.depth == 0:
                    self.done = True
                    return i + 1
        return len(text)
