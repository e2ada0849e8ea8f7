"""Llama 3 turn markup, shared by the formats that write Llama 3 prompts themselves."""

from __future__ import annotations

BEGIN_OF_TEXT = "<|begin_of_text|>"
END_OF_TURN = "<|eot_id|>"
END_OF_MESSAGE = "<|eom_id|>"  # Llama 3.1: the turn ends waiting for a tool result
PYTHON_TAG = "<|python_tag|>"
HEADER_TOKENS = ("<|start_header_id|>", "<|end_header_id|>")  # never inside a reply's text


def header(role: str) -> str:
    return f"<|start_header_id|>{role}<|end_header_id|>\n\n"


def turn(role: str, content: str) -> str:
    return header(role) + content + END_OF_TURN


def begin_of_text(tokenizer) -> str:
    """The BOS text, written into the prompt because the serving layer encodes without
    special tokens; left out for tokenizers of other families (a forced format)."""
    return BEGIN_OF_TEXT if getattr(tokenizer, "bos_token", None) == BEGIN_OF_TEXT else ""
