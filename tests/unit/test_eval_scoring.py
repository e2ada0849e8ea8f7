"""Scoring of evaluation cases (functionary.eval.scoring): normalization, call matching,
case verdicts per expected kind, and the aggregate figures."""

from __future__ import annotations

import json

import pytest

from functionary.eval.scoring import (
    CaseScore,
    aggregate,
    match_call,
    match_calls,
    normalize,
    percentile,
    score_case,
    values_match,
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]},
    },
}
TOOLS = [WEATHER_TOOL, TIME_TOOL]

PARIS = {"name": "get_weather", "arguments": {"city": ["Paris"]}}


def weather(city, **more):
    return ("get_weather", json.dumps({"city": city, **more}))


def message(*calls, content=None):
    return {
        "content": content,
        "tool_calls": [{"id": f"c{k}", "type": "function", "function": {"name": n, "arguments": a}} for k, (n, a) in enumerate(calls)]
        or None,
    }


def case(expected, category="simple", case_id="c1", tools=TOOLS):
    return {"id": case_id, "category": category, "tools": tools, "prompt": "?", "expected": expected}


# -- normalization --


@pytest.mark.parametrize("a, b", [
    ("Paris", "paris"),
    ("PARIS", "pArIs"),
    ("New York", "newyork"),
    ("New York", "new-york"),
    ("New York", "NEW YORK."),
    ("  san\tfrancisco\n", "San Francisco"),
    ("it's", "its"),
    ("«Paris»", "Paris"),  # non-ASCII quotes (Pi/Pf)
    ("Tokyo。", "tokyo"),  # ideographic full stop
    ("São Paulo", "são-paulo"),
    ("São", "Sa\u0303o"),  # composed vs combining tilde (NFKC)
    ("naïve—word", "naïve word"),  # em dash
    ("Straße", "STRASSE"),  # casefold, not lower
    ("a\u00a0b", "ab"),  # no-break space
    ("ＮＹ", "ny"),  # full-width letters
    (3, 3.0),
    (-0.5, -0.5),
    (True, True),
    (None, None),
    ([1, "A b"], [1.0, "ab"]),
    ({"x": "New York", "y": [1]}, {"y": [1.0], "x": "new york"}),
])
def test_normalize_equal(a, b):
    assert normalize(a) == normalize(b)
    assert values_match(a, [b])


@pytest.mark.parametrize("a, b", [
    ("Paris", "Lyon"),
    ("São Paulo", "Sao Paulo"),  # accents are letters, not punctuation
    (True, 1),
    (False, 0),
    (True, 1.0),
    ("3", 3),
    ("true", True),
    (None, "none"),
    (None, ""),
    (3, 3.5),
    ([1, 2], [2, 1]),  # order matters
    ([1, 2], [1, 2, 3]),
    ({"x": 1}, {"x": 1, "y": 2}),
    ({"x": 1}, {"X": 1}),  # keys are names: exact
    ({"x": True}, {"x": 1}),
    ([[1, "a"]], [[1, "b"]]),
    ([1], 1),
    ({"x": 1}, [1]),
])
def test_normalize_different(a, b):
    assert normalize(a) != normalize(b)
    assert not values_match(a, [b])


def test_normalize_is_hashable_and_ints_hash_like_floats():
    assert len({normalize(3), normalize(3.0), normalize(True)}) == 2
    hash(normalize({"a": [1, {"b": None}]}))


def test_normalize_strings_strip_symbols_not():
    # Only spaces and punctuation go: "C++" keeps its plus signs (category Sm).
    assert normalize("C++") == "c++"
    assert normalize("C++") != normalize("C")


def test_values_match_one_of_several():
    assert values_match("lyon", ["Paris", "Lyon"])
    assert not values_match("Nice", ["Paris", "Lyon"])
    assert not values_match("Paris", [])


def test_values_match_list_value_needs_wrapping():
    # The acceptable list holds alternatives; a list value is one alternative.
    assert values_match(["a", "b"], [["A", "B"]])
    assert not values_match(["a", "b"], ["a", "b"])
    assert values_match("a", ["a", "b"])


def test_values_match_nested_object_recursive():
    got = {"origin": {"city": "new york", "zip": 10001.0}, "tags": ["Fast", "cheap!"]}
    ok = {"origin": {"city": "New-York", "zip": 10001}, "tags": ["fast", "cheap"]}
    assert values_match(got, [ok])
    assert not values_match({**got, "origin": {"city": "boston", "zip": 10001}}, [ok])


