"""Values for arguments, derived from the schema, the parameter's name and its description.

Everything here is offline and seeded: a `ValueMaker` turns a (property name, schema)
pair into a JSON value that the schema accepts, preferring values a person would write
(a city for `city`, a round number inside the bounds, a date for `format: date`) over the
shortest ones. Bounds stated only in prose ("Valid range is 0 to 100") are read from the
description too, so the examples do not teach values the tool's author rules out.
"""

from __future__ import annotations

import random
import re
import string
from typing import Any, Optional

from functionary.budget.regex_shortest import Unsupported, shortest_completion
from functionary.schema import SchemaError, inline_refs

# Word banks by what a parameter's name says it holds (a key matches when it is one of
# the name's words, or the name ends with it).
BANKS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("city", "town", "destination", "origin"): (
        "Paris", "Tokyo", "Nairobi", "Lima", "Oslo", "Toronto", "Madrid", "Seoul", "Cairo", "Denver",
        "Lisbon", "Mumbai", "Sydney", "Chicago", "Berlin", "Dublin"),
    ("country",): ("France", "Japan", "Kenya", "Peru", "Norway", "Canada", "Spain", "Brazil", "India"),
    ("location", "place", "address", "venue", "where"): (
        "12 Harbour Street", "the main office", "Central Station", "42 Elm Avenue", "the north warehouse",
        "Riverside Park"),
    ("name", "person", "contact", "recipient", "assignee", "owner", "user", "author", "attendee", "guest",
     "customer", "friend"): (
        "Maria Lopez", "Ken Watanabe", "Amara Okafor", "Liam Murphy", "Sofia Rossi", "Priya Nair", "Jonas Berg",
        "Chen Wei", "Fatima Zahra", "Tom Becker"),
    ("first",): ("Maria", "Ken", "Amara", "Liam", "Sofia", "Priya"),
    ("last", "surname"): ("Lopez", "Watanabe", "Okafor", "Murphy", "Rossi", "Nair"),
    ("email", "mail"): ("maria.lopez@example.com", "ken@example.org", "team@example.net", "amara.o@example.com"),
    ("phone", "mobile", "tel"): ("+1 555 0100", "+44 20 7946 0018", "+33 1 70 18 99 00"),
    ("title", "subject", "headline", "summary", "topic"): (
        "Quarterly planning", "Team lunch", "Budget review", "Weekly sync", "Release notes", "Dentist appointment"),
    ("message", "text", "body", "content", "note", "comment", "description", "reason", "prompt", "details"): (
        "Running ten minutes late, start without me.", "Please review the attached draft.",
        "Thanks for your help today!", "The meeting moved to Thursday.", "Can we talk tomorrow morning?"),
    ("query", "search", "keyword", "keywords", "term", "q"): (
        "wireless headphones", "vegan lasagna recipe", "flights to Lisbon", "python tutorial", "hiking boots"),
    ("url", "link", "website", "uri", "href"): ("https://example.com", "https://example.org/docs"),
    ("color", "colour"): ("red", "blue", "green", "orange", "purple"),
    ("language", "lang", "locale"): ("English", "Spanish", "French", "German", "Japanese"),
    ("currency",): ("USD", "EUR", "GBP", "JPY"),
    ("file", "filename", "path", "folder", "directory"): (
        "report.pdf", "notes.txt", "photos/2024", "budget.xlsx", "docs/plan.md"),
    ("product", "item", "model"): ("desk lamp", "running shoes", "coffee grinder", "backpack", "phone case"),
    ("company", "organization", "organisation", "brand", "vendor", "store", "shop"): (
        "Acme Corp", "Globex", "Initech", "Northwind", "Contoso"),
    ("symbol", "ticker", "stock"): ("AAPL", "MSFT", "TSLA", "NVDA"),
    ("category", "genre", "type", "kind"): ("general", "music", "sports", "travel", "work"),
    ("id", "identifier", "code", "number", "reference", "ref"): ("A1234", "ORD-5521", "X-99", "7731"),
    ("date", "day"): ("2025-03-14", "2025-07-01", "2025-11-20"),
    ("time", "hour"): ("09:30", "14:00", "18:45"),
    ("tag", "label"): ("urgent", "personal", "follow-up"),
    ("song", "track"): ("Blue in Green", "Clair de Lune", "Hotel California"),
    ("artist", "band"): ("Miles Davis", "Adele", "Queen"),
    ("timezone", "tz"): ("Europe/Paris", "America/New_York", "Asia/Tokyo"),
}

