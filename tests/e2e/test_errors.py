"""Bad requests get OpenAI-shaped JSON errors with the right status, never a 500."""

from __future__ import annotations

import re

import httpx
import openai
import pytest

from .support import WEATHER

pytestmark = pytest.mark.e2e

HI = [{"role": "user", "content": "hi"}]
NAMED_MISSING = {"type": "function", "function": {"name": "not_a_tool"}}


def assert_error(r: httpx.Response, status: int, *, param=..., code=..., message_has: str = "") -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"message", "type", "param", "code"}, err
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["type"], str) and err["type"]
    if param is not ...:
        assert err["param"] == param, err
    if code is not ...:
        assert err["code"] == code, err
    assert message_has.lower() in err["message"].lower(), err
    return err


def post(server, body=None, *, content=None, headers=None) -> httpx.Response:
    with server.http() as http:
        if content is not None:
            return http.post("/v1/chat/completions", content=content,
                             headers={"Content-Type": "application/json", **(headers or {})})
        return http.post("/v1/chat/completions", json=body, headers=headers)


BAD_BODIES = [
    # (id, body, param)
    ("messages-is-a-string", {"messages": "hi"}, "messages"),
    ("temperature-is-a-word", {"messages": HI, "temperature": "hot"}, "temperature"),
    ("temperature-out-of-range", {"messages": HI, "temperature": 5}, "temperature"),
    ("max-tokens-negative", {"messages": HI, "max_tokens": -1}, "max_tokens"),
    ("n-zero", {"messages": HI, "n": 0}, "n"),
    ("no-messages", {"model": "x"}, "messages"),
    ("empty-messages", {"messages": []}, "messages"),
    ("unknown-role", {"messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
    ("content-is-a-number", {"messages": [{"role": "user", "content": 5}]}, ...),
    ("tools-not-a-list", {"messages": HI, "tools": {"a": 1}}, "tools"),
    ("bad-tool-name", {"messages": HI, "tools": [{"type": "function", "function": {"name": "bad name!"}}]}, ...),
    ("unknown-tool-choice", {"messages": HI, "tools": [WEATHER], "tool_choice": "sometimes"}, "tool_choice"),
    ("five-stop-strings", {"messages": HI, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ("json-schema-without-schema", {"messages": HI, "response_format": {"type": "json_schema"}}, "response_format"),
    ("body-is-a-list", [], None),
]


@pytest.mark.parametrize("body,param", [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES])
def test_wrong_types_and_shapes(server, body, param):
    assert_error(post(server, body), 400, param=param)


@pytest.mark.parametrize("content", ['{"messages": [{"role": "user", "content": "hi"}', "not json at all", ""],
                         ids=["truncated", "text", "empty"])
def test_malformed_json_body(server, content):
    assert_error(post(server, content=content), 400)


SCHEMA_ERRORS = [
    ("unknown-type", {"type": "object", "properties": {"a": {"type": "nonsense"}}}),
    ("bad-pattern", {"type": "object", "properties": {"a": {"type": "string", "pattern": "(unclosed"}}}),
    ("not-an-object-schema", {"type": "string"}),
    ("parameters-not-a-dict", ["city"]),
    ("dangling-ref", {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}),
    ("remote-ref", {"type": "object", "properties": {"a": {"$ref": "https://example.com/schema.json"}}}),
]


@pytest.mark.parametrize("tool_choice", ["auto", "required"])
@pytest.mark.parametrize("schema", [s[1] for s in SCHEMA_ERRORS], ids=[s[0] for s in SCHEMA_ERRORS])
def test_invalid_tool_schema(server, schema, tool_choice):
    body = {"messages": HI, "max_tokens": 4, "tool_choice": tool_choice,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": schema}}]}
    err = assert_error(post(server, body), 400)
    assert err["param"] in ("tools[0].function.parameters", "tools.0.function.parameters"), err


def test_invalid_response_format_schema(server):
    body = {"messages": HI, "max_tokens": 4,
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "bogus"}}}}
    assert_error(post(server, body), 400, param="response_format.json_schema.schema", code="invalid_schema")


def test_duplicate_tool_names(server):
    assert_error(post(server, {"messages": HI, "tools": [WEATHER, WEATHER]}), 400, message_has="get_weather")


def test_named_tool_not_in_tools(server):
    err = assert_error(post(server, {"messages": HI, "tools": [WEATHER], "tool_choice": NAMED_MISSING}), 400,
                       param="tool_choice")
    assert "not_a_tool" in err["message"]
    # legacy spelling of the same mistake
    assert_error(post(server, {"messages": HI, "functions": [WEATHER["function"]],
                               "function_call": {"name": "not_a_tool"}}), 400, param="tool_choice")


def test_required_without_tools(server):
    assert_error(post(server, {"messages": HI, "tool_choice": "required"}), 400, param="tool_choice")
    assert_error(post(server, {"messages": HI, "tools": [], "tool_choice": "required"}), 400, param="tool_choice")


def _context_len(server) -> int:
    with server.http() as http:
        (card,) = http.get("/v1/models").json()["data"]
    return card["max_model_len"]


def test_completion_longer_than_context(server):
    limit = _context_len(server)
    err = assert_error(post(server, {"messages": HI, "max_tokens": limit + 10}), 400, param="messages",
                       code="context_length_exceeded")
    m = re.search(r"(\d+) in the messages, (\d+) in the completion", err["message"])
    assert m and int(m.group(2)) == limit + 10, err["message"]
    assert str(limit) in err["message"]


def test_prompt_longer_than_context(server):
    limit = _context_len(server)
    long_text = "lorem ipsum dolor sit amet " * (limit // 2)  # well over `limit` tokens
    err = assert_error(post(server, {"messages": [{"role": "user", "content": long_text}]}), 400,
                       param="messages", code="context_length_exceeded")
    m = re.search(r"(\d+) in the messages", err["message"])
    assert m and int(m.group(1)) > limit, err["message"]
    assert str(limit) in err["message"]


def test_stream_request_errors_are_json_not_sse(server):
    r = post(server, {"messages": HI, "stream": True, "tools": [WEATHER], "tool_choice": NAMED_MISSING})
    assert_error(r, 400, param="tool_choice")


@pytest.mark.parametrize("body,param", [
    ({"logprobs": True}, "logprobs"),
    ({"top_logprobs": 3}, "top_logprobs"),
    ({"logit_bias": {"50256": -100}}, "logit_bias"),
    ({"stream_options": {"include_usage": True}}, "stream_options"),  # without stream
], ids=["logprobs", "top_logprobs", "logit_bias", "stream_options-without-stream"])
def test_unsupported_features_are_refused(server, body, param):
    err = assert_error(post(server, {"messages": HI, **body}), 400, param=param, code="unsupported_parameter")
    assert "support" in err["message"] or "only" in err["message"]


def test_image_content_part(server):
    messages = [{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]}]
    err = assert_error(post(server, {"messages": messages}), 400, param="messages[0].content")
    assert "image_url" in err["message"]


def test_text_content_parts_are_accepted(server):
    messages = [{"role": "user", "content": [{"type": "text", "text": "Say hi."}]}]
    r = post(server, {"messages": messages, "max_tokens": 2})
    assert r.status_code == 200, r.text


def test_unknown_model_is_404(server, client):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=2)
    err = info.value.body
    assert err["type"] == "not_found_error" and err["param"] == "model" and err["code"] == "model_not_found"
    assert server.model in err["message"]


def test_sdk_reports_bad_requests(client, server):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=server.model, messages=HI, tools=[WEATHER], tool_choice=NAMED_MISSING)
    assert info.value.status_code == 400
    assert info.value.body["param"] == "tool_choice"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "e2e-secret-key"}],
                         ids=["missing", "wrong", "no-bearer"])
def test_api_key_is_required(server, headers):
    for method, path, body in (("POST", "/v1/chat/completions", {"messages": HI, "max_tokens": 2}),
                               ("GET", "/v1/models", None)):
        r = httpx.request(method, f"{server.base_url}{path}", json=body, headers=headers, timeout=30)
        assert_error(r, 401, code="invalid_api_key")


def test_sdk_with_wrong_key(server):
    with openai.OpenAI(base_url=server.v1, api_key="wrong", max_retries=0) as bad:
        with pytest.raises(openai.AuthenticationError):
            bad.models.list()


def test_unknown_route_is_json_404(server):
    with server.http() as http:
        assert_error(http.get("/v1/nothing-here"), 404)


def test_models_lists_the_served_model(client, server):
    models = client.models.list()
    assert [m.id for m in models.data] == [server.model]
    assert models.data[0].object == "model"


def test_health(server):
    r = httpx.get(f"{server.base_url}/health", timeout=10)  # no API key needed
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["model"] == server.model
    assert isinstance(body["running"], int) and isinstance(body["waiting"], int)
