"""Start `server_vllm.py` on a free local port for a benchmark, and stop it afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(extra_args: list[str], timeout: float = 300.0):
    """`server_vllm.py` with these extra arguments; yields the base URL (`.../v1`)."""
    port = free_port()
    argv = [sys.executable, "server_vllm.py", "--host", "127.0.0.1", "--port", str(port), *[a for a in extra_args if a]]
    with launched(argv, port, timeout=timeout) as url:
        yield url


@contextlib.contextmanager
def launched(argv: list[str], port: int, timeout: float = 300.0,
             env: dict | None = None, log_path: Path | None = None):
    """Run any OpenAI-compatible server command that listens on `port`, wait until its
    GET /health answers, yield the base URL (`.../v1`), and stop it (and its children:
    vLLM runs its engine in a subprocess) on the way out."""
    if log_path is None:
        fd, log_path = tempfile.mkstemp(suffix=".log")
        os.close(fd)
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w+") as log, _exit_on_sigterm():
        # Own session, so the whole process group (engine workers included) can be stopped by its id.
        proc = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            _wait_healthy(proc, url, timeout, log_path)
            yield url + "/v1"
        finally:
            _stop_group(proc)


@contextlib.contextmanager
def _exit_on_sigterm():
    """SIGTERM (e.g. `kill`) would end the benchmark without running `finally` blocks, leaving
    the server and its engine processes behind; as SystemExit, the server is stopped first."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _wait_healthy(proc: subprocess.Popen, url: str, timeout: float, log_path) -> None:
    deadline = time.time() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited; log {log_path}:\n{Path(log_path).read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url + "/health", timeout=2)
            return
        except OSError:
            if time.time() > deadline:
                raise TimeoutError(f"server did not become healthy in {timeout:.0f}s; log {log_path}") from None
            time.sleep(0.5)


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group; SIGKILL whatever is left after a grace period."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + 30
    while time.time() < deadline:
        proc.poll()  # reap the leader, so the group empties once its children exit too
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
