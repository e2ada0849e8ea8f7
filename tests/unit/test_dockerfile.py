"""Checks of the Dockerfile that need no Docker engine.

A small parser reads the Dockerfile (line continuations, comments, JSON-form arguments).
Each check is a function that lists problems; it runs once on the real Dockerfile (no
problems expected) and once on a broken example (problems expected), so that every check
is shown to be able to fail.
"""

from __future__ import annotations

import fnmatch
import glob
import http.server
import json
import re
import shlex
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
ENTRYPOINT = ["python", "server_vllm.py"]


# ---------------------------------------------------------------- parsing


@dataclass
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    args: str  # the rest of the logical line, continuations joined
    line: int  # where it starts (1-based)

    @property
    def exec_form(self) -> list[str] | None:
        """The JSON-array form (`["a", "b"]`), or None for the shell form."""
        return _json_list(self.args)


def _json_list(text: str) -> list[str] | None:
    text = text.strip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None  # Docker, too, runs a malformed JSON array as a shell command
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def parse(text: str) -> list[Instruction]:
    """Logical instructions: comments dropped, lines ending in a backslash joined."""
    out: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue  # comment lines are dropped even inside a continuation
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        logical = " ".join(p for p in pending if p)
        pending = []
        keyword, _, args = logical.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
    if pending:
        raise ValueError(f"line {start}: the file ends inside a line continuation")
    return out


def split_options(args: str) -> tuple[dict[str, str], str]:
    """Leading `--name=value` options (COPY --chown, HEALTHCHECK --interval, ...) and the rest."""
    options: dict[str, str] = {}
    rest = args.strip()
    while rest.startswith("--"):
        word, _, rest = rest.partition(" ")
        name, _, value = word[2:].partition("=")
        options[name] = value
        rest = rest.strip()
    return options, rest


