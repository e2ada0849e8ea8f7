"""Evaluate tool choice and argument validity on a labelled data set.

Data set JSON: {"system_prompt", "tool_choice", "tools", "cases": [{"prompt", "expected_tool"}]}
(the shape of shared/data/drone_copilot.json). Usage:

    python -m functionary.eval.tool_eval DATA.json --base-url http://127.0.0.1:8000/v1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field

from functionary.validation import CallJudge


@dataclass
class CaseResult:
    prompt: str
    expected: str
    called: list[str]
    valid: bool  # at least one call, every call to a listed tool with valid arguments
    seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def hit(self) -> bool:
        return bool(self.called) and self.called[0] == self.expected


@dataclass
class Report:
    results: list[CaseResult]

    @property
    def valid(self) -> int:
        return sum(r.valid for r in self.results)

    @property
    def hits(self) -> int:
        return sum(r.hit for r in self.results)

    def summary(self) -> str:
        n = len(self.results)
        mean = sum(r.seconds for r in self.results) / max(n, 1)
        return f"valid {self.valid}/{n}, expected tool {self.hits}/{n}, mean latency {mean:.2f}s"


def check_calls(message, tools: list[dict]) -> tuple[list[str], list[str]]:
    """(called names, problems) for one response message, by the server's own call judge."""
    calls = [(c.function.name, c.function.arguments) for c in message.tool_calls or []]
    verdict = CallJudge.from_tools(tools).reply(calls)
    problems = [f"{name}: {p}" for (name, _), p in zip(calls, verdict.problems) if p is not None]
    return [name for name, _ in calls], problems or ([] if calls else ["no call"])


async def evaluate(data: dict, client, model: str, *, concurrency: int = 1, **request_options) -> Report:
    gate = asyncio.Semaphore(concurrency)

    async def one(case: dict) -> CaseResult:
        messages = [{"role": "system", "content": data["system_prompt"]}, {"role": "user", "content": case["prompt"]}]
        async with gate:
            started = time.perf_counter()
            response = await client.chat.completions.create(
                model=model, messages=messages, tools=data["tools"],
                tool_choice=data.get("tool_choice", "auto"), **request_options,
            )
            elapsed = time.perf_counter() - started
        names, problems = check_calls(response.choices[0].message, data["tools"])
        return CaseResult(case["prompt"], case["expected_tool"], names, not problems, elapsed, problems)

    return Report(list(await asyncio.gather(*[one(c) for c in data["cases"]])))


def main() -> None:
    import openai

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data")
    p.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    p.add_argument("--api-key", default="none")
    p.add_argument("--model", default=None, help="default: the first model the server lists")
    p.add_argument("--max-tokens", type=int, default=96)
    p.add_argument("--concurrency", type=int, default=1)
    args = p.parse_args()
    data = json.load(open(args.data))

    async def run() -> Report:
        client = openai.AsyncOpenAI(base_url=args.base_url, api_key=args.api_key)
        model = args.model or (await client.models.list()).data[0].id
        return await evaluate(data, client, model, concurrency=args.concurrency,
                              temperature=0, max_tokens=args.max_tokens)

    report = asyncio.run(run())
    for r in report.results:
        mark = "ok " if r.hit else ("-- " if r.valid else "!! ")
        print(f"{mark}{r.prompt[:48]:48s} expected {r.expected:24s} got {', '.join(r.called) or '-'}"
              + (f"  [{'; '.join(r.problems)}]" if r.problems else ""))
    print(report.summary())


if __name__ == "__main__":
    main()
