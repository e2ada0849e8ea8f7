"""Detection picks each family's format from the tokenizer (template, special tokens, name),
and --tool-format overrides it."""

from __future__ import annotations

import logging

import pytest

from functionary.formats import DEFAULT_PLAIN_FORMAT, FORMATS, detect

from .support import family_tokenizer, load_tokenizer
from .templates import FAMILIES


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_detects_each_family(family, caplog):
    with caplog.at_level(logging.INFO, logger="functionary.formats"):
        fmt = detect(family_tokenizer(family))
    assert fmt.name == FAMILIES[family].expected
    assert any(f"tool format {fmt.name} (" in r.getMessage() for r in caplog.records)  # says which and why


def test_bundled_model_keeps_the_plain_default():
    assert detect(load_tokenizer()).name == DEFAULT_PLAIN_FORMAT == "plain-tags"


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_override_wins(name):
    assert detect(family_tokenizer("qwen2.5"), name).name == name
    assert detect(load_tokenizer(), name).name == name


def test_unknown_override_is_refused():
    with pytest.raises(ValueError, match="unknown tool format"):
        detect(load_tokenizer(), "nope")


def test_cli_offers_every_format():
    from functionary.cli import build_parser

    for name in FORMATS:
        assert build_parser().parse_args(["--tool-format", name]).tool_format == name


def test_model_template_is_used_only_when_it_shows_tools():
    assert detect(family_tokenizer("qwen2.5")).uses_model_template
    assert detect(family_tokenizer("llama-3.1")).uses_model_template
    assert detect(family_tokenizer("mistral-v0.3")).uses_model_template
    assert not detect(family_tokenizer("hermes-ignoring-tools")).uses_model_template
