"""Fine-tuning JSONL in the OpenAI chat format with tools."""

import asyncio
import json

import pytest
from pydantic import BaseModel

from functionary.client import ToolCallsFailed, get_completion, get_completion_sync
from functionary.client.finetune import finetune_example

from .scripted import Scripted, reply, text


class Item(BaseModel):
    """A shopping list item."""
    name: str
    qty: int


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_successful_conversations_are_appended(tmp_path):
    out = tmp_path / "sub" / "train.jsonl"
    s = Scripted(reply(("Item", {"name": "egg", "qty": "x"})), reply(("Item", {"name": "egg", "qty": 6})),
                 reply(("Item", {"name": "milk", "qty": 1}), ("Item", {"name": "tea", "qty": 2})))
    client = s.sync_client()
    get_completion_sync(user_message="6 eggs", tools=[Item], retries=1, finetune_file=out, client=client)
    get_completion_sync(user_message="milk and tea", system_prompt="List items.", tools=[Item],
                        tool_choice="required", parallel_tool_calls=True, finetune_file=out, client=client)
    first, second = lines(out)
    assert set(first) == {"messages", "tools"}
    assert first["tools"] == [{"type": "function", "function": {
        "name": "Item", "description": "A shopping list item.",
        "parameters": {"type": "object", "properties": {"name": {"type": "string"}, "qty": {"type": "integer"}},
                       "required": ["name", "qty"]}}}]
    # the clean history, ending with the assistant's (corrected) call: no failed attempt, no tool result
    assert first["messages"] == [
        {"role": "user", "content": "6 eggs"},
        {"role": "assistant", "tool_calls": [{"id": "call_2", "type": "function", "function": {
            "name": "Item", "arguments": '{"name": "egg", "qty": 6}'}}]}]
    assert second["parallel_tool_calls"] is True
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant"]
    assert len(second["messages"][2]["tool_calls"]) == 2
    assert "functions" not in first and "function_call" not in json.dumps(first)


def test_final_answer_is_kept_and_failures_are_not_written(tmp_path):
    out = tmp_path / "train.jsonl"
    s = Scripted(reply(("Item", {"name": "egg", "qty": 6})), text("Six eggs noted."),
                 reply(("Item", {"name": "egg"})))
    asyncio.run(get_completion(user_message="6 eggs", tools=[Item], respond=True, finetune_file=out,
                               client=s.async_client()))
    with pytest.raises(ToolCallsFailed):
        asyncio.run(get_completion(user_message="eggs", tools=[Item], finetune_file=out, client=s.async_client()))
    (only,) = lines(out)
    assert [m["role"] for m in only["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert only["messages"][2] == {"role": "tool", "tool_call_id": "call_1",
                                   "content": '{"name":"egg","qty":6}'}
    assert only["messages"][-1] == {"role": "assistant", "content": "Six eggs noted."}


def test_example_must_end_with_the_assistant():
    with pytest.raises(ValueError):
        finetune_example([{"role": "user", "content": "hi"}], [])
