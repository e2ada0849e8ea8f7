"""Tests for functionary.schema: JSON Schema -> Functionary's TypeScript tool namespace."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functionary.schema import (
    SchemaError,
    inline_refs,
    schema_to_typescript_params,
    tools_to_typescript,
)

REF = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "functionary-formats"


def reference_dir() -> Path:
    """The shared reference renderings, expected beside every checkout: missing is a failure."""
    if not REF.is_dir():
        pytest.fail(f"the reference renderings are missing at {REF}: these goldens need the shared "
                    f"folder beside the checkout (../shared/reference/functionary-formats)", pytrace=False)
    return REF

HEADER = "// Supported function definitions that should be called when necessary.\nnamespace functions {\n\n"
FOOTER = "} // namespace functions"


def tool(name: str, parameters: dict | None = None, description: str | None = "A tool") -> dict:
    fn: dict = {"name": name}
    if description is not None:
        fn["description"] = description
    if parameters is not None:
        fn["parameters"] = parameters
    return {"type": "function", "function": fn}


def obj(properties: dict, required: list | None = None) -> dict:
    return {"type": "object", "properties": properties, "required": required or []}


def params(properties: dict, required: list | None = None) -> str:
    return schema_to_typescript_params(obj(properties, required))


def prop_type(schema: dict) -> str:
    """The rendered type of a single required property `p` (no comment lines)."""
    line = params({"p": schema}, ["p"]).splitlines()[-1]
    assert line.startswith("p: ") and line.endswith(",")
    return line[len("p: ") : -1]


# --------------------------------------------------------------------------- reference renderings


def test_reference_large_schema_byte_for_byte():
    ref = reference_dir()
    case = json.loads((ref / "typescript_schema_case.json").read_text())
    expected = (ref / "typescript_schema_expected.txt").read_text()
    out = tools_to_typescript([{"type": "function", "function": f} for f in case["functions"]])
    # The expected file ends with the usual end-of-file newline; the namespace does not.
    assert out + "\n" == expected


def test_reference_v3_llama3_prompt_namespace():
    ref = reference_dir()
    case = json.loads((ref / "test_case.json").read_text())
    prompt = (ref / "prompt_test_v3.llama3.txt").read_text()
    start = prompt.index("// Supported function definitions")
    end = prompt.index(FOOTER) + len(FOOTER)
    assert tools_to_typescript(case["tools"]) == prompt[start:end]


# --------------------------------------------------------------------------- namespace layout


def test_layout_of_two_functions():
    tools = [
        tool("get_weather", obj({"city": {"type": "string", "description": "City name"}}, ["city"]), "Get weather"),
        tool("ping", None, "Ping the server"),
    ]
    assert tools_to_typescript(tools) == (
        HEADER
        + "// Get weather\n"
        + "type get_weather = (_: {\n"
        + "// City name.\n"
        + "city: string,\n"
        + "}) => any;\n\n"
        + "// Ping the server\n"
        + "type ping = () => any;\n\n"
        + FOOTER
    )


def test_no_tools_gives_empty_namespace():
    assert tools_to_typescript([]) == HEADER + FOOTER


def test_non_function_tools_are_ignored():
    tools = [{"type": "code_interpreter"}, tool("f"), {"type": "retrieval", "function": {"name": "x"}}]
    assert tools_to_typescript(tools) == HEADER + "// A tool\ntype f = () => any;\n\n" + FOOTER


def test_function_description_gets_no_period_and_empty_one_is_still_written():
    out = tools_to_typescript([tool("a", description="No period"), tool("b", description=None), tool("c", description="")])
    assert "// No period\ntype a = () => any;" in out
    assert "\n// \ntype b = () => any;" in out
    assert "\n// \ntype c = () => any;" in out


def test_multiline_function_description_stays_a_comment():
    out = tools_to_typescript([tool("f", description="Line one\nLine two")])
    assert "// Line one\n// Line two\ntype f = () => any;" in out


@pytest.mark.parametrize(
    "parameters",
    [None, {}, {"type": "object"}, {"type": "object", "properties": {}}, {"type": "object", "properties": {}, "required": []}],
)
def test_functions_without_parameters(parameters):
    assert "type f = () => any;" in tools_to_typescript([tool("f", parameters)])


def test_function_whose_properties_are_all_unrenderable_has_no_params():
    assert "type f = () => any;" in tools_to_typescript([tool("f", obj({"x": False}))])


def test_function_without_name_raises():
    with pytest.raises(SchemaError):
        tools_to_typescript([{"type": "function", "function": {"description": "nameless"}}])


# --------------------------------------------------------------------------- types


@pytest.mark.parametrize(
    "schema, expected",
    [
        ({"type": "string"}, "string"),
        ({"type": "integer"}, "number"),
        ({"type": "number"}, "number"),
        ({"type": "boolean"}, "boolean"),
        ({"type": "null"}, "null"),
        ({}, "any"),
        ({"description": "untyped"}, "any"),
        ({"type": "string", "enum": ["a", "b"]}, '"a" | "b"'),
        ({"enum": ["only"]}, '"only"'),
        ({"type": "integer", "enum": [1, 2, 3]}, "1 | 2 | 3"),
        ({"enum": ["a", 1, None]}, '"a" | 1 | null'),
        ({"const": "fixed"}, '"fixed"'),
        ({"type": "string", "nullable": True}, "string | null"),
        ({"type": "string", "nullable": False}, "string"),
        ({"type": "string", "enum": ["x", "y"], "nullable": True}, '"x" | "y" | null'),
        ({"type": ["number", "null"]}, "number | null"),
        ({"type": ["string", "integer", "boolean"]}, "string | number | boolean"),
        ({"type": ["integer", "number"]}, "number"),
        ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, "string | number"),
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, "string | null"),
        ({"oneOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}, "string"),
        ({"anyOf": [{"type": "string", "enum": ["a"]}, {"type": "boolean"}]}, '"a" | boolean'),
        ({"type": "object"}, "object"),
        ({"type": "object", "properties": {}}, "object"),
        ({"type": "object", "properties": {"gone": False}}, "object"),
        ({"type": "date"}, "date"),
    ],
)
def test_scalar_and_union_types(schema, expected):
    assert prop_type(schema) == expected


@pytest.mark.parametrize(
    "schema, expected",
    [
        ({"type": "array", "items": {"type": "string"}}, "string[]"),
        ({"type": "array", "items": {"type": "integer"}}, "number[]"),
        ({"type": "array", "items": {"type": "boolean"}}, "boolean[]"),
        ({"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}, '("a" | "b")[]'),
        ({"type": "array", "items": {"type": "integer", "enum": [1, 2]}}, "(1 | 2)[]"),
        ({"type": "array", "items": {"enum": ["solo"]}}, '"solo"[]'),
        ({"type": "array", "items": {"type": ["number", "null"]}}, "(number | null)[]"),
        ({"type": "array", "items": {"type": "array", "items": {"type": "string"}}}, "string[][]"),
        (
            {"type": "array", "items": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}},
            "number[][][]",
        ),
        ({"type": "array"}, "[]"),
        ({"type": "array", "items": {}}, "[]"),
        ({"type": "array", "items": {"description": "no type"}}, "[]"),
        ({"type": "array", "items": {"type": "array"}}, "[][]"),
        ({"type": "array", "items": {"type": "string"}, "nullable": True}, "string[] | null"),
        ({"type": ["array", "null"], "items": {"type": "string"}}, "string[] | null"),
    ],
)
def test_array_types(schema, expected):
    assert prop_type(schema) == expected


def test_required_and_optional_markers():
    out = params({"a": {"type": "string"}, "b": {"type": "number"}}, ["b"])
    assert out == "a?: string,\nb: number,"


def test_missing_or_malformed_required_makes_everything_optional():
    assert schema_to_typescript_params({"type": "object", "properties": {"a": {"type": "string"}}}) == "a?: string,"
    bad = {"type": "object", "properties": {"a": {"type": "string"}}, "required": "a"}
    assert schema_to_typescript_params(bad) == "a?: string,"


def test_properties_keep_schema_order():
    names = ["zeta", "alpha", "mid", "beta"]
    out = params({n: {"type": "string"} for n in names})
    assert [line.split("?")[0] for line in out.splitlines()] == names


def test_nested_objects_indent_four_spaces_per_level():
    schema = {
        "type": "object",
        "description": "outer",
        "properties": {
            "inner": {
                "properties": {"leaf": {"type": "boolean", "description": "a leaf"}},  # no "type": still an object
                "required": ["leaf"],
            },
            "name": {"type": "string"},
        },
        "required": ["inner"],
    }
    assert params({"o": schema}) == (
        "// outer.\n"
        "o?: {\n"
        "    inner: {\n"
        "        // a leaf.\n"
        "        leaf: boolean,\n"
        "    },\n"
        "    name?: string,\n"
        "},"
    )


def test_array_of_objects():
    items = obj({"q": {"type": "string", "description": "query"}}, ["q"])
    assert params({"list": {"type": "array", "items": items}}) == (
        "list?: {\n"
        "    // query.\n"
        "    q: string,\n"
        "}[],"
    )


def test_objects_inside_arrays_of_arrays_shift_one_level_per_extra_array():
    # Functionary's quirk, reproduced on purpose: the element object of T[][] is
    # rendered one indent level deeper than the property line.
    items = {"type": "array", "items": obj({"x": {"type": "number"}})}
    assert params({"grid": {"type": "array", "items": items}}) == (
        "grid?: {\n"
        "        x?: number,\n"
        "    }[][],"
    )
    nested = schema_to_typescript_params(obj({"grid": {"type": "array", "items": items}}), indent=2)
    assert nested == (
        "        grid?: {\n"
        "                x?: number,\n"
        "            }[][],"
    )


def test_nullable_object_and_union_with_object():
    assert params({"o": {"type": "object", "nullable": True, "properties": {"a": {"type": "string"}}}}) == (
        "o?: {\n    a?: string,\n} | null,"
    )
    one_of = {"oneOf": [obj({"a": {"type": "string"}}), {"type": "string"}]}
    assert params({"u": one_of}) == "u?: {\n    a?: string,\n} | string,"


def test_indent_argument():
    assert schema_to_typescript_params(obj({"a": {"type": "string", "description": "d"}}), indent=1) == (
        "    // d.\n    a?: string,"
    )


def test_non_schema_properties_are_skipped_and_true_means_any():
    schema = {"type": "object", "properties": {"a": {"type": "string"}, "required": ["a"], "b": True, "c": False}}
    assert schema_to_typescript_params(schema) == "a?: string,\nb?: any,"


def test_all_of_is_merged():
    schema = {
        "allOf": [obj({"a": {"type": "string"}}, ["a"]), obj({"b": {"type": "number"}})],
        "description": "merged",
    }
    assert params({"m": schema}) == "// merged.\nm?: {\n    a: string,\n    b?: number,\n},"
    assert prop_type({"allOf": [{"type": "string", "enum": ["x"]}]}) == '"x"'


# --------------------------------------------------------------------------- comments


def comment(schema: dict) -> str:
    lines = params({"p": schema}, ["p"]).splitlines()
    assert len(lines) == 2, lines
    return lines[0]


@pytest.mark.parametrize(
    "schema, expected",
    [
        ({"type": "string", "description": "The name"}, "// The name."),
        ({"type": "string", "description": "Already ends."}, "// Already ends."),
        ({"type": "string", "description": "  padded  "}, "// padded."),
        ({"type": "string", "description": "Is it?"}, "// Is it?."),
        ({"type": "string", "description": "line one\nline two"}, "// line one line two."),
        ({"type": "string", "description": "a\r\nb"}, "// a b."),
        ({"type": "string", "default": "x"}, '// Default="x".'),
        ({"type": "string", "enum": ["a", "b"], "default": "a", "description": "pick"}, '// pick. Default="a".'),
        ({"type": "boolean", "default": True}, "// Default=True."),
        ({"type": "boolean", "default": False, "description": "flag"}, "// flag. Default=False."),
        ({"type": "integer", "default": 3}, "// Default=3."),
        ({"type": "number", "default": 2.5}, "// Default=2.5."),
        ({"type": "array", "items": {"type": "number"}, "default": [1, 2]}, "// Default=[1, 2]."),
        ({"type": "string", "format": "email"}, "// Format=email"),
        ({"type": "string", "format": "uri", "description": "link"}, "// link. Format=uri"),
        (
            {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]},
            "// Format=date-time or date",
        ),
        ({"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]}, "// Format=uuid"),
        ({"type": "integer", "maximum": 36}, "// Maximum=36"),
        ({"type": "integer", "minimum": 1, "description": "count"}, "// count. Minimum=1"),
        ({"type": "number", "minimum": 0.5, "maximum": 9.5}, "// Maximum=9.5 Minimum=0.5"),
        ({"type": "string", "maxLength": 10, "minLength": 2}, "// Maximum length=10 Minimum length=2"),
        (
            {"type": "string", "description": "all", "default": "d", "format": "f", "maxLength": 3, "minLength": 1},
            '// all. Default="d". Format=f Maximum length=3 Minimum length=1',
        ),
    ],
)
def test_comment_line(schema, expected):
    assert comment(schema) == expected


def test_no_comment_without_info_and_empty_description_is_ignored():
    assert params({"a": {"type": "string"}, "b": {"type": "string", "description": ""}}) == "a?: string,\nb?: string,"


def test_examples():
    schema = {"type": "string", "description": "a city", "examples": ["Paris", "New York"]}
    assert params({"city": schema}, ["city"]) == (
        "// a city.\n// Example city:\n// Paris\n// New York\ncity: string,"
    )


def test_examples_json_and_without_description():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "examples": [{"a": "x\ny"}, [1, "2"], 3.5, True]}
    assert params({"o": schema}).splitlines()[:5] == [
        "// Example o:",
        '// {"a": "x\\ny"}',
        '// [1, "2"]',
        "// 3.5",
        "// true",
    ]


def test_examples_with_newline_in_string_stay_on_one_line():
    assert params({"s": {"type": "string", "examples": ["a\nb"]}}) == "// Example s:\n// a b\ns?: string,"


def test_empty_examples_render_nothing():
    assert params({"s": {"type": "string", "examples": []}}) == "s?: string,"


def test_nested_comments_are_indented():
    out = params({"o": {"type": "object", "properties": {"n": {"type": "number", "examples": [1], "maximum": 2}}}})
    assert out == "o?: {\n    // Maximum=2\n    // Example n:\n    // 1\n    n?: number,\n},"


# --------------------------------------------------------------------------- $ref inlining


def test_inline_defs_ref():
    schema = {
        "type": "object",
        "properties": {"unit": {"$ref": "#/$defs/Unit"}},
        "$defs": {"Unit": {"type": "string", "enum": ["c", "f"]}},
    }
    assert inline_refs(schema) == {"type": "object", "properties": {"unit": {"type": "string", "enum": ["c", "f"]}}}


def test_inline_definitions_ref_and_sibling_keywords_win():
    schema = {
        "type": "object",
        "properties": {"unit": {"$ref": "#/definitions/Unit", "description": "which unit"}},
        "definitions": {"Unit": {"type": "string", "description": "a unit", "enum": ["c", "f"]}},
    }
    inlined = inline_refs(schema)
    assert inlined["properties"]["unit"] == {"type": "string", "description": "which unit", "enum": ["c", "f"]}
    assert "definitions" not in inlined
    assert params(inlined["properties"]) == '// which unit.\nunit?: "c" | "f",'


def test_ref_to_any_json_pointer_and_escapes():
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "array", "items": {"type": "integer"}},
            "b": {"$ref": "#/properties/a/items"},
            "c": {"$ref": "#/$defs/we~1ird~0name"},
            "d": {"$ref": "#/$defs/list/1"},
            "e": {"$ref": "#/$defs/sp%20ace"},
        },
        "$defs": {"we/ird~name": {"type": "boolean"}, "list": [{}, {"type": "null"}], "sp ace": {"type": "number"}},
    }
    props = inline_refs(schema)["properties"]
    assert props["b"] == {"type": "integer"}
    assert props["c"] == {"type": "boolean"}
    assert props["d"] == {"type": "null"}
    assert props["e"] == {"type": "number"}


def test_refs_inside_lists_and_chained_refs():
    schema = {
        "anyOf": [{"$ref": "#/$defs/A"}, {"type": "null"}],
        "$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"type": "string"}},
    }
    assert inline_refs(schema) == {"anyOf": [{"type": "string"}, {"type": "null"}]}


def test_tools_to_typescript_inlines_refs():
    parameters = {
        "type": "object",
        "properties": {"loc": {"$ref": "#/$defs/Loc"}},
        "required": ["loc"],
        "$defs": {"Loc": obj({"lat": {"type": "number"}, "lon": {"type": "number"}}, ["lat", "lon"])},
    }
    out = tools_to_typescript([tool("where", parameters, "Where")])
    assert "type where = (_: {\nloc: {\n    lat: number,\n    lon: number,\n},\n}) => any;" in out
    assert "$defs" not in out and "Loc" not in out


def test_top_level_ref_in_parameters():
    parameters = {"$ref": "#/$defs/Args", "$defs": {"Args": obj({"q": {"type": "string"}}, ["q"])}}
    assert "type s = (_: {\nq: string,\n}) => any;" in tools_to_typescript([tool("s", parameters)])


def test_property_named_like_keywords_is_not_touched():
    schema = obj(
        {
            "definitions": {"type": "string"},
            "$defs": {"type": "number"},
            "$ref": {"type": "boolean"},
            "choice": {"type": "object", "default": {"$ref": "#/nowhere"}, "enum": [{"$ref": "#/nowhere"}]},
        }
    )
    inlined = inline_refs(schema)
    assert list(inlined["properties"]) == ["definitions", "$defs", "$ref", "choice"]
    assert inlined["properties"]["choice"]["default"] == {"$ref": "#/nowhere"}
    assert schema_to_typescript_params(schema).splitlines()[:3] == [
        "definitions?: string,",
        "$defs?: number,",
        "$ref?: boolean,",
    ]


def test_inline_refs_does_not_mutate_input():
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}, "$defs": {"A": {"type": "string"}}}
    before = copy.deepcopy(schema)
    inlined = inline_refs(schema)
    assert schema == before
    inlined["properties"]["a"]["type"] = "number"
    assert schema == before


@pytest.mark.parametrize(
    "ref",
    ["#/$defs/Missing", "#/properties/nope", "#/$defs/list/7", "#/$defs/list/x", "https://example.com/s.json", "#anchor", "other.json#/a"],
)
def test_unresolvable_ref_raises_schema_error(ref):
    schema = {"type": "object", "properties": {"a": {"$ref": ref}}, "$defs": {"list": [{}]}}
    with pytest.raises(SchemaError, match="cannot resolve"):
        inline_refs(schema)


def test_schema_error_is_a_value_error_and_surfaces_from_tools():
    assert issubclass(SchemaError, ValueError)
    parameters = obj({"a": {"$ref": "#/$defs/Nope"}})
    with pytest.raises(ValueError, match="Nope"):
        tools_to_typescript([tool("f", parameters)])


def test_inline_refs_rejects_non_object():
    with pytest.raises(SchemaError):
        inline_refs(["not", "a", "schema"])  # type: ignore[arg-type]


def test_recursive_tree_node_terminates_with_any():
    parameters = {
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/Node"}},
        "required": ["root"],
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "value": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
                "required": ["value"],
            }
        },
    }
    inlined = inline_refs(parameters)
    assert inlined["properties"]["root"]["properties"]["children"]["items"] == {}
    out = tools_to_typescript([tool("tree", parameters)])
    assert "root: {\n    value: string,\n    children?: [],\n}," in out


def test_recursive_ref_keeps_sibling_description():
    parameters = {
        "type": "object",
        "properties": {"node": {"$ref": "#/$defs/N"}},
        "$defs": {"N": obj({"next": {"$ref": "#/$defs/N", "description": "next node"}})},
    }
    out = schema_to_typescript_params(parameters)
    assert out == "node?: {\n    // next node.\n    next?: any,\n},"


def test_self_reference_to_root_terminates():
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "child": {"$ref": "#"}}}
    inlined = inline_refs(schema)
    child = inlined["properties"]["child"]
    assert child["properties"]["child"] == {}
    out = tools_to_typescript([tool("selfref", schema)])
    assert "child?: {\n    name?: string,\n    child?: any,\n}," in out


def test_mutual_recursion_terminates():
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A"}},
        "$defs": {"A": obj({"b": {"$ref": "#/$defs/B"}}), "B": obj({"a": {"$ref": "#/$defs/A"}})},
    }
    assert inline_refs(schema)["properties"]["a"] == obj({"b": obj({"a": {}})})


def test_max_depth_limits_nesting_of_distinct_refs():
    defs = {f"D{i}": obj({"next": {"$ref": f"#/$defs/D{i + 1}"}}) for i in range(20)}
    defs["D20"] = {"type": "string"}
    schema = {"type": "object", "properties": {"start": {"$ref": "#/$defs/D0"}}, "$defs": defs}

    def depth(node: dict) -> int:
        return 1 + depth(node["properties"]["next"]) if node.get("properties") else 0

    assert depth(inline_refs(schema, max_depth=3)["properties"]["start"]) == 3  # D0, D1, D2, then any
    assert depth(inline_refs(schema, max_depth=100)["properties"]["start"]) == 20
    assert "next" in tools_to_typescript([tool("deep", schema)])


# --------------------------------------------------------------------------- property test

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
TEXT = st.text(max_size=20)
SCALAR_TYPES = st.sampled_from(["string", "number", "integer", "boolean", "null"])
COMMON = {
    "description": TEXT,
    "nullable": st.booleans(),
    "default": st.one_of(st.none(), st.booleans(), st.integers(), TEXT),
    "examples": st.lists(st.one_of(TEXT, st.integers(), st.floats(allow_nan=False)), max_size=3),
    "format": st.sampled_from(["date", "date-time", "email"]),
    "maximum": st.integers(),
    "minLength": st.integers(min_value=0, max_value=9),
}

leaf = st.one_of(
    st.fixed_dictionaries({"type": SCALAR_TYPES}, optional=COMMON),
    st.fixed_dictionaries({"type": st.lists(SCALAR_TYPES, min_size=1, max_size=3, unique=True)}, optional=COMMON),
    st.fixed_dictionaries({"enum": st.lists(st.one_of(TEXT, st.integers()), min_size=1, max_size=4)}, optional=COMMON),
    st.just({}),
)


def object_of(children: st.SearchStrategy) -> st.SearchStrategy:
    def build(props: dict) -> st.SearchStrategy:
        names = sorted(props)
        required = st.lists(st.sampled_from(names), unique=True) if names else st.just([])
        return st.fixed_dictionaries(
            {"type": st.just("object"), "properties": st.just(props), "required": required}, optional=COMMON
        )

    return st.dictionaries(NAMES, children, max_size=4).flatmap(build)


schemas = st.recursive(
    leaf,
    lambda children: st.one_of(
        object_of(children),
        st.fixed_dictionaries({"type": st.just("array"), "items": children}, optional=COMMON),
        st.fixed_dictionaries({"oneOf": st.lists(children, min_size=1, max_size=3)}, optional=COMMON),
        st.fixed_dictionaries({"anyOf": st.lists(children, min_size=1, max_size=3)}),
    ),
    max_leaves=12,
)


def property_names(schema: object) -> set[str]:
    """Names of every property that the rendering must show."""
    if not isinstance(schema, dict) or "enum" in schema:
        return set()
    names: set[str] = set()
    for name, sub in (schema.get("properties") or {}).items():
        names |= {name} | property_names(sub)
    for sub in [schema.get("items"), *schema.get("oneOf", []), *schema.get("anyOf", [])]:
        names |= property_names(sub)
    return names


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parameters=object_of(schemas), description=TEXT, name=NAMES)
def test_random_schemas_always_render(parameters, description, name):
    out = tools_to_typescript([tool(name, parameters, description), {"type": "code_interpreter"}])
    assert out.startswith(HEADER)
    assert out.endswith("\n\n" + FOOTER)
    assert f"type {name} = " in out
    for prop in property_names(parameters):
        assert prop in out
    # no text leaks onto a line of its own: each line is scaffolding, a comment,
    # a declaration or a closing brace
    body = out[len(HEADER) : -len(FOOTER)].split("\n")
    for line in body:
        code = line.lstrip(" ")
        assert code == "" or code.startswith(("//", "}", "type ")) or re.match(r"[a-z][a-z0-9_]*\??: ", code), line
