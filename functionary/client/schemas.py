"""Tools from pydantic models and plain Python functions.

A `Tool` pairs an OpenAI tool definition with a pydantic model that validates its
arguments. For a function that model is built from the signature (type hints, defaults,
docstring descriptions), so the schema the server constrains generation with and the
validation done here come from one source and cannot drift apart.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from typing import Any, Callable, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.json_schema import GenerateJsonSchema

from functionary.client.docstrings import parse_docstring

__all__ = ["Tool", "ArgumentsError", "as_tool", "as_tools", "json_schema"]


class ArgumentsError(ValueError):
    """A call's arguments are not valid JSON, not an object, or fail validation."""


class _NoAutoTitles(GenerateJsonSchema):
    """Leave out the titles pydantic derives from names: they repeat the keys, cost prompt
    tokens and clutter fine-tuning data. Titles set on purpose (Field(title=...)) stay."""

    def field_title_should_be_set(self, schema) -> bool:
        return False


def json_schema(model: type[BaseModel]) -> dict:
    """The JSON Schema of `model` as tool `parameters` (no top-level title or description)."""
    schema = model.model_json_schema(schema_generator=_NoAutoTitles)
    schema.pop("title", None)
    schema.pop("description", None)
    return schema


@dataclass(frozen=True)
class Tool:
    """A tool the model may call. `model` validates the arguments; `fn` (None for a
    pydantic-model tool) is called with them. `params` maps each field of `model` to the
    function parameter it fills, with its kind (positional-only or not)."""

    name: str
    description: str
    parameters: dict
    model: type[BaseModel]
    fn: Callable[..., Any] | None = None
    params: tuple[tuple[str, str, bool], ...] = field(default=())  # (field, parameter, positional-only)

    @classmethod
    def from_model(cls, model: type[BaseModel], *, name: str | None = None,
                   description: str | None = None) -> "Tool":
        desc = description if description is not None else (parse_docstring(model.__doc__)[0])
        return cls(name or model.__name__, desc, json_schema(model), model)

    @classmethod
    def from_function(cls, fn: Callable[..., Any], *, name: str | None = None,
                      description: str | None = None) -> "Tool":
        summary, param_docs = parse_docstring(inspect.getdoc(fn))
        hints = get_type_hints(fn, include_extras=True)
        fields: dict[str, Any] = {}
        params: list[tuple[str, str, bool]] = []
        for i, (pname, p) in enumerate(inspect.signature(fn).parameters.items()):
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{fn.__qualname__}: *args/**kwargs cannot become tool parameters")
            default = ... if p.default is p.empty else p.default
            # Internal field names with the parameter name as alias: parameters such as
            # `json` or `schema` would otherwise shadow BaseModel attributes.
            # (A docstring description only where there is one: never mask Annotated[..., Field(...)].)
            extra = {"description": param_docs[pname]} if pname in param_docs else {}
            fields[f"p{i}"] = (hints.get(pname, Any), Field(default, alias=pname, **extra))
            params.append((f"p{i}", pname, p.kind is p.POSITIONAL_ONLY))
        model = create_model(f"{fn.__name__}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
        return cls(name or fn.__name__, description if description is not None else summary,
                   json_schema(model), model, fn, tuple(params))

    @property
    def is_async(self) -> bool:
        return self.fn is not None and inspect.iscoroutinefunction(self.fn)

    def definition(self) -> dict:
        """The OpenAI `tools` entry."""
        fn: dict[str, Any] = {"name": self.name}
        if self.description:
            fn["description"] = self.description
        fn["parameters"] = self.parameters
        return {"type": "function", "function": fn}

    def validate(self, arguments: str) -> BaseModel:
        """Parse and validate a call's raw JSON arguments; ArgumentsError says what is wrong."""
        try:
            parsed = json.loads(arguments or "{}")
        except json.JSONDecodeError as e:
            raise ArgumentsError(f"the arguments are not valid JSON ({e})") from None
        if not isinstance(parsed, dict):
            raise ArgumentsError(f"the arguments must be a JSON object, got {type(parsed).__name__}")
        try:
            return self.model.model_validate_json(arguments or "{}")
        except ValidationError as e:
            raise ArgumentsError("the arguments do not validate:\n" + _error_lines(e)) from None

    def call_args(self, validated: BaseModel) -> tuple[list, dict]:
        """(args, kwargs) for `fn` from validated arguments."""
        args, kwargs = [], {}
        for fname, pname, positional_only in self.params:
            value = getattr(validated, fname)
            if positional_only:
                args.append(value)
            else:
                kwargs[pname] = value
        return args, kwargs


def _error_lines(e: ValidationError) -> str:
    lines = []
    for err in e.errors(include_url=False):
        loc = ".".join(str(part) for part in err["loc"]) or "(arguments)"
        lines.append(f"- {loc}: {err['msg']}")
    return "\n".join(lines)


def as_tool(obj: Any) -> Tool:
    """A Tool from a Tool, a pydantic model class, or a plain (sync or async) function."""
    if isinstance(obj, Tool):
        return obj
    if isinstance(obj, type) and issubclass(obj, BaseModel):
        return Tool.from_model(obj)
    if callable(obj) and not isinstance(obj, type):
        return Tool.from_function(obj)
    raise TypeError(f"a tool must be a pydantic model class or a function, got {obj!r}")


def as_tools(objs: Any) -> list[Tool]:
    """Tools from a list (or a single tool); names must be unique."""
    if not isinstance(objs, (list, tuple)):
        objs = [objs]
    tools = [as_tool(o) for o in objs]
    if not tools:
        raise ValueError("at least one tool is needed")
    names = [t.name for t in tools]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"tool names must be unique; repeated: {', '.join(dupes)}")
    return tools
