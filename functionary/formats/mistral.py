"""Mistral `[TOOL_CALLS]` (`mistral`): Mistral 7B v0.3, Nemo, Small, Large and kin.

    [TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": ...}]

One JSON list holds all the calls of a reply. Mistral's templates list the tools in
`[AVAILABLE_TOOLS]` and return results in `[TOOL_RESULTS]` (with 9-character call ids,
which `native_template` supplies); they render the prompt whenever they show the tools.
"""

from __future__ import annotations

import json
from typing import Optional

from functionary.constraint import ConstraintSpec
from functionary.formats.base import ParsedCall, StreamParser, ToolRequest
from functionary.formats.json_calls import JsonCallsParser, JsonCallSyntax
from functionary.formats.native_template import NativeTemplateFormat

TOOL_CALLS = "[TOOL_CALLS]"
SYNTAX = JsonCallSyntax(args_key="arguments", opener=TOOL_CALLS, separator=", ", bracketed=True, bare_calls=False)


class MistralFormat(NativeTemplateFormat):
    name = "mistral"
    tools_prompt_file = "mistral_tools.txt"

    def tools_listing(self, request: ToolRequest) -> str:
        return json.dumps([f.as_openai_tool() for f in request.allowed_functions()], ensure_ascii=False)

    def render_assistant(self, content: str, calls: list[ParsedCall]) -> str:
        return SYNTAX.render(content, calls)

    def constraint(self, request: ToolRequest) -> Optional[ConstraintSpec]:
        if not request.calls_allowed and request.response_schema is None:
            return None  # free text
        return SYNTAX.constraint(request)

    def stream_parser(self, request: ToolRequest) -> StreamParser:
        return JsonCallsParser(SYNTAX, request)
