"""What each tool_choice mode guarantees (ARCHITECTURE.md), checked on both wire formats."""

from __future__ import annotations

import json

import jsonschema
import pytest

from .support import ALL_TOOLS, CALCULATOR, WEATHER, check_call, check_calls_only, collect_stream

pytestmark = pytest.mark.e2e

USER_WEATHER = [{"role": "user", "content": "What's the weather in Paris?"}]
USER_THREE_CITIES = [{"role": "user", "content": "What's the weather in Paris, London and Rome?"}]


def create(live, **kw):
    kw.setdefault("temperature", 0)
    with live.client() as c:
        return c.chat.completions.create(model=live.model, **kw)


def test_required_gives_only_valid_calls(any_server):
    tools = [WEATHER, CALCULATOR]
    r = create(any_server, messages=USER_WEATHER, tools=tools, tool_choice="required", max_tokens=100)
    choice = r.choices[0]
    check_calls_only(tools, choice)
    # The small model may keep calling until max_tokens; the server then closes the last call.
    assert choice.finish_reason in ("tool_calls", "length"), choice.finish_reason
    assert r.usage.completion_tokens <= 100


@pytest.mark.parametrize("name,max_tokens", [("book_flight", 80), ("set_light", 64), ("get_time", 40)])
def test_named_tool_gives_exactly_one_valid_call(any_server, name, max_tokens):
    """A nested-object tool, an enum tool and a no-parameter tool, each forced by name."""
    prompt = {
        "book_flight": "Book Alice, 30, a window seat from Paris to Rome.",
        "set_light": "Make the kitchen light blue.",
        "get_time": "What time is it?",
    }[name]
    r = create(any_server, messages=[{"role": "user", "content": prompt}], tools=ALL_TOOLS,
               tool_choice={"type": "function", "function": {"name": name}}, max_tokens=max_tokens)
    choice = r.choices[0]
    (call,) = check_calls_only(ALL_TOOLS, choice, exactly_one=True)
    assert call.function.name == name
    assert choice.finish_reason == "tool_calls"
    if name == "get_time":
        assert json.loads(call.function.arguments) == {}


def test_none_never_calls_even_when_asked(any_server):
    messages = [{"role": "user", "content": "Use the get_weather tool now! Call get_weather for Paris. "
                                            "Reply only with the tool call."}]
    r = create(any_server, messages=messages, tools=[WEATHER], tool_choice="none", max_tokens=40)
    choice = r.choices[0]
    assert choice.message.tool_calls is None
    assert choice.finish_reason in ("stop", "length")
    assert isinstance(choice.message.content, str) and choice.message.content


def test_none_never_calls_when_streaming(any_server):
    messages = [{"role": "user", "content": "Call the calculator tool with 2+2. Only the tool call, please."}]
    with any_server.client() as c:
        chunks = list(c.chat.completions.create(model=any_server.model, messages=messages, tools=[CALCULATOR],
                                                tool_choice="none", max_tokens=32, temperature=0, stream=True))
    out = collect_stream(chunks)
    assert out["calls"] == []
    assert out["finish_reason"] in ("stop", "length")


def _weather_exchange(city: str, call_id: str) -> list[dict]:
    """One finished call-and-answer exchange, as an example in the history."""
    return [
        {"role": "user", "content": f"What's the weather in {city}?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function",
             "function": {"name": "get_weather", "arguments": json.dumps({"city": city})}}]},
        {"role": "tool", "tool_call_id": call_id, "content": '{"temperature": 20}'},
        {"role": "assistant", "content": f"It is 20 degrees in {city}."},
    ]


# with two worked examples in the history (used where the stream is compared with the whole reply)
AFTER_EXAMPLES = [*_weather_exchange("Rome", "call_ex1"), *_weather_exchange("Oslo", "call_ex2"),
                  {"role": "user", "content": "What's the weather in Paris?"}]


@pytest.mark.parametrize("tool_choice", ["required", "auto"])
def test_parallel_tool_calls_false_gives_at_most_one_call(any_server, tool_choice):
    r = create(any_server, messages=USER_THREE_CITIES, tools=[WEATHER], tool_choice=tool_choice,
               parallel_tool_calls=False, max_tokens=64)
    choice = r.choices[0]
    calls = choice.message.tool_calls or []
    assert len(calls) <= 1, [c.function.arguments for c in calls]
    if tool_choice == "required":
        check_calls_only([WEATHER], choice, exactly_one=True)
        assert choice.finish_reason == "tool_calls"
    for call in calls:
        check_call([WEATHER], call)


