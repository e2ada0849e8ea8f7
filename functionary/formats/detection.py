"""Which wire format a tokenizer's model was trained on, read from its chat template,
special tokens and name. First matching rule wins: the Functionary templates are tested
before the generic families whose markers they share (v3.1 also writes <|python_tag|>)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class Clues:
    template: str  # every chat template the tokenizer has, joined
    tokens: frozenset[str]  # special and added tokens
    name: str  # the tokenizer's name or path, lower case


@dataclass(frozen=True)
class Rule:
    format: str
    why: str
    matches: Callable[[Clues], bool]


RULES = (
    Rule("v2", "the tokenizer has Functionary v2's <|from|>/<|recipient|> tokens",
         lambda c: "<|recipient|>" in c.tokens or "<|recipient|>" in c.template),
    Rule("v3-llama3.1", "the chat template writes <function=NAME> calls (Functionary v3.1)",
         lambda c: "<function=" in c.template),
    Rule("v3.llama3", "the chat template writes >>>recipient segments on Llama 3 headers (Functionary v3.0/v3.2)",
         lambda c: ">>>" in c.template and "<|start_header_id|>" in c.template),
    Rule("hermes", "the chat template writes <tool_call> blocks (Hermes / Qwen2.5 style)",
         lambda c: "<tool_call>" in c.template),
    Rule("mistral", "the chat template or tokenizer has Mistral's [TOOL_CALLS]",
         lambda c: "[TOOL_CALLS]" in c.template or "[TOOL_CALLS]" in c.tokens),
    Rule("llama3-json", "the chat template is Llama 3.1/3.2's, with <|python_tag|> and JSON tool calls",
         lambda c: "<|python_tag|>" in c.template
         or ("<|start_header_id|>" in c.template and "tools" in c.template and '"parameters"' in c.template)),
    # Last: names, for Functionary checkpoints saved without their template.
    Rule("v3-llama3.1", "the model name says Functionary v3.1", lambda c: "functionary" in c.name and "v3.1" in c.name),
    Rule("v3.llama3", "the model name says Functionary v3.0/v3.2",
         lambda c: "functionary" in c.name and ("v3.2" in c.name or "v3.0" in c.name)),
)


def clues(tokenizer) -> Clues:
    template = getattr(tokenizer, "chat_template", None) or ""
    if isinstance(template, dict):  # named templates ("default", "tool_use", ...)
        template = "\n".join(str(t) for t in template.values())
    elif isinstance(template, list):
        template = "\n".join(str(t.get("template", "")) for t in template if isinstance(t, dict))
    tokens = set(getattr(tokenizer, "all_special_tokens", None) or [])
    added = getattr(tokenizer, "get_added_vocab", None)
    if callable(added):
        tokens.update(added())
    return Clues(str(template), frozenset(tokens), str(getattr(tokenizer, "name_or_path", "") or "").lower())


def choose(tokenizer) -> Optional[tuple[str, str]]:
    """(format name, why) for the first rule that matches, or None."""
    c = clues(tokenizer)
    for rule in RULES:
        if rule.matches(c):
            return rule.format, rule.why
    return None
