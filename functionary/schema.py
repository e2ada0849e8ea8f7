"""OpenAI tool definitions (JSON Schema) -> the TypeScript namespace Functionary models read.

Functionary models were trained on one exact rendering of tool schemas, so the output
here follows it byte for byte (see the reference renderings in shared/reference), quirks
included: e.g. each extra level of array nesting pushes an object element one indent
level deeper.
"""

from __future__ import annotations

import copy
import json
from urllib.parse import unquote

__all__ = ["SchemaError", "inline_refs", "schema_to_typescript_params", "tools_to_typescript"]

HEADER = "// Supported function definitions that should be called when necessary.\nnamespace functions {\n\n"
FOOTER = "} // namespace functions"
INDENT = "    "

# Keywords whose values are data, not sub-schemas: never resolve `$ref`s inside them.
_DATA_KEYS = frozenset({"enum", "const", "default", "examples", "required"})
# Keywords whose values map names to sub-schemas (the names are not keywords).
_MAP_KEYS = frozenset({"properties", "patternProperties", "dependentSchemas"})
_DEFS_KEYS = ("$defs", "definitions")
_LIMITS = (("maximum", "Maximum"), ("minimum", "Minimum"),
           ("maxLength", "Maximum length"), ("minLength", "Minimum length"))
_SCALARS = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean", "null": "null"}


class SchemaError(ValueError):
    """A tool definition or JSON Schema that cannot be rendered."""


# --------------------------------------------------------------------------- $ref inlining


def inline_refs(schema: dict, *, max_depth: int = 8) -> dict:
    """Return a copy of `schema` with local `$ref`s replaced by their targets and
    `$defs`/`definitions` dropped. A ref met again inside its own expansion (or nested
    deeper than `max_depth` expansions) becomes `{}` ("any"), so this never loops.
    Keywords beside a `$ref` are merged over the target. Bad refs raise SchemaError."""
    if not isinstance(schema, dict):
        raise SchemaError(f"a JSON schema must be an object, got {type(schema).__name__}")

    def walk(node: object, stack: tuple[str, ...]) -> object:
        if not isinstance(node, dict):
            return copy.deepcopy(node)  # boolean schemas and the like
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in stack or len(stack) >= max_depth:
                target: dict = {}  # recursion point: render as "any"
            else:
                target = walk(resolve_pointer(schema, ref), stack + (ref,))
                target = target if isinstance(target, dict) else {}
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            return {**target, **walk(siblings, stack)}
        out = {}
        for key, value in node.items():
            if key in _DEFS_KEYS:
                continue
            if key in _DATA_KEYS:
                out[key] = copy.deepcopy(value)
            elif key in _MAP_KEYS and isinstance(value, dict):
                out[key] = {name: walk(sub, stack) for name, sub in value.items()}
            elif isinstance(value, list):
                out[key] = [walk(item, stack) for item in value]
            else:
                out[key] = walk(value, stack)
        return out

    return walk(schema, ())


def resolve_pointer(root: dict, ref: str) -> object:
    """Follow a local JSON pointer ref ("#", "#/$defs/X", "#/properties/a/items")."""
    if not ref.startswith("#"):
        raise SchemaError(f"cannot resolve $ref {ref!r}: only local refs ('#/...') are supported")
    pointer = unquote(ref[1:])
    if pointer == "":
        return root
    if not pointer.startswith("/"):
        raise SchemaError(f"cannot resolve $ref {ref!r}: not a JSON pointer")
    node: object = root
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")  # RFC 6901 escapes
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise SchemaError(f"cannot resolve $ref {ref!r}: no {token!r} in the schema")
    return node


# --------------------------------------------------------------------------- namespace


def tools_to_typescript(tools: list[dict]) -> str:
    """Render OpenAI-style tools as Functionary's `namespace functions { ... }` text.
    Entries whose type is not "function" (e.g. code_interpreter) are skipped."""
    blocks = [
        _function_block(tool.get("function"))
        for tool in tools or []
        if isinstance(tool, dict) and tool.get("type") == "function"
    ]
    return HEADER + "".join(block + "\n\n" for block in blocks) + FOOTER


def _function_block(fn: object) -> str:
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        raise SchemaError(f"a function tool needs a non-empty 'name': {fn!r}")
    # The function description is written as is (no "." added), "// " even when empty;
    # each line gets its own "//" so a multi-line description stays a comment.
    description = fn.get("description") or ""
    comment = "\n".join("// " + line for line in str(description).splitlines() or [""])
    lines = _object_lines(inline_refs(fn.get("parameters") or {}), 0)
    if not lines:  # no parameters, or an empty `properties`
        return f"{comment}\ntype {fn['name']} = () => any;"
    body = "\n".join(lines)
    return f"{comment}\ntype {fn['name']} = (_: {{\n{body}\n}}) => any;"


def schema_to_typescript_params(parameters: dict, indent: int = 0) -> str:
    """The property lines of one object schema, at nesting depth `indent`."""
    return "\n".join(_object_lines(inline_refs(parameters), indent))


