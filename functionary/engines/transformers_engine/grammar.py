"""Compiles constraint specs with xgrammar, once per spec (LRU cache)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Optional, Protocol

import xgrammar as xgr

from functionary.constraint import ConstraintSpec, compile_spec


class GrammarObserver(Protocol):
    """Told of cache hits and compiles (functionary.metrics.Metrics is one)."""

    def grammar_cache_hit(self) -> None: ...

    def grammar_compiled(self, seconds: float) -> None: ...  # a miss: compiled (or failed) in `seconds`


class GrammarCache:
    def __init__(self, tokenizer, vocab_size: int, stop_token_ids: list[int], max_entries: int = 256) -> None:
        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=stop_token_ids)
        self.compiler = xgr.GrammarCompiler(info, max_threads=1)
        self.vocab_size = vocab_size
        self.max_entries = max_entries
        self._cache: OrderedDict[str, xgr.CompiledGrammar] = OrderedDict()
        self._lock = threading.Lock()
        self.observer: Optional[GrammarObserver] = None

    def get(self, spec: ConstraintSpec) -> xgr.CompiledGrammar:
        """The compiled grammar; raises ValueError with xgrammar's reason when it is invalid."""
        return self._get(spec, count_hit=True)

    def _get(self, spec: ConstraintSpec, count_hit: bool) -> xgr.CompiledGrammar:
        with self._lock:
            hit = self._cache.get(spec.key)
            if hit is not None:
                self._cache.move_to_end(spec.key)
        if hit is not None:
            if count_hit and self.observer is not None:
                self.observer.grammar_cache_hit()
            return hit
        started = time.perf_counter()
        try:
            compiled = compile_spec(self.compiler, spec)
        except Exception as exc:  # xgrammar raises several types for bad schemas
            raise ValueError(f"cannot build a grammar for this request: {exc}") from exc
        finally:  # a failed compile is a miss that cost time too
            if self.observer is not None:
                self.observer.grammar_compiled(time.perf_counter() - started)
        with self._lock:
            self._cache[spec.key] = compiled
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return compiled

    def matcher(self, spec: ConstraintSpec) -> xgr.GrammarMatcher:
        # The engine's prepare() has looked this spec up already (and been counted): a
        # choice's matcher is no second hit, though a compile after eviction still counts.
        return xgr.GrammarMatcher(self._get(spec, count_hit=False))
