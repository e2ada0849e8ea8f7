"""The server takes its port before loading the model: a busy port fails at once, clearly."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from functionary import cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def busy_port():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_bind_reports_a_busy_port(busy_port):
    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{busy_port}"):
        cli.bind("127.0.0.1", busy_port)


def test_bind_holds_the_port_until_closed():
    sock = cli.bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    try:
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", port))
    finally:
        sock.close()


def test_server_on_a_busy_port_exits_before_loading_the_model(busy_port):
    proc = subprocess.run([sys.executable, "server_vllm.py", "--engine", "transformers", "--port", str(busy_port)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{busy_port}" in proc.stderr
    assert "loading" not in proc.stderr  # failed before the model was touched
