"""`python -m functionary.eval run|report`: evaluate function calling on any
OpenAI-compatible endpoint, and compare runs side by side.

    python -m functionary.eval run multidomain --base-url http://127.0.0.1:8000/v1 --out base.json
    python -m functionary.eval run ../shared/data/drone_copilot.json --tool-choice required --out drone.json
    python -m functionary.eval report base.json tuned.json --out report.md --plot report.png
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from functionary.eval import dataset, report


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m functionary.eval", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a set against an endpoint and score it")
    r.add_argument("dataset", help=f"a .jsonl / .json file, or a built-in set: {', '.join(dataset.BUILTIN)}")
    r.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    r.add_argument("--api-key", default="none")
    r.add_argument("--model", default=None, help="default: the first model the endpoint lists")
    r.add_argument("--tool-choice", choices=["auto", "required", "none"], default=None,
                   help="for every case (default: each case's own, else the endpoint's default)")
    r.add_argument("--concurrency", type=int, default=4)
    r.add_argument("--max-tokens", type=int, default=256)
    r.add_argument("--temperature", type=float, default=0.0)
    r.add_argument("--limit", type=int, default=None, help="only the first N cases")
    r.add_argument("--label", default=None, help="the run's name in reports (default: the output file's stem)")
    r.add_argument("--out", default=None, help="results JSON (default: print the summary only)")
    r.add_argument("--min-accuracy", type=float, default=None,
                   help="exit 1 when the overall name+arguments accuracy is below this (0..1), for CI gates")
    r.add_argument("--timeout", type=float, default=600, help="seconds per request")

    rep = sub.add_parser("report", help="a Markdown table (and a PNG chart) of one or more runs")
    rep.add_argument("results", nargs="+", help="results JSON files from `run`")
    rep.add_argument("--out", default=None, help="Markdown file (default: print it)")
    rep.add_argument("--plot", default=None, help="PNG bar chart of the same figures (needs matplotlib)")
    return p


def main(argv: list[str] | None = None, *, http_client=None) -> int:
    """The CLI; `http_client` (an httpx.AsyncClient) replaces the openai client's transport,
    for tests against a scripted endpoint."""
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return run(args, http_client=http_client)
    runs = [report.load_run(path) for path in args.results]
    text = report.markdown(runs)
    if args.out:
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text)
    if args.plot:
        report.plot(runs, args.plot)
        print(f"wrote {args.plot}")
    return 0


def run(args, *, http_client=None) -> int:
    import openai

    try:
        cases = dataset.load(args.dataset)
    except dataset.DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cases = cases[: args.limit] if args.limit else cases
    from functionary.eval.runner import run as run_cases

    async def go() -> dict:
        client = openai.AsyncOpenAI(base_url=args.base_url, api_key=args.api_key, timeout=args.timeout,
                                    max_retries=0, http_client=http_client)
        model = args.model or (await client.models.list()).data[0].id
        label = args.label or (Path(args.out).stem if args.out else model)
        return await run_cases(cases, client, model, tool_choice=args.tool_choice, concurrency=args.concurrency,
                               max_tokens=args.max_tokens, temperature=args.temperature,
                               meta={"label": label, "dataset": args.dataset, "base_url": args.base_url})

    results = asyncio.run(go())
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, ensure_ascii=False))
        print(f"wrote {args.out}")
    print(report.summary(results))
    accuracy = results["metrics"]["overall"]["full_accuracy"]
    if args.min_accuracy is not None and accuracy < args.min_accuracy:
        print(f"name+arguments accuracy {accuracy:.3f} is below --min-accuracy {args.min_accuracy}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