def test_values_match_scalar_acceptable_is_one_value():
    assert values_match(3.0, 3)


# -- one call --


def test_match_call_exact():
    assert match_call(PARIS, "get_weather", {"city": "paris"}) is None


def test_match_call_wrong_function():
    assert match_call(PARIS, "get_time", {"city": "Paris"}).startswith("wrong function")


def test_match_call_wrong_value():
    why = match_call(PARIS, "get_weather", {"city": "Lyon"})
    assert why == "argument 'city': got 'Lyon', expected one of ['Paris']"


def test_match_call_missing_required():
    assert match_call(PARIS, "get_weather", {}) == "missing required argument 'city'"


def test_match_call_unknown_argument():
    assert match_call(PARIS, "get_weather", {"city": "Paris", "unit": "c"}) == "unknown argument 'unit'"


def test_match_call_reports_every_problem():
    exp = {"name": "f", "arguments": {"a": [1], "b": [2]}}
    why = match_call(exp, "f", {"a": 5, "z": 0})
    assert "missing required argument 'b'" in why
    assert "argument 'a': got 5" in why
    assert "unknown argument 'z'" in why


def test_match_call_arguments_not_object():
    assert match_call(PARIS, "get_weather", ["Paris"]) == "arguments are not a JSON object"


UNIT_OPTIONAL = {"name": "get_weather", "arguments": {"city": ["Paris"], "unit": ["c"]}, "optional": ["unit"]}


def test_optional_omitted_ok():
    assert match_call(UNIT_OPTIONAL, "get_weather", {"city": "Paris"}) is None


def test_optional_present_and_right_ok():
    assert match_call(UNIT_OPTIONAL, "get_weather", {"city": "Paris", "unit": "C"}) is None


def test_optional_present_and_wrong_fails():
    assert match_call(UNIT_OPTIONAL, "get_weather", {"city": "Paris", "unit": "f"}).startswith("argument 'unit'")


def test_optional_present_and_unlisted_accepted():
    exp = {"name": "get_weather", "arguments": {"city": ["Paris"]}, "optional": ["unit"]}
    assert match_call(exp, "get_weather", {"city": "Paris", "unit": "anything"}) is None
    assert match_call(exp, "get_weather", {"city": "Paris"}) is None


def test_optional_still_requires_the_others():
    assert match_call(UNIT_OPTIONAL, "get_weather", {"unit": "c"}) == "missing required argument 'city'"


# -- several calls --


def test_match_calls_order_free():
    exp = [PARIS, {"name": "get_weather", "arguments": {"city": ["Lyon"]}}]
    assert match_calls(exp, [weather("Lyon"), weather("Paris")]) == (True, [])


def test_match_calls_mixed_functions_any_order():
    exp = [PARIS, {"name": "get_time", "arguments": {"zone": ["Europe/Paris"]}}]
    got = [("get_time", '{"zone": "europe/paris"}'), weather("PARIS")]
    assert match_calls(exp, got)[0]


def test_match_calls_needs_full_matching_not_greedy():
    # Greedy would give the first call (Paris) to the first expected call, which accepts
    # Paris or Lyon, and leave Lyon for the second, which takes only Paris.
    exp = [{"name": "get_weather", "arguments": {"city": ["Paris", "Lyon"]}}, PARIS]
    assert match_calls(exp, [weather("Paris"), weather("Lyon")]) == (True, [])


def test_match_calls_is_one_to_one():
    exp = [PARIS, {"name": "get_weather", "arguments": {"city": ["Lyon"]}}]
    ok, reasons = match_calls(exp, [weather("Paris"), weather("Paris")])
    assert not ok
    assert any("got 'Paris', expected one of ['Lyon']" in r for r in reasons)


def test_match_calls_many_calls_fast():
    cities = [f"city{k}" for k in range(12)]
    exp = [{"name": "get_weather", "arguments": {"city": cities[k:]}} for k in range(12)]
    got = [weather(c) for c in cities]  # only city11 fits the last; every slot needs shifting
    assert match_calls(exp, got)[0]
    assert match_calls(exp, list(reversed(got)))[0]


def test_match_calls_count_too_many():
    ok, reasons = match_calls([PARIS], [weather("Paris"), weather("Paris")])
    assert not ok
    assert "expected 1 call(s), got 2" in reasons


