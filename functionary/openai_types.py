"""OpenAI chat-completions wire types (requests, responses, stream chunks, errors).

Requests accept what real clients send and ignore unknown fields; anything the
server accepts but does not implement is rejected by `unsupported_features`
with a clear 400 rather than silently ignored.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Lenient(BaseModel):
    """Base for request parts: unknown keys are ignored, as OpenAI clients add new ones."""

    model_config = ConfigDict(extra="ignore")


# ----------------------------------------------------------------------------- messages


class TextPart(_Lenient):
    type: Literal["text"]
    text: str


class OtherPart(_Lenient):
    """A non-text content part (image, audio, file): accepted by the parser, rejected later."""

    type: str


ContentPart = Union[TextPart, OtherPart]


class FunctionCall(_Lenient):
    name: str
    arguments: str = "{}"

    @field_validator("arguments", mode="before")
    @classmethod
    def _arguments_as_text(cls, value: Any) -> Any:
        # Some clients send already-decoded objects; keep the wire form (a JSON string).
        if isinstance(value, (dict, list)):
            import json

            return json.dumps(value, ensure_ascii=False)
        return value


class ToolCall(_Lenient):
    id: Optional[str] = None
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Optional[Union[str, list[ContentPart]]] = None
    name: Optional[str] = None
    tool_calls: Optional[list[ToolCall]] = None
    tool_call_id: Optional[str] = None
    function_call: Optional[FunctionCall] = None  # legacy assistant field

    @model_validator(mode="after")
    def _check_shape(self) -> "ChatMessage":
        if self.role in ("system", "developer", "user") and self.content is None:
            raise ValueError(f"messages with role '{self.role}' must have content")
        if self.role != "assistant" and (self.tool_calls or self.function_call):
            raise ValueError("only assistant messages may carry tool_calls")
        return self

    def text(self) -> str:
        """The message content as plain text (text parts joined)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    def non_text_parts(self) -> list[str]:
        if isinstance(self.content, list):
            return [p.type for p in self.content if not isinstance(p, TextPart)]
        return []


# ----------------------------------------------------------------------------- tools


class FunctionDefinition(_Lenient):
    name: str = Field(pattern=r"^[a-zA-Z0-9_.\-]{1,64}$")
    description: Optional[str] = None
    parameters: Optional[dict[str, Any]] = None
    strict: Optional[bool] = None


class Tool(_Lenient):
    # "code_interpreter" (no function body) is the code tool Functionary models know; it
    # becomes the function `python` with arguments {"code": ...} (formats/code_tool.py).
    type: Literal["function", "code_interpreter"] = "function"
    function: Optional[FunctionDefinition] = None

    @model_validator(mode="after")
    def _function_present(self) -> "Tool":
        if self.type == "function" and self.function is None:
            raise ValueError("tools of type 'function' need a 'function' object")
        return self


class NamedFunction(_Lenient):
    name: str


class NamedToolChoice(_Lenient):
    type: Literal["function"] = "function"
    function: NamedFunction


ToolChoice = Union[Literal["auto", "none", "required"], NamedToolChoice]


class JsonSchemaSpec(_Lenient):
    name: str = "response"
    description: Optional[str] = None
    schema_: Optional[dict[str, Any]] = Field(default=None, alias="schema")
    strict: Optional[bool] = None


class ResponseFormat(_Lenient):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: Optional[JsonSchemaSpec] = None

    @model_validator(mode="after")
    def _schema_present(self) -> "ResponseFormat":
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("response_format of type 'json_schema' needs a 'json_schema' object")
        return self


class StreamOptions(_Lenient):
    include_usage: bool = False


# ----------------------------------------------------------------------------- request

MAX_STOP_CHARS = 1000  # each stop string is re-scanned as text streams: keep them short


