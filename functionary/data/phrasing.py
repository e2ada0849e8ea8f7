"""The offline writer: user requests (and short assistant texts) from a function's name,
description and arguments, with no model in the loop.

A request is an action phrase ("start the drone's takeoff sequence", from the
description, its leading verb varied with a small lexicon of common API verbs; or "set
the drone speed", from the name) plus a phrase for each argument ("to 120 meters" — the
unit read from the parameter's description; "in video mode"; "Maria Lopez"), set in one
of many sentence frames (requests, questions, terse commands, casual lower case).
On/off-like enums become the action itself ("turn on battery saver mode"). Nothing here
knows any particular tool set.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any, Optional

from functionary.data.invocations import parameters
from functionary.data.values import words

# Common API verbs and ways people say them. The first word of a description or a name
# is looked up here (after undoing a third-person "s").
VERBS: dict[str, tuple[str, ...]] = {
    "initiate": ("start", "begin", "kick off", "launch"),
    "start": ("begin", "kick off", "launch", "initiate"),
    "begin": ("start", "kick off"),
    "launch": ("start", "kick off"),
    "adjust": ("change", "set", "modify", "update"),
    "change": ("adjust", "set", "modify", "update", "switch"),
    "set": ("change", "adjust", "make", "put"),
    "modify": ("change", "adjust", "update"),
    "update": ("change", "modify", "refresh"),
    "control": ("operate", "use", "manage"),
    "direct": ("steer", "guide"),
    "enable": ("turn on", "activate", "switch on"),
    "disable": ("turn off", "deactivate", "switch off"),
    "activate": ("enable", "turn on"),
    "deactivate": ("disable", "turn off"),
    "configure": ("set up", "adjust", "customize"),
    "toggle": ("switch", "flip"),
    "get": ("fetch", "retrieve", "look up", "find", "show me", "check"),
    "fetch": ("get", "retrieve", "look up"),
    "retrieve": ("get", "fetch", "look up"),
    "find": ("look for", "search for", "locate"),
    "search": ("look for", "find", "search for"),
    "list": ("show", "show me", "give me"),
    "show": ("display", "show me", "list"),
    "send": ("deliver", "shoot", "write"),
    "create": ("make", "add", "set up", "open"),
    "add": ("create", "put in", "insert"),
    "make": ("create", "set up"),
    "delete": ("remove", "erase", "get rid of"),
    "remove": ("delete", "take out", "get rid of"),
    "cancel": ("call off", "stop", "abort"),
    "stop": ("halt", "end", "cancel"),
    "return": ("bring back", "send back", "go back"),
    "capture": ("take", "record", "shoot"),
    "take": ("capture", "grab"),
    "record": ("capture", "film"),
    "book": ("reserve", "schedule"),
    "reserve": ("book", "hold"),
    "schedule": ("plan", "book", "set up"),
    "calculate": ("compute", "work out", "figure out"),
    "compute": ("calculate", "work out"),
    "convert": ("change", "translate"),
    "translate": ("convert", "render"),
    "play": ("put on", "start playing"),
    "open": ("launch", "start"),
    "close": ("shut", "end"),
    "lock": ("secure",),
    "unlock": ("open",),
    "order": ("buy", "purchase", "get"),
    "buy": ("purchase", "order", "get"),
    "pay": ("settle", "transfer money for"),
    "transfer": ("move", "send"),
    "move": ("shift", "relocate"),
    "check": ("verify", "look at", "inspect"),
    "calibrate": ("recalibrate", "tune"),
    "land": ("bring down", "put down"),
    "track": ("follow", "monitor"),
    "upload": ("send", "push"),
    "download": ("fetch", "get"),
    "rename": ("change the name of",),
    "reset": ("restore", "clear"),
    "read": ("open", "show"),
    "write": ("compose", "draft"),
    "post": ("publish", "share"),
    "share": ("send", "post"),
    "invite": ("ask",),
    "notify": ("alert", "tell"),
    "assign": ("give", "hand"),
    "rate": ("score", "review"),
    "run": ("execute", "start"),
    "execute": ("run", "carry out"),
    "plan": ("map out", "schedule"),
    "estimate": ("work out", "guess"),
    "summarize": ("sum up", "give me the gist of"),
    "mute": ("silence",),
    "pause": ("hold", "halt"),
    "resume": ("continue", "restart"),
}
# Compound verbs that API names write as one word ("takeoff_drone", "logout").
COMPOUNDS = {"takeoff": "take off", "login": "log in", "logout": "log out", "signup": "sign up", "setup": "set up",
             "checkout": "check out", "shutdown": "shut down", "startup": "start up", "backup": "back up",
             "pickup": "pick up", "dropoff": "drop off", "lookup": "look up", "checkin": "check in"}
VERBS.update({"take off": ("lift off", "launch"), "log in": ("sign in",), "log out": ("sign out",),
              "sign up": ("register",), "set up": ("configure",), "check out": ("pay for",),
              "shut down": ("power off", "turn off"), "start up": ("power on", "boot"), "back up": ("save a copy of",),
              "pick up": ("collect",), "drop off": ("deliver",), "look up": ("find",), "check in": ("register",)})
VERB_SET = set(VERBS)
# What people do with common things ("take a photo", "play a song"): enum values and
# parameters that are such things become the action itself.
OBJECT_VERBS: dict[str, tuple[str, ...]] = {
    "photo": ("take", "snap", "capture"), "picture": ("take", "snap"), "image": ("capture", "take"),
    "video": ("record", "shoot", "film"), "panorama": ("take", "shoot", "capture"), "song": ("play", "put on"),
    "music": ("play", "put on"), "playlist": ("play", "start"), "message": ("send", "write"),
    "email": ("send", "write"),
    "alarm": ("set",), "timer": ("start", "set"), "reminder": ("set", "create"), "note": ("write", "take"),
    "meeting": ("schedule", "set up", "book"), "appointment": ("book", "schedule"), "table": ("book", "reserve"),
    "flight": ("book", "find"), "call": ("make", "place"), "payment": ("make", "send"), "invoice": ("send", "create"),
    "event": ("create", "schedule"), "report": ("generate", "run"), "backup": ("run", "make"), "scan": ("run", "start"),
}
# Everyday words for the same thing.
NOUN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "photo": ("picture", "pic", "shot", "snapshot"), "picture": ("photo", "pic"), "image": ("picture", "photo"),
    "video": ("clip", "footage", "recording"), "altitude": ("height",), "speed": ("velocity", "pace"),
    "location": ("place", "spot", "position"), "message": ("text", "note"), "lighting": ("lights",),
    "display": ("screen",), "panorama": ("panoramic shot", "pano"), "automobile": ("car",), "purchase": ("order",),
}
DIRECTIONS = {"forward", "forwards", "backward", "backwards", "back", "left", "right", "up", "down", "north", "south",
              "east", "west", "ahead"}
MOTION_VERBS = ("go", "move", "head")
# Unit spellings people type.
UNIT_SHORT = {"meters": ("m", "meter", "metres"), "metres": ("m",), "seconds": ("s", "sec", "secs"),
              "minutes": ("min", "mins"), "degrees": ("deg", "°"), "kilometers": ("km",),
              "km/h": ("kph", "km per hour"),
              "hours": ("h", "hrs"), "percent": ("%",), "feet": ("ft",)}
# How requests open in chat (the same openers as rejected requests, so that an opener
# never tells the two apart).
OPENERS = ("Hey, ", "Ok, ", "Hi! ", "Quick one: ", "Please, ", "Alright, ", "Now ", "")


def noun_to_verb(word: str) -> Optional[str]:
    """The verb a nominalized noun comes from ("movement" -> "move", "calibration" ->
    "calibrate", "lighting" -> "light"), when that verb is a common API verb or simple."""
    w = word.lower()
    for suffix, add in (("ment", ""), ("ation", "ate"), ("ation", "e"), ("ion", "e"), ("ing", ""), ("ing", "e")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            base = w[: -len(suffix)] + add
            if base in VERB_SET or (suffix in ("ment", "ing") and add == ""):
                return base
    return None
# Where a description's action ends and its purpose or qualifier begins.
_QUALIFIER = re.compile(r"\s(?:to|for|in|at|with|from|by|using|via|so that|when|during|based on|or a)\s")
ON_OFF = {"on": ("turn on", "enable", "activate", "switch on"), "off": ("turn off", "disable", "deactivate",
                                                                      "switch off")}
_ON_VALUES = {"on", "true", "enable", "enabled", "yes", "active", "start"}
_OFF_VALUES = {"off", "false", "disable", "disabled", "no", "inactive", "stop"}
UNITS = ("meters", "metres", "m", "km", "kilometers", "kilometres", "miles", "feet", "ft", "seconds", "secs",
         "minutes", "mins", "hours", "days", "weeks", "degrees", "km/h", "kph", "mph", "m/s", "percent", "%",
         "celsius", "fahrenheit", "kg", "kilograms", "grams", "g", "pounds", "lbs", "liters", "litres", "ml",
         "bytes", "kb", "mb", "gb", "pixels", "px", "dollars", "usd", "euros", "eur", "cm", "centimeters",
         "millimeters", "mm", "inches", "beats per minute", "bpm", "hz", "watts", "volts")
_UNIT_RE = re.compile(r"\b(?:in|as)\s+(" + "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
                      + r")\b", re.IGNORECASE)

REQUEST_FRAMES = (
    "{A}{args}.", "Please {a}{args}.", "Can you {a}{args}?", "Could you {a}{args}, please?",
    "I want to {a}{args}.", "I'd like you to {a}{args}.", "Go ahead and {a}{args}.", "{A}{args}, please.",
    "Let's {a}{args}.", "I need you to {a}{args}.", "Would you {a}{args}?", "Hey, {a}{args}.",
    "{a}{args}", "Time to {a}{args}.", "Quick one: {a}{args}.", "Right now, {a}{args}.",
    "Can we {a}{args}?", "{A}{args} now.", "Okay, {a}{args}.", "Hi! Could you {a}{args}?",
)
ASK_FRAMES = (
    "Sure. What {p} should I use?", "I can {a}. Which {p} do you want?", "Happy to. What should the {p} be?",
    "To {a} I need the {p}. What is it?", "What {p} would you like?", "Before I {a}: what {p}?",
)
ANSWER_FRAMES = (
    "Done. {summary}.", "All set: {summary}.", "It's done. {summary}.", "{summary}.", "Finished: {summary}.",
)


def sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def humanize(value: Any) -> str:
    """A value as a person would write it in a sentence."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value.replace("_", " ") if re.fullmatch(r"[a-z0-9_]+", value) else value
    if isinstance(value, list):
        parts = [humanize(v) for v in value]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1] if parts else "nothing"
    if isinstance(value, dict):
        return ", ".join(f"{' '.join(words(k))} {humanize(v)}" for k, v in value.items()) or "defaults"
    return str(value)


