"""A client that goes away stops its generation (the engine row is freed)."""

from __future__ import annotations

import json
import time

import pytest

from .support import raw_post, wait_for_health

pytestmark = pytest.mark.e2e

# A required call whose arguments must hold at least 400 numbers: generation cannot end
# by itself for several hundred tokens (minutes on a shared CPU), only by the client leaving.
RECORD_SAMPLES = {"type": "function", "function": {
    "name": "record_samples", "description": "Record sensor samples",
    "parameters": {"type": "object", "required": ["samples"],
                   "properties": {"samples": {"type": "array", "items": {"type": "integer"}, "minItems": 400}}}}}
ENDLESS = {"messages": [{"role": "user", "content": "Record the samples 1, 2 and 3."}],
           "tools": [RECORD_SAMPLES], "tool_choice": "required", "max_tokens": 3000, "temperature": 0}


def wait_until_idle(server, timeout_s: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        health = server.health()
        if health["running"] == 0 and health["waiting"] == 0:
            return health
        if time.monotonic() > deadline:
            raise AssertionError(f"generation still running {timeout_s}s after the client left: {health}")
        time.sleep(0.2)


def wait_for_running(server, timeout_s: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.health()["running"] >= 1:
            return True
        time.sleep(0.05)
    return False


def test_stream_disconnect_stops_generation(server):
    wait_until_idle(server, 60)  # nothing left over from earlier tests
    body = {"model": server.model, "stream": True, **ENDLESS}
    events: list[str] = []
    with server.http() as http:
        with http.stream("POST", "/v1/chat/completions", json=body) as r:
            assert r.status_code == 200
            # Keep a reference: a dropped line iterator is closed at once, and closing it closes
            # the connection, which would stop generation before we look.
            lines = r.iter_lines()
            for line in lines:
                if not line.startswith("data: "):
                    continue
                events.append(line)
                payload = line[len("data: "):]
                assert payload != "[DONE]", f"the stream ended by itself: {events}"
                chunk = json.loads(payload)
                assert "error" not in chunk and all(c.get("finish_reason") is None for c in chunk["choices"]), events
                if len(events) >= 5:
                    break
            assert wait_for_running(server), f"nothing running while the stream is open: {events}"
        # leaving both blocks closes the connection mid-stream
    wait_until_idle(server)


def test_whole_response_disconnect_stops_generation(server):
    wait_until_idle(server, 60)
    # A bare socket, so the client leaves when we see its generation running, not after a
    # read timeout that a slow grammar compile on a loaded machine can outlast.
    sock = raw_post(server, "/v1/chat/completions", {"model": server.model, **ENDLESS})
    try:
        wait_for_health(server, lambda h: h["running"] >= 1, "the whole-response request running")
        sock.setblocking(False)
        try:
            early = sock.recv(1)
        except BlockingIOError:
            early = None
        assert early is None, "the server answered a request that cannot finish by itself"
    finally:
        sock.close()
    wait_until_idle(server)
