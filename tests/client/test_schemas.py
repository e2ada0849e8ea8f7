import asyncio
from typing import Annotated, Literal, Optional

import pytest
from pydantic import BaseModel, Field

from functionary.client import Tool, as_tool
from functionary.client.schemas import ArgumentsError, as_tools


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius", days: int = 1) -> str:
    """Current weather for a city.

    Args:
        city: City name, e.g. Paris.
        unit: Temperature unit.
    """
    return f"{city}:{unit}:{days}"


async def lookup(query: Annotated[str, Field(description="What to look for", max_length=50)],
                 limit: Optional[int] = None) -> list:
    """Search the index."""
    return [query, limit]


class Address(BaseModel):
    """A postal address."""
    city: str
    zip_code: str = Field(description="Postal code", pattern=r"^\d{5}$")


class Person(BaseModel):
    """A person mentioned in the text."""
    name: str
    age: int = Field(ge=0, le=150)
    addresses: list[Address] = []


def test_function_schema_from_hints_defaults_and_docstring():
    tool = as_tool(get_weather)
    assert tool.definition() == {"type": "function", "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Paris."},
                "unit": {"enum": ["celsius", "fahrenheit"], "type": "string", "default": "celsius",
                         "description": "Temperature unit."},
                "days": {"type": "integer", "default": 1},
            },
            "required": ["city"],
            "additionalProperties": False,
        }}}
    assert tool.fn is get_weather and not tool.is_async


def test_async_function_and_annotated_fields():
    tool = as_tool(lookup)
    assert tool.is_async
    props = tool.parameters["properties"]
    assert props["query"] == {"type": "string", "description": "What to look for", "maxLength": 50}
    assert props["limit"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    assert tool.parameters["required"] == ["query"]
    args, kwargs = tool.call_args(tool.validate('{"query": "cats"}'))
    assert asyncio.run(tool.fn(*args, **kwargs)) == ["cats", None]


def test_nested_model_schema():
    tool = as_tool(Person)
    assert tool.name == "Person" and tool.description == "A person mentioned in the text."
    assert tool.fn is None
    params = tool.parameters
    assert "title" not in params and "description" not in params
    assert params["properties"]["addresses"] == {"type": "array", "items": {"$ref": "#/$defs/Address"},
                                                 "default": []}
    assert params["$defs"]["Address"]["properties"]["zip_code"] == {
        "type": "string", "description": "Postal code", "pattern": r"^\d{5}$"}
    assert params["$defs"]["Address"]["description"] == "A postal address."
    p = tool.validate('{"name": "Ann", "age": 40, "addresses": [{"city": "Lyon", "zip_code": "69001"}]}')
    assert p == Person(name="Ann", age=40, addresses=[Address(city="Lyon", zip_code="69001")])


def test_validation_errors_name_the_field():
    tool = as_tool(Person)
    with pytest.raises(ArgumentsError) as e:
        tool.validate('{"name": "Ann", "age": 400, "addresses": [{"city": "Lyon", "zip_code": "x"}]}')
    msg = str(e.value)
    assert "age: Input should be less than or equal to 150" in msg
    assert "addresses.0.zip_code: String should match pattern" in msg
    with pytest.raises(ArgumentsError, match="not valid JSON"):
        tool.validate('{"name": ')
    with pytest.raises(ArgumentsError, match="must be a JSON object"):
        tool.validate("[1, 2]")
    with pytest.raises(ArgumentsError, match="Extra inputs are not permitted"):
        as_tool(get_weather).validate('{"city": "Oslo", "country": "NO"}')


def test_parameters_that_shadow_basemodel_names_and_positional_only():
    def f(json: str, schema: int, /, copy: bool = False) -> tuple:
        return json, schema, copy

    tool = as_tool(f)
    assert list(tool.parameters["properties"]) == ["json", "schema", "copy"]
    args, kwargs = tool.call_args(tool.validate('{"json": "j", "schema": 2, "copy": true}'))
    assert args == ["j", 2] and kwargs == {"copy": True}
    assert f(*args, **kwargs) == ("j", 2, True)


def test_unhinted_parameters_accept_anything_and_overrides():
    def g(x, y=3):
        return x

    tool = Tool.from_function(g, name="gee", description="Custom.")
    assert tool.name == "gee" and tool.description == "Custom."
    assert tool.parameters["properties"] == {"x": {}, "y": {"default": 3}}
    assert tool.call_args(tool.validate('{"x": [1, {"a": 2}]}')) == ([], {"x": [1, {"a": 2}], "y": 3})


def test_rejects_bad_tools():
    def star(*args):
        pass

    with pytest.raises(TypeError, match=r"\*args"):
        as_tool(star)
    with pytest.raises(TypeError):
        as_tool(42)
    with pytest.raises(ValueError, match="unique"):
        as_tools([get_weather, Tool.from_model(Person, name="get_weather")])
    with pytest.raises(ValueError):
        as_tools([])