def _base_verb(word: str) -> Optional[str]:
    w = word.lower()
    if w in VERB_SET:
        return w
    for cut in (("ies", "y"), ("es", ""), ("s", "")):
        if w.endswith(cut[0]) and w[: -len(cut[0])] + cut[1] in VERB_SET:
            return w[: -len(cut[0])] + cut[1]
    return None


def unit_of(schema: Any) -> Optional[str]:
    text = schema.get("description", "") if isinstance(schema, dict) else ""
    m = _UNIT_RE.search(text or "")
    return m.group(1) if m else None


def is_switch(schema: Any) -> bool:
    """An enum of exactly an on and an off value (or a boolean named like a status)."""
    if not isinstance(schema, dict):
        return False
    values = {str(v).lower() for v in schema.get("enum") or []}
    return len(values) == 2 and bool(values & _ON_VALUES) and bool(values & _OFF_VALUES)


class Writer:
    def __init__(self, rng: random.Random):
        self.rng = rng

    # -- actions --

    def actions(self, function: dict) -> list[str]:
        """Imperative phrases for what the function does, lower case."""
        out = []
        desc = (function.get("description") or "").strip()
        first_sentence = re.split(r"(?<=[.!?])\s", desc, maxsplit=1)[0].rstrip(".!? ")
        ws = first_sentence.split()
        verb = _base_verb(ws[0]) if ws else None
        if verb and " or " not in " ".join(ws[:3]).lower():
            rest = " ".join(ws[1:])
            cut = _QUALIFIER.search(" " + rest + " ")
            short = rest[: cut.start()].strip() if cut and cut.start() > 4 else rest
            for obj in dict.fromkeys((short, re.sub(r"\b(?:the\s+)?\w+'s\s", "the ", short))):
                out.append(f"{verb} {obj}".strip())
                out += [f"{syn} {obj}".strip() for syn in VERBS[verb]]
        name_words = words(function["name"])
        if name_words and name_words[0] in COMPOUNDS:
            name_words = COMPOUNDS[name_words[0]].split() + name_words[1:]
            verb = " ".join(name_words[:2])
            name_words = [verb, *name_words[2:]]
        else:
            verb = _base_verb(name_words[0]) if name_words else None
        if verb:
            rest = name_words[1:]
            if rest and rest[0] in ("to", "from", "up", "down", "off", "out", "back"):
                out.append(" ".join([verb, *rest]))
                out += [" ".join([syn, *rest]) for syn in VERBS.get(verb, ())[:2]]
            elif rest:
                out.append(" ".join([verb, "the", *rest]))
                out += [" ".join([syn, "the", *rest]) for syn in VERBS[verb][:2]]
            else:
                out.append(verb)
        else:
            out.append(" ".join(name_words))
        # A nominalized noun in the name is the action itself: control_drone_movement -> "move the drone".
        for i, w in enumerate(name_words):
            base = noun_to_verb(w) if i > 0 or verb is None else None
            objects = [x for x in name_words[:i] if not _base_verb(x)]
            if base and objects:
                out.append(f"{base} the {' '.join(objects)}")
        return list(dict.fromkeys(a[0].lower() + a[1:] for a in out if a))

    def feature(self, function: dict, param: str, schema: dict) -> str:
        """What an on/off parameter switches ("battery saver mode")."""
        for text in (schema.get("description") or "", function.get("description") or ""):
            m = re.match(r"\s*(?:toggle|enable or disable|turn on or off|switch|configure|enable|set)\s+(.+?)[.\s]*$",
                         text, re.IGNORECASE)
            if m:
                feat = re.sub(r"\s+settings?$", "", m.group(1).replace("'", "").replace('"', ""))
                return feat.strip()
        name_words = words(function["name"])
        if name_words and _base_verb(name_words[0]):
            name_words = name_words[1:]
        return " ".join(name_words) or " ".join(words(param))

    # -- arguments --

    def argument(self, param: str, schema: Any, value: Any) -> str:
        """A phrase that states one argument's value."""
        r = self.rng
        pw = " ".join(words(param))
        v = humanize(value)
        schema = schema if isinstance(schema, dict) else {}
        if schema.get("enum"):
            if isinstance(value, str) and value.lower() in NOUN_SYNONYMS and r.random() < 0.4:
                v = r.choice(NOUN_SYNONYMS[value.lower()])
            return r.choice((f"{v} {pw}", f"{pw} {v}", f"with {pw} {v}", f"set to {v}", v,
                             f"in {v} {pw}" if pw in ("mode", "style", "setting") else f"{v} {pw}"))
        kind = schema.get("type")
        if kind in ("integer", "number"):
            unit = unit_of(schema)
            if unit and r.random() < 0.35 and unit.lower() in UNIT_SHORT:
                unit = r.choice(UNIT_SHORT[unit.lower()])
            if unit and value == 1 and unit.endswith("s") and len(unit) > 3:
                unit = unit[:-1]
            amount = (f"{v}{unit}" if unit in ("m", "s", "%", "°", "km", "h") and r.random() < 0.5
                      else f"{v} {unit}") if unit else v
            return r.choice((f"{pw} {amount}", f"{pw} of {amount}", f"to {amount}", f"at {amount}",
                             f"with {pw} {amount}", f"{amount}", f"{pw} set to {amount}",
                             f"by {amount}" if unit else f"{pw} {amount}"))
        if kind == "boolean":
            return f"with {pw}" if value else f"without {pw}"
        if isinstance(value, dict) and {"latitude", "longitude"} <= set(value):
            lat, lon = humanize(value["latitude"]), humanize(value["longitude"])
            return r.choice((f"at {lat}, {lon}", f"to coordinates {lat}, {lon}",
                             f"at latitude {lat} and longitude {lon}", f"{pw} {lat}, {lon}"))
        if isinstance(value, (dict, list)):
            return r.choice((f"{pw}: {v}", f"with {pw} {v}"))
        if any(k in pw for k in ("message", "text", "body", "content", "note", "comment")):
            return r.choice((f'saying "{v}"', f'with the {pw} "{v}"', f': "{v}"'))
        return r.choice((f"{pw} {v}", f"for {v}", f"{v}", f"with {pw} {v}", f"{pw}: {v}", f"to {v}"))

    def request(self, function: dict, arguments: dict, *, bare: bool = False) -> str:
        """One user request that asks for exactly this call (`bare`: the action and its
        arguments only, to be joined with others into one message)."""
        r = self.rng
        props, _, _ = parameters(function)
        switches = [p for p in arguments if is_switch(props.get(p))]
        phrases = [self.argument(p, props.get(p), v) for p, v in arguments.items() if p not in switches]
        r.shuffle(phrases)
        if switches:
            p = switches[0]
            on = str(arguments[p]).lower() in _ON_VALUES
            feat = self.feature(function, p, props[p])
            verb = r.choice(ON_OFF["on" if on else "off"])
            action = r.choice((f"{verb} {feat}", f"{verb} the {feat}", f"switch {feat} {'on' if on else 'off'}",
                               f"set {feat} to {arguments[p]}"))
            phrases += [self.argument(q, props.get(q), arguments[q]) for q in switches[1:]]
        else:
            action = r.choice(self.actions(function))
            thing = self.thing_action(props, arguments)
            if thing is not None and r.random() < 0.4:  # "take a photo", "go left": the value is the action
                action, used = thing
                phrases = [self.argument(p, props.get(p), v) for p, v in arguments.items() if p != used]
                r.shuffle(phrases)
        if not phrases:
            args = ""
        else:
            args = " " + " and ".join(phrases) if r.random() < 0.5 else " " + ", ".join(phrases)
        if bare:
            frame = "{a}{args}"
        elif r.random() < 0.2:  # a terse command: the action and values, or an opener before it
            frame = r.choice(OPENERS) + "{a}{args}" + r.choice((".", "", "!", " please."))
        else:
            frame = r.choice(REQUEST_FRAMES)
        text = frame.format(a=action, A=sentence_case(action), args=args)
        text = sentence_case(re.sub(r"\s+", " ", text).strip())
        if r.random() < 0.12 and not bare:  # people type in lower case without a full stop
            text = text.lower().rstrip(".")
        return text

    def thing_action(self, props: dict, arguments: dict) -> Optional[tuple[str, str]]:
        """An action made of an enum value ("take a picture", "move left"), and the
        parameter it states; None when no value is such a thing."""
        r = self.rng
        for p, v in arguments.items():
            schema = props.get(p)
            if not (isinstance(schema, dict) and schema.get("enum") and isinstance(v, str)):
                continue
            word = v.lower()
            if word in DIRECTIONS:
                return f"{r.choice(MOTION_VERBS)} {word}", p
            if word in OBJECT_VERBS:
                noun = r.choice((word, *NOUN_SYNONYMS.get(word, ())))
                article = "an" if noun[0] in "aeiou" else "a"
                return f"{r.choice(OBJECT_VERBS[word])} {article} {noun}", p
        return None

    def requests(self, function: dict, arguments: dict, n: int) -> list[str]:
        """Up to `n` distinct requests for one call."""
        found: list[str] = []
        for _ in range(n * 8):
            text = self.request(function, arguments)
            if text.lower() not in {f.lower() for f in found}:
                found.append(text)
            if len(found) == n:
                break
        return found

    # -- short assistant texts --

    def ask_for(self, function: dict, missing: str) -> str:
        """The assistant asking for a missing required argument."""
        props, _, _ = parameters(function)
        unit = unit_of(props.get(missing))
        p = " ".join(words(missing)) + (f" (in {unit})" if unit else "")
        enum = (props.get(missing) or {}).get("enum") if isinstance(props.get(missing), dict) else None
        text = self.rng.choice(ASK_FRAMES).format(p=p, a=self.rng.choice(self.actions(function)))
        if enum:
            text += " Options: " + ", ".join(humanize(v) for v in enum) + "."
        return text

    def supply(self, param: str, schema: Any, value: Any) -> str:
        """The user's follow-up that gives the missing value."""
        phrase = self.argument(param, schema, value)
        return self.rng.choice((f"{sentence_case(phrase)}.", f"Make it {phrase}.", f"{humanize(value)}",
                                f"Use {phrase}.", f"Oh, {phrase}."))

    def answer(self, function: dict, arguments: dict, result: Any) -> str:
        """An answer that reports the tool's result (every value in it comes from the result)."""
        if isinstance(result, dict):
            shown = {k: v for k, v in result.items() if not isinstance(v, (dict, list))} or result
            summary = "; ".join(f"{' '.join(words(k))}: {humanize(v)}" for k, v in shown.items())
        elif isinstance(result, str):
            summary = result.rstrip(".")
        else:
            shown = json.dumps(result) if isinstance(result, (list, dict)) else humanize(result)
            summary = f"the result is {shown}"
        return self.rng.choice(ANSWER_FRAMES).format(summary=sentence_case(summary))
