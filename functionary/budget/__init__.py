"""Calls that always finish: the token budget never breaks a call or a JSON answer.

Generation runs under the grammar until `max_tokens` (or the context) is spent. A
`BudgetGuard` watches the text as it comes, with a parser of its own, and after each
delta asks: if the reply had to end here, what is the shortest text that closes it
validly (finish the open call's arguments or the JSON answer, close the call's markup),
and does it fit in the tokens left? Text is passed on only up to the latest point where
it does. When the budget runs out, the reply is rolled back to that point and closed
with that text (counted in usage): nothing streamed ever belongs to a call that does not
complete, and no reply needs more than `max_tokens` tokens. Far from the budget every
point fits, so nothing is held back; near it, text waits until it is safe.

Both engines are treated alike: the guard works on their text deltas and token counts.
"""

from __future__ import annotations

import copy
from typing import Optional

from functionary.budget.fallback import fallback_json, grammar_accepts
from functionary.budget.json_completion import JsonCompleter
from functionary.budget.minimal import TooLong, closes_exactly, shortest_json
from functionary.domain import ParsedCall, ToolRequest
from functionary.formats.code_tool import code_arguments
from functionary.formats.parser import ArgsDelta, CallEnd, CallStart, TextDelta
from functionary.validation import content_problem


def shortest_reply(fmt, request: ToolRequest, count_tokens) -> Optional[tuple[str, int]]:
    """(text, tokens) of the shortest reply that the request's structure allows and needs:
    a call under required / named, a JSON answer under response_format (or a call, where
    auto allows one), "" when text may simply stop; None when none can be found.

    Where the closer knows no shortest value (keywords it does not model: uniqueItems, a
    pattern with lookarounds or flags, not, allOf, ...), a bounded search finds a valid
    one instead (budget/fallback.py), checked against the schema and the request's own
    grammar. That reply is not always the shortest, but reserving its tokens up front (a
    400 when max_tokens cannot hold it) is what lets the guard close a cut call from the
    reply's start: required / named still always end with a complete, valid call."""
    if request.response_schema is None and not request.calls_only:
        return "", 0  # text may simply stop
    options: list[str] = []
    judge = request.judge()
    too_long = False  # some option's shortest value is longer than any context
    spec = []  # the request's constraint, built only when the fallback needs it

    def shortest(schema, accept) -> Optional[str]:
        """The closer's shortest value if valid, else the fallback's (checked in full)."""
        nonlocal too_long
        try:
            value = shortest_json(schema)
            if value is not None and accept(value, closes_exactly(schema)):
                return value
            return fallback_json(schema, lambda v: accept(v, False))
        except TooLong:
            too_long = True
            return None

    def grammar_takes(text: str) -> bool:
        if not spec:
            spec.append(fmt.constraint(request))
        return grammar_accepts(spec[0], text)

    def call_ok(name: str, args: str, exact: bool) -> bool:
        return judge.valid(name, args) and (exact or grammar_takes(
            fmt.render_assistant("", [ParsedCall(name, args)])))

    def answer_ok(answer: str, exact: bool) -> bool:
        return content_problem(answer, request.response_schema) is None and (exact or grammar_takes(
            fmt.render_assistant(answer, [])))

    # (exact: the closer's own values under a schema it models need no grammar check)
    if request.calls_allowed:
        for f in request.allowed_functions():
            args = code_arguments("") if f.code else shortest(
                f.parameters, lambda a, exact, f=f: call_ok(f.name, a, exact))
            if args is not None and judge.valid(f.name, args):  # (keywords the closer does not know)
                options.append(fmt.render_assistant("", [ParsedCall(f.name, args)]))
    if request.response_schema is not None and not request.calls_only:
        answer = shortest(request.response_schema, answer_ok)
        if answer is not None and content_problem(answer, request.response_schema) is None:
            options.append(fmt.render_assistant(answer, []))
    if not options:
        if too_long:
            raise TooLong("no valid reply fits in any context")
        return None
    return min(((text, count_tokens(text)) for text in options), key=lambda o: o[1])


