"""The evaluation harness over several servers with the same model, side by side.

For each server (ours on the transformers engine, ours on vLLM, vLLM's own OpenAI server
with its hermes tool parser), each set and each tool_choice mode: one
`functionary.eval` run, saved as JSON; then one report (Markdown + PNG) over all of them.
Runs already saved are kept (rerun with --fresh), so an interrupted comparison resumes.

    .venv/bin/python benchmarks/eval_compare.py --out-dir benchmarks/results/eval
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
from pathlib import Path

import openai

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_process import REPO, free_port, launched  # noqa: E402
from vs_vllm import CPU_ENGINE_ARGS, child_env, default_model, tools_template  # noqa: E402

from functionary.eval import dataset, report  # noqa: E402
from functionary.eval.runner import run  # noqa: E402

DRONE = REPO.parent / "shared" / "data" / "drone_copilot.json"
SETS = {"drone": str(DRONE), "multidomain": "multidomain"}
SERVERS = ("ours-transformers", "ours-vllm", "vllm-hermes")


def server_argv(which: str, model: str, port: int) -> list[str]:
    common = ["--model", model, "--host", "127.0.0.1", "--port", str(port)]
    if which == "ours-transformers":
        return [sys.executable, "server_vllm.py", "--engine", "transformers", *common]
    if which == "ours-vllm":
        return [sys.executable, "server_vllm.py", "--engine", "vllm", *common, *shlex.split(CPU_ENGINE_ARGS)]
    # vLLM's own server; the bundled model's template ignores tools, so a Hermes-style one lists them.
    return [sys.executable, "-m", "vllm.entrypoints.openai.api_server", *common, "--enable-auto-tool-choice",
            "--tool-call-parser", "hermes", "--chat-template", str(tools_template()), *shlex.split(CPU_ENGINE_ARGS)]


async def run_all(base_url: str, which: str, todo: list[tuple[str, str, Path]], args) -> None:
    async with openai.AsyncOpenAI(base_url=base_url, api_key="none", timeout=600, max_retries=0) as client:
        model = (await client.models.list()).data[0].id
        for set_name, mode, path in todo:
            cases = dataset.load(SETS[set_name])[: args.limit or None]
            print(f"[{which}] {set_name} / {mode}: {len(cases)} cases", flush=True)
            results = await run(cases, client, model, tool_choice=mode, concurrency=args.concurrency,
                                max_tokens=args.max_tokens, meta={"label": f"{which} {mode}", "dataset": set_name,
                                                                  "server": which, "base_url": base_url})
            path.write_text(json.dumps(results, indent=1, ensure_ascii=False))
            print("   " + report.summary(results), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--servers", default=",".join(SERVERS))
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--modes", default="auto,required")
    p.add_argument("--out-dir", default="benchmarks/results/eval")
    p.add_argument("--model", default=None, help="default: the bundled model")
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--limit", type=int, default=None, help="only the first N cases of each set")
    p.add_argument("--fresh", action="store_true", help="rerun runs already saved")
    args = p.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = args.model or default_model()
    for which in args.servers.split(","):
        todo = [(s, m, out / f"{which}-{s}-{m}.json") for s in args.sets.split(",") for m in args.modes.split(",")]
        todo = [t for t in todo if args.fresh or not t[2].exists()]
        if not todo:
            continue
        port = free_port()
        with launched(server_argv(which, model, port), port, timeout=600, env=child_env(),
                      log_path=out / f"{which}.log") as url:
            asyncio.run(run_all(url, which, todo, args))
    for set_name in args.sets.split(","):
        paths = [out / f"{which}-{set_name}-{mode}.json" for which in args.servers.split(",")
                 for mode in args.modes.split(",")]
        paths = [path for path in paths if path.exists()]
        if not paths:
            continue
        runs = [report.load_run(str(p)) for p in paths]
        (out / f"report-{set_name}.md").write_text(report.markdown(runs))
        report.plot(runs, str(out / f"report-{set_name}.png"))
        print(f"wrote {out / f'report-{set_name}.md'} and .png")


if __name__ == "__main__":
    main()