class ChatCompletionRequest(_Lenient):
    model: Optional[str] = None
    messages: list[ChatMessage] = Field(min_length=1)
    tools: Optional[list[Tool]] = None
    tool_choice: Optional[ToolChoice] = None
    parallel_tool_calls: Optional[bool] = None
    functions: Optional[list[FunctionDefinition]] = None  # legacy
    function_call: Optional[Union[Literal["auto", "none"], NamedFunction]] = None  # legacy
    response_format: Optional[ResponseFormat] = None
    stream: bool = False
    stream_options: Optional[StreamOptions] = None
    max_tokens: Optional[int] = Field(default=None, ge=1)
    max_completion_tokens: Optional[int] = Field(default=None, ge=1)
    temperature: Optional[float] = Field(default=None, ge=0.0, le=2.0)
    top_p: Optional[float] = Field(default=None, gt=0.0, le=1.0)
    seed: Optional[int] = Field(default=None, ge=-(2**63), le=2**63 - 1)  # what engines' generators take
    stop: Optional[Union[str, list[str]]] = None
    n: int = Field(default=1, ge=1, le=16)
    presence_penalty: Optional[float] = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: Optional[float] = Field(default=None, ge=-2.0, le=2.0)
    # Extension: end an array (and close the reply) once it holds this many identical items
    # in a row; small models otherwise repeat an item until max_tokens. Off unless set.
    max_identical_items: Optional[int] = Field(default=None, ge=1)
    logprobs: Optional[bool] = None
    top_logprobs: Optional[int] = None
    logit_bias: Optional[dict[str, float]] = None
    # Present in the schema so that they can be refused explicitly (see unsupported_features).
    audio: Optional[Any] = None
    modalities: Optional[list[str]] = None
    prediction: Optional[Any] = None

    @field_validator("stop", mode="after")
    @classmethod
    def _stop_list(cls, value):
        if value is None:
            return None
        stops = [value] if isinstance(value, str) else value
        if len(stops) > 4:
            raise ValueError("at most 4 stop sequences are allowed")
        if any(s == "" for s in stops):
            raise ValueError("stop sequences must not be empty")
        if any(len(s) > MAX_STOP_CHARS for s in stops):
            raise ValueError(f"stop sequences must be at most {MAX_STOP_CHARS} characters long")
        return stops

    def effective_max_tokens(self) -> Optional[int]:
        return self.max_completion_tokens or self.max_tokens

    def unsupported_features(self) -> list[tuple[str, str]]:
        """(param, why) for accepted-but-unimplemented options."""
        out = []
        if self.logprobs:
            out.append(("logprobs", "logprobs are not supported by this server"))
        if self.top_logprobs:
            out.append(("top_logprobs", "top_logprobs are not supported by this server"))
        if self.logit_bias:
            out.append(("logit_bias", "logit_bias is not supported by this server"))
        if self.audio is not None or (self.modalities and self.modalities != ["text"]):
            out.append(("modalities", "only text output is supported"))
        if self.prediction is not None:
            out.append(("prediction", "predicted outputs are not supported"))
        if self.stream_options is not None and not self.stream:
            out.append(("stream_options", "stream_options is only allowed when stream is true"))
        for i, m in enumerate(self.messages):
            kinds = m.non_text_parts()
            if kinds:
                out.append(
                    (f"messages[{i}].content", f"content parts of type {kinds[0]!r} are not supported; only text")
                )
        return out


# ----------------------------------------------------------------------------- responses


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ResponseFunctionCall(BaseModel):
    name: str
    arguments: str


class ResponseToolCall(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: ResponseFunctionCall


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: Optional[str] = None
    tool_calls: Optional[list[ResponseToolCall]] = None
    refusal: Optional[str] = None


FinishReason = Literal["stop", "length", "tool_calls"]


class Choice(BaseModel):
    index: int
    message: ResponseMessage
    finish_reason: FinishReason
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[Choice]
    usage: Usage
    system_fingerprint: Optional[str] = None


class DeltaFunctionCall(BaseModel):
    name: Optional[str] = None
    arguments: Optional[str] = None


class DeltaToolCall(BaseModel):
    index: int
    id: Optional[str] = None
    type: Optional[Literal["function"]] = None
    function: DeltaFunctionCall


class Delta(BaseModel):
    role: Optional[Literal["assistant"]] = None
    content: Optional[str] = None
    tool_calls: Optional[list[DeltaToolCall]] = None


class ChunkChoice(BaseModel):
    index: int
    delta: Delta
    finish_reason: Optional[FinishReason] = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Optional[Usage] = None
    system_fingerprint: Optional[str] = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = Field(default_factory=lambda: int(time.time()))
    owned_by: str = "functionary"
    max_model_len: Optional[int] = None


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
