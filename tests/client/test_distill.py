"""The distillation decorators in record, dispatch and off modes."""

import asyncio
import json

import pytest
from pydantic import BaseModel, field_validator

from functionary.client import distill, distill_pipeline, get_completion_sync
from functionary.client.distill import MODE_ENV

from .scripted import Scripted, reply


class Invoice(BaseModel):
    """An invoice's key fields."""
    vendor: str
    total: float

    @field_validator("total")
    @classmethod
    def positive(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("the total must be positive")
        return v


INVOICE_TOOL = {"type": "function", "function": {
    "name": "Invoice", "description": "An invoice's key fields.",
    "parameters": {"type": "object", "properties": {"vendor": {"type": "string"}, "total": {"type": "number"}},
                   "required": ["vendor", "total"]}}}


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(autouse=True)
def _no_env_mode(monkeypatch):
    monkeypatch.delenv(MODE_ENV, raising=False)


def make_extract(path, mode, client=None, **options):
    calls = []

    @distill(path=path, mode=mode, client=client, **options)
    def extract(text: str) -> Invoice:
        """Extract the invoice fields."""
        calls.append(text)
        vendor, total = text.split(":")
        return Invoice(vendor=vendor, total=float(total))

    return extract, calls


def test_record_writes_a_direct_call_example(tmp_path):
    out = tmp_path / "inv.jsonl"
    extract, calls = make_extract(out, "record")
    assert extract("ACME:12.5") == Invoice(vendor="ACME", total=12.5)
    assert extract("Globex:3") == Invoice(vendor="Globex", total=3)
    assert calls == ["ACME:12.5", "Globex:3"]
    first, second = lines(out)
    assert first == {
        "messages": [
            {"role": "system", "content": "Extract the invoice fields."},
            {"role": "user", "content": "ACME:12.5"},
            {"role": "assistant", "tool_calls": [{"id": "call_0", "type": "function", "function": {
                "name": "Invoice", "arguments": '{"vendor":"ACME","total":12.5}'}}]}],
        "tools": [INVOICE_TOOL],
        "parallel_tool_calls": False,
    }
    assert second["messages"][1]["content"] == "Globex:3"


def test_record_renders_several_arguments_as_json(tmp_path):
    out = tmp_path / "x.jsonl"

    @distill(path=out, mode="record", instructions="Make an invoice.")
    def make(vendor: str, cents: int, currency: str = "EUR") -> Invoice:
        return Invoice(vendor=vendor, total=cents / 100)

    make("ACME", cents=250)
    (ex,) = lines(out)
    assert ex["messages"][0] == {"role": "system", "content": "Make an invoice."}
    assert json.loads(ex["messages"][1]["content"]) == {"vendor": "ACME", "cents": 250, "currency": "EUR"}


def test_dispatch_uses_the_model_and_skips_the_function(tmp_path):
    s = Scripted(reply(("Invoice", {"vendor": "ACME", "total": 99})))
    extract, calls = make_extract(tmp_path / "inv.jsonl", "dispatch", s.sync_client())
    assert extract("ACME:12.5") == Invoice(vendor="ACME", total=99)
    assert calls == []  # the real function did not run
    req = s.requests[0]
    assert req["messages"] == [{"role": "system", "content": "Extract the invoice fields."},
                               {"role": "user", "content": "ACME:12.5"}]  # the same prompt as recorded
    assert req["tools"] == [INVOICE_TOOL]
    assert req["tool_choice"] == {"type": "function", "function": {"name": "Invoice"}}
    assert lines(tmp_path / "inv.jsonl") == []  # nothing recorded on success


def test_dispatch_falls_back_to_the_function_on_an_invalid_answer(tmp_path):
    out = tmp_path / "inv.jsonl"
    s = Scripted(reply(("Invoice", {"vendor": "ACME", "total": -1})),  # fails the validator
                 reply(("Invoice", {"vendor": "ACME", "total": "lots"})))  # fails again on the retry
    extract, calls = make_extract(out, "dispatch", s.sync_client(), retries=1, max_tokens=64)
    assert extract("ACME:12.5") == Invoice(vendor="ACME", total=12.5)
    assert calls == ["ACME:12.5"] and len(s.requests) == 2
    assert s.requests[0]["max_tokens"] == 64
    # the fallback's answer is recorded: the data grows where the model is weak
    (ex,) = lines(out)
    assert ex["messages"][-1]["tool_calls"][0]["function"]["arguments"] == '{"vendor":"ACME","total":12.5}'


def test_dispatch_falls_back_on_a_request_error_without_recording_when_no_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = Scripted()  # no replies: the endpoint answers 500
    extract, calls = make_extract(None, "dispatch", s.sync_client())
    assert extract("ACME:1") == Invoice(vendor="ACME", total=1)
    assert calls == ["ACME:1"] and len(s.requests) == 1
    assert list(tmp_path.iterdir()) == []


def test_off_mode_and_env_var(tmp_path, monkeypatch):
    out = tmp_path / "inv.jsonl"
    s = Scripted(reply(("Invoice", {"vendor": "M", "total": 1})))
    extract, calls = make_extract(out, None, s.sync_client())
    assert extract.distilled.mode == "off"
    extract("A:1")
    assert lines(out) == [] and s.requests == []
    monkeypatch.setenv(MODE_ENV, "record")
    extract("B:2")
    assert [e["messages"][1]["content"] for e in lines(out)] == ["B:2"]
    monkeypatch.setenv(MODE_ENV, "dispatch")
    assert extract("C:3") == Invoice(vendor="M", total=1)
    extract.distilled.mode = "off"  # the decorator's own setting wins over the environment
    extract("D:4")
    assert calls == ["A:1", "B:2", "D:4"]
    monkeypatch.setenv(MODE_ENV, "sometimes")
    extract.distilled.mode = None
    with pytest.raises(ValueError, match="record, dispatch, off"):
        extract("E:5")
    with pytest.raises(ValueError):
        extract.distilled.mode = "always"


def test_default_examples_path(tmp_path, monkeypatch):
    monkeypatch.setenv("FUNCTIONARY_DISTILL_DIR", str(tmp_path))
    extract, _ = make_extract(None, "record")
    extract("A:1")
    (f,) = tmp_path.iterdir()
    assert f.name.endswith("make_extract.<locals>.extract.jsonl") and len(lines(f)) == 1


def test_async_function_record_and_dispatch(tmp_path):
    out = tmp_path / "a.jsonl"
    s = Scripted(reply(("Invoice", {"vendor": "Model", "total": 5})), reply(("Invoice", {"vendor": "X", "total": 0})))

    @distill(path=out, mode="record", client=s.async_client())
    async def extract(text: str) -> Invoice:
        await asyncio.sleep(0)
        return Invoice(vendor=text, total=1)

    assert asyncio.iscoroutinefunction(extract)
    assert asyncio.run(extract("Real")) == Invoice(vendor="Real", total=1)
    extract.distilled.mode = "dispatch"
    assert asyncio.run(extract("Ignored")) == Invoice(vendor="Model", total=5)
    assert asyncio.run(extract("Fallback")) == Invoice(vendor="Fallback", total=1)  # total 0 is invalid
    assert [e["messages"][-2]["content"] for e in lines(out)] == ["Real", "Fallback"]


def test_return_annotation_must_be_a_model():
    with pytest.raises(TypeError, match="pydantic model"):
        @distill(mode="record")
        def f(x: int) -> dict:
            return {}


class Summary(BaseModel):
    topic: str
    sentiment: str


def test_pipeline_record_rewrites_the_steps_to_one_direct_call(tmp_path):
    out, trace = tmp_path / "p.jsonl", tmp_path / "trace.jsonl"

    class Topic(BaseModel):
        topic: str

    class Mood(BaseModel):
        sentiment: str

    s = Scripted(reply(("Topic", {"topic": "weather"}), usage=(40, 5)),
                 reply(("Mood", {"sentiment": "happy"}), usage=(50, 6)))
    client = s.sync_client()

    @distill_pipeline(path=out, trace_path=trace, mode="record", client=client)
    def summarise(messages: list) -> Summary:
        topic = get_completion_sync(messages, tools=[Topic], client=client).results[0]
        mood = get_completion_sync(messages, user_message=f"Topic: {topic.topic}. Mood?", tools=[Mood],
                                   client=client).results[0]
        return Summary(topic=topic.topic, sentiment=mood.sentiment)

    convo = [{"role": "user", "content": "Sunny again, lovely!"}]
    assert summarise(convo) == Summary(topic="weather", sentiment="happy")
    assert len(s.requests) == 2
    (ex,) = lines(out)
    # no intermediate steps: the conversation, then one call producing the final output
    assert ex["messages"] == [*convo, {"role": "assistant", "tool_calls": [{"id": "call_0", "type": "function",
                              "function": {"name": "Summary",
                                           "arguments": '{"topic":"weather","sentiment":"happy"}'}}]}]
    assert [t["function"]["name"] for t in ex["tools"]] == ["Summary"]
    (tr,) = lines(trace)
    assert tr["example"] == ex and len(tr["steps"]) == 2
    assert tr["steps"][1][-2]["tool_calls"][0]["function"]["name"] == "Mood"
    assert tr["usage"] == {"prompt_tokens": 90, "completion_tokens": 11, "total_tokens": 101}

    # dispatch: one request replaces the two-step pipeline
    s.replies.append(reply(("Summary", {"topic": "rain", "sentiment": "sad"})))
    summarise.distilled.mode = "dispatch"
    assert summarise([{"role": "user", "content": "Rain, again."}]) == Summary(topic="rain", sentiment="sad")
    assert len(s.requests) == 3 and s.requests[2]["messages"] == [{"role": "user", "content": "Rain, again."}]
    assert s.offered(2) == ["Summary"]
    assert len(lines(out)) == 1
