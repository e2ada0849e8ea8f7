"""The shortest text that completes a string under a JSON Schema `pattern`.

The grammar makes the whole string match the pattern (as if anchored at both ends), so a
string the model is writing is a prefix of some full match. We build a small NFA from
Python's own regex parser, run the prefix through it, and search breadth first for the
fewest characters that reach a match. Constructs an NFA cannot express (back references,
lookarounds, word boundaries, case-insensitive flags) raise `Unsupported`; the caller
then closes the value some other way (an earlier point in the reply).
"""

from __future__ import annotations

import re
import re._constants as sre
import re._parser as sre_parse
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

# Preferred stand-ins for "any character of this set": plain, unescaped ASCII first.
_NICE = "a0A_-. xz9Z"
_CATEGORIES = {
    sre.CATEGORY_DIGIT: ((48, 57),),
    sre.CATEGORY_WORD: ((48, 57), (65, 90), (95, 95), (97, 122)),
    sre.CATEGORY_SPACE: ((9, 13), (32, 32)),
}
_NOT_CATEGORIES = {sre.CATEGORY_NOT_DIGIT: sre.CATEGORY_DIGIT, sre.CATEGORY_NOT_WORD: sre.CATEGORY_WORD,
                   sre.CATEGORY_NOT_SPACE: sre.CATEGORY_SPACE}
_ANCHORS = {sre.AT_BEGINNING, sre.AT_BEGINNING_STRING, sre.AT_END, sre.AT_END_STRING}
_UNROLL_LIMIT = 64  # bounded repeats with more optional copies than this are treated as unbounded
_MAX_STATES = 20_000  # an NFA past this (e.g. `(a{1000}){1000}`) is not worth building
_MAX_SEARCH = 200_000  # search nodes; past this the completion is left to an earlier point


class Unsupported(ValueError):
    """A pattern this module cannot reason about."""


@dataclass(frozen=True)
class CharSet:
    ranges: tuple[tuple[int, int], ...]  # inclusive code point ranges
    negate: bool = False

    def __contains__(self, ch: str) -> bool:
        code = ord(ch)
        return any(lo <= code <= hi for lo, hi in self.ranges) != self.negate

    def pick(self) -> Optional[str]:
        """A representative member, plain ASCII where possible; None when empty."""
        for ch in _NICE:
            if ch in self:
                return ch
        if not self.negate:
            for lo, hi in self.ranges:
                for code in range(max(lo, 32), min(hi, 126) + 1):
                    if chr(code) not in '"\\':
                        return chr(code)
            return chr(self.ranges[0][0]) if self.ranges else None
        return next((chr(c) for c in range(33, 127) if chr(c) in self), None)

    def picks(self, count: int) -> list[str]:
        """Up to `count` distinct members, `pick()` first, then other plain ASCII ones."""
        out = [c for c in [self.pick()] if c is not None]
        for code in range(33, 127):
            if len(out) >= count:
                break
            ch = chr(code)
            if ch not in out and ch not in '"\\' and ch in self:
                out.append(ch)
        return out[:count]


