"""get_completion against a scripted endpoint: tool choice, results, retries, usage."""

import asyncio
import json
import threading

import pytest
from pydantic import BaseModel, Field, field_validator

from functionary.client import ToolCallsFailed, ToolError, get_completion, get_completion_sync

from .scripted import MODEL, Scripted, reply, text


class City(BaseModel):
    name: str
    population: int = Field(ge=0)


class Country(BaseModel):
    """A country and its capital."""
    name: str
    capital: City

    @field_validator("name")
    @classmethod
    def capitalised(cls, v: str) -> str:
        if not v[:1].isupper():
            raise ValueError("the name must start with a capital letter")
        return v


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def divide(a: float, b: float) -> float:
    """Divide a by b."""
    if b == 0:
        raise ToolError("b must not be zero; pick another divisor")
    return a / b


FRANCE = {"name": "France", "capital": {"name": "Paris", "population": 2100000}}


def run(coro):
    return asyncio.run(coro)


def test_single_model_tool_is_forced_and_validated_nested():
    s = Scripted(reply(("Country", FRANCE)))
    r = run(get_completion(user_message="France?", tools=[Country], client=s.async_client()))
    assert r.results == [Country(name="France", capital=City(name="Paris", population=2100000))]
    assert isinstance(r.results[0].capital, City)
    assert r.attempts == 1 and r.ok and r.final_message is None
    assert s.choice(0) == {"type": "function", "function": {"name": "Country"}}
    assert s.requests[0]["model"] == MODEL  # the first model the server lists
    assert s.requests[0]["messages"] == [{"role": "user", "content": "France?"}]


def test_several_tools_default_to_required_and_kwargs_pass_through():
    s = Scripted(reply(("add", {"a": 1, "b": 2})))
    r = run(get_completion([{"role": "user", "content": "1+2"}], system_prompt="Be exact.", tools=[add, divide],
                           client=s.async_client(), model="m2", temperature=0, max_tokens=50, seed=7))
    assert r.results == [3]
    req = s.requests[0]
    assert req["tool_choice"] == "required" and req["model"] == "m2"
    assert (req["temperature"], req["max_tokens"], req["seed"]) == (0, 50, 7)
    assert req["messages"][0] == {"role": "system", "content": "Be exact."}
    assert s.offered(0) == ["add", "divide"]
    assert s.model_lookups == 0  # model given: no lookup


def test_explicit_tool_choice_auto_accepts_a_text_answer():
    s = Scripted(text("No tool needed."))
    r = run(get_completion(user_message="hi", tools=[add], tool_choice="auto", client=s.async_client()))
    assert r.results == [] and r.final_message == "No tool needed." and r.ok
    assert r.clean_history[-1] == {"role": "assistant", "content": "No tool needed."}
    assert s.choice(0) == "auto"


def test_missing_call_under_required_is_fed_back_and_retried():
    s = Scripted(text("I think 3."), reply(("add", {"a": 1, "b": 2})))
    r = run(get_completion(user_message="1+2", tools=[add, divide], retries=1, client=s.async_client()))
    assert r.results == [3] and r.attempts == 2
    assert s.requests[1]["messages"][-1]["role"] == "user"
    assert "add, divide" in s.requests[1]["messages"][-1]["content"]
    with pytest.raises(ToolCallsFailed, match="without calling a tool"):
        run(get_completion(user_message="1+2", tools=[add, divide], client=Scripted(text("3")).async_client()))


def test_parallel_results_in_call_order_and_model_lookup_cached():
    s = Scripted(reply(("add", {"a": 1, "b": 1}), ("Country", FRANCE), ("add", {"a": 2, "b": 2})),
                 reply(("add", {"a": 5, "b": 5})))
    client = s.async_client()
    r = run(get_completion(user_message="go", tools=[add, Country], client=client))
    assert r.results[0] == 2 and r.results[1].name == "France" and r.results[2] == 4
    run(get_completion(user_message="again", tools=[add], client=client))
    assert s.model_lookups == 1


