"""Fixtures for the format-layer unit tests: the bundled model's tokenizer (no weights)
and one grammar cache for the whole session."""

from __future__ import annotations

import pytest

from .helpers import FORMAT_NAMES, load_format, load_grammars, load_tokenizer


@pytest.fixture(scope="session")
def tokenizer():
    return load_tokenizer()


@pytest.fixture(scope="session")
def grammars(tokenizer):
    return load_grammars()


@pytest.fixture(scope="session", params=FORMAT_NAMES)
def fmt(request, tokenizer):
    """Each plain format in turn."""
    return load_format(request.param)
