"""The budget guard on every format: a reply that runs out of tokens anywhere is closed
into one the request's own constraint accepts, within max_tokens; nothing passed on
(streamed) is ever dropped; under required / named there is always a valid call.

The "model" is a long grammar-valid reply (a call whose arrays go on and on, as the small
model's do), fed token by token with the bundled tokenizer and cut at each budget."""

from __future__ import annotations

import json

import pytest

from functionary.budget import BudgetGuard, shortest_reply
from functionary.domain import ParsedCall
from functionary.formats.parser import CallEnd, CallStart, collect

from .formats.support import ALL_NAMES, accepts, load_format, load_tokenizer, request

LOOPING = ParsedCall("search", json.dumps({"query": "lamp " * 25, "filters": {"tags": ["red", "blue"] * 20, "price": 9.5},
                                           "matrix": [[1, 2, 3]] * 8}))
SECOND = ParsedCall("add", '{"a": 1, "b": 2}')
BUDGETS = [1, 8, 16, 24, 32, 48, 64, 100, 160, 400]
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "friends": {"type": "array", "items": {"type": "string"}}},
          "required": ["name", "friends"]}


def count_tokens(text: str) -> int:
    return len(load_tokenizer().encode(text, add_special_tokens=False))


def run(fmt, req, text: str, budget: int):
    """Feed `text` token by token up to `budget`; (passed-on pieces, final text, tokens)."""
    tok = load_tokenizer()
    ids = tok.encode(text, add_special_tokens=False)
    guard = BudgetGuard(fmt, req, budget, count_tokens, shortest_reply(fmt, req, count_tokens))
    pieces, before = [], ""
    for n in range(1, min(len(ids), budget) + 1):
        now = tok.decode(ids[:n])
        pieces.append(guard.push(now[len(before):], n))
        before = now
    closing, tokens = guard.finish("length" if len(ids) > budget else "stop", min(len(ids), budget))
    return pieces, "".join(pieces) + closing, tokens


def check(fmt, req, text: str, budget: int):
    shortest = shortest_reply(fmt, req, count_tokens)
    if shortest is not None and shortest[1] > budget:
        return None  # the server answers 400 before generating (see the e2e tests)
    pieces, final, tokens = run(fmt, req, text, budget)
    assert tokens <= budget, (tokens, budget)
    parsed = fmt.stream_parser(req).parse(final)
    if parsed.calls or req.calls_only or req.response_schema is not None:  # (text alone is simply cut)
        assert accepts(fmt, req, final), f"constraint rejects {final!r}"
    judge = req.judge()
    for c in parsed.calls:
        assert judge.valid(c.name, c.arguments), c
    # Streaming: what was passed on is the start of the final reply, and a call whose start
    # was streamed is in it, complete.
    streamed = "".join(pieces)
    assert final.startswith(streamed)
    started = sum(isinstance(e, CallStart) for e in fmt.stream_parser(req).feed(streamed))
    assert len(parsed.calls) >= started
    return parsed


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("mode", ["required", "named", "auto"])
def test_a_looping_call_is_always_closed(name, mode):
    fmt = load_format(name)
    req = request(mode, forced="search" if mode == "named" else None)
    calls = [LOOPING] if mode == "named" else [LOOPING, SECOND]
    text = fmt.render_assistant("" if mode != "auto" else "Let me search for that.", calls)
    results = []
    for budget in BUDGETS:
        parsed = check(fmt, req, text, budget)
        if parsed is not None:
            results.append((budget, len(parsed.calls)))
            if mode in ("required", "named"):
                assert parsed.calls, budget
                assert mode != "named" or [c.name for c in parsed.calls] == ["search"]
    assert results and results[-1][0] == 400
    assert results[-1][1] == len(calls)  # with room enough, the whole reply comes through unchanged


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("mode", ["none", "auto"])
def test_a_json_answer_is_always_closed(name, mode):
    fmt = load_format(name)
    req = request(mode, response_schema=PERSON)
    text = fmt.render_assistant(json.dumps({"name": "Ada " * 10, "friends": ["Bob", "Cy"] * 30}), [])
    for budget in BUDGETS:
        parsed = check(fmt, req, text, budget)
        if parsed is not None and not parsed.calls:  # (auto may close with the shortest call instead)
            value = json.loads(parsed.content)
            assert set(value) == {"name", "friends"}
        elif parsed is not None:
            assert mode == "auto"


@pytest.mark.parametrize("name", ALL_NAMES)
def test_plain_text_is_cut_as_before(name):
    """Text with nothing to close is passed on as it comes and cut where the budget ends."""
    fmt = load_format(name)
    req = request("auto")
    text = fmt.render_assistant("word " * 200, [])
    pieces, final, tokens = run(fmt, req, text, 50)
    assert tokens == 50 and final == "".join(pieces)
    assert sum(1 for p in pieces if p) >= 40  # streamed as it came, not held back


