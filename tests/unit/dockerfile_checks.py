"""Checks of the Dockerfile that need no Docker engine.

`parse` reads a Dockerfile into logical instructions (continuations joined, comments dropped).
Each `problems_*` function takes those instructions and the repository root and returns a list
of problems, empty when the Dockerfile is fine; `CHECKS` names them all.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

ENTRYPOINT = ["python", "server_vllm.py"]


@dataclass
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    args: str  # the rest of the logical line, continuations joined
    line: int  # where it starts (1-based)


def json_list(text: str) -> list[str] | None:
    """The JSON-array (exec) form `["a", "b"]`, or None for the shell form."""
    try:
        value = json.loads(text) if text.strip().startswith("[") else None
    except json.JSONDecodeError:
        return None  # Docker, too, runs a malformed JSON array as a shell command
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def parse(text: str) -> list[Instruction]:
    """Logical instructions: comments dropped (even inside a continuation), lines ending in a
    backslash joined."""
    out: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        start = start if pending else number
        pending.append(stripped.removesuffix("\\").strip())
        if not stripped.endswith("\\"):
            keyword, _, args = " ".join(p for p in pending if p).partition(" ")
            out.append(Instruction(keyword.upper(), args.strip(), start))
            pending = []
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


def last(instructions: list[Instruction], keyword: str) -> Instruction | None:
    found = [ins for ins in instructions if ins.keyword == keyword]
    return found[-1] if found else None


def env_vars(instructions: list[Instruction]) -> dict[str, str]:
    """ENV values (`ENV A=1 B=2` and the legacy `ENV A 1`), later ones winning."""
    env: dict[str, str] = {}
    for ins in (i for i in instructions if i.keyword == "ENV"):
        words = shlex.split(ins.args)
        if words and "=" not in words[0]:
            env[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            key, _, value = word.partition("=")
            env[key] = value
    return env


def copy_sources(instructions: list[Instruction]) -> list[tuple[Instruction, str]]:
    """(instruction, source) for every COPY/ADD from the build context."""
    found = []
    for ins in (i for i in instructions if i.keyword in ("COPY", "ADD")):
        options, rest = split_options(ins.args)
        if "from" not in options:  # --from: another stage or image, not the build context
            found += [(ins, src) for src in (json_list(rest) or shlex.split(rest))[:-1]]  # last: destination
    return found


def is_ignored(path: str, dockerignore: str) -> bool:
    """Docker's .dockerignore rules, closely enough: the last matching pattern wins, `!`
    re-includes, `**` spans folders, and a pattern that matches a folder covers its content."""
    parts = Path(path.rstrip("/")).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for line in dockerignore.splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        pat = pattern.lstrip("!").strip("/")
        if any(fnmatch.fnmatchcase(p, c) for p in prefixes for c in {pat, pat.removeprefix("**/")}):
            ignored = not pattern.startswith("!")
    return ignored


def healthcheck_command(instructions: list[Instruction]) -> list[str] | None:
    """The last HEALTHCHECK's command as argv (shell form through /bin/sh), None if none."""
    check = last(instructions, "HEALTHCHECK")
    keyword, _, command = split_options(check.args)[1].partition(" ") if check else ("", "", "")
    if keyword.upper() != "CMD":
        return None  # none, or HEALTHCHECK NONE
    return json_list(command) or ["/bin/sh", "-c", command]


def problems_copy_sources(instructions: list[Instruction], root: Path) -> list[str]:
    sources = copy_sources(instructions)
    problems = [] if sources else ["no COPY/ADD of the application"]
    for ins, src in sources:
        if src.startswith(("http://", "https://", "git@")):
            problems.append(f"line {ins.line}: {src} is fetched at build time, not from the repo")
        elif ".." in Path(src).parts or Path(src).is_absolute():
            problems.append(f"line {ins.line}: {src} is outside the build context")
        elif not glob.glob(str(root / src.rstrip("/"))):
            problems.append(f"line {ins.line}: {src} matches nothing in the repo")
    return problems


def problems_ignored_sources(instructions: list[Instruction], root: Path) -> list[str]:
    dockerignore = (root / ".dockerignore").read_text()
    return [f"line {ins.line}: {src} is excluded by .dockerignore"
            for ins, src in copy_sources(instructions) if is_ignored(src, dockerignore)]


def problems_package(instructions: list[Instruction], root: Path) -> list[str]:
    """The prompt files are package data: the image must install the package itself (not
    copy prompts/ beside it) and needs no FUNCTIONARY_PROMPTS_DIR (the loader ignores it)."""
    sources = {src.rstrip("/") for _, src in copy_sources(instructions)}
    installs = [shlex.split(ins.args) for ins in instructions if ins.keyword == "RUN"]
    problems = [f"{name} is not copied" for name in ("pyproject.toml", "functionary")
                if name not in sources]
    if not any("pip" in words and "." in words for words in installs):
        problems.append("no RUN pip install of the package (.)")
    if "FUNCTIONARY_PROMPTS_DIR" in env_vars(instructions):
        problems.append("FUNCTIONARY_PROMPTS_DIR is set: the prompts are package data, nothing reads it")
    return problems