# Plausible magnitudes by name when the schema gives no bounds: (low, high).
NUMBER_HINTS: dict[tuple[str, ...], tuple[int, int]] = {
    ("age",): (18, 80),
    ("year",): (1990, 2030),
    ("month",): (1, 12),
    ("hour", "hours"): (1, 12),
    ("minute", "minutes"): (1, 59),
    ("percent", "percentage", "pct"): (0, 100),
    ("count", "quantity", "qty", "guests", "people", "seats", "amount_of", "number", "num", "limit", "copies",
     "rooms", "nights", "items", "servings", "retries", "page"): (1, 10),
    ("altitude", "height", "elevation"): (10, 400),
    ("distance", "length", "radius", "width", "depth"): (1, 200),
    ("duration", "seconds", "timeout", "interval", "delay"): (5, 120),
    ("speed", "velocity"): (5, 80),
    ("temperature", "temp"): (16, 28),
    ("angle", "tilt", "pan", "rotation", "heading", "degrees"): (-90, 90),
    ("price", "cost", "amount", "budget", "total", "salary"): (5, 500),
    ("volume", "brightness", "level"): (0, 100),
    ("latitude", "lat"): (-60, 60),
    ("longitude", "lon", "lng"): (-150, 150),
    ("rating", "stars", "score"): (1, 5),
    ("zoom",): (1, 10),
}

ROUND = (1, 2, 3, 5, 10, 12, 15, 20, 25, 30, 40, 45, 50, 60, 75, 80, 90, 100, 120, 150, 200, 250, 300, 500,
         1000)

_RANGE = re.compile(r"(?:range|between|from)\s*(?:is|of)?\s*(-?\d+(?:\.\d+)?)\s*(?:to|and|-|–)\s*(-?\d+(?:\.\d+)?)",
                    re.IGNORECASE)
_MAX = re.compile(r"(?:max(?:imum)?|at most|up to|no more than)\s*(?:is|of)?\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_MIN = re.compile(r"(?:min(?:imum)?|at least|no less than)\s*(?:is|of)?\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)