def test_match_calls_count_too_few():
    exp = [PARIS, {"name": "get_weather", "arguments": {"city": ["Lyon"]}}]
    ok, reasons = match_calls(exp, [weather("Paris")])
    assert not ok
    assert "expected 2 call(s), got 1" in reasons


def test_match_calls_none_made():
    ok, reasons = match_calls([PARIS], [])
    assert not ok
    assert "expected call to 'get_weather' not made" in reasons


def test_match_calls_wrong_function_reason():
    ok, reasons = match_calls([PARIS], [("get_time", '{"zone": "x"}')])
    assert not ok
    assert "unexpected call to 'get_time'" in reasons


@pytest.mark.parametrize("arguments", ['{"city": "Par', "not json", "", None, {"city": "Paris"}])
def test_match_calls_malformed_arguments_fail_without_raising(arguments):
    ok, reasons = match_calls([PARIS], [("get_weather", arguments)])
    assert not ok
    assert reasons == ["call 1 (get_weather): arguments are not valid JSON"]


def test_match_calls_empty_both():
    assert match_calls([], []) == (True, [])


# -- cases --


def test_simple_call_right():
    s = score_case(case({"kind": "calls", "calls": [PARIS]}), message(weather("paris")))
    assert (s.id, s.category, s.name_ok, s.full_ok, s.calls, s.valid_calls) == ("c1", "simple", True, True, 1, 1)
    assert s.reasons == [] and s.error is None


def test_simple_call_wrong_value_names_ok():
    s = score_case(case({"kind": "calls", "calls": [PARIS]}), message(weather("Lyon")))
    assert s.name_ok and not s.full_ok
    assert s.valid_calls == 1
    assert any("Lyon" in r for r in s.reasons)


def test_calls_wrong_function():
    s = score_case(case({"kind": "calls", "calls": [PARIS]}), message(("get_time", '{"zone": "x"}')))
    assert not s.name_ok and not s.full_ok and s.valid_calls == 1


def test_calls_no_call_made():
    s = score_case(case({"kind": "calls", "calls": [PARIS]}), message(content="It is sunny."))
    assert not s.name_ok and not s.full_ok and s.calls == 0


def test_parallel_names_are_a_multiset():
    lyon = {"name": "get_weather", "arguments": {"city": ["Lyon"]}}
    c = case({"kind": "calls", "calls": [PARIS, lyon]}, category="parallel")
    one = score_case(c, message(weather("Paris")))
    assert not one.name_ok  # one call to get_weather is not two
    two = score_case(c, message(weather("Lyon"), weather("Paris")))
    assert two.name_ok and two.full_ok


def test_parallel_multiple_any_order():
    zone = {"name": "get_time", "arguments": {"zone": ["UTC"]}}
    c = case({"kind": "calls", "calls": [PARIS, zone]}, category="parallel_multiple")
    s = score_case(c, message(("get_time", '{"zone": "utc"}'), weather("Paris")))
    assert s.name_ok and s.full_ok and s.valid_calls == 2


def test_schema_invalid_call_counts_invalid_but_may_match():
    # Matching is about the expected values; validity is the schema's judgement.
    exp = {"name": "get_weather", "arguments": {"city": ["Paris"]}, "optional": ["unit"]}
    s = score_case(case({"kind": "calls", "calls": [exp]}), message(weather("Paris", unit="kelvin")))
    assert s.full_ok and s.calls == 1 and s.valid_calls == 0
    assert any("invalid" in r for r in s.reasons)


def test_unknown_function_is_invalid():
    s = score_case(case({"kind": "no_call"}), message(("launch", "{}")))
    assert s.valid_calls == 0 and s.calls == 1


def test_malformed_arguments_wrong_and_invalid():
    s = score_case(case({"kind": "calls", "calls": [PARIS]}), message(("get_weather", '{"city": "Par')))
    assert s.name_ok  # the name was right
    assert not s.full_ok
    assert (s.calls, s.valid_calls) == (1, 0)
    assert any("not valid JSON" in r for r in s.reasons)


def test_missing_arguments_field_does_not_raise():
    msg = {"content": None, "tool_calls": [{"function": {"name": "get_weather"}}]}
    s = score_case(case({"kind": "calls", "calls": [PARIS]}), msg)
    assert not s.full_ok and s.valid_calls == 0


def test_irrelevance_right_only_without_call():
    c = case({"kind": "no_call"}, category="irrelevance")
    right = score_case(c, message(content="I cannot do that."))
    assert right.name_ok and right.full_ok and right.calls == 0
    silent = score_case(c, {"content": None})
    assert silent.full_ok  # no call is all that is asked
    wrong = score_case(c, message(weather("Paris")))
    assert not wrong.name_ok and not wrong.full_ok and wrong.calls == 1
    assert any("expected no call" in r for r in wrong.reasons)


