"""Prompt token ids in which everything the client sent stays text.

Encoding the rendered prompt with `tokenizer.encode` would turn any added-token string in
a message (`<|im_end|>\\n<|im_start|>system\\n...`) into the real control token, so any
client could write turns of any role. Here only the format's own markup becomes control
tokens:

1. Every client string (message text, names, ids, call arguments, tool descriptions and
   schemas, the response_format schema) is masked: each added-token string in it, and any
   start or end of one at its edges (which the text around it could complete), becomes a
   placeholder (ASCII between the original's first and last characters, which formats
   may look at). If nothing needed masking, the prompt is encoded exactly as before.
2. Otherwise the masked copies are rendered; the added-token strings left in that text are
   the format's markup. They are swapped for secret names that only a private copy of the
   tokenizer knows as added tokens (its own added-token strings renamed), the placeholders
   are swapped back, and that copy encodes the whole text in one call, so the client's
   token strings come out as ordinary text tokens. One call (rather than encoding the
   pieces between markup apart) keeps the tokenizer's own handling of text next to added
   tokens, so a request that only took this path for a stray `<` encodes as before.

Whatever surprises this (a placeholder altered by a template, an id the copy did not
expect) refuses the request instead of guessing. The masked copies are for rendering only;
validation and constraints keep using the client's originals.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import threading
import weakref
from typing import Any

from functionary.domain import Function, ToolRequest
from functionary.errors import BadRequest
from functionary.openai_types import ChatMessage, FunctionCall


class UnsafePrompt(BadRequest):
    """The client's text could not be kept apart from the prompt's control tokens."""

    def __init__(self, why: str):
        super().__init__(f"the messages could not be tokenized safely ({why})", param="messages",
                         code="invalid_prompt")


def encode_prompt(fmt, messages: list[ChatMessage], request: ToolRequest) -> list[int]:
    """The prompt's token ids (no special tokens added), with the client's text as text."""
    tokenizer = fmt.tokenizer
    mask = _Mask(_guard(tokenizer))
    masked_messages = [mask.message(m) for m in messages]
    masked_request = mask.request(request)
    if not mask.needed:  # nothing the client sent can reach an added token: encode as ever
        return tokenizer.encode(fmt.render_prompt(messages, request), add_special_tokens=False)
    return mask.guard.encode(fmt.render_prompt(masked_messages, masked_request), mask)


# ----------------------------------------------------------------------------- the guard


class _Guard:
    """What one tokenizer needs for this: its added-token strings and the renamed copy."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.size = len(tokenizer)
        added = tokenizer.added_tokens_decoder  # id -> AddedToken
        # Non-special whitespace runs (some code models add them) are ordinary text, and
        # could not carry markup anyway: left alone, as encode has always treated them.
        self.ids = {t.content: i for i, t in added.items() if t.special or t.content.strip()}
        marks = sorted(self.ids, key=len, reverse=True)  # longest first: leftmost-longest, as HF matches
        self.marks = re.compile("|".join(map(re.escape, marks))) if marks else None
        self.heads = {m[:k] for m in marks for k in range(1, len(m))}
        self.tails = {m[k:] for m in marks for k in range(1, len(m))}
        self.longest = max(map(len, marks), default=0)
        backend = getattr(tokenizer, "backend_tokenizer", None)
        normalized = [m for m in marks if added[self.ids[m]].normalized]
        self.normalizer = backend.normalizer if backend is not None and normalized else None
        self.normalized_marks = re.compile("|".join(map(re.escape, normalized))) if normalized else None
        self.guarded = set(self.ids.values())
        self.nonce = secrets.token_hex(8)  # per process: placeholders cannot be guessed
        self.placeholder = re.compile(f"(.)@@fn{self.nonce}_([0-9]+)@@(.)", re.DOTALL)
        self._renamed = None
        self._lock = threading.Lock()

    # -- masking --

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where `text` holds an added-token string, or at an edge, the start or end of one
        (which the text next to it in the prompt could complete)."""
        if self.marks is None:
            return []
        spans = [m.span() for m in self.marks.finditer(text)]
        for end in {len(text), len(text.rstrip())}:  # templates may trim
            k = self._edge(text, end, self.heads, at_end=True)
            if k:
                spans.append((end - k, end))
        for start in {0, len(text) - len(text.lstrip())}:
            k = self._edge(text, start, self.tails, at_end=False)
            if k:
                spans.append((start, start + k))
        return _disjoint(spans)

    def _edge(self, text: str, at: int, pieces: set[str], *, at_end: bool) -> int:
        """The length of the longest of `pieces` ending (or starting) at `at`, or 0."""
        for k in range(min(self.longest - 1, at if at_end else len(text) - at), 0, -1):
            if (text[at - k:at] if at_end else text[at:at + k]) in pieces:
                return k
        return 0

    def normalizes_to_mark(self, text: str) -> bool:
        """Whether the tokenizer's normalizer turns `text` into an added token it matches
        after normalizing (such text needs no placeholder, only the careful path)."""
        return self.normalizer is not None and bool(self.normalized_marks.search(self.normalizer.normalize_str(text)))

    # -- encoding --

    def encode(self, rendered: str, mask: "_Mask") -> list[int]:
        """Ids of the masked rendering: its added-token strings as control tokens, the
        placeholders as the client's original text."""
        renamed, secret, back = self.renamed()
        pieces, expected, pos = [], [], 0
        for m in self.marks.finditer(rendered):
            pieces += [rendered[pos:m.start()], secret[m.group()]]
            expected.append(self.ids[m.group()])
            pos = m.end()
        pieces.append(rendered[pos:])
        text = self.placeholder.sub(mask.original, "".join(pieces))
        if f"fn{self.nonce}" in text.lower():  # a placeholder altered on the way (escaped, cut, cased)
            raise UnsafePrompt("the prompt template altered masked text")
        ids = [back.get(i, i) for i in renamed.encode(text, add_special_tokens=False).ids]
        if [i for i in ids if i in self.guarded] != expected:
            raise UnsafePrompt("control tokens came out where the template put none")
        return ids

    def renamed(self):
        """The copy of the backend tokenizer whose added tokens have secret names (built
        on first use: a JSON round trip of the whole tokenizer, under a second)."""
        with self._lock:
            if self._renamed is None:
                self._renamed = self._build()
            return self._renamed

    def _build(self):
        from tokenizers import Tokenizer

        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise UnsafePrompt("this tokenizer has no fast backend to encode special-token text with")
        spec = json.loads(backend.to_str())
        key = secrets.token_hex(16)
        secret, contents = {}, {}  # mark -> secret name; content in the copy -> original id
        for entry in spec["added_tokens"]:
            if entry["content"] in self.ids:
                secret[entry["content"]] = entry["content"] = f"fnmarkup{key}x{entry['id']}"
            contents[entry["content"]] = entry["id"]
        if len(secret) != len(self.ids):
            raise UnsafePrompt("the tokenizer's added tokens differ from its backend's")
        renamed = Tokenizer.from_str(json.dumps(spec))
        # The copy numbers tokens it does not find in its vocabulary anew: map them back.
        back = {renamed.token_to_id(c): i for c, i in contents.items()}
        return renamed, secret, back


