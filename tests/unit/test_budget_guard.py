"""The budget guard on every format: a reply that runs out of tokens anywhere is closed
into one the request's own constraint accepts, within max_tokens; nothing passed on
(streamed) is ever dropped; under required / named there is always a valid call.

The "model" is a long grammar-valid reply (a call whose arrays go on and on, as the small
model's do), fed token by token with the bundled tokenizer and cut at each budget."""

from __future__ import annotations

import json
import re

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


# -- keywords the closer does not model: a valid reply found by the fallback search, reserved --

def _obj(**props) -> dict:
    return {"type": "object", "properties": props, "required": list(props)}


# (schema, a long valid value the "model" writes, as a small model loops)
UNMODELLED = {
    "uniqueItems": (_obj(tags={"type": "array", "items": {"type": "integer"}, "minItems": 2, "uniqueItems": True}),
                    {"tags": list(range(60))}),
    "uniqueItems strings with a pattern": (
        _obj(codes={"type": "array", "items": {"type": "string", "pattern": "^[a-z]{2}$"}, "minItems": 5,
                    "uniqueItems": True}),
        {"codes": [a + b for a in "abcdefgh" for b in "abcdefgh"]}),
    "uniqueItems of objects": (
        _obj(points={"type": "array", "minItems": 3, "uniqueItems": True,
                     "items": _obj(x={"type": "integer"}, y={"type": "integer"})}),
        {"points": [{"x": i, "y": i * i} for i in range(30)]}),
    "pattern with a flag": (_obj(code={"type": "string", "pattern": "(?i)^ab+c$"}), {"code": "A" + "B" * 150 + "c"}),
    "pattern with a lookahead": (_obj(word={"type": "string", "pattern": "^(?!a)[a-z]+$"}), {"word": "b" * 200}),
    "not": (_obj(note={"type": "string"}, n={"type": "integer", "not": {"enum": [0, 1, -1]}}),
            {"note": "x " * 80, "n": 7}),
    "allOf": (_obj(n={"allOf": [{"type": "integer"}, {"minimum": 3}]},
                   words={"type": "array", "items": {"type": "string"}}), {"n": 12, "words": ["lamp"] * 60}),
    "contains": (_obj(nums={"type": "array", "items": {"type": "integer"}, "contains": {"const": 5}}),
                 {"nums": [1] * 80 + [5]}),
    "multipleOf off the grid": (_obj(step={"type": "number", "multipleOf": 0.3, "minimum": 1}, tags={
        "type": "array", "items": {"type": "string"}}), {"step": 1.2, "tags": ["red"] * 60}),
}


@pytest.mark.parametrize("case", sorted(UNMODELLED))
@pytest.mark.parametrize("name", ALL_NAMES)
def test_keywords_the_closer_does_not_model_still_give_a_complete_call(name, case):
    """Under required / named a cut call always comes back complete and valid, also where
    the closer has no shortest value (it used to be dropped: `required` without a call). A
    bounded search finds a valid reply, checked against the schema and the grammar; its
    tokens are reserved up front (the 400 below them), and the guard closes with it from the
    start where no later point can be closed."""
    import jsonschema

    from functionary.budget.minimal import closes_exactly, shortest_json
    from functionary.domain import Function

    schema, value = UNMODELLED[case]
    assert shortest_json(schema) is None or not closes_exactly(schema)  # beyond the closer's exact domain
    jsonschema.validate(value, schema)
    fmt = load_format(name)
    text = fmt.render_assistant("", [ParsedCall("t", json.dumps(value))])
    for mode in ("required", "named"):
        req = request(mode, forced="t" if mode == "named" else None, tools=(Function("t", "", schema),))
        assert accepts(fmt, req, text)  # the "model" writes what the grammar allows
        shortest = shortest_reply(fmt, req, count_tokens)
        assert shortest is not None, "no valid reply found"
        assert accepts(fmt, req, shortest[0])
        (call,) = fmt.stream_parser(req).parse(shortest[0]).calls
        jsonschema.validate(json.loads(call.arguments), schema)
        for budget in sorted({shortest[1], shortest[1] + 1, shortest[1] + 7, max(48, shortest[1]), 100 + shortest[1]}):
            parsed = check(fmt, req, text, budget)  # complete, valid, accepted, within budget
            assert parsed is not None and len(parsed.calls) == 1 and parsed.calls[0].name == "t", budget


