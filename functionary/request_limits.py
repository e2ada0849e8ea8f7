"""Checks that keep a hostile or careless request from reaching code that would fail on it.

Everything here runs before rendering, tokenizing or grammar building, walks the request
iteratively (no recursion, whatever the nesting) and answers a 400 that names the field
and the limit. What the limits protect: jsonschema, the TypeScript renderer, the budget
closer and xgrammar recurse over schemas; the tokenizer refuses lone surrogates; a tool
result must answer a call that was made.
"""

from __future__ import annotations

from typing import Iterator, Optional

from functionary.errors import BadRequest
from functionary.openai_types import ChatCompletionRequest
from functionary.schema import SchemaError, resolve_pointer

MAX_TOOLS = 128  # OpenAI's own limit
MAX_SCHEMA_DEPTH = 64  # nested JSON containers in one schema (deep300 in the tests is 600)
MAX_SCHEMA_VALUES = 50_000  # JSON values over all the request's schemas together
MAX_ARGUMENTS_DEPTH = 64  # nested containers in an earlier call's arguments
# minLength / minItems / minProperties beyond this can never fit any context.
MAX_MIN_COUNT = 100_000
MIN_COUNT_KEYWORDS = ("minLength", "minItems", "minProperties")


def check_request(req: ChatCompletionRequest) -> None:
    """Raise BadRequest for the first problem found; return quietly otherwise."""
    _check_text(req)
    _check_tool_results(req)
    _check_schemas(req)
    _check_arguments(req)


# ----------------------------------------------------------------------------- text


def _texts(req: ChatCompletionRequest, *, all_strings: bool = True) -> Iterator[tuple[str, str]]:
    """(param, text) for every string the prompt will show; without `all_strings`, only the
    texts every prompt shows in full (no names, no schema strings)."""
    for i, m in enumerate(req.messages):
        if isinstance(m.content, str):
            yield f"messages[{i}].content", m.content
        elif m.content:
            for j, part in enumerate(m.content):
                text = getattr(part, "text", None)
                if isinstance(text, str):
                    yield f"messages[{i}].content[{j}].text", text
        if m.name and all_strings:
            yield f"messages[{i}].name", m.name
        for j, tc in enumerate(m.tool_calls or []):
            if all_strings:
                yield f"messages[{i}].tool_calls[{j}].function.name", tc.function.name
            yield f"messages[{i}].tool_calls[{j}].function.arguments", tc.function.arguments
        if m.function_call is not None:
            yield f"messages[{i}].function_call.arguments", m.function_call.arguments
    for param, schema in _schemas(req) if all_strings else ():
        for value in _walk(schema):
            if isinstance(value, str):
                yield param, value
    for i, tool in enumerate(req.tools or []):
        if tool.function is not None and tool.function.description:
            yield f"tools[{i}].function.description", tool.function.description
    for i, fn in enumerate(req.functions or []):
        if fn.description:
            yield f"functions[{i}].description", fn.description


def client_chars(req: ChatCompletionRequest) -> int:
    """Characters of client text that every prompt shows in full (messages, calls, tool
    descriptions): a lower bound on the prompt's length."""
    return sum(len(text) for _, text in _texts(req, all_strings=False))


def _check_text(req: ChatCompletionRequest) -> None:
    for param, text in _texts(req):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadRequest(f"'{param}' holds a lone UTF-16 surrogate (position {exc.start}), which is not "
                             f"valid Unicode text", param=param, code="invalid_text") from None


# ----------------------------------------------------------------------------- tool results


def _check_tool_results(req: ChatCompletionRequest) -> None:
    """Each `tool` message carries a tool_call_id made by an earlier assistant turn (legacy
    `function` messages name their function instead)."""
    made: set[str] = set()
    for i, m in enumerate(req.messages):
        if m.role == "assistant":
            made.update(tc.id for tc in m.tool_calls or [] if tc.id)
        elif m.role == "tool":
            param = f"messages[{i}].tool_call_id"
            if not m.tool_call_id:
                raise BadRequest(f"'{param}' is required: a message with role 'tool' answers the tool call "
                                 f"with that id", param=param, code="missing_tool_call_id")
            if m.tool_call_id not in made:
                raise BadRequest(f"'{param}' is {m.tool_call_id!r}, but no earlier assistant message made a "
                                 f"tool call with that id", param=param, code="unknown_tool_call_id")


# ----------------------------------------------------------------------------- schemas


