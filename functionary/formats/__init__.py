"""Tool-call wire formats and the choice of one for a tokenizer."""

from __future__ import annotations

import logging

from functionary.formats.base import ToolFormat, ToolRequest  # noqa: F401
from functionary.formats.plain_recipient import PlainRecipientFormat
from functionary.formats.plain_tags import PlainTagsFormat

log = logging.getLogger(__name__)

FORMATS: dict[str, type[ToolFormat]] = {
    PlainTagsFormat.name: PlainTagsFormat,
    PlainRecipientFormat.name: PlainRecipientFormat,
}

# For templates that ignore tools; chosen by measurement on the drone set (see README).
DEFAULT_PLAIN_FORMAT = PlainTagsFormat.name


def detect(tokenizer, override: str = "auto") -> ToolFormat:
    """The format to serve this tokenizer's model with, logging why it was chosen."""
    if override and override != "auto":
        if override not in FORMATS:
            raise ValueError(f"unknown tool format {override!r}; choose from: auto, {', '.join(FORMATS)}")
        log.info("tool format %s (set by --tool-format)", override)
        return FORMATS[override](tokenizer)
    log.info("tool format %s (the chat template has no native tool support)", DEFAULT_PLAIN_FORMAT)
    return FORMATS[DEFAULT_PLAIN_FORMAT](tokenizer)
