"""Compiles constraint specs with xgrammar, once per spec (LRU cache)."""

from __future__ import annotations

import threading
from collections import OrderedDict

import xgrammar as xgr

from functionary.constraint import ConstraintSpec


class GrammarCache:
    def __init__(self, tokenizer, vocab_size: int, stop_token_ids: list[int], max_entries: int = 256) -> None:
        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size, stop_token_ids=stop_token_ids)
        self.compiler = xgr.GrammarCompiler(info, max_threads=1)
        self.vocab_size = vocab_size
        self.max_entries = max_entries
        self._cache: OrderedDict[str, xgr.CompiledGrammar] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, spec: ConstraintSpec) -> xgr.CompiledGrammar:
        """The compiled grammar; raises ValueError with xgrammar's reason when it is invalid."""
        with self._lock:
            hit = self._cache.get(spec.key)
            if hit is not None:
                self._cache.move_to_end(spec.key)
                return hit
        try:
            if spec.kind == "structural_tag":
                compiled = self.compiler.compile_structural_tag(spec.value)
            elif spec.kind == "json_schema":
                compiled = self.compiler.compile_json_schema(spec.value, any_whitespace=False)
            else:
                compiled = self.compiler.compile_grammar(spec.value)
        except Exception as exc:  # xgrammar raises several types for bad schemas
            raise ValueError(f"cannot build a grammar for this request: {exc}") from exc
        with self._lock:
            self._cache[spec.key] = compiled
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return compiled

    def matcher(self, spec: ConstraintSpec) -> xgr.GrammarMatcher:
        return xgr.GrammarMatcher(self.get(spec))
