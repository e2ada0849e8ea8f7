"""The transformers engine: continuous batching and per-token xgrammar masks on CPU or CUDA.

- engine.py: `TransformersEngine`, the async bridge (requests in, deltas out, worker thread)
- loop.py: the worker's loop, one `step()` at a time (schedule, prefill, decode, sample, postprocess)
- sequence.py: one request's state and the rules that end it
- batch.py: the running batch sharing one left-padded KV cache
- loader.py: loading the HF model (dtype, CPU attention, stop tokens, HF's cache)
- kv_cache.py, cpu_attention.py, sampling.py, detokenizer.py, grammar.py: what those use
"""

from functionary.engines.transformers_engine.engine import TransformersEngine

__all__ = ["TransformersEngine"]
