"""Response shape, sampling options, streaming details and conversations, on the main server."""

from __future__ import annotations

import json
import re

import openai
import pytest

from .support import CALCULATOR, WEATHER, check_arguments, check_call, check_calls_only, collect_stream

pytestmark = pytest.mark.e2e

THREE_CITIES = [{"role": "user", "content": "What's the weather in Paris, London and Rome?"}]
COUNT = [{"role": "user", "content": "Count from 1 to 20, separated by commas."}]


def create(client, server, **kw):
    kw.setdefault("temperature", 0)
    return client.chat.completions.create(model=server.model, **kw)


# ----------------------------------------------------------------------------- whole responses


def test_whole_response_with_calls(client, server):
    r = create(client, server, messages=THREE_CITIES, tools=[WEATHER], tool_choice="required", max_tokens=100)
    assert r.object == "chat.completion"
    assert r.id.startswith("chatcmpl-")
    assert r.model == server.model
    assert len(r.choices) == 1 and r.choices[0].index == 0
    choice = r.choices[0]
    calls = check_calls_only([WEATHER], choice)  # content None, ids unique and call_..., arguments valid
    assert choice.message.role == "assistant"
    assert r.usage is not None
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0
    assert r.usage.prompt_tokens + r.usage.completion_tokens == r.usage.total_tokens
    assert r.usage.completion_tokens <= 100
    print(f"\n{len(calls)} calls: {[c.function.arguments for c in calls]}")


def test_legacy_functions_and_function_call(client, server):
    functions = [WEATHER["function"], CALCULATOR["function"]]
    r = create(client, server, messages=[{"role": "user", "content": "What is 12 * 7?"}], functions=functions,
               function_call={"name": "calculator"}, max_tokens=64)
    choice = r.choices[0]
    (call,) = check_calls_only([WEATHER, CALCULATOR], choice, exactly_one=True)
    assert call.function.name == "calculator"
    assert choice.finish_reason == "tool_calls"

    r = create(client, server, messages=[{"role": "user", "content": "Call calculator with 2+2."}],
               functions=functions, function_call="none", max_tokens=16)
    assert r.choices[0].message.tool_calls is None
    assert r.choices[0].message.content


def test_legacy_function_message_in_history(client, server):
    messages = [
        {"role": "user", "content": "What is 12 * 7?"},
        {"role": "assistant", "content": None, "function_call": {"name": "calculator", "arguments": '{"expression": "12 * 7"}'}},
        {"role": "function", "name": "calculator", "content": "84"},
    ]
    r = create(client, server, messages=messages, functions=[CALCULATOR["function"]], max_tokens=24)
    choice = r.choices[0]
    for call in choice.message.tool_calls or []:
        check_call([CALCULATOR], call)
    assert choice.message.content or choice.message.tool_calls


def test_conversation_with_tool_results(client, server):
    messages = [
        *THREE_CITIES,
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_a1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
            {"id": "call_b2", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "London", "unit": "celsius"}'}},
        ]},
        {"role": "tool", "tool_call_id": "call_a1", "content": '{"temperature": 21, "sky": "sunny"}'},
        {"role": "tool", "tool_call_id": "call_b2", "content": '{"temperature": 14, "sky": "rain"}'},
    ]
    r = create(client, server, messages=messages, tools=[WEATHER], tool_choice="auto", max_tokens=48)
    choice = r.choices[0]
    for call in choice.message.tool_calls or []:
        check_call([WEATHER], call)
    assert choice.finish_reason in ("stop", "length", "tool_calls")
    assert choice.message.content or choice.message.tool_calls
    print(f"\nafter tool results: {choice.finish_reason}, {choice.message.content!r}")


# ----------------------------------------------------------------------------- sampling options


def test_max_tokens_gives_length(client, server):
    r = create(client, server, messages=COUNT, max_tokens=5)
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 5
    r = create(client, server, messages=COUNT, max_completion_tokens=3)
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 3


def test_max_tokens_too_small_for_any_call_is_a_400_naming_the_minimum(client, server):
    with pytest.raises(openai.BadRequestError) as info:
        create(client, server, messages=THREE_CITIES, tools=[WEATHER], tool_choice="required", max_tokens=12)
    error = info.value.body
    assert error["code"] == "max_tokens_too_small" and error["param"] == "max_tokens"
    needed = int(re.search(r"at least (\d+)", error["message"]).group(1))
    assert needed > 12


@pytest.mark.parametrize("extra", [0, 3, 20])
def test_max_tokens_inside_a_required_call_still_gives_a_complete_call(client, server, extra):
    """The budget runs out inside the call: the server closes it, within max_tokens."""
    with pytest.raises(openai.BadRequestError) as info:
        create(client, server, messages=THREE_CITIES, tools=[WEATHER], tool_choice="required", max_tokens=1)
    budget = int(re.search(r"at least (\d+)", info.value.body["message"]).group(1)) + extra
    r = create(client, server, messages=THREE_CITIES, tools=[WEATHER], tool_choice="required", max_tokens=budget)
    choice = r.choices[0]
    check_calls_only([WEATHER], choice)
    assert choice.finish_reason in ("length", "tool_calls")
    assert r.usage.completion_tokens <= budget
    streamed = collect_stream(create(client, server, messages=THREE_CITIES, tools=[WEATHER], tool_choice="required",
                                     max_tokens=budget, stream=True))
    assert [(c["name"], c["arguments"]) for c in streamed["calls"]] == \
        [(c.function.name, c.function.arguments) for c in choice.message.tool_calls]
    assert streamed["finish_reason"] == choice.finish_reason