def _schemas(req: ChatCompletionRequest) -> Iterator[tuple[str, object]]:
    for i, tool in enumerate(req.tools or []):
        if tool.function is not None and tool.function.parameters is not None:
            yield f"tools[{i}].function.parameters", tool.function.parameters
    for i, fn in enumerate(req.functions or []):
        if fn.parameters is not None:
            yield f"functions[{i}].parameters", fn.parameters
    rf = req.response_format
    if rf is not None and rf.json_schema is not None and rf.json_schema.schema_ is not None:
        yield "response_format.json_schema.schema", rf.json_schema.schema_


def _walk(value: object) -> Iterator[object]:
    """Every JSON value inside `value` (keys included), without recursion."""
    stack = [value]
    while stack:
        v = stack.pop()
        yield v
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def json_depth(value: object, limit: int) -> int:
    """Nesting depth of containers in `value`, counting no further than limit + 1."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, depth)
            if depth > limit:
                return deepest
            stack.extend((c, depth + 1) for c in (v.values() if isinstance(v, dict) else v))
    return deepest


def _check_schemas(req: ChatCompletionRequest) -> None:
    tools = len(req.tools or []) + len(req.functions or [])
    if tools > MAX_TOOLS:
        raise BadRequest(f"{tools} tools were given; at most {MAX_TOOLS} are allowed",
                         param="tools" if req.tools else "functions", code="too_many_tools")
    total = 0
    for param, schema in _schemas(req):
        if json_depth(schema, MAX_SCHEMA_DEPTH) > MAX_SCHEMA_DEPTH:
            raise BadRequest(f"'{param}' is nested more than {MAX_SCHEMA_DEPTH} levels deep (the limit for "
                             f"schemas)", param=param, code="schema_too_deep")
        for value in _walk(schema):
            total += 1
            if isinstance(value, dict):
                _check_counts(value, param)
        if total > MAX_SCHEMA_VALUES:
            raise BadRequest(f"the request's schemas hold more than {MAX_SCHEMA_VALUES} JSON values together "
                             f"(the limit); '{param}' passes it", param=param, code="schema_too_large")
        cycle = _alias_cycle(schema)
        if cycle is not None:
            raise BadRequest(f"'{param}' has a $ref cycle that never reaches a value: {' -> '.join(cycle)}",
                             param=param, code="invalid_schema")


def _check_counts(node: dict, param: str) -> None:
    for key in MIN_COUNT_KEYWORDS:
        value = node.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > MAX_MIN_COUNT:
            raise BadRequest(f"'{param}' asks for {key} {value:g}; at most {MAX_MIN_COUNT} is allowed",
                             param=param, code="schema_too_large")


def _alias_cycle(schema: object) -> Optional[list[str]]:
    """A chain of local `$ref`s (through allOf/anyOf/oneOf, which add no nesting) that comes
    back to where it started: no value can ever satisfy it, and checkers recurse forever."""
    if not isinstance(schema, dict):
        return None

    def resolve(ref: str) -> object:
        try:
            return resolve_pointer(schema, ref)
        except SchemaError:  # remote or dangling refs are refused elsewhere (validation.check_schema)
            return None

    def aliases(node: object) -> Iterator[str]:
        """The refs a node stands for without nesting a value."""
        if not isinstance(node, dict):
            return
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for key in ("allOf", "anyOf", "oneOf"):
            subs = node.get(key)
            for sub in subs if isinstance(subs, list) else []:
                if isinstance(sub, dict) and isinstance(sub.get("$ref"), str):
                    yield sub["$ref"]

    refs = {v["$ref"] for v in _walk(schema) if isinstance(v, dict) and isinstance(v.get("$ref"), str)}
    graph = {ref: list(aliases(resolve(ref))) for ref in refs}
    # Iterative depth-first search for a cycle in the alias graph.
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in graph:
        if start in state:
            continue
        path, stack = [start], [iter(graph[start])]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(graph.get(nxt, [])))
    return None


# ----------------------------------------------------------------------------- arguments


def _check_arguments(req: ChatCompletionRequest) -> None:
    for i, m in enumerate(req.messages):
        calls = [(f"messages[{i}].tool_calls[{j}].function.arguments", tc.function.arguments)
                 for j, tc in enumerate(m.tool_calls or [])]
        if m.function_call is not None:
            calls.append((f"messages[{i}].function_call.arguments", m.function_call.arguments))
        for param, text in calls:
            if nested_deeper_than(text, MAX_ARGUMENTS_DEPTH):
                raise BadRequest(f"'{param}' is nested more than {MAX_ARGUMENTS_DEPTH} levels deep",
                                 param=param, code="arguments_too_deep")


def nested_deeper_than(text: str, limit: int) -> bool:
    """Whether JSON text nests brackets deeper than `limit`, strings skipped (no parsing)."""
    if text.count("[") + text.count("{") <= limit:
        return False  # not enough brackets: skip the character walk
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False