class BudgetGuard:
    def __init__(self, fmt, request: ToolRequest, budget: int, count_tokens,
                 shortest: Optional[tuple[str, int]], max_identical_items: Optional[int] = None) -> None:
        self.request = request
        self.budget = budget
        self.count_tokens = count_tokens
        self.parser = fmt.stream_parser(request)  # sees everything; the client's sees what we pass on
        self.judge = request.judge()
        self.schemas = {f.name: f.parameters for f in request.allowed_functions()}
        # Completions are checked against the schema only where the closer is not exact
        # (the check costs ~0.3 ms a token on nested arguments).
        self.check_call = {name: not closes_exactly(s) for name, s in self.schemas.items()}
        self.check_answer = request.response_schema is not None and not closes_exactly(request.response_schema)
        # None: no valid reply at all could be found (not even by the fallback search), so
        # nothing can be promised; serving reports a cut call or answer as an error then.
        self.active = shortest is not None
        self.text = ""  # everything generated
        self.passed = 0  # how much of `text` has been passed on
        # The safe point: tokens generated there, and the text that closes the reply from there.
        self.safe_tokens = 0
        self.closing, self.closing_tokens = shortest or ("", 0)
        self.args: Optional[JsonCompleter] = None  # the open call's arguments
        self.args_text = ""
        self.call_name = ""
        self.max_identical_items = max_identical_items
        self.answer = JsonCompleter(request.response_schema, max_identical_items) \
            if request.response_schema is not None else None
        self.answer_text = ""

    @property
    def repeating(self) -> bool:
        """An array in the open call or answer holds max_identical_items identical items in a
        row: the model is looping, and the reply should be closed now."""
        return any(c is not None and c.repeating for c in (self.args, self.answer))

    def push(self, text: str, num_tokens: int) -> str:
        """Generated text in; the text that is now safe to pass on."""
        if not self.active:
            self.text += text
            return self._pass_all()
        if self.max_identical_items is None:
            self.text += text
            self._follow(self.parser.feed(text))
        else:  # character by character, so that a loop is cut right where it is noticed
            for ch in text:
                self.text += ch
                self._follow(self.parser.feed(ch))
                if self.repeating:
                    break
        try:
            closing = self._closing()
        except TooLong:  # the open value needs more than any budget: close at an earlier point
            closing = None
        if closing is None:
            return ""
        fits, tokens = self._fits(num_tokens, closing)
        if not fits:
            return ""
        self.safe_tokens, self.closing, self.closing_tokens = num_tokens, closing, tokens
        return self._pass_all()

    def finish(self, finish_reason: str, num_tokens: int) -> tuple[str, int]:
        """At the end: (text to pass on, completion tokens of the reply). On `length` (the
        budget is spent) or `repeat` (the model loops) the reply is closed from the safe
        point; otherwise it ended by itself."""
        if not self.active or finish_reason not in ("length", "repeat"):
            return self._pass_all(), num_tokens
        # Whatever came after the safe point cannot be kept: close from there.
        tokens = self.closing_tokens if self.closing_tokens is not None else self.count_tokens(self.closing)
        return self.closing, self.safe_tokens + tokens

    # ------------------------------------------------------------------ internals

    def _pass_all(self) -> str:
        out, self.passed = self.text[self.passed:], len(self.text)
        return out

    def _follow(self, events) -> None:
        for ev in events:
            if isinstance(ev, CallStart):
                self.call_name, self.args_text = ev.name, ""
                self.args = JsonCompleter(self.schemas.get(ev.name, {}), self.max_identical_items)
            elif isinstance(ev, ArgsDelta) and self.args is not None:
                self.args_text += ev.text
                self.args.feed(ev.text)
            elif isinstance(ev, CallEnd):
                self.args = None
            elif isinstance(ev, TextDelta) and self.answer is not None:
                self.answer_text += ev.text
                self.answer.feed(ev.text)

    def _closing(self) -> Optional[str]:
        """The shortest text that ends the reply validly from here, or None."""
        ending = self.parser.ending()
        if ending is None:
            return None
        if ending.arguments:
            if self.args is None:
                return None
            rest = self.args.completion()
            if rest is None or (self.check_call.get(self.call_name, True)
                                and not self.judge.valid(self.call_name, self.args_text + rest)):
                return None
            return rest + ending.tail
        if ending.calls:
            return ending.tail
        if self.request.calls_only:
            return None  # no call yet: only the shortest reply from the start will do
        if self.answer is not None:  # the reply is the JSON answer: complete it
            held = self.parser.held_text()
            answer = self.answer
            if held:
                answer = copy.deepcopy(answer)
                answer.feed(held)
            rest = answer.completion()
            if rest is None or (self.check_answer and
                                content_problem(self.answer_text + held + rest, self.request.response_schema)):
                return None
            return rest  # the held whitespace is in the generated text already
        return ending.tail

    def _fits(self, num_tokens: int, closing: str) -> tuple[bool, Optional[int]]:
        """Whether the closing fits in the budget after `num_tokens`, and its token count
        when it had to be counted (None: counted later, if it is used)."""
        room = self.budget - num_tokens
        if room < 0:
            return False, None
        if len(closing.encode()) <= room:  # no token is shorter than a byte: fits for sure
            return True, (0 if not closing else None)
        tokens = self.count_tokens(closing)
        return tokens <= room, tokens
