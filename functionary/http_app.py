"""HTTP layer: FastAPI routes, SSE framing, OpenAI-shaped errors, API-key check."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from typing import Optional

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from functionary.errors import APIError, GenerationFailed, Unauthorized
from functionary.openai_types import ChatCompletion, ChatCompletionRequest, ModelCard, ModelList
from functionary.serving import ChatService

log = logging.getLogger(__name__)


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


def create_app(service: ChatService, *, api_key: Optional[str] = None) -> FastAPI:
    engine = service.engine

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await engine.start()
        yield
        await engine.stop()

    app = FastAPI(title="functionary", version="0.1.0", lifespan=lifespan)

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
        return {"status": "ok", "model": engine.model_name, "engine": engine.name, **engine.stats()}

    @v1.get("/models", response_model=ModelList)
    async def models():
        return ModelList(data=[ModelCard(id=engine.model_name, max_model_len=engine.max_model_len)])

    @v1.post("/chat/completions", response_model=ChatCompletion, response_model_exclude_none=False)
    async def chat_completions(body: ChatCompletionRequest, request: Request):
        prepared = await service.prepare(body)
        if body.stream:
            return StreamingResponse(_sse(service, prepared), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return await _until_disconnect(request, service.complete(prepared))

    app.include_router(v1)
    return app


async def _sse(service: ChatService, prepared):
    try:
        async for chunk in service.stream(prepared):
            yield f"data: {chunk.model_dump_json(exclude_none=True)}\n\n"
    except APIError as exc:  # headers are gone: report inside the stream
        log.error("stream failed: %s", exc.message)
        yield f"data: {JSONResponse(exc.body()).body.decode()}\n\n"
    except Exception:  # noqa: BLE001 - e.g. the engine died: say so rather than cut the stream
        log.exception("stream failed")
        failure = GenerationFailed("generation failed inside the engine", code="engine_error")
        yield f"data: {JSONResponse(failure.body()).body.decode()}\n\n"
    yield "data: [DONE]\n\n"


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
