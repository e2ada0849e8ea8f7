"""Client-facing errors, shaped like OpenAI's `{"error": {message, type, param, code}}`."""

from __future__ import annotations

from typing import Optional


class APIError(Exception):
    """An error the HTTP layer turns into OpenAI-shaped JSON with its status code."""

    status_code = 400
    error_type = "invalid_request_error"

    def __init__(self, message: str, *, param: Optional[str] = None, code: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.error_type, "param": self.param, "code": self.code}}


class BadRequest(APIError):
    status_code = 400


class Unauthorized(APIError):
    status_code = 401
    error_type = "authentication_error"


class NotFound(APIError):
    status_code = 404
    error_type = "not_found_error"


class PayloadTooLarge(APIError):
    status_code = 413


class ContextTooLong(BadRequest):
    def __init__(self, prompt_tokens: int, max_tokens: int, context: int, *, at_least: bool = False):
        # at_least: the prompt was too long to be worth tokenizing, so its size is a lower bound
        requested = f"at least {prompt_tokens} tokens in the messages" if at_least else \
            f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in the messages, {max_tokens} in the completion)"
        super().__init__(
            f"This model's maximum context length is {context} tokens. However, you requested {requested}. "
            f"Please reduce the length of the messages or completion.",
            param="messages",
            code="context_length_exceeded",
        )


class BudgetTooSmall(BadRequest):
    """The token budget cannot hold even the shortest reply the request requires."""

    def __init__(self, budget: int, needed: Optional[int], what: str, *, from_context: bool):
        # needed None: the shortest reply is longer than any context (huge minItems and kin)
        limit = f"the context leaves room for {budget} tokens" if from_context else f"max_tokens is {budget}"
        if needed is None:
            super().__init__(f"{limit}, but the shortest valid reply this request allows ({what}) is longer than "
                             f"any context: lower the schema's minItems / minLength / minProperties.",
                             param="tools" if "call" in what else "response_format", code="max_tokens_too_small")
            return
        super().__init__(
            f"{limit}, but the shortest valid reply this request allows ({what}) takes {needed} tokens. "
            + ("Shorten the messages" if from_context else f"Set max_tokens to at least {needed}") + ".",
            param="messages" if from_context else "max_tokens",
            code="max_tokens_too_small",
        )


class EngineUnavailable(APIError):
    """The engine died: nothing can be served until the process is restarted."""

    status_code = 503
    error_type = "server_error"

    def __init__(self, reason: str):
        super().__init__(f"the inference engine is not running ({reason}); this server process exits so that "
                         f"its supervisor can start a fresh one", code="engine_dead")


class GenerationFailed(APIError):
    """The engine failed, or output escaped the constraint: our fault, never the client's."""

    status_code = 500
    error_type = "server_error"
