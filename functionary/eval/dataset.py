"""Evaluation sets: our JSONL format, and readers that turn other files into it.

One case per JSONL line (README, "Evaluation"): `id`, `category`, the conversation
(`prompt` + optional `system`, or `messages`), `tools`, optional `tool_choice`, and
`expected` — `{"kind": "calls", "calls": [...]}`, `{"kind": "no_call"}`, `{"kind": "ask"}`
or `{"kind": "answer", "mentions": [...]}`. Readers also take:

- the drone co-pilot file (`{"system_prompt", "tool_choice", "tools", "cases": [{"prompt",
  "expected_tool"}]}`): the expected function's name, any valid arguments;
- OpenAI chat fine-tuning JSONL (`{"messages", "tools"}` per line): the last assistant turn
  is the expectation (its calls with their exact arguments, or no call), the turns before
  it the conversation — so any validation split is an evaluation set.

`load()` returns cases in one shape: every case has `messages`.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Iterable, Optional

BUILTIN = {"multidomain": "multidomain.jsonl"}  # sets shipped in functionary/eval/datasets/
KINDS = ("calls", "no_call", "ask", "answer")


class DatasetError(ValueError):
    """A file that is not an evaluation set (the message names the line)."""


def load(source: str) -> list[dict]:
    """The cases of a built-in set's name or a file (.json drone format, or .jsonl)."""
    if source in BUILTIN:
        text = resources.files("functionary.eval.datasets").joinpath(BUILTIN[source]).read_text()
        return read_jsonl(text.splitlines(), source)
    path = Path(source)
    if not path.is_file():
        raise DatasetError(f"{source}: no such file (built-in sets: {', '.join(BUILTIN)})")
    text = path.read_text()
    if path.suffix == ".json":
        return read_drone(json.loads(text), path.stem)
    return read_jsonl(text.splitlines(), path.stem)


def object_lines(lines: Iterable[str], name: str) -> Iterable[tuple[int, dict]]:
    """(line number, object) for every non-empty JSONL line; anything else fails naming the line."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{name}:{n}: not JSON ({exc})") from None
        if not isinstance(row, dict):
            raise DatasetError(f"{name}:{n}: a line must hold a JSON object")
        yield n, row


def read_jsonl(lines: Iterable[str], name: str) -> list[dict]:
    cases = []
    for n, row in object_lines(lines, name):
        case = from_case(row, f"{name}-{n}") if "expected" in row else from_finetune(row, f"{name}-{n}")
        cases.append(check(case, f"{name}:{n}"))
    return cases


def from_case(row: dict, default_id: str) -> dict:
    """A line of our own format, with `prompt`/`system` turned into messages."""
    case = dict(row)
    case.setdefault("id", default_id)
    case.setdefault("category", "uncategorized")
    if "messages" not in case:
        case["messages"] = conversation(case.pop("prompt", ""), case.pop("system", None))
    return case


def conversation(prompt: str, system: Optional[str] = None) -> list[dict]:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]


def from_finetune(row: dict, default_id: str) -> dict:
    """An OpenAI chat fine-tuning line: its last assistant turn becomes the expectation."""
    messages = row.get("messages") or []
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last is None:
        raise DatasetError("a fine-tuning line needs an assistant turn to score against")
    answer = messages[last]
    calls = answer.get("tool_calls") or []
    if calls:
        expected = {"kind": "calls", "calls": [_exact_call(c["function"]) for c in calls]}
    else:
        expected = {"kind": "no_call"}
    tools = row.get("tools") or [{"type": "function", "function": f} for f in row.get("functions") or []]
    return {"id": row.get("id", default_id), "category": row.get("category") or _finetune_category(calls),
            "messages": messages[:last], "tools": tools, "expected": expected,
            **({"tool_choice": row["tool_choice"]} if "tool_choice" in row else {})}


def _exact_call(function: dict) -> dict:
    arguments = function.get("arguments") or "{}"
    values = json.loads(arguments) if isinstance(arguments, str) else arguments
    return {"name": function["name"], "arguments": {k: [v] for k, v in values.items()}}


def _finetune_category(calls: list) -> str:
    if not calls:
        return "irrelevance"
    names = {c["function"]["name"] for c in calls}
    if len(calls) == 1:
        return "simple"
    return "parallel" if len(names) == 1 else "parallel_multiple"


def read_drone(data: dict, name: str) -> list[dict]:
    """The drone co-pilot file: name-only expectations (arguments: any that validate)."""
    tools = data["tools"]
    properties = {t["function"]["name"]: list((t["function"].get("parameters") or {}).get("properties", {}))
                  for t in tools}
    cases = []
    for n, row in enumerate(data["cases"], 1):
        expected_name = row["expected_tool"]
        # Every argument optional and unlisted: the name decides, validity is judged apart.
        call = {"name": expected_name, "arguments": {}, "optional": properties.get(expected_name, [])}
        case = {"id": f"{name}-{n:02d}", "category": row.get("set", "uncategorized"),
                "messages": conversation(row["prompt"], data.get("system_prompt")), "tools": tools,
                "tool_choice": data.get("tool_choice", "auto"), "expected": {"kind": "calls", "calls": [call]}}
        cases.append(check(case, f"{name} case {n}"))
    return cases


def check(case: dict, where: str) -> dict:
    """Fail early, naming the line, on a case the runner or the scorer could not use."""
    expected = case.get("expected")
    if not isinstance(expected, dict) or expected.get("kind") not in KINDS:
        raise DatasetError(f"{where}: 'expected.kind' must be one of {', '.join(KINDS)}")
    if expected["kind"] == "calls" and not expected.get("calls"):
        raise DatasetError(f"{where}: expected calls, but none are listed")
    if expected["kind"] == "answer" and not expected.get("mentions"):
        raise DatasetError(f"{where}: an 'answer' expectation needs 'mentions'")
    if not case.get("messages"):
        raise DatasetError(f"{where}: no conversation ('prompt' or 'messages')")
    if not isinstance(case.get("tools", []), list):
        raise DatasetError(f"{where}: 'tools' must be a list")
    return case