def problems_pins(instructions: list[Instruction], root: Path) -> list[str]:
    """The package goes in with --no-deps, so every runtime dependency must be pinned."""
    def norm(name: str) -> str:  # PEP 503
        return re.sub(r"[-_.]+", "-", name).lower()

    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {norm(re.match(r"[\w.-]+", dep)[0]) for dep in deps}
    words = [w for ins in instructions if ins.keyword == "RUN" for w in shlex.split(ins.args)]
    pinned = {norm(w.partition("==")[0]) for w in words if "==" in w}
    return [f"{name} is not pinned (name==version) in a RUN pip install"
            for name in sorted(names - pinned)]


def problems_entrypoint(instructions: list[Instruction], root: Path) -> list[str]:
    entry = last(instructions, "ENTRYPOINT")
    if entry is None:
        return ["no ENTRYPOINT"]
    if json_list(entry.args) != ENTRYPOINT:
        return [f"ENTRYPOINT is {json_list(entry.args) or entry.args!r}, not {ENTRYPOINT}"]
    return []


def problems_cmd(instructions: list[Instruction], root: Path) -> list[str]:
    """The container must listen on every interface: FUNCTIONARY_HOST (which survives
    `docker run` arguments) or --host in CMD."""
    cmd = last(instructions, "CMD")
    args = json_list(cmd.args) if cmd else None
    if args is None:
        return ["no JSON-form CMD with the server's arguments"]
    if "--host" in args:
        host = args[args.index("--host") + 1:][:1]
    else:
        host = [env_vars(instructions).get("FUNCTIONARY_HOST")]
    if host != ["0.0.0.0"]:
        return [f"CMD {args} and FUNCTIONARY_HOST do not bind 0.0.0.0 (the server's default is 127.0.0.1)"]
    return []


def problems_healthcheck(instructions: list[Instruction], root: Path) -> list[str]:
    command = healthcheck_command(instructions)
    if command is None:
        return ["no HEALTHCHECK CMD"]
    if not any(re.search(r"/health(?![\w/-])", part) for part in command):
        return [f"HEALTHCHECK {command} does not query /health"]
    return []


def problems_user(instructions: list[Instruction], root: Path) -> list[str]:
    """The final stage's USER in force at its ENTRYPOINT must not be root."""
    starts = [i for i, ins in enumerate(instructions) if ins.keyword == "FROM"]
    user = None
    for ins in instructions[starts[-1]:] if starts else []:
        if ins.keyword == "USER":
            user = ins.args.split(":")[0].strip()
        if ins.keyword == "ENTRYPOINT":
            break
    else:
        return ["no ENTRYPOINT in the final stage"]
    if user is None:
        return ["no USER before ENTRYPOINT: the server would run as root"]
    return [f"USER {user} is root"] if user in ("root", "0") else []


def problems_base_image(instructions: list[Instruction], root: Path) -> list[str]:
    """Every FROM image is pinned: a tag other than latest, or a digest."""
    problems = [] if last(instructions, "FROM") else ["no FROM"]
    stages = set()
    for ins in (i for i in instructions if i.keyword == "FROM"):
        words = split_options(ins.args)[1].split()
        image = words[0] if words else ""
        tag = image.rpartition("/")[2].partition(":")[2]
        if image.lower() in stages or image == "scratch":
            pass  # an earlier stage, or the empty image
        elif "$" in image:
            problems.append(f"line {ins.line}: {image} depends on a build argument")
        elif "@sha256:" in image:
            pass
        elif not tag:
            problems.append(f"line {ins.line}: {image} has no tag (means latest)")
        elif tag == "latest" or tag.startswith("latest-"):
            problems.append(f"line {ins.line}: {image} floats on 'latest'")
        if len(words) == 3 and words[1].lower() == "as":
            stages.add(words[2].lower())
    return problems


def problems_volume(instructions: list[Instruction], root: Path) -> list[str]:
    volumes = [v for ins in instructions if ins.keyword == "VOLUME"
               for v in json_list(ins.args) or ins.args.split()]
    if not volumes:
        return ["no VOLUME for the model cache"]
    env = env_vars(instructions)
    problems = []
    for var in ("FUNCTIONARY_CACHE", "HF_HOME"):
        value = env.get(var)
        if not value or not any(value == v or value.startswith(v.rstrip("/") + "/") for v in volumes):
            problems.append(f"{var}={value!r} is not inside a VOLUME ({volumes})")
    return problems


# Every problems_* function above, by its name without the prefix.
CHECKS = {name.removeprefix("problems_"): fn
          for name, fn in globals().items() if name.startswith("problems_")}
