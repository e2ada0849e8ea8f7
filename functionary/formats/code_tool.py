"""The code interpreter tool's calls (`{"type": "code_interpreter"}` in `tools`).

One mapping for every format: the tool is the function `python` (`domain.CODE_TOOL`)
with one string argument, `code`. Formats with a native code channel (Functionary's
`>>>python`, `<|python_tag|>`) let the model write the code raw, and their parsers hand
it back as arguments `{"code": "..."}`; formats without one see an ordinary JSON
function. Clients therefore always receive a call named `python` whose arguments are
`{"code": "..."}` JSON, and may send history either that way or with the raw code as
`arguments`.
"""

from __future__ import annotations

import json
from typing import Optional


def code_arguments(code: str) -> str:
    """The API form of a code call's arguments."""
    return json.dumps({"code": code}, ensure_ascii=False)


def code_of(arguments: str) -> Optional[str]:
    """The raw code inside API-form arguments, or None when they are not `{"code": str}`."""
    try:
        value = json.loads(arguments)
    except (json.JSONDecodeError, TypeError):
        return None
    if isinstance(value, dict) and set(value) == {"code"} and isinstance(value["code"], str):
        return value["code"]
    return None


def history_arguments(arguments: str) -> str:
    """Arguments of a `python` call from the client's history, in API form: raw code (as
    Functionary's own clients send it) is wrapped; `{"code": ...}` JSON is kept."""
    return arguments if code_of(arguments) is not None else code_arguments(arguments)


def has_code_tool(functions) -> bool:
    return any(f.code for f in functions)
