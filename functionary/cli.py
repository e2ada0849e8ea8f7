"""Command line: parse options, load the engine, serve HTTP."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from functionary.formats import FORMATS

log = logging.getLogger("functionary")

ENGINES = ("auto", "transformers")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="server_vllm.py",
        description="OpenAI-compatible chat completions with grammar-constrained tool calls.",
    )
    p.add_argument("--model", default=None,
                   help="local HF model folder or hub id (default: the bundled SmolLM2-135M-Instruct)")
    p.add_argument("--served-model-name", default=None, help="model name clients send (default: from --model)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-model-len", type=int, default=None, help="context length (default: the model's)")
    p.add_argument("--dtype", default="auto", help="auto (bfloat16), bfloat16, float16 or float32")
    p.add_argument("--engine", choices=ENGINES, default="auto")
    p.add_argument("--api-key", default=os.environ.get("FUNCTIONARY_API_KEY"),
                   help="require 'Authorization: Bearer KEY' (or set FUNCTIONARY_API_KEY)")
    p.add_argument("--tool-format", default="auto", choices=["auto", *FORMATS],
                   help="tool-call wire format (default: detected from the tokenizer)")
    p.add_argument("--max-num-seqs", type=int, default=32, help="most requests decoded together")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return p


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    # Idle OpenMP threads otherwise spin, and on small shared CPUs the spinning starves the
    # HTTP thread and other processes (read when torch loads, so set before importing it).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    # Heavy imports after argument parsing, so --help is instant.
    import uvicorn

    from functionary.formats import detect
    from functionary.http_app import create_app
    from functionary.model_store import resolve_model
    from functionary.serving import ChatService

    started = time.time()
    path, default_name = resolve_model(args.model)
    engine_name = "transformers" if args.engine == "auto" else args.engine
    log.info("engine: %s, model: %s", engine_name, path)
    from functionary.engines.transformers_engine import TransformersEngine

    try:
        engine = TransformersEngine(
            path,
            served_name=args.served_model_name or default_name,
            dtype=args.dtype,
            max_model_len=args.max_model_len,
            max_batch_size=args.max_num_seqs,
            threads=args.threads,
        )
        fmt = detect(engine.tokenizer, args.tool_format)
    except (OSError, ValueError) as exc:
        log.error("cannot start: %s", exc)
        sys.exit(2)
    log.info("model %r ready in %.1fs (context %d tokens, format %s)", engine.model_name,
             time.time() - started, engine.max_model_len, fmt.name)
    app = create_app(ChatService(engine, fmt), api_key=args.api_key)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
