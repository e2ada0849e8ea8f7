"""HTTP layer: FastAPI routes, SSE framing, OpenAI-shaped errors, API-key check, the
request-body limit, /health and /metrics, and the watch on the engine's life."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from typing import Callable, Optional

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from functionary.errors import APIError, GenerationFailed, Unauthorized
from functionary.metrics import RequestTrack
from functionary.openai_types import ChatCompletion, ChatCompletionRequest, ModelCard, ModelList
from functionary.serving import ChatService

log = logging.getLogger(__name__)

DEFAULT_MAX_REQUEST_BYTES = 4 << 20  # 4 MiB: far more than any context holds as text
DEFAULT_STREAM_STALL_S = 30.0  # a stream whose client has read nothing for this long is dropped
WATCH_INTERVAL_S = 0.5  # how often the engine's life is checked
EXIT_GRACE_S = 2.0  # after the engine died: time for in-flight requests to get their error


def error_response(status: int, message: str, error_type: str, param: Optional[str] = None,
                   code: Optional[str] = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": error_type, "param": param, "code": code}},
                        status_code=status)


def _validation_message(exc: RequestValidationError) -> tuple[str, Optional[str]]:
    errors = exc.errors()
    if not errors:
        return "invalid request", None
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    if first.get("type") == "json_invalid":
        return f"The request body is not valid JSON: {first.get('ctx', {}).get('error', first.get('msg'))}", None
    # pydantic reports every union branch; the location without branch tags is what the client wrote
    param = ".".join(p for p in loc if not p.startswith(("function-", "str", "list[", "literal[", "TextPart",
                                                         "OtherPart", "NamedToolChoice", "NamedFunction")))
    if not param and not loc:
        return f"The request body is invalid: {first.get('msg')}", None
    return f"Invalid value for '{param or '.'.join(loc)}': {first.get('msg')}", param or None


def create_app(service: ChatService, *, api_key: Optional[str] = None,
               max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
               stream_stall_s: float = DEFAULT_STREAM_STALL_S,
               on_engine_death: Optional[Callable[[str], None]] = None) -> FastAPI:
    """The app. `on_engine_death(reason)` runs once the engine has died and in-flight
    requests had EXIT_GRACE_S to get their error (the CLI stops the server: exit code 3).
    `stream_stall_s`: see `ReaderStream`."""
    engine = service.engine
    metrics = service.metrics
    metrics.watch_engine(engine)

    async def watch_engine() -> None:
        while (reason := engine.dead()) is None:
            await asyncio.sleep(WATCH_INTERVAL_S)
        log.critical("the engine died: %s; /health now answers 503", reason)
        metrics.engine_died()
        await asyncio.sleep(EXIT_GRACE_S)
        if on_engine_death is not None:
            on_engine_death(reason)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await engine.start()
        metrics.set_engine_up(True)
        watcher = asyncio.create_task(watch_engine())
        yield
        watcher.cancel()
        metrics.set_engine_up(False)
        await engine.stop()

    app = FastAPI(title="functionary", version="0.1.0", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=max_request_bytes)

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError):
        return JSONResponse(exc.body(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        message, param = _validation_message(exc)
        return error_response(400, message, "invalid_request_error", param)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return error_response(exc.status_code, str(exc.detail), kind)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal server error", "server_error")

    async def check_key(request: Request) -> None:
        # A dependency rather than middleware: Starlette's BaseHTTPMiddleware hides
        # client disconnects from the route, and we need those to stop generation.
        if not api_key:
            return
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        if not hmac.compare_digest(token.encode(), api_key.encode()):
            raise Unauthorized("Incorrect API key provided", code="invalid_api_key")

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(check_key)])

    @app.get("/health")
    async def health():
        reason = engine.dead()
        if reason is not None:  # load balancers and Docker's HEALTHCHECK must stop sending traffic
            return JSONResponse({"status": "dead", "reason": reason, "model": engine.model_name,
                                 "engine": engine.name}, status_code=503)
        return {"status": "ok", "model": engine.model_name, "engine": engine.name, **engine.stats()}

    @app.get("/metrics", include_in_schema=False)
    async def metrics_route(request: Request):
        body, content_type = metrics.exposition(request.headers.get("accept"))
        return Response(body, media_type=content_type)

    @v1.get("/models", response_model=ModelList)
    async def models():
        return ModelList(data=[ModelCard(id=engine.model_name, max_model_len=engine.max_model_len)])

    @v1.post("/chat/completions", response_model=ChatCompletion, response_model_exclude_none=False)
    async def chat_completions(body: ChatCompletionRequest, request: Request):
        track = metrics.track_request(body.stream)
        try:
            prepared = await service.prepare(body, track)
            if body.stream:
                return ReaderStream(_sse(service, prepared, track), stall_s=stream_stall_s,
                                    media_type="text/event-stream",
                                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
            result = await _until_disconnect(request, service.complete(prepared))
        except APIError as exc:
            track.done(exc.status_code)
            raise
        except Exception:
            track.done(500)
            raise
        track.done(getattr(result, "status_code", 200))
        return result

    app.include_router(v1)
    return app


class ReaderStream(StreamingResponse):
    """A streamed response that stops when its client stops reading.

    What waits for a client that reads nothing: the socket buffers, then uvicorn's write
    buffer (its flow control pauses `send` past 64 KiB), then, once `send` blocks, the
    engine's output for the request (the transformers engine's per-request queue, vLLM's
    output collector), which would grow until max_tokens while the engine kept decoding for
    nobody. So a chunk that cannot be handed to the connection within `stall_s` ends the
    response: generation stops (the request counts as 499, as when a client leaves) and
    the connection is closed. A client that reads at any pace is never affected; one that
    stalls costs at most `stall_s` of generation."""

    def __init__(self, content, *, stall_s: float, **kw) -> None:
        super().__init__(content, **kw)
        self.stall_s = stall_s

    async def stream_response(self, send) -> None:
        async def send_or_give_up(message) -> None:
            try:
                await asyncio.wait_for(send(message), self.stall_s)
            except asyncio.TimeoutError:
                raise _Stalled from None

        try:
            await super().stream_response(send_or_give_up if self.stall_s > 0 else send)
        except _Stalled:
            log.warning("a streaming client read nothing for %.0fs: generation stopped, connection closed",
                        self.stall_s)
            await self.body_iterator.aclose()  # stops generation now, not when collected


class _Stalled(Exception):
    pass


async def _sse(service: ChatService, prepared, track: RequestTrack):
    try:
        async with contextlib.aclosing(service.stream(prepared)) as chunks:
            async for chunk in chunks:
                yield f"data: {chunk.model_dump_json(exclude_none=True)}\n\n"
        track.done(200)
    except APIError as exc:  # headers are gone: report inside the stream
        log.error("stream failed: %s", exc.message)
        track.done(exc.status_code)
        yield f"data: {JSONResponse(exc.body()).body.decode()}\n\n"
    except Exception:  # noqa: BLE001 - our bug: say so rather than cut the stream
        log.exception("stream failed")
        track.done(500)
        failure = GenerationFailed("generation failed inside the engine", code="engine_error")
        yield f"data: {JSONResponse(failure.body()).body.decode()}\n\n"
    finally:
        track.done(499)  # the client left mid-stream (no-op when already counted)
    yield "data: [DONE]\n\n"


class BodyLimit:
    """Refuses request bodies over `max_bytes` with 413, before anything parses them: by
    Content-Length when sent, else by counting as the body arrives. (Plain ASGI rather
    than BaseHTTPMiddleware, which hides client disconnects from the routes.)"""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await self._refuse(send)
        # Read the body here (bounded), then hand it to the app; later messages (the
        # client's disconnect) pass straight through.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its body
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return await self._refuse(send)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send) -> None:
        response = error_response(413, f"The request body is larger than this server's limit of {self.max_bytes} "
                                       f"bytes (--max-request-bytes)", "invalid_request_error",
                                  code="request_too_large")
        await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})


async def _until_disconnect(request: Request, work):
    """Run a whole-response request, cancelling generation if the client goes away."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=0.5)
            if done:
                return task.result()
            if await request.is_disconnected():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                return JSONResponse({}, status_code=499)
    finally:
        if not task.done():
            task.cancel()
