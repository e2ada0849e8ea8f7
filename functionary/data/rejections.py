"""Requests that the tools cannot serve, for rejection examples.

Four kinds, all derived from the tool set itself or from general banks that know no
tool set:
- `off_domain`: everyday requests from other domains, kept only when they share no
  content word with the tools (so "check the weather" is not a rejection for a weather tool);
- `unsupported`: the tools' own subject nouns ("drone", "invoice") with actions none of the
  tools offers ("paint the drone red");
- `out_of_range`: a real function asked for a value its schema or description rules out
  (above a maximum, an enum value it does not list);
- `vague`: requests too unclear to act on.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Optional

from functionary.data.invocations import parameters
from functionary.data.phrasing import Writer
from functionary.data.values import BANKS, ValueMaker, prose_bounds, resolved, words

OFF_DOMAIN = (
    "What's the capital of Australia?", "Write me a short poem about autumn.", "Translate 'good morning' into Italian.",
    "How many calories are in a banana?", "Tell me a joke.", "What's a good recipe for pancakes?",
    "Who won the football world cup in 2010?", "Recommend a good science fiction novel.",
    "Can you help me with my algebra homework?", "What's the meaning of life?", "Book me a table for two tonight.",
    "Order a large pepperoni pizza.", "What's the exchange rate from dollars to yen?", "Play some jazz music.",
    "Send an email to my boss saying I'm sick.", "What time is it in Tokyo?", "Set an alarm for 6 am.",
    "Find me a cheap flight to Rome.", "How do I fix a leaking tap?", "Summarize the news for today.",
    "Write a cover letter for a marketing job.", "What is the square root of 144?", "Call my mother.",
    "Buy me a new pair of running shoes.", "How tall is Mount Everest?", "Explain quantum computing simply.",
    "Schedule a dentist appointment for Friday.", "What should I cook for dinner?", "Turn on the kitchen lights.",
    "What's the weather like tomorrow?", "Write a Python function that reverses a string.", "Sing me a song.",
    "How do you say thank you in Japanese?", "Remind me to water the plants.", "Who painted the Mona Lisa?",
    "What's the best way to learn the guitar?", "Pay my electricity bill.", "Make me a cup of coffee.",
    "Draft a tweet about our product launch.", "What are the symptoms of the flu?",
)
UNSUPPORTED = (
    "paint the {n} {color}", "sell the {n} online", "order a spare {n} for me", "wash the {n}",
    "write a poem about the {n}", "tell me the price of a new {n}", "teach the {n} to sing",
    "connect the {n} to my television", "give the {n} a name", "make the {n} invisible",
    "let the {n} make me a sandwich", "send the {n} to the moon", "have the {n} walk the dog",
    "upgrade the {n} to the newest model", "make the {n} play my favourite song", "print a photo of the {n}",
    "ask the {n} to do my taxes", "turn the {n} into a boat", "3D print a copy of the {n}",
    "let the {n} water my garden", "insure the {n}", "have the {n} deliver a pizza to my neighbour",
    "make the {n} speak French", "charge my phone with the {n}", "use the {n} to cook dinner",
)
UNSUPPORTED_FRAMES = ("{A}.", "Please {a}.", "Can you {a}?", "Could you {a}, please?", "I want you to {a}.",
                      "{A} right now.", "Hey, {a}.", "I need you to {a}.", "Is it possible to {a}?")
# Ways to wrap a whole request ("{t}" is the request as written).
WRAPS = ("{t}", "Hey, {t}", "Quick question: {t}", "Hi! {t}", "{t} Thanks.", "Okay. {t}", "Please help: {t}")
WORDINGS = 3  # wordings of each rejected request
VAGUE = (
    "Do the thing.", "You know what to do.", "Make it better.", "Can you handle it?", "Fix it.",
    "Something's wrong, do something!", "Just go.", "Whatever you think is best.", "Do that again but different.",
    "Hmm.", "Help!", "Can you do the usual?", "Change it.", "Not that, the other one.", "Make it work somehow.",
    "Adjust stuff.", "Do something cool.", "Go there.", "Set it to the right value.", "Undo whatever happened.",
)
_STOP = {"the", "a", "an", "of", "to", "for", "in", "on", "and", "or", "with", "by", "at", "from", "is", "it", "its",
         "this", "that", "be", "use", "if", "not", "can", "should", "which", "specific", "specified", "current",
         "mode", "status", "set", "get", "function", "request", "possible", "toggle", "enable", "disable",
         "your", "you", "my", "me", "i", "what", "how", "who", "some", "new"}


@dataclass(frozen=True)
class Rejection:
    kind: str  # off_domain, unsupported, out_of_range, vague
    text: str
    function: Optional[str] = None  # the near-miss function, for out_of_range
    base: str = ""  # the request it is a wording of (the split keeps wordings of one request together)

    @property
    def key(self) -> str:
        return " ".join((self.base or self.text).lower().split())


def vocabulary(functions: list[dict]) -> set[str]:
    """Content words of the tools' names, descriptions, parameters and enum values."""
    found: set[str] = set()
    for f in functions:
        text = " ".join([f["name"], f.get("description") or ""])
        props, _, _ = parameters(f)
        for k, s in props.items():
            text += " " + k + " " + (s.get("description", "") if isinstance(s, dict) else "")
            if isinstance(s, dict):
                text += " " + " ".join(str(v) for v in s.get("enum") or [])
        found |= {_stem(w) for w in words(text) if len(w) > 2 and w not in _STOP}
    return found


def _stem(word: str) -> str:
    w = word.lower()
    for suffix in ("ing", "ies", "es", "s", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: -len(suffix)]
    return w