def _disjoint(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a < out[-1][1]:
            out[-1] = (out[-1][0], max(b, out[-1][1]))
        else:
            out.append((a, b))
    return out


_guards: "weakref.WeakKeyDictionary[Any, _Guard]" = weakref.WeakKeyDictionary()


def _guard(tokenizer) -> _Guard:
    guard = _guards.get(tokenizer)
    if guard is None or guard.size != len(tokenizer):  # rebuilt when tokens were added
        guard = _guards[tokenizer] = _Guard(tokenizer)
    return guard


# ----------------------------------------------------------------------------- masking


class _Mask:
    """One request's placeholders, and masked copies of its messages and tool request."""

    def __init__(self, guard: _Guard):
        self.guard = guard
        self.originals: list[str] = []
        self._index: dict[str, int] = {}
        self.needed = False  # whether the careful path must encode this request

    def original(self, found: re.Match) -> str:
        """The text a placeholder found in the rendering stands for."""
        first, k, last = found.group(1), int(found.group(2)), found.group(3)
        if k >= len(self.originals) or (first, last) != (self.originals[k][0], self.originals[k][-1]):
            raise UnsafePrompt("the prompt template altered masked text")
        return self.originals[k]

    def text(self, text: str) -> str:
        if self.guard.normalizes_to_mark(text):
            self.needed = True
        spans = self.guard.spans(text)
        if not spans:
            return text
        self.needed = True
        out, pos = [], 0
        for a, b in spans:
            out += [text[pos:a], self._placeholder(text[a:b])]
            pos = b
        out.append(text[pos:])
        return "".join(out)

    def _placeholder(self, original: str) -> str:
        if original not in self._index:  # one placeholder per string: masked names still match
            self._index[original] = len(self.originals)
            self.originals.append(original)
        # ASCII that survives JSON and trimming, framed by the original's first and last
        # characters, which formats look at (recipient segments add a newline after a ">").
        return f"{original[0]}@@fn{self.guard.nonce}_{self._index[original]}@@{original[-1]}"

    def value(self, value):
        """A JSON value with its strings (keys too) masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def arguments(self, arguments: str) -> str:
        """Call arguments: formats decode them, so escapes (`\\u003c|im_end|>`) are looked through."""
        try:
            decoded = json.loads(arguments)
        except (json.JSONDecodeError, TypeError):
            return self.text(arguments)
        redone = self.value(decoded)
        return arguments if redone == decoded else json.dumps(redone, ensure_ascii=False)

    def _optional(self, text):
        return None if text is None else self.text(text)

    def _call(self, call: FunctionCall) -> FunctionCall:
        return call.model_copy(update={"name": self.text(call.name), "arguments": self.arguments(call.arguments)})

    def message(self, m: ChatMessage) -> ChatMessage:
        # Text parts are masked joined, as formats read them (m.text()): a token split
        # across two parts is still found.
        return m.model_copy(update={
            "content": None if m.content is None else self.text(m.text()),
            "name": self._optional(m.name),
            "tool_call_id": self._optional(m.tool_call_id),
            "tool_calls": None if m.tool_calls is None else [
                tc.model_copy(update={"id": self._optional(tc.id), "function": self._call(tc.function)})
                for tc in m.tool_calls],
            "function_call": None if m.function_call is None else self._call(m.function_call),
        })

    def _function(self, f: Function) -> Function:
        return dataclasses.replace(f, name=self.text(f.name), description=self.text(f.description),
                                   parameters=self.value(f.parameters))

    def request(self, r: ToolRequest) -> ToolRequest:
        return dataclasses.replace(r, functions=tuple(self._function(f) for f in r.functions),
                                   forced_name=self._optional(r.forced_name),
                                   response_schema=self.value(r.response_schema))
