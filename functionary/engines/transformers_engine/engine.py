"""`TransformersEngine`: the async side of the transformers engine.

Requests arrive on the event loop and wait in a queue; one worker thread runs the engine
loop (loop.py) and hands each delta back to the request's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import AsyncIterator, Optional

import torch
from transformers import AutoTokenizer

from functionary.constraint import ConstraintSpec
from functionary.engines.base import Engine, GenerationDelta, SamplingParams
from functionary.engines.transformers_engine.detokenizer import IncrementalDetokenizer
from functionary.engines.transformers_engine.grammar import GrammarCache
from functionary.engines.transformers_engine.kv_cache import PrefixCache, new_cache, supports_growing
from functionary.engines.transformers_engine.loader import dynamic_cache, load_model, resolve_dtype, stop_token_ids
from functionary.engines.transformers_engine.loop import PREFILL_BLOCK, EngineLoop
from functionary.engines.transformers_engine.sequence import Sequence

log = logging.getLogger(__package__)  # the package's logger, as before the split into modules

DEATH_CHECK_S = 1.0  # how often a waiting request checks that the worker still lives


class TransformersEngine(Engine):
    name = "transformers"

    def __init__(
        self,
        model_path: str,
        *,
        served_name: str,
        dtype: str = "auto",
        max_model_len: Optional[int] = None,
        max_batch_size: int = 32,
        device: Optional[str] = None,
        threads: Optional[int] = None,
        prefix_cache_tokens: int = 65536,
    ) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model_name = served_name
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        torch_dtype = resolve_dtype(dtype, self.device)
        log.info("loading %s (%s) on %s", model_path, torch_dtype, self.device)
        self.model = load_model(model_path, torch_dtype, self.device)
        config = self.model.config
        limit = getattr(config, "max_position_embeddings", None) or 4096
        self.max_model_len = min(max_model_len or limit, limit)
        self.vocab_size = self.model.get_output_embeddings().weight.shape[0]
        self.stop_token_ids = stop_token_ids(self.tokenizer, self.model)
        self.grammars = GrammarCache(self.tokenizer, self.vocab_size, self.stop_token_ids)
        self.max_batch_size = max_batch_size
        # Growing in-place layers and prefix reuse need plain full-attention layers.
        growing = supports_growing(self.model)
        make_cache = new_cache if growing else dynamic_cache
        self.prefix_cache = PrefixCache(prefix_cache_tokens, PREFILL_BLOCK) if growing and prefix_cache_tokens else None
        self._waiting: "queue.Queue[Optional[Sequence]]" = queue.Queue()
        self._loop = EngineLoop(self.model, device=self.device, vocab_size=self.vocab_size,
                                max_batch_size=max_batch_size, make_cache=make_cache,
                                prefix_cache=self.prefix_cache, waiting=self._waiting)
        self._by_id: dict[str, Sequence] = {}
        self._thread: Optional[threading.Thread] = None

    def stats(self) -> dict:
        out = {"running": self._loop.batch_rows, "waiting": self._waiting.qsize()}
        if self.prefix_cache is not None:
            out.update(prefix_cache_hits=self.prefix_cache.hits, prefix_cache_tokens=self.prefix_cache.reused_tokens)
        return out

    def dead(self) -> Optional[str]:
        if self._loop.death:
            return self._loop.death
        if self._thread is not None and not self._thread.is_alive() and self._loop.running:
            return "the engine thread exited"
        return None

    async def start(self) -> None:
        if self._thread is None:
            self._loop.running = True
            self._thread = threading.Thread(target=self._loop.run, name="transformers-engine", daemon=True)
            self._thread.start()

    async def stop(self) -> None:
        self._loop.running = False
        self._waiting.put(None)  # wake the worker
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 10)
            self._thread = None

    async def prepare(self, spec: Optional[ConstraintSpec]) -> None:
        if spec is not None:
            await asyncio.to_thread(self.grammars.get, spec)

    async def generate(
        self, request_id: str, prompt_ids: list[int], params: SamplingParams, spec: Optional[ConstraintSpec]
    ) -> AsyncIterator[GenerationDelta]:
        loop = asyncio.get_running_loop()
        out: asyncio.Queue[GenerationDelta] = asyncio.Queue()
        matcher = self.grammars.matcher(spec) if spec is not None else None
        generator = torch.Generator()
        generator.manual_seed(params.seed if params.seed is not None else torch.seed())
        seq = Sequence(
            request_id=request_id,
            prompt_ids=list(prompt_ids),
            params=params,
            matcher=matcher,
            emit=lambda d: loop.call_soon_threadsafe(out.put_nowait, d),
            detok=IncrementalDetokenizer(self.tokenizer),
            generator=generator,
            stop_token_ids=self.stop_token_ids,
            max_model_len=self.max_model_len,
        )
        self._by_id[request_id] = seq
        self._waiting.put(seq)
        finished = False
        getter: Optional[asyncio.Task] = None
        try:
            while True:
                # One get task across timeouts (cancelling a get could lose a delta).
                getter = getter or asyncio.ensure_future(out.get())
                done, _ = await asyncio.wait({getter}, timeout=DEATH_CHECK_S)
                if done:
                    delta, getter = getter.result(), None
                elif (why := self.dead()) is not None:
                    # queued after the loop drained its queue for the last time: answer here
                    delta = GenerationDelta("", 0, f"error: {why}")
                else:
                    continue
                yield delta
                if delta.finish_reason is not None:
                    finished = True
                    return
        finally:
            if getter is not None:
                getter.cancel()
            if not finished:
                seq.aborted = True
            self._by_id.pop(request_id, None)

    async def abort(self, request_id: str) -> None:
        seq = self._by_id.get(request_id)
        if seq is not None:
            seq.aborted = True
