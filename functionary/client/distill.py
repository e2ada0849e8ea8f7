"""Distillation: teach a model to do what a Python function does, then let it.

`@distill` wraps a function whose return annotation is a pydantic model. Each call's
inputs become a prompt (the user message; the docstring as system prompt) and its output
becomes the answer: one call to a tool whose parameters are the output model. Modes:

- "record":   run the function, append (prompt -> call) to a fine-tuning JSONL file;
- "dispatch": ask the (fine-tuned) model instead; when its answer fails validation or the
              request fails, run the real function (and record it, so the data grows
              where the model is weak);
- "off":      just run the function.

The mode is the decorator's `mode=`, else the FUNCTIONARY_DISTILL_MODE environment
variable, else "off"; it is read at each call and can be changed on `fn.distilled.mode`.

`@distill_pipeline` is the same for a multi-step pipeline (a function that itself makes
several model calls): the steps are captured, and the training example is rewritten to
one direct call from the pipeline's inputs to its final output, so the fine-tuned model
replaces the whole pipeline with a single request.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
from pathlib import Path
from typing import Any, Callable, get_type_hints

import openai
from pydantic import BaseModel, ValidationError

from functionary.client.calls import result_content
from functionary.client.completion import (ToolCallsFailed, capture_completions, get_completion,
                                           get_completion_sync)
from functionary.client.finetune import append_jsonl, finetune_example
from functionary.client.history import message_dict
from functionary.client.schemas import Tool

__all__ = ["distill", "distill_pipeline", "Distilled", "MODE_ENV", "DIR_ENV"]

log = logging.getLogger(__name__)

MODE_ENV = "FUNCTIONARY_DISTILL_MODE"
DIR_ENV = "FUNCTIONARY_DISTILL_DIR"  # where examples go when a decorator names no path
MODES = ("record", "dispatch", "off")


class Distilled:
    """The settings and behaviour behind one decorated function (`fn.distilled`)."""

    def __init__(self, fn: Callable[..., Any], *, path: str | Path | None, mode: str | None,
                 instructions: str | None, client: Any, model: str | None, retries: int,
                 pipeline: bool, trace_path: str | Path | None, completion_kwargs: dict):
        output = get_type_hints(fn).get("return")
        if not (isinstance(output, type) and issubclass(output, BaseModel)):
            raise TypeError(f"{fn.__qualname__}: the return annotation must be a pydantic model class, "
                            f"got {output!r}")
        self.fn = fn
        self.output_model: type[BaseModel] = output
        self.tool = Tool.from_model(output)
        self.signature = inspect.signature(fn)
        self.path = Path(path) if path is not None else None
        self.mode = mode  # validated when read
        self.instructions = instructions if instructions is not None else inspect.getdoc(fn)
        self.client, self.model, self.retries = client, model, retries
        self.pipeline = pipeline
        self.trace_path = Path(trace_path) if trace_path is not None else None
        self.completion_kwargs = completion_kwargs

    # ------------------------------------------------------------------ settings

    @property
    def mode(self) -> str:
        mode = self._mode or os.environ.get(MODE_ENV) or "off"
        if mode not in MODES:
            raise ValueError(f"distill mode must be one of {', '.join(MODES)}; got {mode!r}")
        return mode

    @mode.setter
    def mode(self, value: str | None) -> None:
        if value is not None and value not in MODES:
            raise ValueError(f"distill mode must be one of {', '.join(MODES)}; got {value!r}")
        self._mode = value

    @property
    def examples_path(self) -> Path:
        if self.path is not None:
            return self.path
        return Path(os.environ.get(DIR_ENV, "distill_data")) / f"{self.fn.__module__}.{self.fn.__qualname__}.jsonl"

    # ------------------------------------------------------------------ data

    def prompt(self, args: tuple, kwargs: dict) -> list[dict]:
        """The inputs as chat messages: a `messages` parameter as it is, a single string as
        the user message, anything else as a JSON object of the arguments."""
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        only = next(iter(values.values())) if len(values) == 1 else None
        if list(values) == ["messages"] and isinstance(only, list):
            messages = [message_dict(m) for m in only]
        elif isinstance(only, str):
            messages = [{"role": "user", "content": only}]
        else:
            messages = [{"role": "user", "content": result_content(values)}]
        if self.instructions and not (messages and messages[0].get("role") == "system"):
            messages.insert(0, {"role": "system", "content": self.instructions})
        return messages

    def example(self, prompt: list[dict], output: BaseModel) -> dict:
        """prompt -> one call to the output tool with `output` as its arguments."""
        call = {"id": "call_0", "type": "function",
                "function": {"name": self.tool.name, "arguments": output.model_dump_json(by_alias=True)}}
        return finetune_example([*prompt, {"role": "assistant", "tool_calls": [call]}], [self.tool.definition()],
                                parallel_tool_calls=False)

    def record(self, prompt: list[dict], output: Any, steps: list) -> None:
        try:
            validated = self.output_model.model_validate(output)
        except ValidationError as e:
            log.warning("%s returned a value that is not a valid %s; not recorded: %s",
                        self.fn.__qualname__, self.output_model.__name__, e)
            return
        example = self.example(prompt, validated)
        append_jsonl(self.examples_path, example)
        if self.pipeline and self.trace_path is not None:
            append_jsonl(self.trace_path, {"example": example, "steps": [r.clean_history for r in steps],
                                           "usage": _usage_sum(steps)})

    # ------------------------------------------------------------------ calling
    # The prompt is rendered before the function runs (it may change its arguments).

    def call_sync(self, args: tuple, kwargs: dict) -> Any:
        mode = self.mode
        if mode == "off":
            return self.fn(*args, **kwargs)
        prompt = self.prompt(args, kwargs)
        if mode == "dispatch":
            try:
                return get_completion_sync(prompt, **self._completion_args()).results[0]
            except _MODEL_FAILURES as e:
                self._fallback(e)
            if self.path is None:
                return self.fn(*args, **kwargs)
        with capture_completions() as steps:  # record (or record a fallback)
            output = self.fn(*args, **kwargs)
        self.record(prompt, output, steps)
        return output

    async def call(self, args: tuple, kwargs: dict) -> Any:
        mode = self.mode
        if mode == "off":
            return await self.fn(*args, **kwargs)
        prompt = self.prompt(args, kwargs)
        if mode == "dispatch":
            try:
                return (await get_completion(prompt, **self._completion_args())).results[0]
            except _MODEL_FAILURES as e:
                self._fallback(e)
            if self.path is None:
                return await self.fn(*args, **kwargs)
        with capture_completions() as steps:
            output = await self.fn(*args, **kwargs)
        self.record(prompt, output, steps)
        return output

    def _completion_args(self) -> dict:
        return dict(tools=[self.tool], retries=self.retries, client=self.client, model=self.model,
                    **self.completion_kwargs)

    def _fallback(self, error: Exception) -> None:
        log.warning("%s: the model's answer was not usable (%s); running the real function",
                    self.fn.__qualname__, error)


# An invalid answer after the retries, or a failed request: dispatch falls back.
_MODEL_FAILURES = (ToolCallsFailed, openai.APIError)


def _usage_sum(results: list) -> dict:
    keys = ("prompt_tokens", "completion_tokens", "total_tokens")
    return {k: sum(getattr(r.usage, k) for r in results) for k in keys}


def _decorator(fn, pipeline: bool, **options):
    def wrap(f: Callable[..., Any]):
        distilled = Distilled(f, pipeline=pipeline, **options)
        if inspect.iscoroutinefunction(f):
            @functools.wraps(f)
            async def wrapper(*args, **kwargs):
                return await distilled.call(args, kwargs)
        else:
            @functools.wraps(f)
            def wrapper(*args, **kwargs):
                return distilled.call_sync(args, kwargs)
        wrapper.distilled = distilled
        return wrapper

    return wrap(fn) if fn is not None else wrap


def distill(fn: Callable[..., Any] | None = None, *, path: str | Path | None = None, mode: str | None = None,
            instructions: str | None = None, client: Any = None, model: str | None = None, retries: int = 0,
            **completion_kwargs: Any):
    """Distil a function returning a pydantic model (see the module docstring).

    `path`: the JSONL file for examples (default: FUNCTIONARY_DISTILL_DIR or ./distill_data,
    then `<module>.<name>.jsonl`; in dispatch mode, fallbacks are recorded only when `path`
    is given). `instructions`: the system prompt (default: the docstring). `client`,
    `model`, `retries` and other keyword arguments are used for dispatch requests.
    """
    return _decorator(fn, False, path=path, mode=mode, instructions=instructions, client=client, model=model,
                      retries=retries, trace_path=None, completion_kwargs=completion_kwargs)


def distill_pipeline(fn: Callable[..., Any] | None = None, *, path: str | Path | None = None,
                     mode: str | None = None, instructions: str | None = None, trace_path: str | Path | None = None,
                     client: Any = None, model: str | None = None, retries: int = 0, **completion_kwargs: Any):
    """Distil a multi-step pipeline into one call: like `distill`, but the model calls the
    pipeline makes (through get_completion) are captured while recording, and the example
    keeps only the pipeline's inputs and final output as one direct call. `trace_path`
    (optional) receives, per example, the steps' clean histories and summed usage — what
    one distilled call replaces."""
    return _decorator(fn, True, path=path, mode=mode, instructions=instructions, client=client, model=model,
                      retries=retries, trace_path=trace_path, completion_kwargs=completion_kwargs)