def test_ask_needs_text_and_no_call():
    c = case({"kind": "ask"}, category="missing_argument")
    assert score_case(c, message(content="Which city?")).full_ok
    empty = score_case(c, message(content="  \n"))
    assert empty.name_ok and not empty.full_ok
    none = score_case(c, {"content": None, "tool_calls": []})
    assert none.name_ok and not none.full_ok
    called = score_case(c, message(weather("Paris"), content="Which city?"))
    assert not called.name_ok and not called.full_ok


ANSWER = {"kind": "answer", "mentions": ["22 °C", "twenty-two degrees"]}


@pytest.mark.parametrize("text, ok", [
    ("It is 22°C in Paris.", True),
    ("It is 22 °c.", True),
    ("Twenty two degrees, sunny.", True),
    ("It is 25 °C.", False),
    ("", False),
])
def test_answer_mentions(text, ok):
    s = score_case(case(ANSWER, category="multi_turn"), message(content=text))
    assert s.name_ok
    assert s.full_ok is ok


def test_answer_with_call_is_wrong():
    s = score_case(case(ANSWER, category="multi_turn"), message(weather("Paris"), content="22 °C"))
    assert not s.name_ok and not s.full_ok


def test_answer_mention_of_only_punctuation_matches_nothing():
    s = score_case(case({"kind": "answer", "mentions": ["?!"]}), message(content="Anything"))
    assert not s.full_ok


def test_answer_content_parts():
    msg = {"content": [{"type": "text", "text": "It is "}, {"type": "text", "text": "22 °C"}]}
    assert score_case(case(ANSWER), msg).full_ok


def test_failed_request_counts_wrong_everywhere():
    for expected in ({"kind": "calls", "calls": [PARIS]}, {"kind": "no_call"}, {"kind": "ask"}, ANSWER):
        s = score_case(case(expected), None, error="HTTP 500: boom")
        assert (s.name_ok, s.full_ok, s.calls, s.valid_calls) == (False, False, 0, 0)
        assert s.error == "HTTP 500: boom"
        assert s.reasons == ["request failed: HTTP 500: boom"]


def test_failed_request_without_error_text():
    s = score_case(case({"kind": "no_call"}), None)
    assert s.error == "no response" and not s.full_ok


def test_unknown_kind_is_wrong_not_an_exception():
    s = score_case(case({"kind": "mystery"}), message(content="hi"))
    assert not s.name_ok and not s.full_ok
    assert s.reasons == ["unknown expected kind 'mystery'"]


# -- totals --


def score(category, name_ok, full_ok, calls=1, valid=1, error=None):
    return CaseScore("x", category, name_ok, full_ok, calls, valid, [], error)


def test_percentile_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([4, 1, 3, 2], 50) == 2
    assert percentile(list(range(1, 21)), 95) == 19
    assert percentile(list(range(1, 21)), 50) == 10
    assert percentile(list(range(1, 101)), 95) == 95
    assert percentile([1, 2, 3], 95) == 3
    assert percentile([1, 2, 3], 100) == 3
    assert percentile([1, 2, 3], 0) == 1


def test_aggregate_overall_and_per_category():
    scores = [
        score("simple", True, True),
        score("simple", True, False, calls=2, valid=1),
        score("irrelevance", True, True, calls=0, valid=0),
        score("irrelevance", False, False, calls=0, valid=0, error="timeout"),
    ]
    out = aggregate(scores, [1.0, 2.0, 3.0, None], [100, 200, 300, None], [10, 20, 30, None])
    overall = out["overall"]
    assert overall["cases"] == 4
    assert overall["name_accuracy"] == 0.75
    assert overall["full_accuracy"] == 0.5
    assert (overall["calls"], overall["valid_calls"]) == (3, 2)
    assert overall["valid_call_rate"] == pytest.approx(2 / 3)
    assert overall["errors"] == 1
    assert overall["latency_mean"] == 2.0  # the failed request's time is not a latency
    assert overall["latency_p50"] == 2.0
    assert overall["latency_p95"] == 3.0
    assert overall["prompt_tokens_mean"] == 200
    assert overall["completion_tokens_mean"] == 20

    assert list(out["per_category"]) == ["simple", "irrelevance"]  # first appearance
    simple, irrelevance = out["per_category"]["simple"], out["per_category"]["irrelevance"]
    assert (simple["cases"], simple["name_accuracy"], simple["full_accuracy"]) == (2, 1.0, 0.5)
    assert simple["valid_call_rate"] == 2 / 3
    assert simple["errors"] == 0
    assert (irrelevance["name_accuracy"], irrelevance["full_accuracy"], irrelevance["errors"]) == (0.5, 0.5, 1)
    assert irrelevance["valid_call_rate"] is None  # no calls: no rate


