"""Llama 3.1 / 3.2 JSON tool calls (`llama3-json`).

    {"name": "get_weather", "parameters": {"city": "Paris"}}

The whole reply is the call (several are joined with `; `); `<|python_tag|>` may open
it, and marks where calls begin after text. Meta's template lists the tools as JSON and
returns results as `ipython` turns; it renders the prompt whenever it shows the tools.
"""

from __future__ import annotations

import json

from functionary.domain import ToolRequest
from functionary.formats.json_calls import JsonCallSyntax
from functionary.formats.llama3_markup import PYTHON_TAG
from functionary.formats.native_template import NativeTemplateFormat

SYNTAX = JsonCallSyntax(args_key="parameters", opener=PYTHON_TAG, separator="; ", bracketed=False, bare_calls=True)


class Llama3JsonFormat(NativeTemplateFormat):
    name = "llama3-json"
    syntax = SYNTAX
    tools_prompt_file = "llama3_json_tools.txt"

    def tools_listing(self, request: ToolRequest) -> str:
        # As Meta's template lists them: each function object, indented, a blank line apart.
        return "\n\n".join(json.dumps(f.as_openai_tool(), indent=4, ensure_ascii=False)
                           for f in request.allowed_functions())
