"""Live servers for the end-to-end tests: the real CLI, the real model, real HTTP.

Every server-backed test runs once per engine (`transformers`, `vllm`; set
FUNCTIONARY_TEST_ENGINES to a comma-separated subset). `server` (session) serves the
default tool format; `recipient_server` (module) serves `--tool-format plain-recipient`
and starts only when a test asks for it. Tests talk to them with the official `openai`
client, or with httpx where the wire bytes matter.
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

REPO = Path(__file__).resolve().parents[2]
API_KEY = "e2e-secret-key"
START_TIMEOUT_S = 120
REQUEST_TIMEOUT_S = 300  # the CPU may be shared: a slow answer is not a failure
ENGINES = [e.strip() for e in os.environ.get("FUNCTIONARY_TEST_ENGINES", "transformers,vllm").split(",") if e.strip()]
# The main server drops a stream whose client reads nothing for this long (the default is
# 30 s; shorter here so that the never-reading client's test need not wait that long).
STREAM_STALL_S = 10


@dataclass
class LiveServer:
    base_url: str  # http://127.0.0.1:PORT (no /v1)
    api_key: str
    model: str  # the served model name, as /health reports it
    tool_format: str
    log_path: Path
    engine: str = "transformers"

    @property
    def v1(self) -> str:
        return f"{self.base_url}/v1"

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.v1, api_key=self.api_key, timeout=REQUEST_TIMEOUT_S, max_retries=0)

    def async_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.v1, api_key=self.api_key, timeout=REQUEST_TIMEOUT_S, max_retries=0)

    def http(self) -> httpx.Client:
        """A raw client with the API key set, for wire-level checks."""
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {self.api_key}"},
                            timeout=REQUEST_TIMEOUT_S)

    def health(self) -> dict:
        return httpx.get(f"{self.base_url}/health", timeout=10).json()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _start_server(log_dir: Path, name: str, extra_args: list[str], engine: str = "transformers",
                  env: dict[str, str] | None = None):
    """Start server_vllm.py on `engine` (with `env` added to the environment), wait for
    /health; returns (process, LiveServer)."""
    port = _free_port()
    log_path = log_dir / f"{name}-{engine}.log"
    cmd = [sys.executable, "server_vllm.py", "--engine", engine, "--host", "127.0.0.1", "--port", str(port),
           "--api-key", API_KEY, *extra_args]
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, **(env or {})})
    log.close()  # the child holds its own descriptor
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            pytest.fail(f"server {name} exited with code {proc.returncode} before it was ready; log tail:\n"
                        f"{_tail(log_path)}", pytrace=False)
        # Ask /health only once our process says it listens: a port taken by someone else
        # in the meantime must not pass for our server.
        if f"running on {base_url}" in _tail(log_path, 200):
            try:
                r = httpx.get(f"{base_url}/health", timeout=2)
                if r.status_code == 200:
                    health = r.json()
                    break
            except httpx.HTTPError:
                pass
        if time.monotonic() > deadline:
            _stop_server(proc)
            pytest.fail(f"server {name} not ready after {START_TIMEOUT_S}s; log tail:\n{_tail(log_path)}",
                        pytrace=False)
        time.sleep(0.5)
    assert health.get("engine") == engine, f"server {name} runs on {health.get('engine')!r}, not {engine!r}"
    fmt = next((extra_args[i + 1] for i, a in enumerate(extra_args[:-1]) if a == "--tool-format"), "default")
    return proc, LiveServer(base_url, API_KEY, health["model"], fmt, log_path, engine)


def _stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session", params=ENGINES)
def engine(request) -> str:
    """The engine the servers run on; the whole end-to-end suite runs once per engine."""
    if request.param == "vllm":
        try:
            importlib.import_module("vllm")
        except Exception as exc:  # noqa: BLE001 - a broken install must fail loudly, not skip
            pytest.fail(f"the vllm engine is under test but vllm cannot be imported: {exc!r}. Install it "
                        f"(./run setup does), or set FUNCTIONARY_TEST_ENGINES=transformers", pytrace=False)
    return request.param


@pytest.fixture(scope="session")
def server(tmp_path_factory, engine) -> LiveServer:
    """The main server: default options (the tool format detected for the bundled model)."""
    proc, live = _start_server(tmp_path_factory.mktemp("server-logs"), "main",
                               ["--stream-stall-timeout", str(STREAM_STALL_S)], engine)
    try:
        yield live
    finally:
        _stop_server(proc)


@pytest.fixture(scope="module")
def recipient_server(tmp_path_factory, engine) -> LiveServer:
    """A second server with the other wire format, for the per-format guarantees."""
    proc, live = _start_server(tmp_path_factory.mktemp("server-logs"), "recipient",
                               ["--tool-format", "plain-recipient"], engine)
    try:
        yield live
    finally:
        _stop_server(proc)


@pytest.fixture(params=["default-format", "plain-recipient"])
def any_server(request, engine) -> LiveServer:
    """Each guarantee test runs once per wire format (and engine: named here so pytest
    parametrizes over it, since the servers are looked up dynamically)."""
    return request.getfixturevalue("server" if request.param == "default-format" else "recipient_server")


@pytest.fixture
def client(server) -> openai.OpenAI:
    with server.client() as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def async_client(server) -> openai.AsyncOpenAI:
    """An AsyncOpenAI client for the main server, for `@pytest.mark.anyio` tests."""
    async with server.async_client() as c:
        yield c


@pytest.fixture(autouse=True)
def _server_log_on_failure(request):
    """On failure, print the tail of the log of each server the test used."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed:
        return
    for name in ("server", "recipient_server"):
        live = _active_fixture(request, name)
        if live is not None:
            print(f"\n--- {name} log tail ({live.log_path}) ---\n{live.log_tail()}")


def _active_fixture(request, name: str):
    try:
        return request.getfixturevalue(name) if name in request.fixturenames else None
    except pytest.FixtureLookupError:
        return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    if rep.when == "call":
        item.rep_call = rep
    return rep
