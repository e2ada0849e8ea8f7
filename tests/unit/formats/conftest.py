"""Fixtures of the format tests: every format in the registry, built on the bundled
model's tokenizer (no weights), and the plain formats alone for their prompt tests."""

from __future__ import annotations

import pytest

from .support import ALL_NAMES, PLAIN_NAMES, load_format


@pytest.fixture(scope="session", params=ALL_NAMES)
def fmt(request):
    """Each registered format in turn."""
    return load_format(request.param)


@pytest.fixture(scope="session", params=PLAIN_NAMES)
def plain_fmt(request):
    """Each format for templates without tools in turn."""
    return load_format(request.param)
