"""Tool-call wire formats and the choice of one for a tokenizer."""

from __future__ import annotations

import logging

from functionary.formats.base import ToolFormat
from functionary.formats.detection import choose
from functionary.formats.functionary_v2 import FunctionaryV2Format
from functionary.formats.functionary_v3_llama3 import FunctionaryV3Llama3Format
from functionary.formats.functionary_v3_llama31 import FunctionaryV3Llama31Format
from functionary.formats.hermes import HermesFormat
from functionary.formats.llama3_json import Llama3JsonFormat
from functionary.formats.mistral import MistralFormat
from functionary.formats.plain import PlainRecipientFormat, PlainTagsFormat

log = logging.getLogger(__name__)

FORMATS: dict[str, type[ToolFormat]] = {
    PlainTagsFormat.name: PlainTagsFormat,
    PlainRecipientFormat.name: PlainRecipientFormat,
    # native formats of tool-calling model families (detected from the tokenizer)
    FunctionaryV3Llama3Format.name: FunctionaryV3Llama3Format,
    FunctionaryV3Llama31Format.name: FunctionaryV3Llama31Format,
    FunctionaryV2Format.name: FunctionaryV2Format,
    HermesFormat.name: HermesFormat,
    Llama3JsonFormat.name: Llama3JsonFormat,
    MistralFormat.name: MistralFormat,
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
    found = choose(tokenizer)
    if found is not None:
        name, why = found
        log.info("tool format %s (%s)", name, why)
        return FORMATS[name](tokenizer)
    log.info("tool format %s (the chat template has no native tool support)", DEFAULT_PLAIN_FORMAT)
    return FORMATS[DEFAULT_PLAIN_FORMAT](tokenizer)