def test_retry_unknown_name_bad_json_validation_error_and_tool_error():
    s = Scripted(
        reply(("add", {"a": 1, "b": 2}),                  # ok
              ("multiply", {"a": 2}),                      # unknown name
              ("Country", '{"name": "France", "capital"'),  # bad JSON
              ("divide", {"a": 1, "b": 0}),                # ToolError
              ("Country", {"name": "spain", "capital": {"name": "Madrid", "population": 1}}),  # validator
              usage=(100, 40)),
        reply(("divide", {"a": 1, "b": 4}), ("Country", FRANCE), ("add", {"a": 3, "b": 3}),
              ("Country", {"name": "Spain", "capital": {"name": "Madrid", "population": 1}}), usage=(150, 30)),
    )
    r = run(get_completion(user_message="do it all", tools=[add, divide, Country], retries=2,
                           client=s.async_client()))
    assert r.attempts == 2 and r.ok
    # retried calls take the places of the failed ones: results in first-call order
    assert [x if not isinstance(x, Country) else x.name for x in r.results] == [3, 6, "France", 0.25, "Spain"]
    # the feedback the model saw, as tool messages answering each failed call
    feedback = [m["content"] for m in s.requests[1]["messages"] if m["role"] == "tool"]
    assert feedback[0] == "3"
    assert "no function named 'multiply'" in feedback[1] and "add, divide, Country" in feedback[1]
    assert "not valid JSON" in feedback[2] and "Call `Country` again" in feedback[2]
    assert feedback[3] == "Error: b must not be zero; pick another divisor"
    assert "name: Value error, the name must start with a capital letter" in feedback[4]
    # an unknown name was among the failures: every tool is offered again
    assert s.offered(1) == ["add", "divide", "Country"] and s.choice(1) == "required"
    assert r.usage.prompt_tokens == 250 and r.usage.completion_tokens == 70 and r.usage.total_tokens == 320


def test_only_failed_tools_are_offered_and_a_single_failure_is_forced():
    s = Scripted(reply(("add", {"a": 1, "b": 2}), ("divide", {"a": 1, "b": "zero"})),
                 reply(("divide", {"a": 1, "b": 2})))
    r = run(get_completion(user_message="x", tools=[add, divide, Country], retries=1, client=s.async_client()))
    assert r.results == [3, 0.5]
    assert s.offered(1) == ["divide"]
    assert s.choice(1) == {"type": "function", "function": {"name": "divide"}}
    # two failures of one tool: offered once, "required" so that both can be redone
    s = Scripted(reply(("divide", {"a": 1, "b": 0}), ("add", {"a": 1, "b": 1}), ("divide", {"a": 2, "b": 0})),
                 reply(("divide", {"a": 1, "b": 1}), ("divide", {"a": 2, "b": 1})))
    r = run(get_completion(user_message="x", tools=[add, divide, Country], retries=1, client=s.async_client()))
    assert r.results == [1.0, 2, 2.0]
    assert s.offered(1) == ["divide"] and s.choice(1) == "required"


def test_retries_exhausted_raise_with_partial_result():
    s = Scripted(reply(("add", {"a": 1, "b": 2}), ("divide", {"a": 1, "b": 0})),
                 reply(("divide", {"a": 1, "b": 0})))
    with pytest.raises(ToolCallsFailed) as e:
        run(get_completion(user_message="x", tools=[add, divide], retries=1, client=s.async_client()))
    res = e.value.result
    assert res.attempts == 2 and not res.ok and res.results == [3]
    assert res.errors == ["divide: b must not be zero; pick another divisor"]
    assert res.usage.total_tokens == 30
    assert len(s.requests) == 2  # retries=1: two requests, no more


def test_other_exceptions_from_tools_propagate():
    def broken(x: int) -> int:
        raise KeyError("bug")

    s = Scripted(reply(("broken", {"x": 1})))
    with pytest.raises(KeyError):
        run(get_completion(user_message="x", tools=[broken], retries=3, client=s.async_client()))
    assert len(s.requests) == 1


# How long a tool waits at a barrier for the calls that should be running beside it. It
# only bounds a failure (one after another, the barrier never opens); passing never waits it.
MEET_TIMEOUT_S = 10


def test_async_tools_run_concurrently():
    """All three calls are in flight at once: each waits at a barrier that opens only when
    the third arrives (run one after another, the first would wait for ever)."""
    barrier = asyncio.Barrier(3)
    in_flight = []

    async def meet(x: int) -> None:
        in_flight.append(x)
        try:
            await asyncio.wait_for(barrier.wait(), MEET_TIMEOUT_S)
        except TimeoutError:
            raise AssertionError(f"not concurrent: only calls {in_flight} were in flight") from None

    async def slow_a(x: int) -> int:
        await meet(x)
        return x

    async def slow_b(x: int) -> int:
        await meet(x)
        return -x

    s = Scripted(reply(("slow_a", {"x": 1}), ("slow_b", {"x": 2}), ("slow_a", {"x": 3})))
    r = run(get_completion(user_message="x", tools=[slow_a, slow_b], client=s.async_client(), model="m"))
    assert r.results == [1, -2, 3]
    assert sorted(in_flight) == [1, 2, 3]