def subject_nouns(functions: list[dict], limit: int = 3) -> list[str]:
    """The nouns the tools are about: content words (not verbs) that recur in the
    functions' names, then in their descriptions."""
    from functionary.data.phrasing import VERB_SET

    def recurring(texts: list[str]) -> list[str]:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update({w for w in words(text) if len(w) > 2 and w not in _STOP and w not in VERB_SET
                           and not w.endswith(("ly", "ing", "ed"))})
        top = max(counts.values(), default=0)
        return [w for w, c in counts.most_common() if c >= max(2, top / 2)]  # the main subjects, not side nouns

    found = recurring([f["name"] for f in functions])
    found += [w for w in recurring([f.get("description") or "" for f in functions]) if w not in found]
    if not found:
        found = [w for f in functions for w in words(f["name"]) if w not in VERB_SET and w not in _STOP][:1]
    return found[:limit]


class RejectionWriter:
    def __init__(self, rng: random.Random, maker: ValueMaker, writer: Writer, functions: list[dict]):
        self.rng, self.maker, self.writer = rng, maker, writer
        self.functions = functions
        self.vocab = vocabulary(functions)
        self.nouns = subject_nouns(functions)

    def overlaps(self, text: str) -> bool:
        return any(_stem(w) in self.vocab for w in words(text) if len(w) > 2 and w not in _STOP)

    def wordings(self, kind: str, base: str, texts: list[str]) -> list[Rejection]:
        return [Rejection(kind, t, base=base) for t in dict.fromkeys(texts)]

    def wrapped(self, kind: str, text: str) -> list[Rejection]:
        frames = [WRAPS[0]] + self.rng.sample(WRAPS[1:], WORDINGS - 1)
        lower = text[:1].lower() + text[1:]
        return self.wordings(kind, text, [f.format(t=lower if f.startswith(("Hey, ", "Quick question: ")) else text)
                                          for f in frames])

    def off_domain(self) -> list[Rejection]:
        return [r for t in OFF_DOMAIN if not self.overlaps(t) for r in self.wrapped("off_domain", t)]

    def unsupported(self) -> list[Rejection]:
        out = []
        for n in self.nouns:
            for action in UNSUPPORTED:
                verb_words = [w for w in words(action.replace("{n}", "")) if w not in ("color",)]
                if self.overlaps(" ".join(verb_words)):  # a tool may do this after all
                    continue
                a = action.format(n=n, color=self.rng.choice(BANKS[("color", "colour")]))
                frames = self.rng.sample(UNSUPPORTED_FRAMES, WORDINGS)
                out += self.wordings("unsupported", a, [f.format(a=a, A=a[:1].upper() + a[1:]) for f in frames])
        return out

    def vague(self) -> list[Rejection]:
        return [r for t in VAGUE for r in self.wrapped("vague", t)]

    def out_of_range(self) -> list[Rejection]:
        """A function asked for a value its schema (or description) rules out."""
        out = []
        for f in self.functions:
            props, _, _ = parameters(f)
            for p, schema in props.items():
                bad = self._outside(p, schema)
                if bad is None:
                    continue
                args = {k: v for k, v in self.maker_fill(f).items()}
                args[p] = bad
                base = json.dumps([f["name"], args], sort_keys=True)
                out += [Rejection("out_of_range", t, f["name"], base) for t in self.writer.requests(f, args, WORDINGS)]
        return out

    def maker_fill(self, function: dict) -> dict:
        props, required, _ = parameters(function)
        return {k: self.maker.value(k, props[k]) for k in required}

    def _outside(self, name: str, schema) -> Optional[object]:
        if not isinstance(schema, dict):
            return None
        schema = resolved(schema)
        if schema.get("enum"):
            values = {str(v).lower() for v in schema["enum"]}
            for bank in BANKS.values():  # a sibling the enum leaves out: "purple" for a colour list
                if len(values & {b.lower() for b in bank}) >= 2:
                    missing = [b for b in bank if b.lower() not in values]
                    return self.rng.choice(missing) if missing else None
            return None
        if schema.get("type") in ("integer", "number"):
            high = schema.get("maximum")
            low = schema.get("minimum")
            p_low, p_high = prose_bounds(schema.get("description") or "")
            high = high if high is not None else p_high
            low = low if low is not None else p_low
            if high is not None:
                return int(high * self.rng.choice((2, 3, 5)) + self.rng.choice((0, 10, 50))) or 1000
            if low is not None and low >= 0:
                return -self.rng.choice((5, 10, 20, 50))
        return None

    def all(self) -> list[Rejection]:
        return self.off_domain() + self.unsupported() + self.out_of_range() + self.vague()


_REJECT_NAME = re.compile(r"reject|refuse|decline|cannot|unable|unsupported|out_of_scope|not_possible|abstain",
                          re.IGNORECASE)


def reject_function(functions: list[dict]) -> Optional[str]:
    """The tool set's own "I can't do that" function, if it has one."""
    for f in functions:
        if _REJECT_NAME.search(f["name"]):
            return f["name"]
    for f in functions:
        if re.search(r"\bnot possible\b|\bcannot be (?:done|completed)\b", f.get("description") or "", re.IGNORECASE):
            return f["name"]
    return None


REFUSALS = (
    "Sorry, I can't do that: none of my tools cover it.", "I'm not able to help with that using the tools I have.",
    "That's outside what I can do here.", "Unfortunately I have no tool for that request.",
)
CLARIFY = ("Could you tell me more precisely what you'd like me to do?",
           "I'm not sure what you mean. What should I do?",
           "Can you be more specific?")


def refusal_text(rng: random.Random, rejection: Rejection) -> str:
    if rejection.kind == "out_of_range":
        return rng.choice(("That value is outside what the tool accepts, so I can't do it.",
                           "I can't: that is beyond the allowed range."))
    return rng.choice(CLARIFY if rejection.kind == "vague" else REFUSALS)
