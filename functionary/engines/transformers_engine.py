"""A transformers engine with continuous batching and per-token xgrammar masks.

One worker thread owns the model. Each loop it admits one waiting request (prefill,
alone), merges its KV cache into the running batch (rows left-padded to a common
length, as HF batched generation does), then runs one decode step for every active
row. Rows leave the batch when they finish or are aborted, so a late request never
waits for an earlier one to end.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import AsyncIterator, Optional

import torch
import xgrammar as xgr
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

from functionary.constraint import ConstraintSpec
from functionary.engines import cpu_attention
from functionary.engines.base import Engine, GenerationDelta, SamplingParams
from functionary.engines.detokenizer import IncrementalDetokenizer
from functionary.engines.grammar import GrammarCache
from functionary.engines.kv_cache import PrefixCache, new_cache, supports_growing
from functionary.engines.sampling import apply_penalties, sample

log = logging.getLogger(__name__)

PREFILL_BLOCK = 128  # prompt tokens per prefill pass (and the prefix cache's unit of reuse)


@dataclass
class _Sequence:
    request_id: str
    prompt_ids: list[int]
    params: SamplingParams
    matcher: Optional[xgr.GrammarMatcher]
    emit: callable  # thread-safe: hands a GenerationDelta to the request's event loop
    detok: IncrementalDetokenizer
    generator: torch.Generator
    output_ids: list[int] = field(default_factory=list)
    counts: dict[int, int] = field(default_factory=dict)
    bitmask: Optional[torch.Tensor] = None
    aborted: bool = False
    finished: bool = False


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
        torch_dtype = _resolve_dtype(dtype, self.device)
        log.info("loading %s (%s) on %s", model_path, torch_dtype, self.device)
        self.model = load_model(model_path, torch_dtype, self.device)
        config = self.model.config
        limit = getattr(config, "max_position_embeddings", None) or 4096
        self.max_model_len = min(max_model_len or limit, limit)
        self.vocab_size = self.model.get_output_embeddings().weight.shape[0]
        self.stop_token_ids = _stop_token_ids(self.tokenizer, self.model)
        self.grammars = GrammarCache(self.tokenizer, self.vocab_size, self.stop_token_ids)
        self.max_batch_size = max_batch_size
        # Growing in-place layers and prefix reuse need plain full-attention layers.
        growing = supports_growing(self.model)
        self._make_cache = new_cache if growing else _dynamic_cache
        self.prefix_cache = PrefixCache(prefix_cache_tokens, PREFILL_BLOCK) if growing and prefix_cache_tokens else None
        self._waiting: "queue.Queue[_Sequence]" = queue.Queue()
        self._by_id: dict[str, _Sequence] = {}
        self._thread: Optional[threading.Thread] = None
        self._running = False
        self._batch_rows = 0  # written by the worker, read by stats()

    # ------------------------------------------------------------------ public API

    def stats(self) -> dict:
        out = {"running": self._batch_rows, "waiting": self._waiting.qsize()}
        if self.prefix_cache is not None:
            out.update(prefix_cache_hits=self.prefix_cache.hits, prefix_cache_tokens=self.prefix_cache.reused_tokens)
        return out

    async def start(self) -> None:
        if self._thread is None:
            self._running = True
            self._thread = threading.Thread(target=self._loop, name="transformers-engine", daemon=True)
            self._thread.start()

    async def stop(self) -> None:
        self._running = False
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
        seq = _Sequence(
            request_id=request_id,
            prompt_ids=list(prompt_ids),
            params=params,
            matcher=matcher,
            emit=lambda d: loop.call_soon_threadsafe(out.put_nowait, d),
            detok=IncrementalDetokenizer(self.tokenizer),
            generator=generator,
        )
        self._by_id[request_id] = seq
        self._waiting.put(seq)
        finished = False
        try:
            while True:
                delta = await out.get()
                yield delta
                if delta.finish_reason is not None:
                    finished = True
                    return
        finally:
            if not finished:
                seq.aborted = True
            self._by_id.pop(request_id, None)

    async def abort(self, request_id: str) -> None:
        seq = self._by_id.get(request_id)
        if seq is not None:
            seq.aborted = True

    # ------------------------------------------------------------------ worker thread

    def _loop(self) -> None:
        batch = _Batch(self.device, self._make_cache)
        with torch.inference_mode():
            while self._running:
                try:
                    if not batch.rows:
                        seq = self._waiting.get()  # idle: block until work arrives
                    elif len(batch.rows) < self.max_batch_size:
                        seq = self._waiting.get_nowait()
                    else:
                        seq = None
                except queue.Empty:
                    seq = None
                try:
                    if seq is not None and not seq.aborted:
                        self._admit(seq, batch)
                    if batch.rows:
                        self._decode_step(batch)
                    self._batch_rows = len(batch.rows)
                except Exception as exc:  # a bug must not wedge every client: fail the batch
                    log.exception("engine step failed")
                    for row in batch.rows + ([seq] if seq is not None else []):
                        if not row.finished:
                            row.finished = True
                            row.emit(GenerationDelta("", len(row.output_ids), f"error: {exc}"))
                    batch = _Batch(self.device, self._make_cache)

    def _admit(self, seq: _Sequence, batch: "_Batch") -> None:
        shared, prefix = self.prefix_cache.lookup(seq.prompt_ids) if self.prefix_cache else (0, None)
        cache = self._make_cache(prefix)
        # Block-aligned chunks: a cached prefix then equals a fresh prefill bit for bit.
        for start in range(shared, len(seq.prompt_ids), PREFILL_BLOCK):
            ids = torch.tensor([seq.prompt_ids[start : start + PREFILL_BLOCK]], device=self.device)
            out = self.model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
            cache = out.past_key_values
        if self.prefix_cache is not None:
            self.prefix_cache.store(seq.prompt_ids, out.past_key_values)
        token = self._choose(seq, out.logits[0, -1])
        if self._advance(seq, token):
            batch.add(seq, out.past_key_values, token)

    def _decode_step(self, batch: "_Batch") -> None:
        batch.drop([r for r in batch.rows if r.aborted or r.finished])
        if not batch.rows:
            return
        input_ids, mask, positions = batch.step_inputs()
        out = self.model(
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=batch.cache,
            use_cache=True,
        )
        batch.cache = out.past_key_values
        logits = out.logits[:, -1, :]
        finished = []
        for i, row in enumerate(batch.rows):
            token = self._choose(row, logits[i])
            if self._advance(row, token):
                batch.last_tokens[i] = token
            else:
                finished.append(row)
        batch.drop(finished)

    def _choose(self, seq: _Sequence, logits: torch.Tensor) -> int:
        logits = logits.float()
        if seq.matcher is not None:
            if seq.bitmask is None:  # one buffer per sequence, refilled every token
                seq.bitmask = xgr.allocate_token_bitmask(1, self.vocab_size)
            seq.matcher.fill_next_token_bitmask(seq.bitmask)
            logits = logits.unsqueeze(0)
            xgr.apply_token_bitmask_inplace(logits, seq.bitmask.to(logits.device))
            logits = logits[0]
        apply_penalties(logits, seq.counts, seq.params)
        return sample(logits.cpu(), seq.params, seq.generator)

    def _advance(self, seq: _Sequence, token: int) -> bool:
        """Record a sampled token and emit its text; False when the sequence is done."""
        if seq.aborted:
            seq.finished = True
            return False
        if seq.matcher is not None and not seq.matcher.accept_token(token):
            raise RuntimeError(f"grammar rejected token {token} it allowed")  # a bug, not client input
        finish = None
        text = ""
        if token in self.stop_token_ids:
            finish = "stop"
        else:
            seq.output_ids.append(token)
            seq.counts[token] = seq.counts.get(token, 0) + 1
            text = seq.detok.push(token)
            if seq.matcher is not None and seq.matcher.is_terminated():
                finish = "stop"
            elif len(seq.output_ids) >= seq.params.max_tokens:
                finish = "length"
            elif len(seq.prompt_ids) + len(seq.output_ids) >= self.max_model_len:
                finish = "length"
        seq.emit(GenerationDelta(text, len(seq.output_ids), finish))
        if finish is not None:
            seq.finished = True
            return False
        return True


class _Batch:
    """Active rows sharing one left-padded KV cache."""

    def __init__(self, device: torch.device, make_cache) -> None:
        self.device = device
        self.make_cache = make_cache
        self.rows: list[_Sequence] = []
        self.last_tokens: list[int] = []
        self.cache: Optional[DynamicCache] = None
        self.mask: Optional[torch.Tensor] = None  # [rows, cache length]; 0 marks padding

    def add(self, seq: _Sequence, cache: DynamicCache, token: int) -> None:
        length = cache.get_seq_length()
        row_mask = torch.ones(1, length, dtype=torch.long, device=self.device)
        if self.cache is None:
            self.cache, self.mask = cache, row_mask
        else:
            width = max(length, self.mask.shape[1])
            layers = []
            for old, new in zip(self.cache.layers, cache.layers):
                keys = torch.cat([_left_pad(old.keys, width), _left_pad(new.keys, width)])
                values = torch.cat([_left_pad(old.values, width), _left_pad(new.values, width)])
                layers.append((keys, values))
            self.cache = self.make_cache(layers)
            self.mask = torch.cat([_left_pad(self.mask, width, dim=1), _left_pad(row_mask, width, dim=1)])
        self.rows.append(seq)
        self.last_tokens.append(token)

    def drop(self, gone: list[_Sequence]) -> None:
        if not gone:
            return
        keep = [i for i, r in enumerate(self.rows) if r not in gone]
        self.rows = [self.rows[i] for i in keep]
        self.last_tokens = [self.last_tokens[i] for i in keep]
        if not keep:
            self.cache, self.mask = None, None
            return
        index = torch.tensor(keep, device=self.device)
        mask = self.mask.index_select(0, index)
        # columns that are padding in every remaining row can go
        first = int(mask.any(dim=0).nonzero()[0])
        layers = [
            (layer.keys.index_select(0, index)[:, :, first:], layer.values.index_select(0, index)[:, :, first:])
            for layer in self.cache.layers
        ]
        self.cache = self.make_cache(layers)
        self.mask = mask[:, first:]

    def step_inputs(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ones = torch.ones(len(self.rows), 1, dtype=self.mask.dtype, device=self.device)
        self.mask = torch.cat([self.mask, ones], dim=1)
        positions = self.mask.sum(dim=1, keepdim=True) - 1
        input_ids = torch.tensor(self.last_tokens, device=self.device).unsqueeze(1)
        return input_ids, self.mask, positions


def load_model(path: str, dtype: torch.dtype, device: torch.device):
    if device.type == "cpu":
        try:
            attn = cpu_attention.register()
            return AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation=attn).eval()
        except (ValueError, ImportError) as exc:  # a model that cannot use SDPA-style attention
            log.info("stock attention for this model (%s)", exc)
    return AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device).eval()


def _dynamic_cache(layers=None) -> DynamicCache:
    return DynamicCache(ddp_cache_data=layers) if layers else DynamicCache()


def _left_pad(t: torch.Tensor, width: int, dim: int = 2) -> torch.Tensor:
    missing = width - t.shape[dim]
    if missing <= 0:
        return t
    shape = list(t.shape)
    shape[dim] = missing
    return torch.cat([torch.zeros(shape, dtype=t.dtype, device=t.device), t], dim=dim)


def _resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    if dtype in ("auto", None):
        return torch.bfloat16  # ~1.7x faster than fp32 for decoding on our CPUs, native on GPUs
    table = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16, "half": torch.float16,
             "float32": torch.float32, "float": torch.float32, "fp32": torch.float32}
    if dtype not in table:
        raise ValueError(f"unsupported dtype {dtype!r}; choose from auto, {', '.join(table)}")
    return table[dtype]


def _stop_token_ids(tokenizer, model) -> list[int]:
    ids = set()
    for source in (getattr(model, "generation_config", None), model.config):
        eos = getattr(source, "eos_token_id", None) if source is not None else None
        if isinstance(eos, int):
            ids.add(eos)
        elif isinstance(eos, (list, tuple)):
            ids.update(eos)
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return sorted(ids)
