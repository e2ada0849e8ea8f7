"""JSON Schema checks on both sides of generation.

- `check_schema`: a schema a client sends (tool parameters, response_format) is a valid,
  usable JSON Schema, else a 400 that names the field.
- `CallJudge` and `content_problem`: the one judge of whether a call (name + arguments)
  or a JSON answer is valid. The server runs it on every call before it leaves; the
  evaluation harness and the benchmarks run the same judge on what they receive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Mapping, Optional, Sequence

import jsonschema
from jsonschema.validators import validator_for

from functionary.errors import BadRequest
from functionary.schema import SchemaError, inline_refs


def check_schema(schema: object, param: str) -> None:
    if not isinstance(schema, dict):
        raise BadRequest(f"'{param}' must be a JSON Schema object", param=param, code="invalid_schema")
    try:
        validator_for(schema, default=jsonschema.Draft202012Validator).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        raise BadRequest(
            f"'{param}' is not a valid JSON Schema: {exc.message}" + (f" (at {where})" if where else ""),
            param=param,
            code="invalid_schema",
        ) from None
    try:
        inline_refs(schema)  # prompts and grammars need every $ref resolved locally
    except SchemaError as exc:
        raise BadRequest(f"'{param}' is not a usable JSON Schema: {exc}", param=param, code="invalid_schema") from None


@lru_cache(maxsize=512)
def _validator(schema_json: str):
    schema = json.loads(schema_json)
    return validator_for(schema, default=jsonschema.Draft202012Validator)(schema)


def _mismatch(value: object, schema: dict) -> Optional[str]:
    """jsonschema's most relevant complaint about `value`, or None when it matches."""
    error = jsonschema.exceptions.best_match(_validator(json.dumps(schema, sort_keys=True)).iter_errors(value))
    return None if error is None else error.message


class CallJudge:
    """Whether a call names one of the offered functions and carries arguments (JSON
    text) that its parameter schema accepts."""

    def __init__(self, schemas: Mapping[str, dict]) -> None:
        self.schemas = dict(schemas)

    @classmethod
    def from_tools(cls, tools: Iterable[dict]) -> "CallJudge":
        """From OpenAI `tools` entries (`{"type": "function", "function": {...}}`)."""
        functions = (t["function"] for t in tools if t.get("type", "function") == "function")
        return cls({f["name"]: f.get("parameters") or {"type": "object"} for f in functions})

    def problem(self, name: str, arguments: str) -> Optional[str]:
        """Why the call is not acceptable, or None when it parses and validates."""
        schema = self.schemas.get(name)
        if schema is None:
            return f"unknown function {name!r}"
        try:
            args = json.loads(arguments)
        except (json.JSONDecodeError, TypeError) as exc:
            return f"arguments are not JSON: {exc}"
        why = _mismatch(args, schema)
        return None if why is None else f"arguments do not match the schema: {why}"

    def valid(self, name: str, arguments: str) -> bool:
        return self.problem(name, arguments) is None

    def reply(self, calls: Sequence[tuple[str, str]]) -> "ReplyVerdict":
        """The verdict on a reply's calls, as (name, arguments) pairs in order."""
        problems = [self.problem(name, arguments) for name, arguments in calls]
        return ReplyVerdict(problems, bool(calls) and not _is_json(calls[-1][1]))


@dataclass
class ReplyVerdict:
    problems: list[Optional[str]]  # per call, in order: why it is bad, or None
    last_unfinished: bool  # the last call's arguments are not JSON (what max_tokens cuts)

    @property
    def valid(self) -> bool:
        """At least one call, and every call valid."""
        return bool(self.problems) and all(p is None for p in self.problems)

    @property
    def valid_but_cut(self) -> bool:
        """Valid once a last call with unfinished arguments is set aside (what a server
        returns when max_tokens cuts a call): at least one call is left, all of them valid."""
        if self.valid:
            return True
        return self.last_unfinished and len(self.problems) > 1 and all(p is None for p in self.problems[:-1])


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
        return True
    except (json.JSONDecodeError, TypeError):
        return False


def content_problem(content: str, schema: Optional[dict]) -> Optional[str]:
    """Why a JSON answer does not match the response_format schema, or None (also when
    there is no schema to match)."""
    if schema is None:
        return None
    try:
        value = json.loads(content)
    except json.JSONDecodeError as exc:
        return f"content is not JSON: {exc}"
    why = _mismatch(value, schema)
    return None if why is None else f"content does not match the response schema: {why}"