def _properties(schema: dict) -> dict:
    props = schema.get("properties")
    return props if isinstance(props, dict) else {}


def _object_lines(schema: dict, depth: int) -> list[str]:
    required = _list(schema.get("required"))
    lines: list[str] = []
    for name, prop in _properties(schema).items():
        if prop is True:
            prop = {}
        if isinstance(prop, dict):  # skip `false` and junk such as a misplaced list
            lines += _property_lines(str(name), prop, name in required, depth)
    return lines


def _property_lines(name: str, prop: dict, required: bool, depth: int) -> list[str]:
    pad = INDENT * depth
    lines = [pad + line for line in _comment_lines(name, prop)]
    lines.append(f"{pad}{name}{'' if required else '?'}: {_type(prop, depth)},")
    return lines


def _comment_lines(name: str, prop: dict) -> list[str]:
    parts = []
    description = prop.get("description")
    if isinstance(description, str) and description.strip():
        description = description.strip()
        parts.append(description if description.endswith(".") else description + ".")
    if "default" in prop:
        parts.append(f"Default={_default_text(prop['default'])}.")
    fmt = _format(prop)
    if fmt:
        parts.append("Format=" + fmt)
    parts += [f"{label}={prop[key]}" for key, label in _LIMITS if key in prop]
    lines = ["// " + _one_line(" ".join(parts))] if parts else []

    examples = prop.get("examples")
    if examples is not None and examples != []:
        examples = examples if isinstance(examples, list) else [examples]
        lines.append(f"// Example {name}:")
        lines += ["// " + _one_line(_example_text(example)) for example in examples]
    return lines


def _default_text(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)  # Python style on purpose: True / False / None, as in training


def _example_text(example: object) -> str:
    return example if isinstance(example, str) else json.dumps(example, ensure_ascii=False)


def _format(prop: dict) -> str | None:
    if isinstance(prop.get("format"), str):
        return prop["format"]
    subs = [s for key in ("oneOf", "anyOf") for s in _list(prop.get(key))]
    formats = [s["format"] for s in subs if isinstance(s, dict) and isinstance(s.get("format"), str)]
    return " or ".join(formats) or None


def _one_line(text: str) -> str:
    # Any line break (\n, \r\n, \u2028, ...) would end the `//` comment early.
    return " ".join(text.splitlines())


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


# --------------------------------------------------------------------------- types


def _type(schema: object, depth: int) -> str:
    return " | ".join(_members(schema, depth))


def _members(schema: object, depth: int) -> list[str]:
    """The TypeScript union members for `schema`; objects render over several lines,
    with their children at `depth + 1` and the closing brace at `depth`."""
    if not isinstance(schema, dict):
        return ["any"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        members = [json.dumps(value, ensure_ascii=False) for value in schema["enum"]]
    elif "const" in schema:
        members = [json.dumps(schema["const"], ensure_ascii=False)]
    elif "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        members = [_single_type(schema, t, depth) for t in types] or ["any"]
    elif "properties" in schema:
        members = [_single_type(schema, "object", depth)]
    elif "items" in schema:
        members = [_single_type(schema, "array", depth)]
    elif _list(schema.get("oneOf")) or _list(schema.get("anyOf")):
        subs = _list(schema.get("oneOf")) + _list(schema.get("anyOf"))
        members = [m for sub in subs for m in _members(sub, depth)]
    elif _list(schema.get("allOf")):
        members = _members(_merge_all_of(schema), depth)
    else:
        members = ["any"]
    if schema.get("nullable") is True:
        members.append("null")
    return list(dict.fromkeys(members))  # dedupe, keep order ("string | string" -> "string")


def _single_type(schema: dict, type_name: object, depth: int) -> str:
    if type_name == "object":
        children = _object_lines(schema, depth + 1)
        if not children:  # no (renderable) properties
            return "object"
        return "{\n" + "\n".join(children) + "\n" + INDENT * depth + "}"
    if type_name == "array":
        return _array_type(schema, depth)
    if isinstance(type_name, str):
        return _SCALARS.get(type_name, type_name)
    return "any"


def _array_type(schema: dict, depth: int) -> str:
    items = schema.get("items")
    items = items if isinstance(items, dict) else {}
    if items.get("type") == "array":
        # Functionary's quirk: each extra array level indents the element one step more.
        return _array_type(items, depth + 1) + "[]"
    members = _members(items, depth)
    if members == ["any"]:
        return "[]"  # items without a type
    element = " | ".join(members)
    return (f"({element})" if len(members) > 1 else element) + "[]"


def _merge_all_of(schema: dict) -> dict:
    """Flatten `allOf` (pydantic v1 wraps refs in it) into one schema; later wins."""
    merged: dict = {}
    properties: dict = {}
    required: list = []
    for sub in [*_list(schema["allOf"]), {k: v for k, v in schema.items() if k != "allOf"}]:
        if isinstance(sub, dict):
            sub = _merge_all_of(sub) if _list(sub.get("allOf")) else sub
            merged.update(sub)
            properties.update(_properties(sub))
            required += _list(sub.get("required"))
    if properties:
        merged["properties"], merged["required"] = properties, required
    return merged
