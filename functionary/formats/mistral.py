"""Mistral `[TOOL_CALLS]` (`mistral`): Mistral 7B v0.3, Nemo, Small, Large and kin.

    [TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": ...}]

One JSON list holds all the calls of a reply. Mistral's templates list the tools in
`[AVAILABLE_TOOLS]` and return results in `[TOOL_RESULTS]` (with 9-character call ids,
which `native_template` supplies); they render the prompt whenever they show the tools.
"""

from __future__ import annotations

import json

from functionary.domain import ToolRequest
from functionary.formats.json_calls import JsonCallSyntax
from functionary.formats.native_template import NativeTemplateFormat

TOOL_CALLS = "[TOOL_CALLS]"
SYNTAX = JsonCallSyntax(args_key="arguments", opener=TOOL_CALLS, separator=", ", bracketed=True, bare_calls=False)


class MistralFormat(NativeTemplateFormat):
    name = "mistral"
    syntax = SYNTAX
    tools_prompt_file = "mistral_tools.txt"

    def tools_listing(self, request: ToolRequest) -> str:
        return json.dumps([f.as_openai_tool() for f in request.allowed_functions()], ensure_ascii=False)
