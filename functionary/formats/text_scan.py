"""Helpers for stream parsers: what text can be released now, and what must wait."""

from __future__ import annotations


def partial_suffix(text: str, marker: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `marker`."""
    for n in range(min(len(marker) - 1, len(text)), 0, -1):
        if marker.startswith(text[-n:]):
            return n
    return 0


class TextReleaser:
    """Releases free text while holding back trailing whitespace and anything that may be
    the start of a marker. Whitespace at the start, at the end and next to calls is dropped,
    so that streamed content equals whole-text content whatever the chunking."""

    def __init__(self) -> None:
        self.started = False  # any non-whitespace released yet
        self.held_ws = ""

    def release(self, text: str) -> str:
        """Text that is definitely content (no marker inside); returns what to emit now."""
        body = text.rstrip()
        tail = text[len(body):]
        if not body:
            self.held_ws += tail
            return ""
        out = (self.held_ws if self.started else "") + (body if self.started else body.lstrip())
        self.started = True
        self.held_ws = tail
        return out

    def drop_whitespace(self) -> None:
        """A call (or the end) follows: whitespace before it is not content."""
        self.held_ws = ""
