"""Tool fixtures and checks shared by the end-to-end tests."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import jsonschema

REPO = Path(__file__).resolve().parents[2]
DRONE_DATA = REPO / ".." / "shared" / "data" / "drone_copilot.json"


def tool(name: str, description: str, parameters: dict | None = None) -> dict:
    fn = {"name": name, "description": description}
    if parameters is not None:
        fn["parameters"] = parameters
    return {"type": "function", "function": fn}


WEATHER = tool("get_weather", "Get the current weather for a city", {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name, e.g. Paris"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city"],
    "additionalProperties": False,
})

CALCULATOR = tool("calculator", "Evaluate an arithmetic expression", {
    "type": "object",
    "properties": {"expression": {"type": "string", "description": "e.g. 12 * 7"}},
    "required": ["expression"],
    "additionalProperties": False,
})

BOOK_FLIGHT = tool("book_flight", "Book a flight for one passenger", {
    "type": "object",
    "properties": {
        "passenger": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "age": {"type": "integer", "minimum": 0, "maximum": 120},
            },
            "required": ["name", "age"],
            "additionalProperties": False,
        },
        "route": {
            "type": "object",
            "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
            "required": ["from", "to"],
            "additionalProperties": False,
        },
        "seat": {"type": "string", "enum": ["aisle", "window", "middle"]},
    },
    "required": ["passenger", "route", "seat"],
    "additionalProperties": False,
})

SET_LIGHT = tool("set_light", "Switch a room's light to a colour", {
    "type": "object",
    "properties": {
        "room": {"type": "string", "enum": ["kitchen", "bedroom", "office"]},
        "color": {"type": "string", "enum": ["red", "green", "blue", "white"]},
        "brightness": {"type": "integer", "minimum": 0, "maximum": 100},
    },
    "required": ["room", "color"],
    "additionalProperties": False,
})

GET_TIME = tool("get_time", "Get the current time (no arguments)")

ALL_TOOLS = [WEATHER, CALCULATOR, BOOK_FLIGHT, SET_LIGHT, GET_TIME]

PARAMETERS_WHEN_OMITTED = {"type": "object", "properties": {}}


def load_drone() -> dict:
    return json.loads(DRONE_DATA.read_text())


def schema_of(tools: list[dict], name: str) -> dict:
    for t in tools:
        if t["function"]["name"] == name:
            return t["function"].get("parameters") or PARAMETERS_WHEN_OMITTED
    raise AssertionError(f"call to {name!r}, which is not among the tools {[t['function']['name'] for t in tools]}")


def check_arguments(tools: list[dict], name: str, arguments: str) -> dict:
    """The decoded arguments of a call; fails unless they parse and validate."""
    schema = schema_of(tools, name)
    try:
        args = json.loads(arguments)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"arguments of {name} are not JSON: {arguments!r} ({exc})") from None
    jsonschema.validate(args, schema, cls=jsonschema.Draft202012Validator)
    return args


def check_call(tools: list[dict], call) -> dict:
    """An SDK tool call object (non-streamed): shape, name and arguments."""
    assert call.type == "function"
    assert call.id.startswith("call_"), call.id
    return check_arguments(tools, call.function.name, call.function.arguments)


def check_calls_only(tools: list[dict], choice, *, exactly_one: bool = False) -> list:
    """A choice that must hold tool calls and nothing else (required / named / parallel off)."""
    msg = choice.message
    calls = msg.tool_calls or []
    assert calls, f"no tool calls (finish_reason={choice.finish_reason}, content={msg.content!r})"
    assert msg.content is None, f"free text beside the calls: {msg.content!r}"
    if exactly_one:
        assert len(calls) == 1, [c.function.name for c in calls]
    for c in calls:
        check_call(tools, c)
    ids = [c.id for c in calls]
    assert len(set(ids)) == len(ids), ids
    return calls


def collect_stream(chunks) -> dict:
    """Reassemble streamed chunks (SDK objects) of choice 0, checking the fragment rules on the way."""
    content = None
    calls: dict[int, dict] = {}
    finish_reason = None
    roles = []
    usage = None
    for n, chunk in enumerate(chunks):
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            assert choice.index == 0
            delta = choice.delta
            roles.append((n, delta.role))
            if delta.content is not None:
                content = (content or "") + delta.content
            for tc in delta.tool_calls or []:
                if tc.index not in calls:
                    # the first fragment of a call: index, id, type and name
                    assert tc.id is not None and tc.id.startswith("call_"), tc
                    assert tc.type == "function", tc
                    assert tc.function.name, tc
                    calls[tc.index] = {"id": tc.id, "name": tc.function.name, "arguments": tc.function.arguments or ""}
                else:
                    # later fragments: argument text only
                    assert tc.id is None and tc.type is None and tc.function.name is None, tc
                    calls[tc.index]["arguments"] += tc.function.arguments or ""
            if choice.finish_reason is not None:
                assert finish_reason is None, "two finish reasons"
                finish_reason = choice.finish_reason
    assert roles and roles[0] == (0, "assistant"), f"the first chunk must carry role assistant: {roles[:3]}"
    assert all(role is None for _, role in roles[1:]), "only the first chunk carries the role"
    assert sorted(calls) == list(range(len(calls))), f"call indexes must be 0..n-1: {sorted(calls)}"
    return {
        "content": content or None,
        "calls": [calls[i] for i in sorted(calls)],
        "finish_reason": finish_reason,
        "usage": usage,
    }


def raw_post(server, path: str, body: dict, *, recv_buffer: int | None = None,
             segment: int | None = None) -> socket.socket:
    """Send a POST on a bare socket and read nothing: the caller decides when the client leaves.
    `recv_buffer` and `segment` (the TCP MSS) are set before connecting, so the server sees a
    small window and small segments: its kernel then buffers ~200 KB for us, not the ~4 MB
    that loopback's send-buffer autotuning allows."""
    host, port = server.base_url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if recv_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buffer)
    if segment is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, segment)
    sock.connect((host, int(port)))
    data = json.dumps(body)
    sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                  f"Authorization: Bearer {server.api_key}\r\nContent-Length: {len(data)}\r\n\r\n{data}").encode())
    return sock


def wait_for_health(server, ready, what: str, timeout_s: float = 60.0) -> dict:
    """Poll /health until `ready(health)`; a deadline, never a fixed sleep, so a slow machine only waits longer."""
    deadline = time.monotonic() + timeout_s
    while True:
        health = server.health()
        if ready(health):
            return health
        assert time.monotonic() < deadline, f"{what}: not seen within {timeout_s}s, last /health {health}"
        time.sleep(0.1)