def test_the_fallback_reply_is_reserved_up_front():
    """max_tokens below the fallback reply's tokens: the server refuses it before generating
    (the same 400 as for the closer's own minimum)."""
    from functionary.domain import Function

    schema, _ = UNMODELLED["uniqueItems"]
    fmt = load_format("plain-tags")
    req = request("required", tools=(Function("t", "", schema),))
    text, tokens = shortest_reply(fmt, req, count_tokens)
    assert json.loads(fmt.stream_parser(req).parse(text).calls[0].arguments) == {"tags": [0, 1]}
    assert check(fmt, req, text, tokens - 1) is None  # (check() returns None where the server says 400)


def test_no_valid_reply_at_all_is_none():
    """A schema whose grammar cannot write a valid value (a required key its properties do
    not declare; a number range finer than the grammar's 6 decimals): nothing to reserve."""
    from functionary.domain import Function

    fmt = load_format("plain-tags")
    for schema in ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "b"]},
                   _obj(n={"type": "number", "minimum": 0.0000001, "maximum": 0.0000002})):
        assert shortest_reply(fmt, request("required", tools=(Function("t", "", schema),)), count_tokens) is None


@pytest.mark.parametrize("streamed", [False, True])
def test_serving_answers_required_with_a_complete_call_where_the_closer_has_no_minimum(streamed):
    """End to end through ChatService (a scripted engine that loops): the call comes back
    complete and valid, with finish_reason length, within max_tokens."""
    import jsonschema

    from functionary.domain import Function

    from .test_serving import chat, complete, render, service, stream

    schema, value = UNMODELLED["uniqueItems"]
    fn = Function("t", "", schema)
    text = render("", [ParsedCall("t", json.dumps(value))])
    req = dict(tools=[fn.as_openai_tool()], tool_choice="required", max_tokens=40)
    if streamed:
        r = stream(service(text), chat(**req, stream=True))
        ((name, arguments),), finish = r["calls"], r["finish_reason"]
    else:
        r = complete(service(text), chat(**req))
        (call,) = r.choices[0].message.tool_calls
        name, arguments, finish = call.function.name, call.function.arguments, r.choices[0].finish_reason
        assert r.usage.completion_tokens <= 40
    assert name == "t" and finish == "length"
    jsonschema.validate(json.loads(arguments), schema)


@pytest.mark.parametrize("streamed", [False, True])
def test_where_no_valid_reply_exists_a_cut_call_is_an_error_not_a_reply_without_a_call(streamed):
    """The last resort: no valid call could be found to reserve (the grammar cannot write
    one), so the guard cannot help. The budget cutting the call is then a server error
    naming the cause, never `required` answered without a call; --budget-closing off keeps
    the usual cut."""
    from functionary.domain import Function
    from functionary.errors import GenerationFailed

    from .test_serving import chat, complete, render, service, stream

    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "b"]}
    text = render("", [ParsedCall("t", json.dumps({"a": "word " * 60, "b": 1}))])
    req = dict(tools=[Function("t", "", schema).as_openai_tool()], tool_choice="required", max_tokens=30)
    def run_it(svc):
        return stream(svc, chat(**req, stream=True)) if streamed else complete(svc, chat(**req))

    with pytest.raises(GenerationFailed) as info:
        run_it(service(text))
    assert info.value.code == "reply_not_closed" and "max_tokens (30)" in str(info.value)
    run_it(service(text, budget_closing=False))  # off: cut as other servers do, no error
    big = dict(req, max_tokens=400)  # room enough: the call as written
    r = complete(service(text), chat(**big))
    assert r.choices[0].message.tool_calls[0].function.name == "t"


def test_some_matches_enumerates_distinct_strings_shortest_first():
    from functionary.budget.regex_shortest import Unsupported, some_matches

    found = some_matches("^[a-c]{2}$", 9)
    assert len(found) == len(set(found)) == 9 and all(re.fullmatch("[a-c]{2}", f) for f in found)
    assert some_matches("a+", 3) == ["a", "aa", "aaa"]
    assert sorted(some_matches("x?y{2,3}", 10, min_length=3), key=len) == ["yyy", "xyy", "xyyy"]
    assert any(not f.startswith("a") for f in some_matches("^(?!a)[a-z]{2}$", 8, loose=True))
    with pytest.raises(Unsupported):
        some_matches("^(?!a)[a-z]{2}$", 8)  # strict: lookarounds are beyond an automaton


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
