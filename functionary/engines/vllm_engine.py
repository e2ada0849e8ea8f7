"""The vLLM engine: vLLM's async engine (V1 `AsyncLLM`) behind our engine seam.

vLLM does the batching, paging, prefix caching and parallelism; we hand it token ids
and the request's constraint spec as vLLM structured outputs (xgrammar backend), and
stream its text deltas back. Prompt rendering, parsing, stop strings and `n` stay in
the chat service, so both engines answer the same request the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import AsyncIterator, Optional

import xgrammar as xgr
from transformers import AutoTokenizer

from functionary.constraint import ConstraintSpec
from functionary.engines.base import Engine, GenerationDelta, SamplingParams

log = logging.getLogger(__name__)

FINISH_REASONS = ("stop", "length", "abort")


class VLLMEngine(Engine):
    name = "vllm"

    def __init__(self, engine_args, served_name: Optional[str] = None) -> None:
        """`engine_args`: a `vllm.engine.arg_utils.AsyncEngineArgs` (from vLLM's own CLI parser)."""
        from vllm.v1.engine.async_llm import AsyncLLM

        self._scheduler = _SchedulerLoad()
        self.llm = AsyncLLM.from_engine_args(engine_args, stat_loggers=[self._scheduler.factory])
        config = self.llm.model_config
        self.model_name = served_name or config.served_model_name or config.model
        self.max_model_len = config.max_model_len
        # The formats need the Hugging Face tokenizer itself (chat template, special tokens).
        self.tokenizer = AutoTokenizer.from_pretrained(
            config.tokenizer, revision=config.tokenizer_revision, trust_remote_code=config.trust_remote_code)
        self._checked: set[str] = set()

    # ------------------------------------------------------------------ seam

    async def prepare(self, spec: Optional[ConstraintSpec]) -> None:
        # vLLM compiles the grammar itself (and caches it); checking here turns a bad schema
        # into a 400 before the request is queued rather than an engine error mid-request.
        if spec is None or spec.key in self._checked:
            return
        try:
            await asyncio.to_thread(_check_constraint, spec)
        except Exception as exc:  # xgrammar raises several types for bad schemas
            raise ValueError(f"cannot build a grammar for this request: {exc}") from exc
        if len(self._checked) > 4096:
            self._checked.clear()
        self._checked.add(spec.key)

    async def generate(
        self, request_id: str, prompt_ids: list[int], params: SamplingParams, spec: Optional[ConstraintSpec]
    ) -> AsyncIterator[GenerationDelta]:
        from vllm.inputs import TokensPrompt

        stream = self.llm.generate(TokensPrompt(prompt_token_ids=prompt_ids), _sampling(params, spec), request_id)
        num_tokens, finished = 0, False
        try:
            async for out in stream:
                piece = out.outputs[0]
                num_tokens += len(piece.token_ids)
                finish = None
                if piece.finish_reason is not None or out.finished:
                    finished = True
                    finish = piece.finish_reason if piece.finish_reason in FINISH_REASONS \
                        else f"error: {piece.finish_reason}"
                yield GenerationDelta(piece.text, num_tokens, finish)
                if finished:
                    return
        finally:
            await stream.aclose()
            if not finished:  # the consumer left early (or vLLM failed): free the engine's slot now
                try:
                    await self.abort(request_id)
                except Exception:  # noqa: BLE001 - never hide the error that got us here
                    log.debug("abort of %s failed", request_id, exc_info=True)

    async def abort(self, request_id: str) -> None:
        await self.llm.abort(request_id)

    def stats(self) -> dict:
        in_flight = self.llm.output_processor.get_num_unfinished_requests()
        waiting = min(self._scheduler.waiting, in_flight)
        return {"running": in_flight - waiting, "waiting": waiting}

    def dead(self) -> Optional[str]:
        # vLLM notices a dead engine-core process (a crash, or killed) and fails its streams.
        if self.llm.errored:
            return "the vLLM engine core died (see the log above for its error)"
        return None

    async def stop(self) -> None:
        self.llm.shutdown()


def _sampling(params: SamplingParams, spec: Optional[ConstraintSpec]):
    from vllm.sampling_params import RequestOutputKind, SamplingParams as VSamplingParams

    return VSamplingParams(
        n=1,  # the chat service runs `n` choices as separate requests (vLLM shares their prefix)
        max_tokens=params.max_tokens,
        temperature=params.temperature,
        top_p=params.top_p,
        seed=params.seed,
        presence_penalty=params.presence_penalty,
        frequency_penalty=params.frequency_penalty,
        # Stop strings are applied by the chat service to text only, never inside a call.
        output_kind=RequestOutputKind.DELTA,
        # Formats read their markers in the text, and some markers are special tokens.
        skip_special_tokens=False,
        spaces_between_special_tokens=False,
        structured_outputs=_structured_outputs(spec),
    )


def _structured_outputs(spec: Optional[ConstraintSpec]):
    if spec is None:
        return None
    from vllm.sampling_params import StructuredOutputsParams

    if spec.kind == "structural_tag":
        return StructuredOutputsParams(structural_tag=spec.value)
    if spec.kind == "json_schema":
        # Same grammar as the transformers engine (no free whitespace): as a structural tag.
        tag = {"type": "structural_tag", "format": {"type": "json_schema", "json_schema": json.loads(spec.value)}}
        return StructuredOutputsParams(structural_tag=json.dumps(tag))
    return StructuredOutputsParams(grammar=spec.value)


def _check_constraint(spec: ConstraintSpec) -> None:
    if spec.kind == "structural_tag":
        xgr.Grammar.from_structural_tag(spec.value)
    elif spec.kind == "json_schema":
        xgr.Grammar.from_json_schema(spec.value, any_whitespace=False)
    else:
        xgr.Grammar.from_ebnf(spec.value)


class _SchedulerLoad:
    """Keeps the scheduler's latest waiting-queue length, from vLLM's stat-logger hook."""

    def __init__(self) -> None:
        self.waiting = 0
        owner = self
        from vllm.v1.metrics.loggers import StatLoggerBase

        class _Logger(StatLoggerBase):
            def __init__(self, vllm_config, engine_index: int = 0) -> None:
                pass

            def record(self, scheduler_stats, iteration_stats, mm_cache_stats=None, engine_idx: int = 0) -> None:
                if scheduler_stats is not None:
                    owner.waiting = getattr(scheduler_stats, "num_waiting_reqs", 0)

            def log_engine_initialized(self) -> None:
                pass

        self.factory = _Logger
