"""Hermes / Qwen2.5 `<tool_call>` blocks (`hermes`): Qwen2.5, Hermes 2/3, SmolLM2-1.7B and kin.

    Let me check.
    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>

The call syntax is `plain-tags`' own (`tagged_calls.TOOL_CALL_TAGS`); what differs is
the prompt: these models' templates list the tools (as JSON inside `<tools></tools>`)
and send results back as `<tool_response>` blocks, so the template renders the prompt
(with our own Hermes-style listing as the fallback when it ignores tools).
"""

from __future__ import annotations

from functionary.formats.native_template import NativeTemplateFormat
from functionary.formats.tagged_calls import TOOL_CALL_TAGS


class HermesFormat(NativeTemplateFormat):
    name = "hermes"
    tools_prompt_file = "hermes_tools.txt"
    syntax = TOOL_CALL_TAGS
