"""Schema-derived values, invocation enumeration and the offline writer."""

from __future__ import annotations

import json
import random

import jsonschema
import pytest

from functionary.data.invocations import Enumerator, conditions
from functionary.data.phrasing import Writer, humanize, is_switch, unit_of
from functionary.data.values import ValueMaker, prose_bounds, words

SCHEMAS = {
    "nested": {"type": "object", "required": ["guests"], "properties": {
        "guests": {"type": "array", "minItems": 2, "maxItems": 4, "items": {
            "type": "object", "required": ["name", "vegetarian"],
            "properties": {"name": {"type": "string"}, "vegetarian": {"type": "boolean"}}}}}},
    "enum": {"type": "string", "enum": ["red", "green", "blue"]},
    "anyOf": {"anyOf": [{"type": "integer", "minimum": 5}, {"type": "string", "maxLength": 3}]},
    "oneOf_null": {"oneOf": [{"type": "null"}, {"type": "string", "format": "date"}]},
    "pattern": {"type": "string", "pattern": "^[a-z]+@[a-z]+\\.com$"},
    "pattern_code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
    "formats": {"type": "object", "required": ["when", "mail", "site", "at", "id"], "properties": {
        "when": {"type": "string", "format": "date-time"}, "mail": {"type": "string", "format": "email"},
        "site": {"type": "string", "format": "uri"}, "at": {"type": "string", "format": "time"},
        "id": {"type": "string", "format": "uuid"}}},
    "min_length": {"type": "string", "minLength": 12, "maxLength": 14},
    "int_bounds": {"type": "integer", "minimum": 3, "maximum": 7},
    "exclusive": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "multiple_of": {"type": "integer", "minimum": 10, "maximum": 100, "multipleOf": 15},
    "unique": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 3}, "minItems": 3,
               "uniqueItems": True},
    "ref": {"type": "object", "$defs": {"pt": {"type": "object", "required": ["x", "y"],
                                               "properties": {"x": {"type": "number"}, "y": {"type": "number"}}}},
            "required": ["a", "b"], "properties": {"a": {"$ref": "#/$defs/pt"}, "b": {"$ref": "#/$defs/pt"}}},
    "empty_properties": {"type": "object", "properties": {}},
    "type_list": {"type": ["string", "null"], "maxLength": 5},
    "const": {"const": "fixed"},
    "allOf": {"allOf": [{"type": "integer"}, {"minimum": 40, "maximum": 41}]},
    "prose_range": {"type": "integer", "description": "Speed in km/h. Valid range is 0 to 100."},
}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_value_validates_against_its_schema(name):
    maker = ValueMaker(random.Random(7))
    for _ in range(60):
        jsonschema.validate(maker.value(name, SCHEMAS[name]), SCHEMAS[name])


def test_values_are_seeded():
    a = [ValueMaker(random.Random(3)).value("guests", SCHEMAS["nested"]) for _ in range(2)]
    assert a[0] == a[1]


def test_names_pick_realistic_strings():
    maker = ValueMaker(random.Random(0))
    assert "@" in maker.value("email", {"type": "string"})
    assert maker.value("city", {"type": "string"}) in ("Paris", "Tokyo", "Nairobi", "Lima", "Oslo", "Toronto",
                                                       "Madrid", "Seoul", "Cairo", "Denver", "Lisbon", "Mumbai",
                                                       "Sydney", "Chicago", "Berlin", "Dublin")


def test_prose_bounds_keep_numbers_in_the_stated_range():
    assert prose_bounds("Valid range is 0 to 100.") == (0, 100)
    assert prose_bounds("between 5 and 9 items") == (5, 9)
    assert prose_bounds("At most 3 retries") == (None, 3)
    assert prose_bounds("no numbers here") == (None, None)
    maker = ValueMaker(random.Random(1))
    assert all(0 <= maker.value("speed", SCHEMAS["prose_range"]) <= 100 for _ in range(200))


def test_free_objects_named_coordinates_get_latitude_and_longitude():
    value = ValueMaker(random.Random(0)).value("coordinates", {"type": "object"})
    assert set(value) == {"latitude", "longitude"}


def test_words_split_names():
    assert words("set_drone_speed") == ["set", "drone", "speed"]
    assert words("getWeatherNow") == ["get", "weather", "now"]
    assert words("Get-ETA") == ["get", "eta"]


# ----------------------------------------------------------------------------- enumeration

FUNCTION = {"name": "record", "description": "Record a clip.", "parameters": {
    "type": "object", "required": ["mode", "loud"],
    "properties": {
        "mode": {"type": "string", "enum": ["photo", "video", "burst"]},
        "loud": {"type": "boolean"},
        "seconds": {"type": "integer", "minimum": 1, "maximum": 30,
                    "description": "Length in seconds. Required if mode is 'video'."},
        "label": {"type": "string"},
        "quality": {"type": "integer", "minimum": 1, "maximum": 5},
    }}}