def words(name: str) -> list[str]:
    """`takeoffDrone`, `set_drone_speed`, `Get-Weather` -> lower-case words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]


def _matches(name: str, keys: tuple[str, ...]) -> bool:
    ws = words(name)
    joined = "_".join(ws)
    return any(k in ws or joined.endswith(k) for k in keys)


def bank_for(name: str) -> Optional[tuple[str, ...]]:
    for keys, bank in BANKS.items():
        if _matches(name, keys):
            return bank
    return None


def prose_bounds(description: str) -> tuple[Optional[float], Optional[float]]:
    """Bounds a description states in words ("Valid range is 0 to 100", "at most 5")."""
    if not description:
        return None, None
    m = _RANGE.search(description)
    if m:
        a, b = float(m.group(1)), float(m.group(2))
        return min(a, b), max(a, b)
    low = _MIN.search(description)
    high = _MAX.search(description)
    return (float(low.group(1)) if low else None, float(high.group(1)) if high else None)


def resolved(schema: dict) -> dict:
    """The schema with local `$ref`s inlined (a schema that cannot be inlined is kept)."""
    try:
        return inline_refs(schema)
    except SchemaError:
        return schema


class ValueMaker:
    """Seeded values for schemas. `value(name, schema)` never returns an invalid value for
    the keywords it knows; the format stage checks every example against the schema anyway."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    # -- the entry point --

    def value(self, name: str, schema: Any, description: str = "", depth: int = 0) -> Any:
        if not isinstance(schema, dict):
            return self.rng.choice(self.bank(name) or ("value",))
        if depth == 0:
            schema = resolved(schema)  # $refs point into the root: inline them once, at the top
        description = schema.get("description") or description
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return self.rng.choice(schema["enum"])
        for key in ("anyOf", "oneOf"):
            options = [s for s in schema.get(key) or [] if isinstance(s, dict) and s.get("type") != "null"]
            if options:
                merged = {**{k: v for k, v in schema.items() if k != key}, **self.rng.choice(options)}
                return self.value(name, merged, description, depth)
        if schema.get("allOf"):
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                if isinstance(part, dict):
                    merged.update(part)
            return self.value(name, merged, description, depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"] or ["null"]
            kind = self.rng.choice(kinds)
        if kind is None:
            kind = ("object" if "properties" in schema else "array" if "items" in schema else "string")
        if kind == "string":
            return self.string(name, schema, description)
        if kind == "integer":
            return int(self.number(name, schema, description, integer=True))
        if kind == "number":
            return self.number(name, schema, description, integer=False)
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "array":
            return self.array(name, schema, depth)
        if kind == "object":
            return self.object(name, schema, depth)
        return None

    # -- kinds --

    def bank(self, name: str) -> Optional[tuple[str, ...]]:
        return bank_for(name)

    def string(self, name: str, schema: dict, description: str = "") -> str:
        fmt = schema.get("format")
        candidates: list[str] = []
        if fmt:
            candidates.append(self.formatted(fmt))
        bank = self.bank(name)
        if bank:
            candidates += self.rng.sample(list(bank), min(3, len(bank)))
        candidates.append(" ".join(words(name)) or "value")
        pattern = schema.get("pattern")
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        for c in candidates:
            if high is not None and len(c) > high:
                c = c[:high].rstrip()
            if len(c) < low:
                c = c + "x" * (low - len(c))
            if pattern and not re.search(pattern, c):
                continue
            return c
        if pattern:
            try:
                found = shortest_completion(pattern, "", low)
            except Unsupported:
                found = None
            if found is not None:
                return found
        return "x" * max(low, 1)

    def formatted(self, fmt: str) -> str:
        r = self.rng
        day = f"2025-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
        clock = f"{r.randint(7, 20):02d}:{r.choice((0, 15, 30, 45)):02d}"
        table = {
            "date": day,
            "date-time": f"{day}T{clock}:00Z",
            "time": f"{clock}:00",
            "email": r.choice(BANKS[("email", "mail")]),
            "uri": r.choice(BANKS[("url", "link", "website", "uri", "href")]),
            "url": r.choice(BANKS[("url", "link", "website", "uri", "href")]),
            "uuid": "123e4567-e89b-12d3-a456-4266141740" + "".join(r.choice(string.digits) for _ in range(2)),
            "ipv4": f"192.168.{r.randint(0, 9)}.{r.randint(2, 250)}",
            "hostname": r.choice(("example.com", "api.example.org")),
            "duration": f"PT{r.randint(1, 9)}H",
        }
        return table.get(fmt, "value")

    def number(self, name: str, schema: dict, description: str, *, integer: bool) -> float:
        low, high = _schema_bounds(schema)
        prose_low, prose_high = prose_bounds(description)
        low = prose_low if low is None else (low if prose_low is None else max(low, prose_low))
        high = prose_high if high is None else (high if prose_high is None else min(high, prose_high))
        if low is None or high is None:
            hint = next((v for keys, v in NUMBER_HINTS.items() if _matches(name, keys)), (1, 100))
            if low is None and high is None:
                low, high = hint
            elif low is None:
                low = min(hint[0], high)
            else:
                high = max(hint[1], low)
        step = schema.get("multipleOf")
        value = self._pick_number(low, high, integer, step)
        return int(value) if integer else value

    def _pick_number(self, low: float, high: float, integer: bool, step) -> float:
        r = self.rng
        if step:
            first = _ceil_div(low, step)
            last = int(high // step)
            if first <= last:
                v = r.randint(first, last) * step
                return int(v) if integer else v
        rounds = [v for v in ROUND if low <= v <= high] + [-v for v in ROUND if low <= -v <= high]
        if rounds and r.random() < 0.75:
            return r.choice(rounds)
        if integer:
            lo, hi = int(-(-low // 1)), int(high // 1)
            return r.randint(lo, hi) if lo <= hi else lo
        return round(r.uniform(low, high), 1) if high - low >= 1 else round(r.uniform(low, high), 3)

    def array(self, name: str, schema: dict, depth: int) -> list:
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        low = schema.get("minItems", 1)
        high = schema.get("maxItems", max(low, 3))
        count = self.rng.randint(low, max(low, min(high, low + 2)))
        singular = name[:-1] if name.endswith("s") else name
        if schema.get("uniqueItems"):
            pool = _finite_values(items)
            if pool is not None and len(pool) >= count:  # a small domain: draw without replacement
                return self.rng.sample(pool, count)
        out: list = []
        for _ in range(count * 20):
            if len(out) == count:
                break
            v = self.value(singular, items, depth=depth + 1)
            if schema.get("uniqueItems") and v in out:
                continue
            out.append(v)
        return out

    def object(self, name: str, schema: dict, depth: int) -> dict:
        props = schema.get("properties")
        if not isinstance(props, dict) or not props:
            return self.free_object(name) if depth < 6 else {}
        required = [k for k in schema.get("required", []) if k in props]
        optional = [k for k in props if k not in required]
        chosen = required + [k for k in optional if self.rng.random() < 0.4]
        return {k: self.value(k, props[k], depth=depth + 1) for k in props if k in chosen}

    def free_object(self, name: str) -> dict:
        """A value for `{"type": "object"}` with no properties: shaped by the name."""
        if _matches(name, ("coordinates", "coords", "gps", "location", "position", "point", "coordinate")):
            return {"latitude": round(self.rng.uniform(-60, 60), 4), "longitude": round(self.rng.uniform(-150, 150), 4)}
        return {}


def _finite_values(schema: dict) -> Optional[list]:
    """Every value of a small finite item schema (an enum, booleans, a short integer range)."""
    if schema.get("enum"):
        return list(schema["enum"])
    if schema.get("type") == "boolean":
        return [True, False]
    low, high = schema.get("minimum"), schema.get("maximum")
    if schema.get("type") == "integer" and low is not None and high is not None and high - low <= 1000:
        return list(range(int(-(-low // 1)), int(high // 1) + 1))
    return None


def _schema_bounds(schema: dict) -> tuple[Optional[float], Optional[float]]:
    low, high = schema.get("minimum"), schema.get("maximum")
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(ex_low, (int, float)) and not isinstance(ex_low, bool):
        low = ex_low + (1 if schema.get("type") == "integer" else 1e-3) if low is None else max(low, ex_low + 1e-3)
    if isinstance(ex_high, (int, float)) and not isinstance(ex_high, bool):
        high = ex_high - (1 if schema.get("type") == "integer" else 1e-3) if high is None else min(high, ex_high - 1e-3)
    return low, high


def _ceil_div(a: float, b: float) -> int:
    return int(-(-a // b))
