"""Raw and clean histories after retries."""

import asyncio
import json

import pytest
from pydantic import BaseModel

from functionary.client import ToolError, get_completion
from functionary.client.history import prompt_messages

from .scripted import Scripted, reply, text


class Note(BaseModel):
    title: str


def lookup(key: str) -> dict:
    if key == "missing":
        raise ToolError("no such key; try 'alpha'")
    return {"key": key, "value": 1}


def test_clean_history_keeps_only_successful_calls_in_one_turn():
    s = Scripted(reply(("lookup", {"key": "missing"}), ("Note", {"title": "t1"}), ("nope", {}), content="On it."),
                 reply(("lookup", {"key": "alpha"}), ("Note", {"title": "t2"})),
                 text("Done: alpha=1."))
    r = asyncio.run(get_completion([{"role": "user", "content": "go"}], system_prompt="sys", tools=[lookup, Note],
                                   retries=1, respond=True, client=s.async_client()))
    # raw: everything that was said
    assert [m["role"] for m in r.raw_history] == ["system", "user", "assistant", "tool", "tool", "tool",
                                                  "assistant", "tool", "tool", "assistant"]
    assert r.raw_history[3]["content"].startswith("Error: no such key")
    # clean: one assistant turn with the successful calls, in first-call order, then the answer
    clean = r.clean_history
    assert [m["role"] for m in clean] == ["system", "user", "assistant", "tool", "tool", "tool", "assistant"]
    calls = clean[2]["tool_calls"]
    assert clean[2]["content"] == "On it."
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("lookup", {"key": "alpha"}), ("Note", {"title": "t1"}), ("Note", {"title": "t2"})]
    assert [m["tool_call_id"] for m in clean[3:6]] == [c["id"] for c in calls]
    assert json.loads(clean[3]["content"]) == {"key": "alpha", "value": 1}
    assert json.loads(clean[4]["content"]) == {"title": "t1"}
    assert clean[-1] == {"role": "assistant", "content": "Done: alpha=1."}
    assert not any("Error" in (m.get("content") or "") for m in clean)
    # the final answer was asked for from the clean history, not the raw one
    assert s.requests[2]["messages"] == clean[:-1]


def test_clean_history_continues_a_conversation():
    s = Scripted(reply(("Note", {"title": "a"})), reply(("Note", {"title": "b"})))
    first = asyncio.run(get_completion(user_message="one", tools=[Note], client=s.async_client()))
    second = asyncio.run(get_completion(first.clean_history, user_message="two", tools=[Note],
                                        client=s.async_client()))
    assert second.results == [Note(title="b")]
    assert s.requests[1]["messages"] == [*first.clean_history, {"role": "user", "content": "two"}]
    assert second.clean_history[:len(first.clean_history)] == first.clean_history


def test_prompt_messages():
    class Msg(BaseModel):
        role: str
        content: str | None = None

    assert prompt_messages([Msg(role="user", content="hi")], "sys", "more") == [
        {"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}, {"role": "user", "content": "more"}]
    with pytest.raises(ValueError, match="system"):
        prompt_messages([{"role": "system", "content": "a"}], "b", None)
    with pytest.raises(TypeError):
        prompt_messages(["hi"], None, None)