def test_enumeration_covers_enums_booleans_bounds_and_optional_subsets():
    invs = Enumerator(ValueMaker(random.Random(0))).enumerate(FUNCTION, 40)
    args = [i.arguments for i in invs]
    assert set(args[0]) <= {"mode", "loud", "seconds"}  # required only first (plus the conditioned one)
    assert {a["mode"] for a in args} == {"photo", "video", "burst"}
    assert {a["loud"] for a in args} == {True, False}
    assert {a.get("quality") for a in args} >= {1, 5}  # the bounds themselves
    assert any("label" in a and "quality" not in a for a in args)  # an optional one alone
    assert any("label" in a and "quality" in a for a in args)  # all optional together
    assert len({i.key for i in invs}) == len(invs)  # distinct
    for a in args:
        jsonschema.validate(a, FUNCTION["parameters"])


def test_description_conditions_decide_conditioned_arguments():
    (cond,) = conditions(FUNCTION)
    assert (cond.param, cond.other, cond.value, cond.negated) == ("seconds", "mode", "video", False)
    invs = Enumerator(ValueMaker(random.Random(2))).enumerate(FUNCTION, 40)
    for inv in invs:
        assert ("seconds" in inv.arguments) == (inv.arguments["mode"] == "video"), inv.arguments


def test_negated_condition():
    fn = {"name": "led", "parameters": {"type": "object", "required": ["pattern"], "properties": {
        "pattern": {"type": "string", "enum": ["solid", "rainbow"]},
        "color": {"type": "string", "enum": ["red", "blue"], "description": "Not required if pattern is 'rainbow'."}}}}
    for inv in Enumerator(ValueMaker(random.Random(0))).enumerate(fn, 10):
        assert ("color" in inv.arguments) == (inv.arguments["pattern"] != "rainbow")


def test_enumeration_respects_the_limit_and_keeps_the_required_only_call():
    invs = Enumerator(ValueMaker(random.Random(0))).enumerate(FUNCTION, 3)
    assert len(invs) == 3
    assert set(invs[0].arguments) <= {"mode", "loud", "seconds"}


def test_a_function_without_parameters_has_one_invocation():
    invs = Enumerator(ValueMaker(random.Random(0))).enumerate({"name": "ping", "parameters": {"type": "object"}}, 5)
    assert [i.arguments for i in invs] == [{}]


# ----------------------------------------------------------------------------- writer

def test_requests_state_every_enum_value_and_number():
    w = Writer(random.Random(0))
    fn = {"name": "move_robot", "description": "Move the robot in a direction.", "parameters": {
        "type": "object", "required": ["direction", "distance"], "properties": {
            "direction": {"type": "string", "enum": ["left", "right"]},
            "distance": {"type": "integer", "description": "Distance in meters."}}}}
    for text in w.requests(fn, {"direction": "left", "distance": 30}, 6):
        assert "left" in text.lower() and "30" in text


def test_requests_are_distinct():
    w = Writer(random.Random(0))
    texts = w.requests(FUNCTION, {"mode": "photo", "loud": True}, 5)
    assert len(texts) == 5 and len({t.lower() for t in texts}) == 5


def test_switch_enums_become_the_action():
    fn = {"name": "set_night_mode", "description": "Enable or disable night mode.", "parameters": {
        "type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["on", "off"]}}}}
    assert is_switch(fn["parameters"]["properties"]["status"])
    w = Writer(random.Random(0))
    on = w.requests(fn, {"status": "on"}, 6)
    off = w.requests(fn, {"status": "off"}, 6)
    assert all("night mode" in t.lower() for t in on + off)
    assert all(any(k in t.lower() for k in ("on", "enable", "activate")) for t in on)
    assert all(any(k in t.lower() for k in ("off", "disable", "deactivate")) for t in off)


def test_units_come_from_the_description():
    assert unit_of({"description": "Altitude in meters to climb to."}) == "meters"
    assert unit_of({"description": "Speed in km/h."}) == "km/h"
    assert unit_of({"description": "Move in a specific direction."}) is None


def test_actions_come_from_description_and_name():
    w = Writer(random.Random(0))
    acts = w.actions({"name": "takeoff_drone", "description": "Initiate the drone's takeoff sequence."})
    assert "initiate the drone's takeoff sequence" in acts
    assert "start the drone's takeoff sequence" in acts  # a synonym of the leading verb
    assert "take off the drone" in acts  # the compound verb in the name
    acts = w.actions({"name": "get_weather", "description": "Gets the current weather for a city."})
    assert "get the current weather" in acts  # third person undone, the qualifier cut


def test_humanize():
    assert humanize("home_base") == "home base"
    assert humanize(["a", "b", "c"]) == "a, b and c"
    assert humanize(3.0) == "3"
    assert humanize({"latitude": 1.5}) == "latitude 1.5"


def test_answers_report_only_what_the_result_says():
    w = Writer(random.Random(0))
    text = w.answer(FUNCTION, {}, {"status": "stored", "clip_id": "c-17"})
    assert "stored" in text and "c-17" in text
    assert json.loads(json.dumps(text))  # plain text
