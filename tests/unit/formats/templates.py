"""Chat templates written for these tests in the style of each model family (not copies of
the real ones), with the special tokens each family adds. Enough of each family's habits
to drive detection and the model-template rendering path offline."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str  # name_or_path the tokenizer gets
    template: str
    tokens: tuple[str, ...] = ()
    bos: str = ""
    expected: str = ""  # the format detection should pick


QWEN25 = """
{%- if tools %}<|im_start|>system
{% if messages[0].role == 'system' %}{{ messages[0].content }}{% else %}You are a helpful assistant.{% endif %}

# Tools

Functions you may call are listed in <tools></tools>:
<tools>
{% for t in tools %}{{ t | tojson }}
{% endfor %}</tools>

Call one by replying <tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call><|im_end|>
{% elif messages[0].role == 'system' %}<|im_start|>system
{{ messages[0].content }}<|im_end|>
{% endif %}
{%- for m in messages %}
{%- if m.role == 'system' and loop.first %}
{%- elif m.role == 'assistant' %}<|im_start|>assistant
{{ m.content or '' }}
{%- for tc in m.tool_calls or [] %}{% if m.content or not loop.first %}
{% endif %}<tool_call>
{"name": "{{ tc.function.name }}", "arguments": {{ tc.function.arguments | tojson }}}
</tool_call>{% endfor %}<|im_end|>
{% elif m.role == 'tool' %}{% if loop.first or messages[loop.index0 - 1].role != 'tool' %}<|im_start|>user{% endif %}
<tool_response>
{{ m.content }}
</tool_response>{% if loop.last or messages[loop.index0 + 1].role != 'tool' %}<|im_end|>
{% endif %}
{%- else %}<|im_start|>{{ m.role }}
{{ m.content }}<|im_end|>
{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""

# A fine-tune that kept a ChatML template mentioning <tool_call> but drops the tools.
HERMES_IGNORING_TOOLS = """{# replies may hold <tool_call> blocks #}
{%- for m in messages %}<|im_start|>{{ m.role }}
{{ m.content }}<|im_end|>
{% endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""

LLAMA31 = """{{- bos_token }}<|start_header_id|>system<|end_header_id|>

{% if tools %}Environment: ipython
{% endif %}Cutting Knowledge Date: December 2023

{% if messages[0].role == 'system' %}{{ messages[0].content }}{% endif %}<|eot_id|>
{%- set first = namespace(done=false) %}
{%- for m in messages %}
{%- if m.role == 'system' %}
{%- elif m.role == 'user' and tools and not first.done %}{% set first.done = true %}<|start_header_id|>user<|end_header_id|>

Answer with a JSON function call {"name": function name, "parameters": dictionary of arguments} to one of:

{% for t in tools %}{{ t | tojson(indent=4) }}

{% endfor %}{{ m.content }}<|eot_id|>
{%- elif m.tool_calls %}
{%- if m.tool_calls | length != 1 %}{{ raise_exception("only one tool call per turn") }}{% endif %}
{%- set tc = m.tool_calls[0].function %}<|start_header_id|>assistant<|end_header_id|>

{% if builtin_tools is defined and tc.name in builtin_tools %}<|python_tag|>{{ tc.name }}.call(){% else %}{"name": "{{ tc.name }}", "parameters": {{ tc.arguments | tojson }}}{% endif %}<|eot_id|>
{%- elif m.role == 'tool' %}<|start_header_id|>ipython<|end_header_id|>

{{ m.content }}<|eot_id|>
{%- else %}<|start_header_id|>{{ m.role }}<|end_header_id|>

{{ m.content }}<|eot_id|>
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>

{% endif %}"""

LLAMA30 = """{{- bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>

{{ m.content | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>

{% endif %}"""

MISTRAL = """{{- bos_token }}
{%- set count = namespace(users=0, seen=0) %}
{%- for m in messages %}{% if m.role == 'user' %}{% set count.users = count.users + 1 %}{% endif %}{% endfor %}
{%- for m in messages %}
{%- if m.role == 'user' %}{% set count.seen = count.seen + 1 %}
{%- if tools and count.seen == count.users %}[AVAILABLE_TOOLS] {{ tools | tojson }}[/AVAILABLE_TOOLS]{% endif %}[INST] {{ m.content }}[/INST]
{%- elif m.tool_calls %}[TOOL_CALLS] [
{%- for tc in m.tool_calls %}
{%- if tc.id | length != 9 %}{{ raise_exception("tool call ids must be 9 alphanumeric characters") }}{% endif %}
{%- if not loop.first %}, {% endif %}{"name": "{{ tc.function.name }}", "arguments": {{ tc.function.arguments | tojson }}, "id": "{{ tc.id }}"}
{%- endfor %}]</s>
{%- elif m.role == 'tool' %}[TOOL_RESULTS] {"content": {{ m.content | tojson }}, "call_id": "{{ m.tool_call_id }}"}[/TOOL_RESULTS]
{%- elif m.role == 'assistant' %} {{ m.content }}</s>
{%- else %}[INST] {{ m.content }}[/INST]
{%- endif %}
{%- endfor %}"""

FUNCTIONARY_V3 = """{# Functionary v3.llama3 style: >>>recipient segments #}{{ bos_token }}
{%- for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>

{% if m.role == 'assistant' %}>>>all
{% endif %}{{ m.content }}<|eot_id|>{% endfor %}
{%- if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>

{% endif %}"""

FUNCTIONARY_V31 = """{# Functionary v3.1 style #}{{ bos_token }}
{%- for m in messages %}<|start_header_id|>{{ 'ipython' if m.role == 'tool' else m.role }}<|end_header_id|>

{{ m.content }}{% for tc in m.tool_calls or [] %}{% if tc.function.name == 'python' %}<|python_tag|>{{ tc.function.arguments }}{% else %}<function={{ tc.function.name }}>{{ tc.function.arguments }}</function>{% endif %}{% endfor %}<|eot_id|>{% endfor %}
{%- if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>

{% endif %}"""

FUNCTIONARY_V2 = """{{ bos_token }}{% for m in messages %}<|from|>{{ m.role }}
<|recipient|>all
<|content|>{{ m.content }}
{% endfor %}{% if add_generation_prompt %}<|from|>assistant
<|recipient|>{% endif %}"""

LLAMA3_TOKENS = ("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>",
                 "<|python_tag|>")
CHATML_TOKENS = ("<tool_call>", "</tool_call>")
MISTRAL_TOKENS = ("[INST]", "[/INST]", "[TOOL_CALLS]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]",
                  "[/TOOL_RESULTS]")

FAMILIES = {
    "functionary-v3.2": Family("meetkai/functionary-small-v3.2", FUNCTIONARY_V3, LLAMA3_TOKENS, "<|begin_of_text|>",
                               "v3.llama3"),
    "functionary-v3.1": Family("meetkai/functionary-small-v3.1", FUNCTIONARY_V31, LLAMA3_TOKENS, "<|begin_of_text|>",
                               "v3-llama3.1"),
    "functionary-v2": Family("meetkai/functionary-small-v2.4", FUNCTIONARY_V2,
                             ("<|from|>", "<|recipient|>", "<|content|>", "<|stop|>"), "<s>", "v2"),
    "qwen2.5": Family("Qwen/Qwen2.5-7B-Instruct", QWEN25, CHATML_TOKENS, "", "hermes"),
    "hermes-ignoring-tools": Family("someone/chatml-finetune", HERMES_IGNORING_TOOLS, CHATML_TOKENS, "", "hermes"),
    "llama-3.1": Family("meta-llama/Llama-3.1-8B-Instruct", LLAMA31, LLAMA3_TOKENS, "<|begin_of_text|>",
                        "llama3-json"),
    "mistral-v0.3": Family("mistralai/Mistral-7B-Instruct-v0.3", MISTRAL, MISTRAL_TOKENS, "<s>", "mistral"),
    "llama-3.0": Family("meta-llama/Meta-Llama-3-8B-Instruct", LLAMA30, LLAMA3_TOKENS, "<|begin_of_text|>",
                        "plain-tags"),
    # A Functionary checkpoint saved without its template: only the name tells.
    "functionary-v3.1-no-template": Family("/models/functionary-medium-v3.1", "", (), "", "v3-llama3.1"),
}