def test_far_from_the_budget_nothing_is_held_back():
    fmt = load_format("plain-tags")
    text = fmt.render_assistant("", [LOOPING])
    pieces, final, _ = run(fmt, request("required"), text, 4000)
    assert final == text
    # Once the call's header is read, every token's text goes out at once.
    first = next(i for i, p in enumerate(pieces) if p)
    assert all(pieces[first + 1:]) or sum(1 for p in pieces[first:] if not p) <= 2


def test_the_budget_check_names_the_shortest_reply():
    fmt = load_format("plain-tags")
    text, tokens = shortest_reply(fmt, request("named", forced="add"), count_tokens)
    assert text == fmt.render_assistant("", [ParsedCall("add", '{"a":0,"b":0}')])
    assert tokens == count_tokens(text)
    assert shortest_reply(fmt, request("auto"), count_tokens) == ("", 0)
    assert shortest_reply(fmt, request("none", response_schema={"type": "object"}), count_tokens)[0] == "{}"


def test_keywords_the_closer_does_not_know_are_checked_not_trusted():
    """uniqueItems: the shortest items would repeat. Such a schema is not closed blindly:
    every completion is checked, and one that fails is not used."""
    from functionary.budget.minimal import closes_exactly
    from functionary.domain import Function

    tags = {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "integer"}, "minItems": 2,
                                                         "uniqueItems": True}}, "required": ["tags"]}
    assert not closes_exactly(tags) and closes_exactly(PERSON)
    req = request("required", tools=(Function("tag", "", tags),))
    fmt = load_format("plain-tags")
    assert shortest_reply(fmt, req, count_tokens) is None  # [0,0] is not unique: no minimum to promise
    text = fmt.render_assistant("", [ParsedCall("tag", json.dumps({"tags": list(range(40))}))])
    for budget in (20, 40, 60):
        _, final, _ = run(fmt, req, text, budget)
        parser = fmt.stream_parser(req)
        events = parser.feed(final) + parser.finish()
        complete = {e.index for e in events if isinstance(e, CallEnd)}
        calls = collect(events).calls
        for i in complete:  # a cut call is dropped (as serving does), never closed wrongly
            assert req.judge().valid(calls[i].name, calls[i].arguments)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_a_repeat_cap_closes_a_looping_array_early(name):
    """With max_identical_items, the guard says so as soon as an array loops; the reply is
    then closed right there, long before the budget."""
    fmt = load_format(name)
    req = request("required")
    looping = ParsedCall("search", json.dumps({"query": "lamp", "filters": {"tags": ["red"] * 30}}))
    text = fmt.render_assistant("", [looping])
    tok = load_tokenizer()
    ids = tok.encode(text, add_special_tokens=False)
    guard = BudgetGuard(fmt, req, 4000, count_tokens, shortest_reply(fmt, req, count_tokens), max_identical_items=3)
    passed, before = "", ""
    for n in range(1, len(ids) + 1):
        now = tok.decode(ids[:n])
        passed += guard.push(now[len(before):], n)
        before = now
        if guard.repeating:
            break
    assert guard.repeating and n < len(ids) // 2
    closing, tokens = guard.finish("repeat", n)
    (call,) = fmt.stream_parser(req).parse(passed + closing).calls
    assert json.loads(call.arguments) == {"query": "lamp", "filters": {"tags": ["red"] * 3}}
    assert accepts(fmt, req, passed + closing)


# -- values longer than any context (a huge minItems / minLength): refused, never built --

HUGE_ARRAY = {"type": "object", "properties": {"rows": {"type": "array", "minItems": 100_000, "items": {
    "type": "array", "minItems": 100_000, "items": {"type": "integer"}}}}, "required": ["rows"]}


def test_a_shortest_value_past_any_context_raises_too_long_without_building_it():
    from functionary.budget.minimal import TooLong, shortest_json

    with pytest.raises(TooLong):
        shortest_json(HUGE_ARRAY)  # 10^10 items: would never finish if built
    with pytest.raises(TooLong):
        shortest_json({"type": "string", "minLength": 2_000_000})


def test_one_tool_too_long_leaves_the_others_and_all_too_long_raises():
    from functionary.budget.minimal import TooLong
    from functionary.domain import Function

    fmt = load_format("plain-tags")
    huge = Function("huge", "", HUGE_ARRAY)
    small = Function("small", "", {"type": "object", "properties": {}})
    text, _ = shortest_reply(fmt, request("required", tools=(huge, small)), count_tokens)
    assert "small" in text
    with pytest.raises(TooLong):
        shortest_reply(fmt, request("required", tools=(huge,)), count_tokens)


def test_patterns_too_big_for_the_automaton_are_unsupported():
    from functionary.budget.regex_shortest import Unsupported, shortest_completion

    for _ in range(2):  # the failure is cached, and raised again
        with pytest.raises(Unsupported, match="automaton states"):
            shortest_completion("^(a{1000}){1000}$")  # a million states (was 13 s on the event loop)
    assert shortest_completion("^(a{10}){10}$") == "a" * 100
