"""Request checks (tool schemas, tool_choice) and the final check of generated calls."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Optional

import jsonschema
from jsonschema.validators import validator_for

from functionary.errors import BadRequest
from functionary.formats.base import Function, ParsedCall, ToolRequest
from functionary.formats.code_tool import CODE_TOOL
from functionary.openai_types import ChatCompletionRequest, NamedToolChoice
from functionary.schema import SchemaError, inline_refs

EMPTY_PARAMETERS = {"type": "object", "properties": {}}


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


def tool_request(req: ChatCompletionRequest) -> ToolRequest:
    """Fold tools/functions, tool_choice and response_format into one checked ToolRequest."""
    tools = req.effective_tools()
    key = "tools" if req.tools else "functions"
    functions: list[Function] = []
    seen: set[str] = set()
    for i, tool in enumerate(tools):
        if tool.type == "code_interpreter":
            if CODE_TOOL.name in seen:
                raise BadRequest(f"tool name {CODE_TOOL.name!r} is used more than once (the code_interpreter tool "
                                 f"is the function {CODE_TOOL.name!r})", param=f"{key}[{i}]")
            seen.add(CODE_TOOL.name)
            functions.append(CODE_TOOL)
            continue
        fn = tool.function
        param = f"{key}[{i}].function.parameters" if key == "tools" else f"functions[{i}].parameters"
        params = fn.parameters if fn.parameters is not None else EMPTY_PARAMETERS
        check_schema(params, param)
        if params.get("type", "object") != "object":
            raise BadRequest(f"'{param}' must describe an object (type: object)", param=param, code="invalid_schema")
        params = {"type": "object", **params}
        if fn.name in seen:
            raise BadRequest(f"tool name {fn.name!r} is used more than once"
                             + (" (the code_interpreter tool is the function 'python')"
                                if CODE_TOOL in functions and fn.name == CODE_TOOL.name else ""),
                             param=f"{key}[{i}].function.name")
        seen.add(fn.name)
        functions.append(Function(fn.name, fn.description or "", params))

    choice = req.effective_tool_choice()
    mode, forced = "none", None
    if isinstance(choice, NamedToolChoice):
        mode, forced = "named", choice.function.name
        if forced not in seen:
            raise BadRequest(
                f"tool_choice names function {forced!r}, which is not in tools"
                + (f" (available: {', '.join(sorted(seen))})" if seen else " (no tools were given)"),
                param="tool_choice",
            )
    else:
        mode = choice
        if mode == "required" and not functions:
            raise BadRequest("tool_choice 'required' needs at least one tool in 'tools'", param="tool_choice")

    response_schema: Optional[dict] = None
    rf = req.response_format
    if rf is not None and rf.type == "json_object":
        response_schema = {"type": "object"}
    elif rf is not None and rf.type == "json_schema":
        response_schema = rf.json_schema.schema_ if rf.json_schema.schema_ is not None else {}
        check_schema(response_schema, "response_format.json_schema.schema")

    parallel = True if req.parallel_tool_calls is None else req.parallel_tool_calls
    return ToolRequest(tuple(functions), mode, forced, parallel, response_schema)


@lru_cache(maxsize=512)
def _validator(schema_json: str):
    schema = json.loads(schema_json)
    return validator_for(schema, default=jsonschema.Draft202012Validator)(schema)


def call_problem(call: ParsedCall, request: ToolRequest) -> Optional[str]:
    """Why a generated call is not acceptable, or None when it parses and validates."""
    allowed = {f.name: f for f in request.allowed_functions()}
    fn = allowed.get(call.name)
    if fn is None:
        return f"unknown function {call.name!r}"
    try:
        args = json.loads(call.arguments)
    except json.JSONDecodeError as exc:
        return f"arguments are not JSON: {exc}"
    error = jsonschema.exceptions.best_match(_validator(json.dumps(fn.parameters, sort_keys=True)).iter_errors(args))
    return None if error is None else f"arguments do not match the schema: {error.message}"


def content_problem(content: str, request: ToolRequest) -> Optional[str]:
    """Why JSON-mode content does not match response_format, or None."""
    if request.response_schema is None:
        return None
    try:
        value = json.loads(content)
    except json.JSONDecodeError as exc:
        return f"content is not JSON: {exc}"
    error = jsonschema.exceptions.best_match(
        _validator(json.dumps(request.response_schema, sort_keys=True)).iter_errors(value)
    )
    return None if error is None else f"content does not match the response schema: {error.message}"
