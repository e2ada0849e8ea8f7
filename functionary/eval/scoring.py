"""Scoring of evaluation cases (format: eval_spec; expected kinds calls / no_call / ask /
answer). Plain functions, no I/O: the runner hands in each case and the response's
assistant message as plain dicts, the report takes `aggregate`'s dict.

Validity ("does the call parse and fit the tool's schema") is the server's own judge,
`functionary.validation.CallJudge`; correctness ("is it the call the case expects") is
`match_calls`, with values compared after `normalize`.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from functionary.validation import CallJudge

# -- values --


def normalize(value: Any) -> Any:
    """A hashable canonical form: two values match iff their forms are equal.

    Strings become their casefolded text without whitespace and punctuation (any Unicode
    category Z* / P*, so "«Paris»" and "Paris" agree; NFKC first so full-width letters
    fold too). Every other value becomes a tagged tuple so types never mix: True is not
    1 (Python says it is), "3" is not 3, while 3 and 3.0 stay equal (and hash alike).
    Lists keep their order; objects compare key by key (keys exact: they are names).
    """
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).casefold()
        return "".join(c for c in text if not c.isspace() and unicodedata.category(c)[0] not in "PZ")
    if value is None:
        return None
    if isinstance(value, bool):  # before numbers: bool is an int subclass
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, (list, tuple)):
        return ("list", tuple(normalize(v) for v in value))
    if isinstance(value, dict):
        return ("object", tuple(sorted(((str(k), normalize(v)) for k, v in value.items()), key=lambda kv: kv[0])))
    return ("other", repr(value))  # not JSON; still comparable, never an exception


def values_match(got: Any, acceptable: Any) -> bool:
    """`got` equals one of the `acceptable` values after normalization (nested lists and
    objects by the same rules, recursively). A non-list `acceptable` is one value."""
    if not isinstance(acceptable, list):
        acceptable = [acceptable]
    form = normalize(got)
    return any(form == normalize(a) for a in acceptable)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# -- calls --


def match_call(expected: dict, name: str, arguments: dict) -> Optional[str]:
    """None when the call (name, parsed arguments) is the expected one, else why not
    (every problem found, joined by '; ')."""
    if name != expected.get("name"):
        return f"wrong function {name!r}, expected {expected.get('name')!r}"
    if not isinstance(arguments, dict):
        return "arguments are not a JSON object"
    accepted: dict = expected.get("arguments") or {}
    optional = set(expected.get("optional") or [])
    problems = [f"missing required argument {arg!r}" for arg in accepted
                if arg not in optional and arg not in arguments]
    for arg, value in arguments.items():
        if arg in accepted:
            if not values_match(value, accepted[arg]):
                options = accepted[arg] if isinstance(accepted[arg], list) else [accepted[arg]]
                problems.append(f"argument {arg!r}: got {_show(value)}, expected one of {_show(options)}")
        elif arg not in optional:  # optional but unlisted: any value goes
            problems.append(f"unknown argument {arg!r}")
    return "; ".join(problems) or None


_NOT_JSON = object()


def _parse(arguments: Any) -> Any:
    try:
        return json.loads(arguments)
    except (json.JSONDecodeError, TypeError, ValueError):  # TypeError: None or a dict instead of text
        return _NOT_JSON


def _max_matching(edges: list[list[int]], n_right: int) -> list[int]:
    """Maximum bipartite matching by augmenting paths (Kuhn): polynomial, so ten
    parallel calls in any order cost nothing. Returns, per right node, its left node or -1."""
    owner = [-1] * n_right

    def augment(left: int, seen: list[bool]) -> bool:
        for right in edges[left]:
            if not seen[right]:
                seen[right] = True
                if owner[right] == -1 or augment(owner[right], seen):
                    owner[right] = left
                    return True
        return False

    for left in range(len(edges)):
        augment(left, [False] * n_right)
    return owner


def match_calls(expected: Sequence[dict], got: Sequence[tuple[str, str]]) -> tuple[bool, list[str]]:
    """Whether the calls made, (name, arguments JSON text) pairs, are exactly the expected
    ones in any order (one-to-one), and the reasons when not. Arguments that are not JSON
    make that call match nothing; they never raise."""
    reasons: list[str] = []
    parsed = []
    for j, (name, arguments) in enumerate(got):
        value = _parse(arguments)
        if value is _NOT_JSON:
            reasons.append(f"call {j + 1} ({name}): arguments are not valid JSON")
        parsed.append(value)
    if len(got) != len(expected):
        reasons.append(f"expected {len(expected)} call(s), got {len(got)}")

    edges = [
        [j for j, (name, _) in enumerate(got) if parsed[j] is not _NOT_JSON and match_call(e, name, parsed[j]) is None]
        for e in expected
    ]
    owner = _max_matching(edges, len(got))
    matched_left = {i for i in owner if i != -1}
    free_got = [j for j in range(len(got)) if owner[j] == -1]

    # Explain each unmatched expected call against a free call to the same function, if any.
    explained: set[int] = set()
    for i, e in enumerate(expected):
        if i in matched_left:
            continue
        same = [j for j in free_got if got[j][0] == e.get("name") and parsed[j] is not _NOT_JSON and j not in explained]
        if same:
            j = same[0]
            explained.add(j)
            reasons.append(f"call {j + 1} ({got[j][0]}): {match_call(e, got[j][0], parsed[j])}")
        elif not any(got[j][0] == e.get("name") for j in free_got):
            reasons.append(f"expected call to {e.get('name')!r} not made")
    for j in free_got:
        if j not in explained and parsed[j] is not _NOT_JSON and not any(
            got[j][0] == e.get("name") for e in expected
        ):
            reasons.append(f"unexpected call to {got[j][0]!r}")

    ok = len(got) == len(expected) and len(matched_left) == len(expected)
    if not ok and not reasons:  # e.g. surplus calls to an expected function
        reasons.append("calls do not match the expected calls")
    return ok, reasons


# -- cases --


@dataclass
class CaseScore:
    id: Optional[str]
    category: Optional[str]
    name_ok: bool  # kind calls: the multiset of called names is the expected one; else no call
    full_ok: bool  # names and arguments (calls), or the kind's rule for no_call / ask / answer
    calls: int  # calls made
    valid_calls: int  # of those, how many CallJudge accepts
    reasons: list[str] = field(default_factory=list)
    error: Optional[str] = None  # the request failed (no message)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict))
    return ""


def _calls(message: dict) -> list[tuple[Any, Any]]:
    calls = []
    for call in message.get("tool_calls") or []:
        function = (call.get("function") if isinstance(call, dict) else None) or {}
        calls.append((function.get("name"), function.get("arguments")))
    return calls


def score_case(case: dict, message: Optional[dict], *, error: Optional[str] = None) -> CaseScore:
    """Score one case against the response's assistant message (a plain dict), or against
    None when the request failed: then it is wrong on every count, with `error`."""
    case_id, category = case.get("id"), case.get("category")
    if message is None:
        error = error or "no response"
        return CaseScore(case_id, category, False, False, 0, 0, [f"request failed: {error}"], error)

    calls = _calls(message)
    judge = CallJudge.from_tools(case.get("tools") or [])
    problems = [judge.problem(name, arguments) for name, arguments in calls]
    valid = sum(p is None for p in problems)
    reasons = [f"call {k + 1} ({calls[k][0]}) invalid: {p}" for k, p in enumerate(problems) if p is not None]

    expected = case.get("expected") or {}
    kind = expected.get("kind")
    text = _text(message.get("content"))
    names = [name for name, _ in calls]
    no_call = not calls
    if not no_call and kind in ("no_call", "ask", "answer"):
        reasons.append(f"expected no call, got {len(calls)}: {names}")

    if kind == "calls":
        wanted = expected.get("calls") or []
        name_ok = Counter(names) == Counter(e.get("name") for e in wanted)
        full_ok, why = match_calls(wanted, calls)
        reasons += why
    elif kind == "no_call":
        name_ok = full_ok = no_call
    elif kind == "ask":
        name_ok = no_call
        full_ok = no_call and bool(text.strip())
        if not text.strip():
            reasons.append("no text: expected a question for the missing argument")
    elif kind == "answer":
        name_ok = no_call
        folded = normalize(text)
        # A mention that folds to nothing ("?") would be found in any text: skip it.
        forms = [f for f in (normalize(str(m)) for m in expected.get("mentions") or []) if f]
        mentioned = any(f in folded for f in forms)
        full_ok = no_call and mentioned
        if not mentioned:
            reasons.append(f"text mentions none of {_show(expected.get('mentions') or [])}")
    else:
        name_ok = full_ok = False
        reasons.append(f"unknown expected kind {kind!r}")
    return CaseScore(case_id, category, name_ok, full_ok, len(calls), valid, reasons, error)


# -- totals --


def percentile(values: Sequence[float], p: int) -> Optional[float]:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or
    below it, i.e. sorted(values)[ceil(p * n / 100) - 1] (rank at least 1); None if empty.
    p50 of [1, 2, 3, 4] is 2; p95 of 1..20 is 19."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-p * len(ordered) // 100))  # integer ceil: no float rounding at exact ranks
    return ordered[rank - 1]


def _mean(values: Sequence[float]) -> Optional[float]:
    return sum(values) / len(values) if values else None


def _figures(latencies: Sequence[Optional[float]], prompt_tokens: Sequence[Optional[int]],
             completion_tokens: Sequence[Optional[int]]) -> dict:
    """Latency mean/p50/p95 and mean tokens per request, unknown (None) entries skipped."""
    lat = [x for x in latencies if x is not None]
    prompt = [x for x in prompt_tokens if x is not None]
    completion = [x for x in completion_tokens if x is not None]
    return {
        "latency_mean": _mean(lat),
        "latency_p50": percentile(lat, 50),
        "latency_p95": percentile(lat, 95),
        "prompt_tokens_mean": _mean(prompt),
        "completion_tokens_mean": _mean(completion),
    }


def _group(scores: Sequence[CaseScore], latencies: Sequence[Optional[float]],
           prompt_tokens: Sequence[Optional[int]], completion_tokens: Sequence[Optional[int]]) -> dict:
    n = len(scores)
    calls = sum(s.calls for s in scores)
    valid = sum(s.valid_calls for s in scores)
    return {
        "cases": n,
        "name_accuracy": sum(s.name_ok for s in scores) / n if n else None,
        "full_accuracy": sum(s.full_ok for s in scores) / n if n else None,
        "calls": calls,
        "valid_calls": valid,
        "valid_call_rate": valid / calls if calls else None,
        "errors": sum(s.error is not None for s in scores),
        **_figures(latencies, prompt_tokens, completion_tokens),
    }


def aggregate(
    scores: Sequence[CaseScore],
    latencies: Sequence[Optional[float]],
    prompt_tokens: Sequence[Optional[int]],
    completion_tokens: Sequence[Optional[int]],
) -> dict:
    """{"overall": group, "per_category": {category: group}}, categories in order of first
    appearance. A group: cases, name_accuracy, full_accuracy, calls, valid_calls,
    valid_call_rate, errors, latency_mean, latency_p50, latency_p95, prompt_tokens_mean,
    completion_tokens_mean (None for an empty group, no calls, or no known figure).

    `latencies` and the token counts are per case, aligned with `scores` (one entry each);
    None marks a figure that is unknown (a failed request, a reply without usage) and is
    left out of the means and percentiles, overall and in its category.
    """
    columns = (latencies, prompt_tokens, completion_tokens)
    for name, column in zip(("latencies", "prompt_tokens", "completion_tokens"), columns):
        if len(column) != len(scores):
            raise ValueError(f"{name} has {len(column)} entries for {len(scores)} cases "
                             f"(one per case, None if unknown)")
    rows = list(zip(scores, *columns))
    categories: dict[Optional[str], list[tuple]] = {}
    for row in rows:
        categories.setdefault(row[0].category, []).append(row)

    def group(members: list[tuple]) -> dict:
        return _group(*(list(column) for column in zip(*members))) if members else _group([], [], [], [])

    return {"overall": group(rows), "per_category": {c: group(members) for c, members in categories.items()}}