def env_vars(instructions: list[Instruction]) -> dict[str, str]:
    """ENV values (`ENV A=1 B=2` and the legacy `ENV A 1`), later ones winning."""
    env: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword != "ENV":
            continue
        words = shlex.split(ins.args)
        if words and "=" not in words[0]:
            env[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            key, _, value = word.partition("=")
            env[key] = value
    return env


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    starts = [i for i, ins in enumerate(instructions) if ins.keyword == "FROM"]
    if not starts:
        return []
    return instructions[starts[-1]:]


# ---------------------------------------------------------------- checks


def copy_sources(instructions: list[Instruction]) -> list[tuple[Instruction, str]]:
    """(instruction, source) for every COPY/ADD from the build context."""
    found = []
    for ins in instructions:
        if ins.keyword not in ("COPY", "ADD"):
            continue
        options, rest = split_options(ins.args)
        if "from" in options:
            continue  # from another stage or image, not the build context
        words = _json_list(rest)
        if words is None:
            words = shlex.split(rest)
        found += [(ins, src) for src in words[:-1]]  # the last word is the destination
    return found


def problems_copy_sources(instructions: list[Instruction], root: Path) -> list[str]:
    problems = []
    sources = copy_sources(instructions)
    if not sources:
        problems.append("no COPY/ADD of the application")
    for ins, src in sources:
        if src.startswith(("http://", "https://", "git@")):
            problems.append(f"line {ins.line}: {src} is fetched at build time, not from the repo")
        elif ".." in Path(src).parts or Path(src).is_absolute():
            problems.append(f"line {ins.line}: {src} is outside the build context")
        elif not glob.glob(str(root / src.rstrip("/"))):
            problems.append(f"line {ins.line}: {src} matches nothing in the repo")
    return problems


def ignore_patterns(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def is_ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rules, closely enough: the last matching pattern wins, `!`
    re-includes, `**` spans folders, and a pattern that matches a folder covers its content."""
    parts = Path(path.rstrip("/")).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern.lstrip("!").strip("/")
        candidates = {pat, pat.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(p, c) for p in prefixes for c in candidates):
            ignored = not negate
    return ignored


def problems_ignored_sources(instructions: list[Instruction], dockerignore: str) -> list[str]:
    patterns = ignore_patterns(dockerignore)
    return [f"line {ins.line}: {src} is excluded by .dockerignore"
            for ins, src in copy_sources(instructions) if is_ignored(src, patterns)]


def problems_entrypoint(instructions: list[Instruction]) -> list[str]:
    entries = [ins for ins in instructions if ins.keyword == "ENTRYPOINT"]
    if not entries:
        return ["no ENTRYPOINT"]
    got = entries[-1].exec_form
    if got != ENTRYPOINT:
        return [f"ENTRYPOINT is {got or entries[-1].args!r}, not {ENTRYPOINT}"]
    return []


def problems_cmd(instructions: list[Instruction]) -> list[str]:
    """The container must listen on every interface: FUNCTIONARY_HOST (which survives
    `docker run` arguments) or --host in CMD."""
    cmds = [ins for ins in instructions if ins.keyword == "CMD"]
    if not cmds or cmds[-1].exec_form is None:
        return ["no JSON-form CMD with the server's arguments"]
    args = cmds[-1].exec_form
    if "--host" in args:
        host = args[args.index("--host") + 1:][:1]
    else:
        host = [env_vars(instructions).get("FUNCTIONARY_HOST")]
    if host != ["0.0.0.0"]:
        return [f"CMD {args} and FUNCTIONARY_HOST do not bind 0.0.0.0 (the server's default is 127.0.0.1)"]
    return []


def healthcheck_command(instructions: list[Instruction]) -> list[str] | None:
    checks = [ins for ins in instructions if ins.keyword == "HEALTHCHECK"]
    if not checks:
        return None
    _, rest = split_options(checks[-1].args)
    keyword, _, command = rest.partition(" ")
    if keyword.upper() != "CMD":
        return None  # HEALTHCHECK NONE
    return _json_list(command) or ["/bin/sh", "-c", command]


def problems_healthcheck(instructions: list[Instruction]) -> list[str]:
    command = healthcheck_command(instructions)
    if command is None:
        return ["no HEALTHCHECK CMD"]
    if not any(re.search(r"/health(?![\w/-])", part) for part in command):
        return [f"HEALTHCHECK {command} does not query /health"]
    return []


def problems_user(instructions: list[Instruction]) -> list[str]:
    stage = final_stage(instructions)
    user = None
    for ins in stage:
        if ins.keyword == "USER":
            user = ins.args.split(":")[0].strip()
        if ins.keyword == "ENTRYPOINT":
            break
    else:
        return ["no ENTRYPOINT in the final stage"]
    if user is None:
        return ["no USER before ENTRYPOINT: the server would run as root"]
    if user in ("root", "0"):
        return [f"USER {user} is root"]
    return []


def problems_base_image(instructions: list[Instruction]) -> list[str]:
    problems = []
    earlier = set()
    for ins in instructions:
        if ins.keyword != "FROM":
            continue
        words = split_options(ins.args)[1].split()
        image = words[0] if words else ""
        if image.lower() in earlier or image == "scratch":
            pass  # an earlier stage, or the empty image
        elif "$" in image:
            problems.append(f"line {ins.line}: {image} depends on a build argument")
        elif "@sha256:" in image:
            pass
        else:
            tag = image.rpartition("/")[2].partition(":")[2]
            if not tag:
                problems.append(f"line {ins.line}: {image} has no tag (means latest)")
            elif tag == "latest" or tag.startswith("latest-"):
                problems.append(f"line {ins.line}: {image} floats on 'latest'")
        if len(words) == 3 and words[1].lower() == "as":
            earlier.add(words[2].lower())
    if not any(ins.keyword == "FROM" for ins in instructions):
        problems.append("no FROM")
    return problems


def problems_volume(instructions: list[Instruction]) -> list[str]:
    volumes = []
    for ins in instructions:
        if ins.keyword == "VOLUME":
            volumes += _json_list(ins.args) or ins.args.split()
    if not volumes:
        return ["no VOLUME for the model cache"]
    env = env_vars(instructions)
    problems = []
    for var in ("FUNCTIONARY_CACHE", "HF_HOME"):
        value = env.get(var)
        if not value or not any(value == v or value.startswith(v.rstrip("/") + "/") for v in volumes):
            problems.append(f"{var}={value!r} is not inside a VOLUME ({volumes})")
    return problems


CHECKS = {
    "copy_sources": lambda ins: problems_copy_sources(ins, ROOT),
    "ignored_sources": lambda ins: problems_ignored_sources(ins, DOCKERIGNORE.read_text()),
    "entrypoint": problems_entrypoint,
    "cmd": problems_cmd,
    "healthcheck": problems_healthcheck,
    "user": problems_user,
    "base_image": problems_base_image,
    "volume": problems_volume,
}

# One broken Dockerfile per check: each must be reported.
BROKEN = {
    "copy_sources": "FROM python:3.12-slim\nCOPY no_such_file.py functionary/ /app/\n",
    "ignored_sources": "FROM python:3.12-slim\nCOPY .venv/ /app/.venv/\n",
    "entrypoint": 'FROM python:3.12-slim\nENTRYPOINT ["python3", "-m", "functionary.cli"]\n',
    "cmd": 'FROM python:3.12-slim\nENV FUNCTIONARY_HOST=127.0.0.1\nENTRYPOINT ["python", "server_vllm.py"]\n'
           'CMD ["--port", "8000"]\n',
    "healthcheck": 'FROM python:3.12-slim\nHEALTHCHECK CMD ["python", "-c", "print(1)"]\n',
    "user": 'FROM python:3.12-slim\nUSER app\nUSER root\nENTRYPOINT ["python", "server_vllm.py"]\n',
    "base_image": "FROM nvidia/cuda:latest\n",
    "volume": "FROM python:3.12-slim\nENV HF_HOME=/root/.cache/hf\n",
}


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse(DOCKERFILE.read_text())


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_dockerfile_passes(instructions, name):
    assert CHECKS[name](instructions) == []


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_check_catches_a_broken_dockerfile(name):
    assert CHECKS[name](parse(BROKEN[name])), f"the {name} check accepted a broken Dockerfile"


# ---------------------------------------------------------------- parser


def test_parser_joins_continuations_and_skips_comments():
    text = ('# syntax=docker/dockerfile:1\nFROM a:1 AS build\nRUN echo one \\\n'
            '    # a comment inside the continuation\n    && echo two\n\n'
            'COPY --chown=app:app ["x y.txt", "z", "/dst/"]\nENTRYPOINT ["python", "s.py"]\n')
    got = parse(text)
    assert [i.keyword for i in got] == ["FROM", "RUN", "COPY", "ENTRYPOINT"]
    assert got[1].args == "echo one && echo two"
    assert got[1].line == 3
    assert [s for _, s in copy_sources(got)] == ["x y.txt", "z"]
    assert got[3].exec_form == ["python", "s.py"]
    with pytest.raises(ValueError):
        parse("RUN echo \\\n")


def test_pinned_forms_are_accepted():
    ok = parse("FROM registry:5000/team/img:1.2.3 AS base\nFROM base\nFROM img@sha256:" + "0" * 64 + "\n")
    assert problems_base_image(ok) == []
    assert problems_base_image(parse("FROM registry:5000/team/img\n"))  # a port is not a tag


# ---------------------------------------------------------------- running it


def test_entrypoint_with_cmd_shows_cli_usage(instructions):
    """What the container runs, with --help added, here: python is sys.executable."""
    entry = [ins for ins in instructions if ins.keyword == "ENTRYPOINT"][-1].exec_form
    cmd = [ins for ins in instructions if ins.keyword == "CMD"][-1].exec_form
    assert entry and entry[0] == "python"
    proc = subprocess.run([sys.executable, *entry[1:], *cmd, "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "server_vllm.py" in proc.stdout
    assert "--tool-format" in proc.stdout


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # http.server calls it by this name
        code = self.status if self.path == "/health" else 404
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("status, healthy", [(200, True), (503, False)])
def test_healthcheck_command_runs(instructions, status, healthy):
    """The HEALTHCHECK command itself, pointed at a stand-in server on a free port."""
    command = healthcheck_command(instructions)
    assert command and command[0] == "python"
    handler = type("Handler", (_Health,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        argv = [sys.executable, *(part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in command[1:])]
        assert argv[1:] != command[1:], "the check does not target 127.0.0.1:8000"
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    finally:
        server.shutdown()
        server.server_close()
    assert (proc.returncode == 0) == healthy, proc.stderr[-2000:]
