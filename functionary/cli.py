"""Command line: parse options, load the engine, serve HTTP.

`--engine auto` uses vLLM when it can be imported, else the transformers engine. With
vLLM, every vLLM engine argument is accepted as vLLM spells it (engines/vllm_args.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import time

from functionary.formats import FORMATS

log = logging.getLogger("functionary")

ENGINES = ("auto", "vllm", "transformers")
ENGINE_DIED_EXIT = 3  # the exit code after the engine died (2: could not start)
PROG = "server_vllm.py"
DESCRIPTION = "OpenAI-compatible chat completions with grammar-constrained tool calls."


def add_server_options(p: argparse.ArgumentParser) -> None:
    """Options of our HTTP server, the same for every engine."""
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="auto: vLLM when importable, else transformers")
    p.add_argument("--host", default=os.environ.get("FUNCTIONARY_HOST", "127.0.0.1"),
                   help="address to listen on (or set FUNCTIONARY_HOST; containers use 0.0.0.0)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--api-key", default=os.environ.get("FUNCTIONARY_API_KEY"),
                   help="require 'Authorization: Bearer KEY' (or set FUNCTIONARY_API_KEY)")
    p.add_argument("--budget-closing", default="on", choices=["on", "off"],
                   help="on: when max_tokens runs out inside a call or JSON answer, close it validly (default); "
                        "off: cut it as other servers do (for comparisons)")
    p.add_argument("--tool-format", default="auto", choices=["auto", *FORMATS],
                   help="tool-call wire format (default: detected from the tokenizer)")
    p.add_argument("--max-request-bytes", type=int, default=4 << 20,
                   help="larger request bodies are refused with 413 (default: 4 MiB)")
    p.add_argument("--stream-stall-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="a streaming client that reads nothing for this long is dropped and its generation "
                        "stopped (default: 30; 0: never)")


def add_transformers_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None,
                   help="local HF model folder or hub id (default: the bundled SmolLM2-135M-Instruct)")
    p.add_argument("--served-model-name", default=None, help="model name clients send (default: from --model)")
    p.add_argument("--max-model-len", type=int, default=None, help="context length (default: the model's)")
    p.add_argument("--dtype", default="auto", help="auto (bfloat16), bfloat16, float16 or float32")
    p.add_argument("--max-num-seqs", type=int, default=32, help="most requests decoded together")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")


def add_log_level(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log-level", default="info", type=str.lower, choices=["debug", "info", "warning", "error"])


def build_parser(engine: str = "transformers") -> argparse.ArgumentParser:
    if engine == "vllm":
        from functionary.engines import vllm_args  # imports vLLM: only when it is the engine

        return vllm_args.build_parser(PROG, DESCRIPTION, add_server_options, add_log_level)
    p = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION)
    add_server_options(p)
    add_transformers_options(p)
    add_log_level(p)
    return p


def choose_engine(argv: list[str]) -> str:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--engine", choices=ENGINES, default="auto")
    known, _ = pre.parse_known_args(argv)
    if known.engine != "auto":
        return known.engine
    try:
        import vllm  # noqa: F401  (a broken install must not stop the server: fall back)
    except Exception as exc:  # noqa: BLE001
        if not isinstance(exc, ModuleNotFoundError):
            print(f"vLLM is installed but cannot be imported ({exc}); using the transformers engine",
                  file=sys.stderr)
        return "transformers"
    return "vllm"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    # Idle OpenMP threads otherwise spin, and on small shared CPUs the spinning starves the
    # HTTP thread and other processes (read when torch loads, so set before importing it).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    engine_name = choose_engine(argv)
    args = build_parser(engine_name).parse_args(argv)
    log_level = (getattr(args, "log_level", None) or "info").lower()  # vLLM spells it in capitals
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    # Heavy imports after argument parsing, so --help stays quick.
    import uvicorn

    from functionary.formats import detect
    from functionary.http_app import create_app
    from functionary.serving import ChatService

    started = time.time()
    try:
        # Bound before the engine loads: a busy port fails at once rather than after minutes of
        # loading, and the port cannot be taken meanwhile (vLLM's engine opens ports of its own).
        listener = bind(args.host, args.port)
        engine = load_engine(engine_name, args, argv)
        fmt = detect(engine.tokenizer, args.tool_format)
    except (OSError, ValueError) as exc:
        log.error("cannot start: %s", exc)
        sys.exit(2)
    log.info("engine %s: model %r ready in %.1fs (context %d tokens, format %s)", engine_name, engine.model_name,
             time.time() - started, engine.max_model_len, fmt.name)
    died: list[str] = []

    def on_engine_death(reason: str) -> None:
        # A dead engine does not come back: exit non-zero so Docker or systemd restarts us.
        died.append(reason)
        server.should_exit = True

    app = create_app(ChatService(engine, fmt, budget_closing=args.budget_closing == "on"), api_key=args.api_key,
                     max_request_bytes=args.max_request_bytes, stream_stall_s=args.stream_stall_timeout,
                     on_engine_death=on_engine_death)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=log_level, timeout_graceful_shutdown=5)
    server = _server_class()(config)
    server.run(sockets=[listener])
    if died:
        log.critical("exiting with code %d: the engine died (%s)", ENGINE_DIED_EXIT, died[0])
        sys.exit(ENGINE_DIED_EXIT)


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn does not announce sockets it was handed; we do, once they accept connections."""

        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if not self.should_exit:
                host = self.config.host
                shown = f"[{host}]" if ":" in host else host
                log.info("running on http://%s:%d (Press CTRL+C to quit)", shown, self.config.port)

    return Server


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port; OSError says why not (e.g. the port is in use)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def load_engine(engine_name: str, args: argparse.Namespace, argv: list[str]):
    from functionary.model_store import resolve_model

    path, default_name = resolve_model(args.model)
    log.info("engine: %s, model: %s", engine_name, path)
    if engine_name == "vllm":
        from functionary.engines.vllm_args import vllm_engine_args
        from functionary.engines.vllm_engine import VLLMEngine

        return VLLMEngine(vllm_engine_args(args, argv, path, default_name))
    from functionary.engines.transformers_engine import TransformersEngine

    return TransformersEngine(
        path,
        served_name=args.served_model_name or default_name,
        dtype=args.dtype,
        max_model_len=args.max_model_len,
        max_batch_size=args.max_num_seqs,
        threads=args.threads,
    )


if __name__ == "__main__":
    main()