def test_stop_strings_cut_content(client, server):
    full = create(client, server, messages=COUNT, max_tokens=40).choices[0].message.content
    assert "7" in full, full  # the test needs text that reaches the stop string
    r = create(client, server, messages=COUNT, max_tokens=40, stop=["7", "never-appears"])
    choice = r.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.content == full[: full.index("7")]
    streamed = collect_stream(create(client, server, messages=COUNT, max_tokens=40, stop=["7", "never-appears"],
                                     stream=True))
    assert streamed["content"] == choice.message.content
    assert streamed["finish_reason"] == "stop"


POEM = [{"role": "user", "content": "Write a short poem about the sea."}]


def test_seed_makes_sampling_reproducible(client, server):
    kw = dict(messages=POEM, temperature=0.8, seed=1234, max_tokens=24)
    first = create(client, server, **kw).choices[0].message.content
    second = create(client, server, **kw).choices[0].message.content
    assert first and first == second


def test_different_seeds_give_different_samples(client, server):
    """A server that ignored temperature or seed would give one text for all four."""
    samples = [create(client, server, messages=POEM, temperature=1.0, seed=seed, max_tokens=24).choices[0].message.content
               for seed in (1, 2, 3, 4)]
    assert len(set(samples)) == 4, samples


def test_n_choices_at_temperature_differ_and_repeat_with_the_seed(client, server):
    kw = dict(messages=POEM, n=3, temperature=1.0, seed=11, max_tokens=24)
    first = [c.message.content for c in create(client, server, **kw).choices]
    again = [c.message.content for c in create(client, server, **kw).choices]
    assert len(set(first)) > 1, first  # not one sample copied n times
    assert first == again


def test_n_gives_several_choices(client, server):
    r = create(client, server, messages=[{"role": "user", "content": "Name a fruit."}], n=2, temperature=0.8,
               seed=5, max_tokens=12)
    assert [c.index for c in r.choices] == [0, 1]
    for c in r.choices:
        assert c.finish_reason in ("stop", "length")
        assert c.message.content
    assert r.usage.completion_tokens <= 24
    assert r.usage.prompt_tokens + r.usage.completion_tokens == r.usage.total_tokens


def test_n_with_tools_streams_every_choice(client, server):
    stream = create(client, server, messages=THREE_CITIES, tools=[WEATHER], tool_choice="required",
                    parallel_tool_calls=False, n=2, temperature=0.8, seed=3, max_tokens=64, stream=True)
    per_choice: dict[int, list] = {0: [], 1: []}
    for chunk in stream:
        for choice in chunk.choices:
            per_choice[choice.index].append(choice)
    for index, choices in per_choice.items():
        assert choices[0].delta.role == "assistant"
        assert [c.finish_reason for c in choices if c.finish_reason] == ["tool_calls"], index
        args = "".join(tc.function.arguments or "" for c in choices for tc in c.delta.tool_calls or [])
        names = [tc.function.name for c in choices for tc in c.delta.tool_calls or [] if tc.function.name]
        assert names == ["get_weather"]
        check_arguments([WEATHER], "get_weather", args)


def test_unknown_fields_are_accepted(client, server):
    r = create(client, server, messages=COUNT, max_tokens=3, store=False, metadata={"suite": "e2e"}, user="user-1",
               extra_body={"some_future_field": {"x": 1}, "service_tier": "auto"})
    assert r.choices[0].finish_reason == "length"


# ----------------------------------------------------------------------------- streaming


def test_streamed_calls_fragments_and_usage(client, server):
    stream = create(client, server, messages=THREE_CITIES, tools=[WEATHER], tool_choice="required", max_tokens=100,
                    stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    out = collect_stream(chunks)  # role only first; first call fragment has index/id/type/name; then arguments
    assert out["content"] is None
    assert out["calls"]
    ids = [c["id"] for c in out["calls"]]
    assert len(set(ids)) == len(ids)
    assert len({c.id for c in chunks}) == 1  # one completion id across the stream
    # every streamed call is complete, even when max_tokens forced the close
    assert out["finish_reason"] in ("tool_calls", "length")
    for call in out["calls"]:
        check_arguments([WEATHER], call["name"], call["arguments"])
    # include_usage: one final chunk with the usage and no choices
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.prompt_tokens + last.usage.completion_tokens == last.usage.total_tokens
    assert 0 < last.usage.completion_tokens <= 100
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_without_include_usage_has_no_usage_chunk(client, server):
    chunks = list(create(client, server, messages=COUNT, max_tokens=4, stream=True))
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices and chunks[-1].choices[0].finish_reason == "length"


def test_sse_wire_format_ends_with_done(server):
    body = {"model": server.model, "messages": THREE_CITIES, "tools": [WEATHER], "tool_choice": "required",
            "max_tokens": 40, "temperature": 0, "stream": True, "stream_options": {"include_usage": True}}
    with server.http() as http:
        with http.stream("POST", "/v1/chat/completions", json=body) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            text = "".join(r.iter_text())
    events = [e for e in text.split("\n\n") if e.strip()]
    assert all(e.startswith("data: ") for e in events), events[:3]
    assert events[-1] == "data: [DONE]"
    payloads = [json.loads(e[len("data: "):]) for e in events[:-1]]
    assert all(p["object"] == "chat.completion.chunk" for p in payloads)
    assert payloads[0]["choices"][0]["delta"]["role"] == "assistant"
    assert payloads[-1]["choices"] == [] and payloads[-1]["usage"]["total_tokens"] > 0
    assert text.count("[DONE]") == 1