def test_sync_tools_run_in_threads_concurrently():
    """Both calls run at once, each in a worker thread of its own: each waits at a barrier
    that opens only when the other is waiting too."""
    barrier = threading.Barrier(2, timeout=MEET_TIMEOUT_S)
    threads = set()

    def slow(x: int) -> int:
        threads.add(threading.get_ident())
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            raise AssertionError("not concurrent: the other call never ran beside this one") from None
        return x * 10

    s = Scripted(reply(("slow", {"x": 1}), ("slow", {"x": 2})))
    r = get_completion_sync(user_message="x", tools=[slow], tool_choice="required", client=s.sync_client(),
                            model="m")
    assert r.results == [10, 20]
    assert len(threads) == 2 and threading.get_ident() not in threads


def test_respond_sends_results_back_and_sums_usage():
    s = Scripted(reply(("add", {"a": 2, "b": 3}), content="Let me add.", usage=(20, 8)),
                 text("2 + 3 = 5", usage=(30, 6)))
    r = get_completion_sync(user_message="2+3?", tools=[add], respond=True, client=s.sync_client())
    assert r.results == [5] and r.final_message == "2 + 3 = 5" and r.attempts == 1
    final_req = s.requests[1]
    assert final_req["tool_choice"] == "none"
    assert [m["role"] for m in final_req["messages"]] == ["user", "assistant", "tool"]
    assert final_req["messages"][2]["content"] == "5"
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (50, 14, 64)


def test_sync_twin_inside_a_running_loop_and_with_an_async_client():
    async def inside():
        s = Scripted(reply(("add", {"a": 1, "b": 1})))
        return get_completion_sync(user_message="x", tools=[add], client=s.async_client())

    assert asyncio.run(inside()).results == [2]


def test_duplicate_call_ids_are_made_unique():
    class Repeating(Scripted):
        def handle(self, request):
            response = super().handle(request)
            if request.url.path.endswith("/completions"):
                body = json.loads(response.content)
                for i, tc in enumerate(body["choices"][0]["message"].get("tool_calls", [])):
                    tc["id"] = f"call_{i}"  # numbered per response, as some servers do
                response = type(response)(200, json=body)
            return response

    s = Repeating(reply(("add", {"a": 1, "b": 1}), ("divide", {"a": 1, "b": 0})),
                  reply(("divide", {"a": 1, "b": 1})))
    r = run(get_completion(user_message="x", tools=[add, divide], retries=1, client=s.async_client()))
    ids = [tc["id"] for m in r.raw_history for tc in m.get("tool_calls", [])]
    assert len(ids) == len(set(ids)) == 3
    clean_ids = [tc["id"] for tc in r.clean_history[1]["tool_calls"]]
    assert [m["tool_call_id"] for m in r.clean_history[2:]] == clean_ids


def test_bad_arguments():
    with pytest.raises(ValueError, match="stream"):
        run(get_completion(user_message="x", tools=[add], stream=True, client=Scripted().async_client()))
    with pytest.raises(ValueError, match="no messages"):
        run(get_completion(tools=[add], client=Scripted().async_client()))


def test_default_client_points_at_the_local_server_unless_overridden(monkeypatch):
    import openai

    from functionary.client import default_client

    monkeypatch.delenv("FUNCTIONARY_BASE_URL", raising=False)
    monkeypatch.delenv("FUNCTIONARY_API_KEY", raising=False)
    c = default_client()
    assert isinstance(c, openai.AsyncOpenAI) and str(c.base_url) == "http://127.0.0.1:8000/v1/"
    monkeypatch.setenv("FUNCTIONARY_BASE_URL", "http://gpu-box:9000/v1")
    monkeypatch.setenv("FUNCTIONARY_API_KEY", "secret")
    c = default_client(sync=True)
    assert isinstance(c, openai.OpenAI) and str(c.base_url) == "http://gpu-box:9000/v1/" and c.api_key == "secret"