class _Nfa:
    def __init__(self) -> None:
        self.eps: list[list[int]] = []
        self.moves: list[list[tuple[CharSet, int]]] = []

    def new(self) -> int:
        if len(self.eps) >= _MAX_STATES:
            raise Unsupported(f"the pattern needs more than {_MAX_STATES} automaton states")
        self.eps.append([])
        self.moves.append([])
        return len(self.eps) - 1

    def closure(self, states) -> frozenset[int]:
        seen, stack = set(states), list(states)
        while stack:
            for nxt in self.eps[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return frozenset(seen)

    def step(self, states: frozenset[int], ch: str) -> frozenset[int]:
        return self.closure({b for s in states for cs, b in self.moves[s] if ch in cs})


def _charset(items) -> CharSet:
    ranges: list[tuple[int, int]] = []
    negate = False
    for op, arg in items:
        if op == sre.NEGATE:
            negate = True
        elif op == sre.LITERAL:
            ranges.append((arg, arg))
        elif op == sre.RANGE:
            ranges.append(arg)
        elif op == sre.CATEGORY and arg in _CATEGORIES:
            ranges.extend(_CATEGORIES[arg])
        elif op == sre.CATEGORY and arg in _NOT_CATEGORIES and len(items) == 1:
            return CharSet(_CATEGORIES[_NOT_CATEGORIES[arg]], negate=True)
        else:
            raise Unsupported(f"character class item {op} {arg}")
    return CharSet(tuple(ranges), negate)


def _build(nfa: _Nfa, items, start: int, loose: bool = False) -> int:
    """Thompson construction of `items` from state `start`; returns the end state. Each
    piece gets states of its own, so that no loop can lead back into a sibling's edges.
    `loose`: lookarounds and inline flags are ignored (the automaton then accepts more
    than the pattern does, and what it yields must be checked against the pattern)."""
    cur = nfa.new()
    nfa.eps[start].append(cur)
    for op, arg in items:
        nxt = nfa.new()
        if op == sre.LITERAL:
            nfa.moves[cur].append((CharSet(((arg, arg),)), nxt))
        elif op == sre.NOT_LITERAL:
            nfa.moves[cur].append((CharSet(((arg, arg),), negate=True), nxt))
        elif op == sre.ANY:
            nfa.moves[cur].append((CharSet(((10, 10),), negate=True), nxt))
        elif op == sre.IN:
            nfa.moves[cur].append((_charset(arg), nxt))
        elif op == sre.AT and arg in _ANCHORS:
            nfa.eps[cur].append(nxt)
        elif op == sre.SUBPATTERN:
            group, add_flags, del_flags, sub = arg
            if add_flags & ~(sre.SRE_FLAG_UNICODE) and not loose:
                raise Unsupported("inline flags")
            nfa.eps[_build(nfa, sub, cur, loose)].append(nxt)
        elif op == sre.BRANCH:
            for alternative in arg[1]:
                nfa.eps[_build(nfa, alternative, cur, loose)].append(nxt)
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
            low, high, sub = arg
            at = cur
            for _ in range(low):
                at = _build(nfa, sub, at, loose)
            if high == sre.MAXREPEAT or high - low > _UNROLL_LIMIT:
                loop = nfa.new()
                nfa.eps[at].append(loop)
                nfa.eps[_build(nfa, sub, loop, loose)].append(loop)
                nfa.eps[loop].append(nxt)
            else:
                for _ in range(high - low):
                    nfa.eps[at].append(nxt)
                    at = _build(nfa, sub, at, loose)
                nfa.eps[at].append(nxt)
        elif op == getattr(sre, "ATOMIC_GROUP", None):
            nfa.eps[_build(nfa, arg, cur, loose)].append(nxt)
        elif loose and op in (sre.ASSERT, sre.ASSERT_NOT, sre.AT):
            nfa.eps[cur].append(nxt)
        else:
            raise Unsupported(f"regex construct {op}")
        cur = nxt
    return cur


def _compile(pattern: str, loose: bool = False) -> tuple[_Nfa, int, int]:
    built = _compile_cached(pattern, loose)
    if isinstance(built, Unsupported):
        raise built
    return built


@lru_cache(maxsize=256)
def _compile_cached(pattern: str, loose: bool):
    """The NFA, or the Unsupported error (cached too: a pattern too big fails once)."""
    try:
        return _compile_uncached(pattern, loose)
    except Unsupported as exc:
        return exc


def _compile_uncached(pattern: str, loose: bool) -> tuple[_Nfa, int, int]:
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as exc:
        raise Unsupported(f"not a regular expression: {exc}") from None
    if parsed.state.flags & (sre.SRE_FLAG_IGNORECASE | sre.SRE_FLAG_MULTILINE | sre.SRE_FLAG_VERBOSE) and not loose:
        raise Unsupported("regex flags")
    nfa = _Nfa()
    start = nfa.new()
    return nfa, start, _build(nfa, list(parsed), start, loose)


def shortest_completion(pattern: str, prefix: str = "", min_length: int = 0) -> Optional[str]:
    """The fewest characters that make `prefix + result` match `pattern` whole and hold at
    least `min_length` characters; None when `prefix` cannot be completed."""
    nfa, start, accept = _compile(pattern)
    states = nfa.closure({start})
    for ch in prefix:
        states = nfa.step(states, ch)
        if not states:
            return None
    need = max(0, min_length - len(prefix))
    # 0-1 breadth-first search over (state, characters added, capped at `need`): free moves
    # cost nothing, characters one; the first accepting node with enough characters that
    # leaves the queue was reached by a shortest path.
    dist: dict[tuple[int, int], int] = {}
    parents: dict[tuple[int, int], tuple[tuple[int, int], str]] = {}
    queue: deque[tuple[int, int]] = deque()
    for s in states:
        dist[(s, 0)] = 0
        queue.append((s, 0))
    done: set[tuple[int, int]] = set()
    while queue:
        node = queue.popleft()
        if node in done:
            continue
        done.add(node)
        if len(done) > _MAX_SEARCH:
            raise Unsupported(f"no completion within {_MAX_SEARCH} search steps")
        state, added = node
        if state == accept and added >= need:
            out = []
            while node in parents:
                node, ch = parents[node]
                out.append(ch)
            return "".join(reversed(out))
        edges = [(nxt, "", added) for nxt in nfa.eps[state]]
        edges += [(nxt, cs.pick(), min(added + 1, need)) for cs, nxt in nfa.moves[state]]
        for nxt, ch, count in edges:
            if ch is None:  # an empty character set
                continue
            key, cost = (nxt, count), dist[node] + (1 if ch else 0)
            if cost < dist.get(key, cost + 1):
                dist[key], parents[key] = cost, (node, ch)
                (queue.appendleft if not ch else queue.append)(key)
    return None


_MAX_MATCH_NODES = 20_000  # strings tried by `some_matches`


def some_matches(pattern: str, count: int, min_length: int = 0, *, loose: bool = False) -> list[str]:
    """Up to `count` distinct strings that match `pattern` whole with at least `min_length`
    characters, shortest first (a bounded breadth-first search, a few characters per
    character class, `count` strings kept per automaton state set). With `loose`,
    lookarounds, word anchors and flags are ignored: the strings are candidates, to be
    checked against the pattern (and the grammar) by the caller."""
    nfa, start, accept = _compile(pattern, loose)
    level = [(nfa.closure({start}), "")]
    found: list[str] = []
    tried = 0
    while level and len(found) < count:
        nxt: dict[frozenset[int], list[str]] = {}
        for states, text in level:
            if accept in states and len(text) >= min_length:
                found.append(text)
                if len(found) >= count:
                    break
            for cs in {cs for s in states for cs, _ in nfa.moves[s]}:
                for ch in cs.picks(3):
                    tried += 1
                    if tried > _MAX_MATCH_NODES:
                        return found
                    after = nfa.step(states, ch)
                    kept = nxt.setdefault(after, [])
                    if after and len(kept) < count:  # (a text leads to one state set)
                        kept.append(text + ch)
        level = [(states, text) for states, texts in nxt.items() for text in texts]
    return found
