"""The client helpers against the live server and the bundled model: structured
extraction, a function call with its result, and a dispatch-mode distilled call.

The bundled model is weak at choosing content, but every call it makes validates;
these tests check the helpers' plumbing end to end, not the model's judgement. Kept
few and short (max_tokens <= 96) for 2-core CI.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import BaseModel, Field

from functionary.client import distill, get_completion, get_completion_sync

pytestmark = pytest.mark.e2e


class Address(BaseModel):
    city: str = Field(max_length=24)
    country: str = Field(max_length=24)


class Person(BaseModel):
    """A person mentioned in the text."""
    name: str = Field(max_length=24)
    age: int = Field(ge=0, le=120)
    address: Address


def test_nested_pydantic_extraction(server):
    with server.client() as client:
        r = get_completion_sync(user_message="Alice is 30 and lives in Paris, France.", tools=[Person],
                                client=client, max_tokens=96, temperature=0)  # model: the one the server lists
    (person,) = r.results
    assert isinstance(person, Person) and isinstance(person.address, Address)
    assert r.ok and r.attempts == 1
    assert r.usage.completion_tokens > 0 and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    call = r.clean_history[-2]["tool_calls"][0]
    assert call["function"]["name"] == "Person"
    assert Person.model_validate_json(call["function"]["arguments"]) == person


def test_plain_function_call_with_its_result_returned(server):
    seen = []

    async def add(a: int, b: int) -> int:
        """Add two integers.

        Args:
            a: The first number.
            b: The second number.
        """
        seen.append((a, b))
        return a + b

    async def go():
        async with server.async_client() as client:
            return await get_completion(user_message="What is 2 + 3?", tools=[add], respond=True, client=client,
                                        model=server.model, max_tokens=48, temperature=0)

    r = asyncio.run(go())
    ((a, b),) = seen
    assert r.results == [a + b]
    assert [m["role"] for m in r.clean_history] == ["user", "assistant", "tool", "assistant"]
    assert json.loads(r.clean_history[1]["tool_calls"][0]["function"]["arguments"]) == {"a": a, "b": b}
    assert r.clean_history[2]["content"] == str(a + b)
    assert isinstance(r.final_message, str)
    assert r.usage.total_tokens > 0


class Ticket(BaseModel):
    """A support ticket."""
    title: str = Field(max_length=40)
    priority: int = Field(ge=1, le=3)


def test_dispatch_mode_answers_with_a_validated_model_call(server, tmp_path):
    ran = []
    with server.client() as client:
        @distill(path=tmp_path / "tickets.jsonl", mode="record", client=client, model=server.model,
                 max_tokens=64, temperature=0)
        def triage(message: str) -> Ticket:
            """Turn a customer message into a support ticket."""
            ran.append(message)
            return Ticket(title=message[:40], priority=1)

        triage("The login page is down!")  # record: the real function, and a training example
        triage.distilled.mode = "dispatch"
        ticket = triage("My invoice is wrong.")
    assert isinstance(ticket, Ticket)
    assert ran == ["The login page is down!"]  # dispatch answered without falling back
    (example,) = [json.loads(line) for line in (tmp_path / "tickets.jsonl").read_text().splitlines()]
    assert example["tools"][0]["function"]["name"] == "Ticket"
    assert example["messages"][-1]["tool_calls"][0]["function"]["name"] == "Ticket"
