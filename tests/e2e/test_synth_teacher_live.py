"""The data synthesizer with a real OpenAI-compatible teacher: our own server.

The bundled 135M model is a poor teacher, which is the point: whatever it answers, every
kept example must validate, its disagreements must be dropped by the semantic stage with
their reason, and the run must finish (a teacher never breaks synthesis).
"""

from __future__ import annotations

from functionary.data.synth import Settings, Synthesizer
from functionary.data.teacher import Teacher
from functionary.data.toolset import from_json
from functionary.validation import CallJudge

TOOLS = [
    {"type": "function", "function": {
        "name": "set_timer", "description": "Start a kitchen timer.",
        "parameters": {"type": "object", "required": ["minutes"], "properties": {
            "minutes": {"type": "integer", "minimum": 1, "maximum": 120}}}}},
    {"type": "function", "function": {
        "name": "add_to_list", "description": "Add an item to the shopping list.",
        "parameters": {"type": "object", "required": ["item"], "properties": {
            "item": {"type": "string", "maxLength": 40}, "quantity": {"type": "integer", "minimum": 1}}}}},
]


def test_synthesis_with_a_live_teacher(server):
    toolset = from_json({"tools": TOOLS, "system_prompt": "You help in the kitchen."}, "kitchen")
    with server.client() as client:
        teacher = Teacher(client, server.model, max_tokens=96)
        result = Synthesizer(toolset, Settings(examples=10, seed=2, val_fraction=0.0), teacher).run()
    report = result.report
    assert report["teacher"]["model"] == server.model
    # every example built reached the teacher's judgement unless an earlier stage dropped it
    stages = report["dropped"]["by_stage"]
    judged = report["train"]["examples"] + sum(stages.get("semantic", {}).values())
    earlier = sum(sum(stages.get(s, {}).values()) for s in ("format", "execution", "dedup"))
    assert report["built"]["train"] >= 8 and judged + earlier == report["built"]["train"]
    judge = CallJudge.from_tools(TOOLS)
    for ex in result.train:
        assert all(judge.valid(name, args) for name, args in ex.calls())
        assert all(text.strip() for text in ex.user_texts())
    for d in result.dropped:
        assert d.stage in ("teacher", "format", "semantic", "dedup", "execution") and d.reason