def test_aggregate_latency_and_tokens_per_category():
    """Each category gets its own latency mean / p50 / p95 and mean tokens, from its own
    cases only; a case with unknown figures (None) counts in the accuracy, not in them."""
    scores = [score("simple", True, True), score("parallel", True, True), score("simple", True, True),
              score("parallel", False, False, error="timeout"), score("simple", False, False)]
    latencies = [1.0, 10.0, 3.0, None, 2.0]
    prompt = [100, 400, 300, None, 200]
    completion = [10, 40, 30, None, None]
    per = aggregate(scores, latencies, prompt, completion)["per_category"]
    simple, parallel = per["simple"], per["parallel"]
    assert (simple["latency_mean"], simple["latency_p50"], simple["latency_p95"]) == (2.0, 2.0, 3.0)
    assert (simple["prompt_tokens_mean"], simple["completion_tokens_mean"]) == (200, 20)
    assert (parallel["latency_mean"], parallel["latency_p50"], parallel["latency_p95"]) == (10.0, 10.0, 10.0)
    assert (parallel["prompt_tokens_mean"], parallel["completion_tokens_mean"]) == (400, 40)
    assert parallel["cases"] == 2 and parallel["errors"] == 1 and parallel["full_accuracy"] == 0.5


def test_aggregate_category_without_known_figures():
    out = aggregate([score("simple", True, True), score("irrelevance", False, False, error="refused")],
                    [1.5, None], [100, None], [7, None])
    irrelevance = out["per_category"]["irrelevance"]
    assert irrelevance["latency_mean"] is None and irrelevance["latency_p95"] is None
    assert irrelevance["prompt_tokens_mean"] is None and irrelevance["completion_tokens_mean"] is None
    assert out["overall"]["latency_p50"] == 1.5 and out["overall"]["completion_tokens_mean"] == 7


def test_aggregate_needs_one_figure_per_case():
    with pytest.raises(ValueError, match="latencies has 1 entries for 2 cases"):
        aggregate([score("simple", True, True)] * 2, [1.0], [1, 1], [1, 1])
    with pytest.raises(ValueError, match="completion_tokens"):
        aggregate([score("simple", True, True)], [1.0], [1], [])


def test_aggregate_empty():
    out = aggregate([], [], [], [])
    o = out["overall"]
    assert o["cases"] == 0 and o["name_accuracy"] is None and o["full_accuracy"] is None
    assert o["valid_call_rate"] is None
    assert o["latency_mean"] is None and o["latency_p50"] is None and o["latency_p95"] is None
    assert o["prompt_tokens_mean"] is None and o["completion_tokens_mean"] is None
    assert out["per_category"] == {}


def test_aggregate_skips_unknown_figures():
    out = aggregate([score("simple", True, True), score("simple", True, True)], [None, 2.0], [None, None],
                    [5, None])["overall"]
    assert out["latency_mean"] == 2.0 and out["prompt_tokens_mean"] is None and out["completion_tokens_mean"] == 5


def test_aggregate_from_scored_cases_end_to_end():
    cases = [
        (case({"kind": "calls", "calls": [PARIS]}, "simple", "a"), message(weather("Paris"))),
        (case({"kind": "calls", "calls": [PARIS]}, "simple", "b"), message(("get_weather", "{bad"))),
        (case({"kind": "no_call"}, "irrelevance", "c"), message(content="no")),
        (case({"kind": "ask"}, "missing_argument", "d"), None),
    ]
    scores = [score_case(c, m, error=None if m else "refused") for c, m in cases]
    out = aggregate(scores, [0.1, 0.2, 0.3, None], [10, 10, 10, None], [1, 2, 3, None])
    assert out["overall"]["full_accuracy"] == 0.5
    assert out["overall"]["valid_call_rate"] == 0.5
    assert out["overall"]["errors"] == 1
    assert out["per_category"]["missing_argument"]["full_accuracy"] == 0.0
