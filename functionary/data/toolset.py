"""The tools a data set is made for, from any of the places users keep them.

- an OpenAI `tools` JSON file (a list), or an object with `tools` and an optional
  `system_prompt` (the drone co-pilot file's shape);
- a Python module (`pkg.mod`, `path/to/file.py`, either with `:attr` for one list): its
  pydantic models and functions become tools through the client helpers' schema code,
  and functions are kept as callables so the execution stage can run them. A module-level
  `SYSTEM_PROMPT` string is used as the system prompt.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from functionary.errors import BadRequest
from functionary.validation import check_schema


class ToolsError(ValueError):
    """TOOLS could not be read as a tool set (the message says why)."""


@dataclass
class ToolSet:
    tools: list[dict]  # OpenAI `tools` entries
    system_prompt: Optional[str] = None
    # name -> a callable taking the call's JSON arguments (dict), for the execution stage
    callables: dict[str, Callable[[dict], Any]] = field(default_factory=dict)
    source: str = ""

    @property
    def functions(self) -> list[dict]:
        return [t["function"] for t in self.tools]

    def function(self, name: str) -> dict:
        return next(f for f in self.functions if f["name"] == name)

    @property
    def names(self) -> list[str]:
        return [f["name"] for f in self.functions]


def load_toolset(spec: str) -> ToolSet:
    path = Path(spec)
    if path.suffix == ".json":
        if not path.is_file():
            raise ToolsError(f"{spec}: no such file")
        return from_json(json.loads(path.read_text()), source=spec)
    return from_module(spec)


def from_json(data: Any, source: str = "") -> ToolSet:
    system = None
    if isinstance(data, dict):
        system = data.get("system_prompt") or data.get("system")
        data = data.get("tools")
    if not isinstance(data, list) or not data:
        raise ToolsError(f"{source}: expected a list of tools, or an object with a 'tools' list")
    tools = [_normalize_tool(t, f"{source}: tools[{i}]") for i, t in enumerate(data)]
    return _checked(ToolSet(tools, system, {}, source))


def _normalize_tool(tool: Any, where: str) -> dict:
    if not isinstance(tool, dict):
        raise ToolsError(f"{where}: a tool must be an object")
    fn = tool.get("function", tool)  # a bare function definition is accepted too
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        raise ToolsError(f"{where}: a function needs a name")
    out = {"name": fn["name"], "description": fn.get("description") or "",
           "parameters": fn.get("parameters") or {"type": "object", "properties": {}}}
    return {"type": "function", "function": out}


def from_module(spec: str) -> ToolSet:
    """Tools from a module's pydantic models and functions (or from `module:attr`)."""
    from pydantic import BaseModel

    from functionary.client.schemas import as_tools

    target, _, attr = spec.partition(":")
    module = _import(target)
    if attr:
        objs = getattr(module, attr, None)
        if objs is None:
            raise ToolsError(f"{spec}: module {module.__name__} has no attribute {attr!r}")
    else:
        objs = [obj for name, obj in vars(module).items()
                if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__
                and ((isinstance(obj, type) and issubclass(obj, BaseModel)) or inspect.isfunction(obj))]
    if not objs:
        raise ToolsError(f"{spec}: no pydantic models or functions found")
    try:
        tools = as_tools(objs)
    except (TypeError, ValueError) as exc:
        raise ToolsError(f"{spec}: {exc}") from None
    callables = {t.name: _runner(t) for t in tools if t.fn is not None}
    system = getattr(module, "SYSTEM_PROMPT", None)
    return _checked(ToolSet([t.definition() for t in tools], system if isinstance(system, str) else None,
                            callables, spec))


def _runner(tool) -> Callable[[dict], Any]:
    """A callable that validates JSON arguments as the client helpers do, then runs the tool."""
    import asyncio

    def run(arguments: dict) -> Any:
        validated = tool.validate(json.dumps(arguments))
        args, kwargs = tool.call_args(validated)
        result = tool.fn(*args, **kwargs)
        return asyncio.run(result) if inspect.isawaitable(result) else result

    return run


def _import(target: str):
    path = Path(target)
    if path.suffix == ".py":
        if not path.is_file():
            raise ToolsError(f"{target}: no such file")
        name = f"_functionary_tools_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module  # pydantic resolves forward references through sys.modules
        module_spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(target)
    except ImportError as exc:
        raise ToolsError(f"{target}: not a .json file or an importable module ({exc})") from None


def _checked(toolset: ToolSet) -> ToolSet:
    seen = set()
    for i, fn in enumerate(toolset.functions):
        if fn["name"] in seen:
            raise ToolsError(f"{toolset.source}: tool name {fn['name']!r} is used more than once")
        seen.add(fn["name"])
        try:
            check_schema(fn["parameters"], f"tools[{i}].function.parameters")
        except BadRequest as exc:
            raise ToolsError(f"{toolset.source}: {exc.message}") from None
    return toolset