def test_parallel_tool_calls_false_when_streaming(any_server):
    with any_server.client() as c:
        chunks = list(c.chat.completions.create(
            model=any_server.model, messages=USER_THREE_CITIES, tools=[WEATHER], tool_choice="required",
            parallel_tool_calls=False, max_tokens=64, temperature=0, stream=True))
    out = collect_stream(chunks)
    assert len(out["calls"]) == 1
    assert out["finish_reason"] == "tool_calls"
    assert out["content"] is None


@pytest.mark.parametrize("variant", ["named-call", "auto", "text"])
def test_stream_reassembles_to_the_whole_response(any_server, variant):
    """Same request, temperature 0, same seed: the stream adds up to the non-streamed result."""
    if variant == "named-call":
        kw = dict(messages=[{"role": "user", "content": "Make the office light green."}], tools=ALL_TOOLS,
                  tool_choice={"type": "function", "function": {"name": "set_light"}}, max_tokens=64)
    elif variant == "auto":
        kw = dict(messages=AFTER_EXAMPLES, tools=[WEATHER, CALCULATOR], tool_choice="auto", max_tokens=64)
    else:
        kw = dict(messages=[{"role": "user", "content": "Say hello to Bob in one sentence."}], tools=[WEATHER],
                  tool_choice="none", max_tokens=24)
    kw.update(temperature=0, seed=7)
    with any_server.client() as c:
        whole = c.chat.completions.create(model=any_server.model, **kw)
        chunks = list(c.chat.completions.create(model=any_server.model, stream=True, **kw))
    streamed = collect_stream(chunks)
    choice = whole.choices[0]
    assert streamed["content"] == choice.message.content
    assert [(x["name"], x["arguments"]) for x in streamed["calls"]] == [
        (t.function.name, t.function.arguments) for t in choice.message.tool_calls or []]
    assert streamed["finish_reason"] == choice.finish_reason
    if variant == "named-call":
        assert choice.finish_reason == "tool_calls" and len(streamed["calls"]) == 1
        check_call(ALL_TOOLS, choice.message.tool_calls[0])


PERSON_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "mood": {"type": "string", "enum": ["happy", "sad", "neutral"]},
        "age": {"type": "integer"},
    },
    "required": ["name", "mood", "age"],
    "additionalProperties": False,
}


def test_response_format_json_schema(any_server):
    r = create(any_server, messages=[{"role": "user", "content": "Describe a person called Tom as JSON."}],
               response_format={"type": "json_schema",
                                "json_schema": {"name": "person", "schema": PERSON_SCHEMA, "strict": True}},
               max_tokens=64)
    choice = r.choices[0]
    assert choice.finish_reason == "stop", choice.message.content
    assert choice.message.tool_calls is None
    value = json.loads(choice.message.content)
    jsonschema.validate(value, PERSON_SCHEMA)


def test_response_format_json_object(any_server):
    r = create(any_server, messages=[{"role": "user", "content": 'What is 2 + 2? Reply as {"answer": <number>}.'}],
               response_format={"type": "json_object"}, max_tokens=64)
    choice = r.choices[0]
    assert choice.finish_reason == "stop", choice.message.content
    assert isinstance(json.loads(choice.message.content), dict)


LOCK = {"type": "function", "function": {"name": "lock_door", "description": "Lock or unlock a door.", "parameters": {
    "type": "object", "properties": {
        "door": {"type": "string", "enum": ["front", "back", "garage", "patio"], "description": "Door."},
        "action": {"type": "string", "enum": ["lock", "unlock"], "description": "What to do."}},
    "required": ["door", "action"]}}}


def test_auto_takes_the_call_path_end_to_end(any_server):
    """`auto` on a prompt where the bundled model does call (temperature 0, both engines,
    both wire formats; "What's the weather in Paris?" and the other prompts tried answer in
    text on the default format): the text -> constrained-call switch runs, the call is
    complete and valid, and the stream adds up to the same call."""
    kw = dict(messages=[{"role": "user", "content": "Lock the front door."}], tools=[LOCK], tool_choice="auto",
              max_tokens=64)
    choice = create(any_server, **kw).choices[0]
    calls = choice.message.tool_calls or []
    assert calls, f"the model answered in text this time: {choice.message.content!r}"
    assert choice.finish_reason == "tool_calls"
    for call in calls:
        check_call([LOCK], call)
    assert json.loads(calls[0].function.arguments)["door"] == "front"
    with any_server.client() as c:
        streamed = collect_stream(c.chat.completions.create(model=any_server.model, temperature=0, stream=True, **kw))
    assert [(s["name"], s["arguments"]) for s in streamed["calls"]] == [(c.function.name, c.function.arguments)
                                                                        for c in calls]
    assert streamed["finish_reason"] == "tool_calls"
