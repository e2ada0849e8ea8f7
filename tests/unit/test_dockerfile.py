"""The Dockerfile, checked without a Docker engine (the checks are in dockerfile_checks.py).

Each check runs once on the real Dockerfile (no problems expected) and once on a broken
example (problems expected), so that every check is shown to be able to fail.
"""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .dockerfile_checks import CHECKS, copy_sources, healthcheck_command, json_list, last, parse
from .dockerfile_checks import problems_base_image

ROOT = Path(__file__).resolve().parents[2]

# One broken Dockerfile per check (a check without one fails with KeyError): each must be reported.
BROKEN = {
    "copy_sources": "FROM python:3.12-slim\nCOPY no_such_file.py functionary/ /app/\n",
    "ignored_sources": "FROM python:3.12-slim\nCOPY .venv/ /app/.venv/\n",
    "package": "FROM python:3.12-slim\nCOPY functionary/ /app/\nENV FUNCTIONARY_PROMPTS_DIR=/app/prompts\n",
    "pins": "FROM python:3.12-slim\nRUN pip install vllm==0.24.0 torch\n",
    "entrypoint": 'FROM python:3.12-slim\nENTRYPOINT ["python3", "-m", "functionary.cli"]\n',
    "cmd": 'FROM python:3.12-slim\nENV FUNCTIONARY_HOST=127.0.0.1\nENTRYPOINT ["python", "server_vllm.py"]\n'
           'CMD ["--port", "8000"]\n',
    "healthcheck": 'FROM python:3.12-slim\nHEALTHCHECK CMD ["python", "-c", "print(1)"]\n',
    "user": 'FROM python:3.12-slim\nUSER app\nUSER root\nENTRYPOINT ["python", "server_vllm.py"]\n',
    "base_image": "FROM nvidia/cuda:latest\n",
    "volume": "FROM python:3.12-slim\nENV HF_HOME=/root/.cache/hf\n",
}


@pytest.fixture(scope="module")
def instructions():
    return parse((ROOT / "Dockerfile").read_text())


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_dockerfile_passes(instructions, name):
    assert CHECKS[name](instructions, ROOT) == []


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_check_catches_a_broken_dockerfile(name):
    assert CHECKS[name](parse(BROKEN[name]), ROOT), f"the {name} check accepted a broken Dockerfile"


def test_parser_joins_continuations_and_skips_comments():
    text = ('# syntax=docker/dockerfile:1\nFROM a:1 AS build\nRUN echo one \\\n'
            '    # a comment inside the continuation\n    && echo two\n\n'
            'COPY --chown=app:app ["x y.txt", "z", "/dst/"]\nENTRYPOINT ["python", "s.py"]\n')
    got = parse(text)
    assert [i.keyword for i in got] == ["FROM", "RUN", "COPY", "ENTRYPOINT"]
    assert got[1].args == "echo one && echo two"
    assert got[1].line == 3
    assert [s for _, s in copy_sources(got)] == ["x y.txt", "z"]
    assert json_list(got[3].args) == ["python", "s.py"]
    with pytest.raises(ValueError):
        parse("RUN echo \\\n")


def test_pinned_forms_are_accepted():
    ok = parse("FROM registry:5000/team/img:1.2.3 AS base\nFROM base\nFROM img@sha256:" + "0" * 64 + "\n")
    assert problems_base_image(ok, ROOT) == []
    assert problems_base_image(parse("FROM registry:5000/team/img\n"), ROOT)  # a port is not a tag


def test_entrypoint_with_cmd_shows_cli_usage(instructions):
    """What the container runs, with --help added, here: python is sys.executable."""
    entry = json_list(last(instructions, "ENTRYPOINT").args)
    cmd = json_list(last(instructions, "CMD").args)
    assert entry and entry[0] == "python"
    proc = subprocess.run([sys.executable, *entry[1:], *cmd, "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "server_vllm.py" in proc.stdout
    assert "--tool-format" in proc.stdout


@pytest.mark.parametrize("status, healthy", [(200, True), (503, False)])
def test_healthcheck_command_runs(instructions, status, healthy):
    """The HEALTHCHECK command itself, pointed at a stand-in server on a free port."""
    command = healthcheck_command(instructions)
    assert command and command[0] == "python"

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # http.server calls it by this name
            self.send_response(status if self.path == "/health" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        argv = [sys.executable, *(part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in command[1:])]
        assert argv[1:] != command[1:], "the check does not target 127.0.0.1:8000"
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    finally:
        server.shutdown()
        server.server_close()
    assert (proc.returncode == 0) == healthy, proc.stderr[-2000:]
