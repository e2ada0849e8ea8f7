"""A streaming client that stops reading stops its generation (http_app.ReaderStream).

The ASGI `send` here behaves as uvicorn's does for a client that reads nothing: the first
chunks go into the buffers, then `send` waits for the connection to drain, forever. The
body is a generator standing in for the chat service's stream: it counts what it was
asked for and notices when it is closed (the service then aborts the engine request).
"""

from __future__ import annotations

import asyncio
import time

from functionary.http_app import ReaderStream


class Body:
    def __init__(self, chunks: int | None = None) -> None:
        self.produced = 0
        self.closed = False
        self.chunks = chunks

    async def gen(self):
        try:
            while self.chunks is None or self.produced < self.chunks:
                self.produced += 1
                await asyncio.sleep(0)
                yield f"data: {self.produced}\n\n"
        finally:
            self.closed = True


def stalling_send(buffered: int):
    """Takes `buffered` messages, then blocks as a full, unread connection does."""
    sent: list[dict] = []

    async def send(message: dict) -> None:
        if len(sent) >= buffered:
            await asyncio.Event().wait()  # never drains
        sent.append(message)

    return send, sent


def test_a_client_that_reads_nothing_is_dropped_after_the_stall_timeout():
    body = Body()
    send, sent = stalling_send(buffered=20)

    async def go():
        started = time.monotonic()
        await ReaderStream(body.gen(), stall_s=0.3, media_type="text/event-stream").stream_response(send)
        return time.monotonic() - started

    took = asyncio.run(go())
    assert 0.3 <= took < 2.0
    assert body.closed  # the service's stream is closed at once: generation stops
    assert body.produced <= 21  # nothing was produced while the client read nothing, beyond the one chunk in hand
    assert len(sent) == 20 and all(m.get("more_body", True) for m in sent)  # no end of response: the stream is cut


def test_a_client_that_reads_is_never_dropped():
    body = Body(chunks=50)
    sent: list[dict] = []

    async def slow_send(message: dict) -> None:
        await asyncio.sleep(0.01)  # a slow reader, but a reader: each chunk drains in time
        sent.append(message)

    asyncio.run(ReaderStream(body.gen(), stall_s=0.3, media_type="text/event-stream").stream_response(slow_send))
    assert body.produced == 50 and sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


def test_zero_turns_the_guard_off():
    body = Body()
    send, sent = stalling_send(buffered=5)

    async def go():
        task = asyncio.ensure_future(ReaderStream(body.gen(), stall_s=0, media_type="text/event-stream")
                                     .stream_response(send))
        await asyncio.sleep(0.5)
        assert not task.done()  # waits for the client as long as it takes
        task.cancel()

    asyncio.run(go())


def test_the_engine_request_is_closed_when_the_client_stalls():
    """Through the real SSE framing and chat service: the engine's generator is closed (the
    engines abort the request there) as soon as the stall is noticed."""
    from functionary.engines.base import GenerationDelta
    from functionary.http_app import _sse
    from functionary.metrics import Metrics
    from functionary.serving import ChatService

    from .test_serving import FMT, ScriptedEngine, chat, load_format

    state = {"tokens": 0, "closed": False}

    class Endless(ScriptedEngine):
        async def generate(self, request_id, prompt_ids, params, spec):
            try:
                while True:
                    state["tokens"] += 1
                    await asyncio.sleep(0)
                    yield GenerationDelta("word ", state["tokens"], None)
            finally:
                state["closed"] = True

    metrics = Metrics()
    svc = ChatService(Endless(""), load_format(FMT), metrics=metrics)
    send, _ = stalling_send(buffered=10)

    async def go():
        track = metrics.track_request(True)
        prepared = await svc.prepare(chat(stream=True, max_tokens=4000), track)
        await ReaderStream(_sse(svc, prepared, track), stall_s=0.3,
                           media_type="text/event-stream").stream_response(send)
        at_close = state["tokens"]
        await asyncio.sleep(0.2)
        return at_close

    at_close = asyncio.run(go())
    assert state["closed"] and state["tokens"] == at_close < 4000
