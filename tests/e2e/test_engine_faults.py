"""The engine dies mid-stream (both engines): in-flight requests get a prompt server error,
/health answers 503 with the reason, new requests a 503, and the process exits with code 3
so that Docker or systemd restarts it. Each test has a server of its own.

transformers: the engine loop is killed by fault injection after a number of decode steps
(FUNCTIONARY_FAULT_ENGINE_DEATH_AFTER_STEPS). vLLM: the engine-core process is SIGKILLed.
"""

from __future__ import annotations

import json
import signal
import threading
import time

import httpx
import pytest

from functionary.cli import ENGINE_DIED_EXIT
from functionary.engines.transformers_engine.loop import FAULT_ENV

from .conftest import _start_server, _stop_server

pytestmark = pytest.mark.e2e

LONG = {"messages": [{"role": "user", "content": "Write a long story about a lighthouse keeper."}],
        "max_tokens": 400, "temperature": 0}


def _kill_engine_core(pid: int) -> None:
    import psutil

    children = psutil.Process(pid).children(recursive=True)
    cores = [c for c in children if "EngineCore" in (c.name() + " ".join(c.cmdline()))] or children
    assert cores, "the vLLM server has no child process to kill"
    for c in cores:
        c.send_signal(signal.SIGKILL)


def test_engine_death_mid_stream_fails_fast_reports_503_and_exits(tmp_path, engine):
    env = {FAULT_ENV: "40"} if engine == "transformers" else {}
    proc, live = _start_server(tmp_path, "faults", [], engine, env=env)
    try:
        whole: dict = {}

        def whole_request():  # an in-flight non-streamed request meets the death too
            with live.http() as http:
                r = http.post("/v1/chat/completions", json={"model": live.model, **LONG})
                whole.update(status=r.status_code, body=r.json())

        other = threading.Thread(target=whole_request)
        events: list[dict] = []
        with live.http() as http, http.stream("POST", "/v1/chat/completions",
                                              json={"model": live.model, "stream": True, **LONG}) as r:
            assert r.status_code == 200
            other.start()
            killed_at = None
            for line in r.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                events.append(json.loads(line[6:]))
                if engine == "vllm" and killed_at is None and len(events) >= 5:
                    _kill_engine_core(proc.pid)
                    killed_at = time.monotonic()
            ended_at = time.monotonic()
        other.join(timeout=60)
        assert not other.is_alive(), "the in-flight whole request hangs"
        errors = [e["error"] for e in events if "error" in e]
        assert errors and errors[-1]["type"] == "server_error" and errors[-1]["code"] == "engine_dead", events[-3:]
        assert any(e.get("choices") and e["choices"][0]["delta"].get("content") for e in events), \
            "the stream should have delivered text before the engine died"
        if killed_at is not None:
            assert ended_at - killed_at < 30, "the stream did not fail promptly"
        assert whole["status"] in (500, 503) and whole["body"]["error"]["type"] == "server_error", whole

        health = httpx.get(f"{live.base_url}/health", timeout=5)
        assert health.status_code == 503 and health.json()["status"] == "dead" and health.json()["reason"]
        with live.http() as http:
            late = http.post("/v1/chat/completions", json={"model": live.model, "messages": LONG["messages"],
                                                           "max_tokens": 2})
        assert late.status_code == 503 and late.json()["error"]["code"] == "engine_dead", late.text

        assert proc.wait(timeout=60) == ENGINE_DIED_EXIT, live.log_tail()
    finally:
        _stop_server(proc)
