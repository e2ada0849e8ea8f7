"""The synthesis pipeline: tool sources, kinds, verification stages, the split, the teacher
and the CLI."""

from __future__ import annotations

import json
import random
import textwrap
from pathlib import Path

import pytest

from functionary.data.__main__ import main as synth_main
from functionary.data.examples import Builder
from functionary.data.invocations import Invocation
from functionary.data.rejections import RejectionWriter, reject_function, subject_nouns, vocabulary
from functionary.data.phrasing import Writer
from functionary.data.synth import Settings, Synthesizer, _quotas, parse_mix, write
from functionary.data.teacher import Teacher
from functionary.data.toolset import ToolsError, from_json, load_toolset
from functionary.data.values import ValueMaker
from functionary.validation import CallJudge
from tests.client.scripted import Scripted, reply, text

DRONE = Path(__file__).resolve().parents[3] / "shared" / "data" / "drone_copilot.json"

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Get the current weather for a city.",
        "parameters": {"type": "object", "required": ["city"], "properties": {
            "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}}}},
    {"type": "function", "function": {
        "name": "send_message", "description": "Send a text message to a contact.",
        "parameters": {"type": "object", "required": ["recipient", "text"], "properties": {
            "recipient": {"type": "string"}, "text": {"type": "string", "maxLength": 120},
            "urgent": {"type": "boolean"}}}}},
    {"type": "function", "function": {
        "name": "set_thermostat", "description": "Set the thermostat temperature.",
        "parameters": {"type": "object", "required": ["temperature"], "properties": {
            "temperature": {"type": "integer", "minimum": 10, "maximum": 30,
                            "description": "Target temperature in celsius."}}}}},
]


def toolset(system: str | None = "You are a helpful assistant with tools."):
    return from_json({"tools": TOOLS, "system_prompt": system}, "test")


def run(ts, **kw):
    return Synthesizer(ts, Settings(**{"examples": 120, "seed": 1, **kw})).run()


# ----------------------------------------------------------------------------- sources

def test_json_sources_list_and_object(tmp_path):
    (tmp_path / "list.json").write_text(json.dumps(TOOLS))
    (tmp_path / "obj.json").write_text(json.dumps({"system_prompt": "S", "tools": TOOLS}))
    assert load_toolset(str(tmp_path / "list.json")).names == ["get_weather", "send_message", "set_thermostat"]
    assert load_toolset(str(tmp_path / "obj.json")).system_prompt == "S"


def test_bad_sources_are_refused(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps({"tools": [{"function": {"name": "x",
                                                                           "parameters": {"type": 3}}}]}))
    with pytest.raises(ToolsError, match="not a valid JSON Schema"):
        load_toolset(str(tmp_path / "bad.json"))
    (tmp_path / "dup.json").write_text(json.dumps(TOOLS + TOOLS[:1]))
    with pytest.raises(ToolsError, match="more than once"):
        load_toolset(str(tmp_path / "dup.json"))
    with pytest.raises(ToolsError):
        load_toolset(str(tmp_path / "missing.json"))
    with pytest.raises(ToolsError):
        load_toolset("no_such_module_anywhere_xyz")


MODULE = '''
from pydantic import BaseModel, Field

SYSTEM_PROMPT = "You help with orders."

class Refund(BaseModel):
    """Refund an order."""
    order_id: str = Field(pattern="^ORD-[0-9]{3}$")
    amount: float = Field(gt=0, le=500)

def cancel_order(order_id: str, reason: str = "changed mind") -> dict:
    """Cancel an order.

    Args:
        order_id: The order to cancel.
        reason: Why.
    """
    if order_id.endswith("7"):
        raise RuntimeError("orders ending in 7 cannot be cancelled")
    return {"cancelled": order_id}

def _private(x: int) -> int:
    return x
'''


def test_module_tools_become_tools_and_callables(tmp_path):
    path = tmp_path / "shop_tools.py"
    path.write_text(textwrap.dedent(MODULE))
    ts = load_toolset(str(path))
    assert sorted(ts.names) == ["Refund", "cancel_order"]
    assert ts.system_prompt == "You help with orders."
    assert set(ts.callables) == {"cancel_order"}  # functions run; models only validate
    assert ts.callables["cancel_order"]({"order_id": "A1"}) == {"cancelled": "A1"}
    assert load_toolset(f"{path}:Refund").names == ["Refund"]


def test_execution_stage_drops_examples_whose_tool_raises(tmp_path):
    path = tmp_path / "shop_tools2.py"
    path.write_text(textwrap.dedent(MODULE))
    ts = load_toolset(str(path))
    syn = Synthesizer(ts, Settings(examples=60, seed=0))
    ex = syn.builder.call(Invocation("cancel_order", {"order_id": "ORD-127"}), "Cancel ORD-127.")
    kept = syn.verify([ex, syn.builder.call(Invocation("cancel_order", {"order_id": "ORD-120"}), "Cancel ORD-120.")])
    assert len(kept) == 1 and kept[0].calls()[0][1] == '{"order_id": "ORD-120"}'
    assert syn.dropped[-1].stage == "execution" and "cannot be cancelled" in syn.dropped[-1].reason
    result = syn.run()  # the whole run: every kept call executes
    for e in result.train + result.val:
        for name, args in e.calls():
            if name == "cancel_order":
                assert not json.loads(args)["order_id"].endswith("7")


# ----------------------------------------------------------------------------- kinds

def test_every_kind_is_built_and_every_call_validates():
    result = run(toolset(), examples=200)
    judge = CallJudge.from_tools(TOOLS)
    kinds = {e.kind for e in result.train}
    assert kinds == {"call", "parallel", "multi_turn", "missing_argument", "rejection"}
    for e in result.train + result.val:
        for name, args in e.calls():
            assert judge.valid(name, args), (name, args)
        assert e.messages[0] == {"role": "system", "content": "You are a helpful assistant with tools."}
        assert e.messages[-1]["role"] == "assistant"


def test_every_function_gets_examples():
    result = run(toolset())
    assert set(result.report["train"]["per_function"]) == {"get_weather", "send_message", "set_thermostat"}


def test_parallel_examples_hold_several_calls_and_allow_parallel():
    result = run(toolset(), examples=200)
    par = [e for e in result.train if e.kind == "parallel"]
    assert par and all(len(e.calls()) >= 2 and e.parallel is True for e in par)
    assert all(e.record(TOOLS)["parallel_tool_calls"] is True for e in par)


def test_multi_turn_answers_are_grounded_in_the_tool_result():
    result = run(toolset(), examples=200)
    for e in [e for e in result.train if e.kind == "multi_turn"]:
        roles = [m["role"] for m in e.messages]
        assert roles[-3:] == ["assistant", "tool", "assistant"]
        tool_msg, answer = e.messages[-2], e.messages[-1]["content"]
        assert tool_msg["tool_call_id"] == e.messages[-3]["tool_calls"][0]["id"]
        values = [v for v in json.loads(tool_msg["content"]).values() if isinstance(v, (str, int))]
        assert any(str(v).replace("_", " ").lower() in answer.lower() for v in values), (tool_msg, answer)


def test_missing_argument_asks_then_calls_without_inventing():
    result = run(toolset(), examples=200, missing="ask")
    cases = [e for e in result.train if e.kind == "missing_argument"]
    assert cases
    for e in cases:
        roles = [m["role"] for m in e.messages if m["role"] != "system"]
        assert roles == ["user", "assistant", "user", "assistant"]
        ask = e.messages[-3]
        assert ask["content"] and not ask.get("tool_calls")  # the question, no call
        missing = e.detail
        (name, args), = e.calls()
        assert missing in json.loads(args)  # the final call has the value the user then gave


def test_missing_argument_rejects_when_the_system_prompt_says_unclear_requests_are_rejected():
    tools = TOOLS + [{"type": "function", "function": {"name": "reject_request",
                                                       "description": "Use this if the request is not possible.",
                                                       "parameters": {"type": "object", "properties": {}}}}]
    ts = from_json({"tools": tools, "system_prompt": "If the request is ambiguous, reject it."}, "t")
    result = Synthesizer(ts, Settings(examples=150, seed=0)).run()
    assert result.report["missing_argument_policy"] == "reject"
    missing = [e for e in result.train if e.kind == "rejection" and e.detail == "missing_argument"]
    assert missing and all(e.calls() == [("reject_request", "{}")] for e in missing)
    # and the reject function is never an ordinary call target
    assert all("reject_request" not in e.functions for e in result.train if e.kind != "rejection")


def test_rejections_without_a_reject_function_are_text_answers():
    result = run(toolset(), examples=200)
    rej = [e for e in result.train if e.kind == "rejection"]
    assert rej and all(not e.calls() and e.messages[-1]["content"] for e in rej)


def test_rejection_kinds_and_their_filters():
    ts = toolset()
    rng = random.Random(0)
    rw = RejectionWriter(rng, ValueMaker(rng), Writer(rng), ts.functions)
    off = [r.text for r in rw.off_domain()]
    assert off and not any("weather" in t.lower() for t in off)  # the tools do weather: not a rejection
    assert "Tell me a joke." in off
    assert len([t for t in off if "me a joke" in t]) == 3  # wordings of one request
    assert len({r.key for r in rw.off_domain()}) * 3 == len(off)
    oor = rw.out_of_range()
    assert oor and all(r.function == "set_thermostat" for r in oor)
    for r in oor:  # the value asked for is outside 10..30
        nums = [int(n) for n in __import__("re").findall(r"-?\d+", r.text)]
        assert any(n > 30 or n < 10 for n in nums), r.text
    assert {r.kind for r in rw.all()} == {"off_domain", "unsupported", "out_of_range", "vague"}


def test_reject_function_detection():
    assert reject_function([{"name": "reject_request"}]) == "reject_request"
    assert reject_function([{"name": "noop", "description": "Call this when the request is not possible."}]) == "noop"
    assert reject_function([{"name": "get_weather", "description": "Weather."}]) is None


def test_subject_nouns_and_vocabulary_come_from_the_tools():
    fns = [{"name": "start_robot_arm", "description": "Start the robot arm."},
           {"name": "stop_robot_arm", "description": "Stop the robot arm."}]
    assert sorted(subject_nouns(fns)) == ["arm", "robot"]
    assert "robot" in vocabulary(fns)


# ----------------------------------------------------------------------------- verification and split

def test_format_stage_drops_invalid_calls():
    syn = Synthesizer(toolset(), Settings(examples=10))
    bad = syn.builder.call(Invocation("set_thermostat", {"temperature": 99}), "Set it to 99.")
    unknown = syn.builder.call(Invocation("launch_rocket", {}), "Launch.")
    assert syn.verify([bad, unknown]) == []
    assert [d.stage for d in syn.dropped] == ["format", "format"]


def test_dedup_stage_drops_repeats():
    syn = Synthesizer(toolset(), Settings(examples=10))
    inv = Invocation("get_weather", {"city": "Oslo"})
    kept = syn.verify([syn.builder.call(inv, "Weather in Oslo?"), syn.builder.call(inv, "weather in  oslo")])
    assert len(kept) == 1 and syn.dropped[0].stage == "dedup"


def test_split_shares_no_invocation_between_train_and_validation():
    result = run(toolset(), examples=300, val_fraction=0.2)
    assert result.val
    train_keys = {k for e in result.train for k in e.keys}
    val_keys = {k for e in result.val for k in e.keys}
    assert not train_keys & val_keys
    assert not {e.fingerprint() for e in result.train} & {e.fingerprint() for e in result.val}


def test_the_run_is_reproducible_from_its_seed():
    a, b = run(toolset(), seed=5), run(toolset(), seed=5)
    assert [e.messages for e in a.train] == [e.messages for e in b.train]
    assert [e.messages for e in a.train] != [e.messages for e in run(toolset(), seed=6).train]


def test_quotas_add_up_and_mix_parses():
    q = _quotas({"call": 0.5, "rejection": 0.5}, 7)
    assert sum(q.values()) == 7 and q["parallel"] == 0
    assert parse_mix("call=1,rejection=0.5") == {"call": 1.0, "rejection": 0.5}
    with pytest.raises(ValueError):
        parse_mix("calls=1")


# ----------------------------------------------------------------------------- teacher

def _teacher(*replies):
    s = Scripted(*replies)
    return s, Teacher(s.sync_client(), "scripted-model")


def test_teacher_phrases_fills_and_judges():
    s, t = _teacher(text(json.dumps({"requests": ["What's it like in Oslo?", "Oslo weather please"]})),
                    reply(("get_weather", {"city": "Lima"})),
                    reply(("get_weather", {"city": "oslo"})),
                    reply(("get_weather", {"city": "Bergen"})),
                    text("I can't do that."))
    assert t.phrase(TOOLS[0]["function"], {"city": "Oslo"}, 2) == ["What's it like in Oslo?", "Oslo weather please"]
    assert s.requests[0]["response_format"]["type"] == "json_schema"
    assert t.fill(TOOLS[0]["function"]) == {"city": "Lima"}
    assert s.requests[1]["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    ex = Builder(None).call(Invocation("get_weather", {"city": "Oslo"}), "Weather in Oslo?")
    assert t.disagreement(ex.messages, TOOLS) is None  # same call (strings compared loosely)
    assert "differs" in t.disagreement(ex.messages, TOOLS)
    refusal = Builder(None).rejection("Tell me a joke.", "k", "off_domain", refusal="Sorry.")
    assert t.disagreement(refusal.messages, TOOLS) is None  # no call where the example has none


def test_semantic_stage_keeps_what_the_teacher_agrees_with():
    syn = Synthesizer(toolset(), Settings(examples=10))
    s, syn.teacher = _teacher(reply(("get_weather", {"city": "Oslo"})), reply(("send_message", {"recipient": "a",
                                                                                                "text": "b"})))
    a = syn.builder.call(Invocation("get_weather", {"city": "Oslo"}), "Weather in Oslo?")
    b = syn.builder.call(Invocation("get_weather", {"city": "Rome"}), "Weather in Rome?")
    assert syn.verify([a, b]) == [a]
    assert syn.dropped[-1].stage == "semantic"


def test_a_failing_teacher_falls_back_to_the_offline_writer():
    s, teacher = _teacher()  # every request answers 500
    result = Synthesizer(toolset(), Settings(examples=40, seed=0, semantic=False), teacher).run()
    assert result.train and result.report["teacher"]["failures"]["phrase"] > 0


# ----------------------------------------------------------------------------- CLI and files

def test_cli_writes_train_val_and_report(tmp_path):
    (tmp_path / "tools.json").write_text(json.dumps(TOOLS))
    assert synth_main(["synth", str(tmp_path / "tools.json"), "--out", str(tmp_path / "out"),
                       "--examples", "80", "--seed", "3"]) == 0
    train = [json.loads(line) for line in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    val = [json.loads(line) for line in (tmp_path / "out" / "val.jsonl").read_text().splitlines()]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert len(train) == report["train"]["examples"] and len(val) == report["val"]["examples"]
    assert all(set(row) <= {"messages", "tools", "parallel_tool_calls"} and row["tools"] == TOOLS for row in train)
    assert report["dropped"]["total"] == sum(sum(v.values()) for v in report["dropped"]["by_stage"].values())
    assert synth_main(["synth", str(tmp_path / "nope.json"), "--out", str(tmp_path / "x")]) == 2
    assert synth_main(["synth", str(tmp_path / "tools.json"), "--out", str(tmp_path / "x"), "--mix", "bogus=1"]) == 2


def test_the_drone_test_prompts_never_appear_in_generated_data(tmp_path):
    data = json.loads(DRONE.read_text())
    ts = load_toolset(str(DRONE))
    result = Synthesizer(ts, Settings(examples=600, seed=0)).run()
    paths = write(result, ts, tmp_path)
    generated = (paths["train"].read_text() + paths["val"].read_text()).lower()
    prompts = [c["prompt"].lower() for c in data["cases"]]
    assert not [p for p in prompts if p in generated]
    assert result.report["train"]["examples"] >= 500
