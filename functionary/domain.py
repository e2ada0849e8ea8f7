"""The domain types every layer shares, and the folding of a chat request into them.

A request's tool side becomes one `ToolRequest`: the functions it offers (legacy
`functions` folded into `tools`, `code_interpreter` as the function `python`), the
tool_choice mode (legacy `function_call` folded in), `parallel_tool_calls` and the
`response_format` schema. What each mode means is said once, by the properties of
`ToolRequest`; formats, validation and serving all read it from there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal, Optional

from functionary.errors import BadRequest
from functionary.openai_types import ChatCompletionRequest, NamedToolChoice, Tool
from functionary.validation import CallJudge, check_schema

EMPTY_PARAMETERS = {"type": "object", "properties": {}}


@dataclass(frozen=True)
class Function:
    name: str
    description: str = ""
    parameters: dict = field(default_factory=lambda: dict(EMPTY_PARAMETERS))
    # A code_interpreter tool: formats with a native code channel let the model write raw
    # code; the API shows the call as arguments {"code": "..."} (see formats/code_tool.py).
    code: bool = False

    def as_openai_tool(self) -> dict:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


CODE_TOOL = Function(
    "python",
    "Runs Python code in a stateful Jupyter notebook and returns its output.",
    {
        "type": "object",
        "properties": {"code": {"type": "string", "description": "The Python code to run."}},
        "required": ["code"],
        "additionalProperties": False,
    },
    code=True,
)

Mode = Literal["auto", "none", "required", "named"]


@dataclass(frozen=True)
class ToolRequest:
    """What a request asks of the tool layer, legacy fields already folded in."""

    functions: tuple[Function, ...] = ()
    mode: Mode = "none"
    forced_name: Optional[str] = None  # set when mode == "named"
    parallel: bool = True
    response_schema: Optional[dict] = None  # response_format json_schema / json_object

    # -- what the mode means (the only place that says it) --

    @property
    def calls_allowed(self) -> bool:
        """Whether the reply may hold calls at all (`none`, or no tools: text only)."""
        return bool(self.functions) and self.mode != "none"

    @property
    def calls_only(self) -> bool:
        """`required` or a named function: the reply is calls and nothing else."""
        return self.calls_allowed and self.mode in ("required", "named")

    @property
    def single_call(self) -> bool:
        """At most one call: a named function, or `parallel_tool_calls: false`."""
        return self.mode == "named" or not self.parallel

    def allowed_functions(self) -> tuple[Function, ...]:
        if self.mode == "named":
            return tuple(f for f in self.functions if f.name == self.forced_name)
        return self.functions

    def callable_functions(self) -> tuple[Function, ...]:
        """The functions the model may call here (and so the ones a prompt shows)."""
        return self.allowed_functions() if self.calls_allowed else ()

    def judge(self) -> CallJudge:
        """The judge of calls to the functions this request allows."""
        return CallJudge({f.name: f.parameters for f in self.allowed_functions()})


@dataclass
class ParsedCall:
    name: str
    arguments: str


@dataclass
class ParsedMessage:
    content: str
    calls: list[ParsedCall]


def normalize_arguments(arguments: str) -> str:
    """Arguments as the constraint would have the model write them (`{"a": 1, "b": 2}`)."""
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False)
    except (json.JSONDecodeError, TypeError):
        return arguments if arguments.strip() else "{}"


# ----------------------------------------------------------------------------- folding


def tool_request(req: ChatCompletionRequest) -> ToolRequest:
    """Fold tools/functions, tool_choice/function_call and response_format into one
    checked ToolRequest; a BadRequest names the offending field."""
    functions = _functions(req)
    names = {f.name for f in functions}
    choice = _tool_choice(req, bool(functions))
    if isinstance(choice, NamedToolChoice):
        mode, forced = "named", choice.function.name
        if forced not in names:
            raise BadRequest(
                f"tool_choice names function {forced!r}, which is not in tools"
                + (f" (available: {', '.join(sorted(names))})" if names else " (no tools were given)"),
                param="tool_choice",
            )
    else:
        mode, forced = choice, None
        if mode == "required" and not functions:
            raise BadRequest("tool_choice 'required' needs at least one tool in 'tools'", param="tool_choice")
    parallel = True if req.parallel_tool_calls is None else req.parallel_tool_calls
    return ToolRequest(tuple(functions), mode, forced, parallel, _response_schema(req))


def _tools(req: ChatCompletionRequest) -> list[Tool]:
    if req.tools:
        return list(req.tools)
    return [Tool(function=f) for f in req.functions or []]  # legacy `functions`


def _tool_choice(req: ChatCompletionRequest, has_tools: bool):
    if req.tool_choice is not None:
        return req.tool_choice
    if req.function_call is not None:  # legacy: "auto" / "none" / {"name": N}
        fc = req.function_call
        return fc if isinstance(fc, str) else NamedToolChoice(function=fc)
    return "auto" if has_tools else "none"  # OpenAI's default


def _functions(req: ChatCompletionRequest) -> list[Function]:
    key = "tools" if req.tools else "functions"
    functions: list[Function] = []
    seen: set[str] = set()
    for i, tool in enumerate(_tools(req)):
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
    return functions


def _response_schema(req: ChatCompletionRequest) -> Optional[dict]:
    rf = req.response_format
    if rf is None or rf.type == "text":
        return None
    if rf.type == "json_object":
        return {"type": "object"}
    schema = rf.json_schema.schema_ if rf.json_schema.schema_ is not None else {}
    check_schema(schema, "response_format.json_schema.schema")
    return schema
