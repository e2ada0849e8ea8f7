"""`python -m functionary.data synth TOOLS --out DIR`: synthetic function-calling data.

    python -m functionary.data synth ../shared/data/drone_copilot.json --out data/drone --examples 600
    python -m functionary.data synth my_tools.py --out data/mine                 # pydantic models / functions
    python -m functionary.data synth tools.json --out data/t --teacher-base-url http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import argparse
import json
import sys

from functionary.data.synth import Settings, Synthesizer, parse_mix, write
from functionary.data.toolset import ToolsError, load_toolset


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m functionary.data", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("synth", help="generate train.jsonl, val.jsonl and report.json from a tool set")
    s.add_argument("tools", help="an OpenAI tools .json file (or {system_prompt, tools}), or a Python module / .py "
                                 "file (optionally module:attr) whose pydantic models and functions are the tools")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--examples", type=int, default=600, help="examples in all, train + validation (default 600)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--val-fraction", type=float, default=0.1)
    s.add_argument("--requests-per-invocation", type=int, default=3)
    s.add_argument("--mix", default=None, help="shares per kind, e.g. call=0.5,parallel=0.1,multi_turn=0.1,"
                                               "missing_argument=0.1,rejection=0.2 (default: by tool set)")
    s.add_argument("--missing", choices=["auto", "ask", "reject"], default="auto",
                   help="a request without a required value: ask for it, or call the reject function "
                        "(auto: reject when the tools have one and the system prompt says to reject unclear requests)")
    s.add_argument("--system-prompt", default=None, help="system prompt for every example (default: the file's own)")
    s.add_argument("--teacher-base-url", default=None, help="an OpenAI-compatible endpoint that fills values, "
                                                            "phrases requests and checks examples")
    s.add_argument("--teacher-model", default=None, help="default: the first model the endpoint lists")
    s.add_argument("--teacher-api-key", default="none")
    s.add_argument("--no-semantic", action="store_true", help="with a teacher: skip the semantic check")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        toolset = load_toolset(args.tools)
    except ToolsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.system_prompt is not None:
        toolset.system_prompt = args.system_prompt or None
    try:
        mix = parse_mix(args.mix) if args.mix else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.examples < 1 or not 0 <= args.val_fraction < 1:
        print("error: --examples must be >= 1 and --val-fraction in [0, 1)", file=sys.stderr)
        return 2
    teacher = None
    if args.teacher_base_url:
        from functionary.data.teacher import Teacher

        teacher = Teacher.connect(args.teacher_base_url, args.teacher_model, args.teacher_api_key)
    settings = Settings(examples=args.examples, seed=args.seed, val_fraction=args.val_fraction,
                        requests_per_invocation=args.requests_per_invocation, mix=mix, missing=args.missing,
                        semantic=not args.no_semantic)
    result = Synthesizer(toolset, settings, teacher).run()
    paths = write(result, toolset, args.out)
    report = result.report
    print(f"wrote {paths['train']} ({report['train']['examples']} examples), {paths['val']} "
          f"({report['val']['examples']}), {paths['report']}")
    print("per kind (train):", json.dumps(report["train"]["per_kind"]))
    print("dropped:", json.dumps(report["dropped"]["by_stage"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
