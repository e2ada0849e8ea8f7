#!/usr/bin/env python3
"""A mutation check of README.md's "What is guaranteed": break each guarantee on purpose,
in a throw-away copy of the checkout, and see whether a test notices.

Each mutation is one textual replacement (old -> new, `old` must occur exactly once) in
one file. The script copies the working tree (tracked and untracked-but-not-ignored files)
to a temporary folder, checks that the copy's `functionary` is the one imported, runs the
unmutated baseline (it must pass), then for each mutation: applies it, runs that
mutation's fast test selection (unit tests only), records killed (some test failed) or
survived (all passed) with the failing tests, and restores the file. A mutation that
survives its selection is run again against every non-e2e test (tests/unit, tests/client),
so that SURVIVED means "no offline test notices". With --e2e, mutations that name e2e
tests also run those (live servers, minutes each) on the engine the mutated code belongs
to: the vLLM engine's mutations with FUNCTIONARY_TEST_ENGINES=vllm, every other one
(engine-neutral code, or the transformers engine's) with FUNCTIONARY_TEST_ENGINES=transformers.

The real sources are never touched. This file is not a test module (its name does not
match test_*.py) and defines no tests: pytest does not collect it.

    .venv/bin/python tests/mutations/run_mutations.py [--only ID,ID] [--e2e] [--out FILE]

The Markdown table goes to stdout (and to --out); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[2]

# -- test selections (paths relative to the repository root) --

MODES = "tests/unit/formats/test_modes.py"
ROUND = "tests/unit/formats/test_round_trip.py"
CHUNK = "tests/unit/formats/test_chunking.py"
BUDGET = "tests/unit/test_budget_guard.py"
CLOSING = "tests/unit/test_closing.py"
VALID = "tests/unit/test_validation.py"
SERVING = "tests/unit/test_serving.py"  # ChatService over a scripted engine (this script's proposal, adopted)
ENGINE = "tests/unit/test_engine.py"  # the transformers engine on the bundled model
VLLM_ARGS = "tests/unit/test_vllm_engine_args.py"  # our mapping onto vLLM's parameters (needs vLLM importable)
BROAD = ["tests/unit", "tests/client"]  # every offline test: where a survivor is tried again

GRAMMAR = [MODES, ROUND]
PARSER = [MODES, CHUNK, ROUND]

# -- e2e tests that exercise a guarantee against a live server (run only with --e2e) --

E2E_G = "tests/e2e/test_guarantees.py"
E2E_B = "tests/e2e/test_budget.py"
E2E_R = "tests/e2e/test_responses.py"
E2E_H = "tests/e2e/test_hostile.py"


def e2e_on(engine: str, *tests: str) -> list[str]:
    """Node ids of test_guarantees tests on one engine's default-format server (one server
    start, a few requests): `test_x` -> `test_x[ENGINE-default-format]`, `test_x[a-b]` ->
    `test_x[ENGINE-default-format-a-b]`."""
    ids = []
    for t in tests:
        name, _, params = t.partition("[")
        ids.append(f"{E2E_G}::{name}[{engine}-default-format" + (f"-{params}" if params else "]"))
    return ids


@dataclass
class Mutation:
    id: str
    guarantee: str
    file: str
    what: str  # the break, in words
    old: str
    new: str
    tests: list[str]
    e2e: list[str] = field(default_factory=list)
    engine: str = "transformers"  # the engine its e2e tests run on: the one the mutated code belongs to


MUTATIONS = [
    # ---------------------------------------------------------------- tool_choice: required
    Mutation("required-text-grammar", "`required`: one or more calls, no text",
             "functionary/formats/call_syntax.py", "constraint(): `required` gets the auto grammar (text, then calls)",
             "        if request.calls_only:  # required / named: calls and nothing else",
             '        if request.calls_only and request.mode != "required":  # required / named: calls and nothing else',
             GRAMMAR, [f"{E2E_G}::test_required_gives_only_valid_calls"]),
    Mutation("required-text-parser", "`required`: one or more calls, no text",
             "functionary/formats/parser.py", "StepParser: text is content even under required / named",
             "self.text_allowed = not request.calls_only", "self.text_allowed = True",
             PARSER + [BUDGET], [f"{E2E_G}::test_required_gives_only_valid_calls"]),
    Mutation("required-no-call", "`required`: one or more calls, no text",
             "functionary/formats/tagged_calls.py", "tagged calls(): `plus` -> `star` (zero calls pass)",
             "many = C.plus(C.one_of(*tags))", "many = C.star(C.one_of(*tags))",
             GRAMMAR, [f"{E2E_G}::test_required_gives_only_valid_calls"]),
    # ---------------------------------------------------------------- named
    Mutation("named-other-tool-grammar", "named: exactly one call, to N",
             "functionary/formats/call_syntax.py", "constraint(): every tool, not just the named one",
             "functions, single = request.allowed_functions(), request.single_call",
             "functions, single = request.functions, request.single_call",
             GRAMMAR + [BUDGET], [f"{E2E_G}::test_named_tool_gives_exactly_one_valid_call"]),
    Mutation("named-other-tool-domain", "named: exactly one call, to N",
             "functionary/domain.py", "ToolRequest.allowed_functions(): named keeps every tool",
             "return tuple(f for f in self.functions if f.name == self.forced_name)",
             "return tuple(f for f in self.functions if f.name == self.forced_name or True)",
             GRAMMAR + [BUDGET, VALID], [f"{E2E_G}::test_named_tool_gives_exactly_one_valid_call"]),
    Mutation("named-two-calls", "named: exactly one call, to N",
             "functionary/domain.py", "ToolRequest.single_call: named no longer means one call",
             'return self.mode == "named" or not self.parallel', "return not self.parallel",
             GRAMMAR + [BUDGET], [f"{E2E_G}::test_named_tool_gives_exactly_one_valid_call"]),
    # ---------------------------------------------------------------- none
    Mutation("none-call-grammar", "`none`: text only, never a call",
             "functionary/formats/call_syntax.py", "constraint(): `none` with tools gets the auto grammar",
             "    if not request.calls_allowed:  # tool_choice none",
             "    if not request.functions:  # tool_choice none",
             GRAMMAR, [f"{E2E_G}::test_none_never_calls_even_when_asked", f"{E2E_G}::test_none_never_calls_when_streaming"]),
    Mutation("none-call-parser", "`none`: text only, never a call",
             "functionary/formats/parser.py", "StepParser: reads calls whenever tools exist (`none` too)",
             "self.calls_enabled = request.calls_allowed", "self.calls_enabled = bool(request.functions)",
             PARSER, [f"{E2E_G}::test_none_never_calls_even_when_asked", f"{E2E_G}::test_none_never_calls_when_streaming"]),
    Mutation("none-call-domain", "`none`: text only, never a call",
             "functionary/domain.py", "ToolRequest.calls_allowed ignores mode `none`",
             'return bool(self.functions) and self.mode != "none"', "return bool(self.functions)",
             PARSER + [VALID], [f"{E2E_G}::test_none_never_calls_even_when_asked", f"{E2E_G}::test_none_never_calls_when_streaming"]),
    # ---------------------------------------------------------------- parallel_tool_calls
    Mutation("parallel-false-domain", "`parallel_tool_calls: false`: at most one call",
             "functionary/domain.py", "ToolRequest.single_call ignores parallel_tool_calls",
             'return self.mode == "named" or not self.parallel', 'return self.mode == "named"',
             GRAMMAR, [f"{E2E_G}::test_parallel_tool_calls_false_gives_at_most_one_call",
                       f"{E2E_G}::test_parallel_tool_calls_false_when_streaming"]),
    Mutation("parallel-false-tagged", "`parallel_tool_calls: false`: at most one call",
             "functionary/formats/tagged_calls.py", "tagged calls(): `single` ignored (many calls)",
             "        if single or not tags:\n", "        if not tags:\n",
             GRAMMAR, [f"{E2E_G}::test_parallel_tool_calls_false_gives_at_most_one_call",
                       f"{E2E_G}::test_parallel_tool_calls_false_when_streaming"]),
    Mutation("parallel-false-json-calls", "`parallel_tool_calls: false`: at most one call",
             "functionary/formats/json_calls.py", "JSON-list formats: `single` ignored after the first call",
             "return [] if single else [C.star(C.sequence(C.const(self.separator)",
             "return [] if False else [C.star(C.sequence(C.const(self.separator)",
             GRAMMAR),
    # ---------------------------------------------------------------- auto
    Mutation("auto-text-after-call", "`auto`: text, or text then one or more calls",
             "functionary/formats/tagged_calls.py", "tagged auto: text may resume after a call",
             "first = C.triggered_tags([self.opener], tags, at_least_one=False, stop_after_first=True,",
             "first = C.triggered_tags([self.opener], tags, at_least_one=False, stop_after_first=False,",
             GRAMMAR, [f"{E2E_G}::test_auto_takes_the_call_path_end_to_end"]),
    # ---------------------------------------------------------------- response_format
    Mutation("json-unconstrained", "`response_format`: content is JSON matching the schema",
             "functionary/formats/call_syntax.py", "constraint(): the response schema is ignored (free text)",
             "answer = C.json_value(request.response_schema) if request.response_schema is not None else None",
             "answer = None",
             GRAMMAR + [BUDGET], [f"{E2E_G}::test_response_format_json_schema", f"{E2E_G}::test_response_format_json_object"]),
    Mutation("json-any-json", "`response_format`: content is JSON matching the schema",
             "functionary/formats/call_syntax.py", "constraint(): any JSON, not the schema's",
             "answer = C.json_value(request.response_schema) if", "answer = C.json_value({}) if",
             GRAMMAR + [BUDGET], [f"{E2E_G}::test_response_format_json_schema"]),
    Mutation("json-final-check-skipped", "`response_format`: content is JSON matching the schema (final check)",
             "functionary/serving.py", "ChatService.complete(): the answer's final content_problem check skipped",
             "problem = content_problem(st.content, p.tools.response_schema)", "problem = None",
             [VALID, BUDGET, SERVING]),
    # ---------------------------------------------------------------- arguments
    Mutation("args-schema-tagged", "arguments satisfy the tool's schema",
             "functionary/formats/tagged_calls.py", "tagged call grammar: any object as arguments",
             "C.tag(self.call_begin(f.name), C.json_value(f.parameters), self.end)",
             'C.tag(self.call_begin(f.name), C.json_value({"type": "object"}), self.end)',
             GRAMMAR + [BUDGET], [f"{E2E_G}::test_named_tool_gives_exactly_one_valid_call"]),
    Mutation("args-schema-json-calls", "arguments satisfy the tool's schema",
             "functionary/formats/json_calls.py", "JSON-list call grammar: any object as arguments",
             'C.tag(self.call_begin(f.name), C.json_value(f.parameters), "}")',
             'C.tag(self.call_begin(f.name), C.json_value({"type": "object"}), "}")',
             GRAMMAR + [BUDGET]),
    Mutation("args-schema-recipient", "arguments satisfy the tool's schema",
             "functionary/formats/recipient_segments.py", "recipient call grammar: any object as arguments",
             "        return C.json_value(f.parameters)", '        return C.json_value({"type": "object"})',
             GRAMMAR + [BUDGET], [f"{E2E_G}::test_named_tool_gives_exactly_one_valid_call"]),
    # ---------------------------------------------------------------- the final judge
    Mutation("judge-accepts-bad-args", "arguments checked with jsonschema before leaving",
             "functionary/validation.py", "CallJudge.problem(): schema mismatches ignored",
             "why = _mismatch(args, schema)", "why = None",
             [VALID, BUDGET]),
    Mutation("judge-skipped", "arguments checked with jsonschema before leaving (serving's judge)",
             "functionary/serving.py", "ChatService._apply(): the judge is not asked",
             "problem = judge.problem(call.name, call.arguments)", "problem = None",
             [VALID, BUDGET, SERVING]),
    Mutation("judge-any-tool", "named: exactly one call, to N (serving's judge)",
             "functionary/domain.py", "ToolRequest.judge(): judges against every tool, not the allowed ones",
             "return CallJudge({f.name: f.parameters for f in self.allowed_functions()})",
             "return CallJudge({f.name: f.parameters for f in self.functions})",
             [VALID, BUDGET]),
    # ---------------------------------------------------------------- stop sequences
    Mutation("stop-not-cutting", "stop sequences apply to text",
             "functionary/serving.py", "StopMatcher: a stop string does not cut the text",
             'out, self.held = self.held[: min(ends)[1]], ""', 'out, self.held = self.held, ""',
             [VALID], [f"{E2E_R}::test_stop_strings_cut_content"]),
    Mutation("stop-inside-call", "stop sequences never apply inside a call",
             "functionary/serving.py", "ChatService._apply(): call arguments go through the stop matcher",
             "            elif isinstance(ev, ArgsDelta):\n                state.calls[ev.index].arguments += ev.text",
             "            elif isinstance(ev, ArgsDelta):\n                stop.feed(ev.text)\n"
             "                state.calls[ev.index].arguments += ev.text",
             [VALID, BUDGET, SERVING]),
    Mutation("stop-in-json-answer", "stop sequences never cut a JSON answer",
             "functionary/serving.py", "_prepare_prompt(): stop strings kept for a response_format answer",
             "stops = (req.stop or []) if tools.response_schema is None else []", "stops = req.stop or []",
             [VALID, BUDGET, SERVING], [f"{E2E_H}::test_a_stop_string_never_cuts_a_json_answer"]),
    # ---------------------------------------------------------------- the budget
    Mutation("budget-no-close", "budget inside a call / JSON answer: closed, complete and valid",
             "functionary/budget/__init__.py", "BudgetGuard.finish(): no closing (the reply is cut as generated)",
             "return self.closing, self.safe_tokens + tokens", "return self._pass_all(), num_tokens",
             [BUDGET, CLOSING], [E2E_B, f"{E2E_R}::test_max_tokens_inside_a_required_call_still_gives_a_complete_call"]),
    Mutation("budget-json-no-close", "budget inside a JSON answer: the answer, complete and valid",
             "functionary/budget/__init__.py", "BudgetGuard._closing(): an open JSON answer needs no completion",
             "return rest  # the held whitespace", 'return ""  # the held whitespace',
             [BUDGET, CLOSING], [f"{E2E_B}::test_the_budget_never_breaks_a_json_answer"]),
    Mutation("budget-fits-always", "`usage.completion_tokens` never exceeds `max_tokens`",
             "functionary/budget/__init__.py", "BudgetGuard._fits(): any closing fits",
             "return tokens <= room, tokens", "return True, tokens",
             [BUDGET, CLOSING], [E2E_B]),
    Mutation("budget-usage-uncounted", "the closing is counted in `usage`",
             "functionary/budget/__init__.py", "BudgetGuard.finish(): the closing's tokens left out of usage",
             "return self.closing, self.safe_tokens + tokens", "return self.closing, self.safe_tokens",
             [BUDGET, CLOSING, SERVING], [E2E_B]),
    Mutation("budget-400-skipped", "`max_tokens` below the shortest call: a 400 before generation",
             "functionary/serving.py", "ChatService.prepare(): max_tokens_too_small never raised",
             "if p.shortest is not None and p.shortest[1] > p.sampling.max_tokens:", "if False:",
             [BUDGET, VALID, SERVING], [f"{E2E_R}::test_max_tokens_too_small_for_any_call_is_a_400_naming_the_minimum"]),
    Mutation("budget-shortest-is-longest", "`max_tokens` below the shortest call: a 400 naming the minimum",
             "functionary/budget/__init__.py", "shortest_reply(): picks the longest option, not the shortest",
             "key=lambda o: o[1])", "key=lambda o: -o[1])",
             [BUDGET, SERVING], [f"{E2E_R}::test_max_tokens_too_small_for_any_call_is_a_400_naming_the_minimum"]),
    Mutation("budget-length-reason", "budget runs out: `finish_reason` is `length`",
             "functionary/serving.py", "ChatService._finish_reason(): `length` becomes tool_calls / stop",
             '        if engine_finish == "length":\n            return "length"',
             '        if False:\n            return "length"',
             [BUDGET, VALID, SERVING], [f"{E2E_R}::test_max_tokens_gives_length"]),
    Mutation("budget-cut-call-returned", "a cut call is not returned (`--budget-closing off`)",
             "functionary/serving.py", "ChatService.complete(): incomplete calls returned too",
             "calls = [c for c in st.calls if c.complete]", "calls = list(st.calls)",
             [BUDGET, VALID, SERVING]),
    Mutation("budget-closing-off-ignored", "`--budget-closing off` restores the usual behaviour",
             "functionary/serving.py", "ChatService._prepare_prompt(): closes even when off",
             "        if self.budget_closing:\n", "        if True:\n",
             [BUDGET, VALID, SERVING]),
    # ---------------------------------------------------------------- stream = whole response
    Mutation("stream-leaks-held-text", "streaming: no fragment of a call that does not complete",
             "functionary/budget/__init__.py", "BudgetGuard.push(): text past the safe point is passed on",
             "        if not fits:\n            return \"\"", "        if not fits:\n            return self._pass_all()",
             [BUDGET], [E2E_B]),
    Mutation("stream-parser-chunking", "stream = whole response (parser)",
             "functionary/formats/parser.py", "StepParser: a marker split across chunks is released as text",
             "keep = max((partial_suffix(self.pending, m) for m in markers), default=0)", "keep = 0",
             PARSER, [f"{E2E_G}::test_stream_reassembles_to_the_whole_response"]),
    Mutation("stream-drops-arg-fragment", "stream = whole response (serving)",
             "functionary/serving.py", "ChatService._apply(): a delta keeps only its last argument fragment",
             "calls[-1].function.arguments += ev.text", "calls[-1].function.arguments = ev.text",
             [BUDGET, VALID, SERVING], [f"{E2E_G}::test_stream_reassembles_to_the_whole_response", E2E_B]),
    # ---------------------------------------------------------------- the engines apply the constraint
    # Engine-facing: the grammar is built engine-neutrally, but each engine must apply it.
    # Their e2e tests run on that engine (one default-format server, a few requests).
    Mutation("tf-mask-not-applied", "the transformers engine samples under the grammar",
             "functionary/engines/transformers_engine/sampling.py",
             "next_token(): the mask is filled but not applied to the logits",
             "        xgr.apply_token_bitmask_inplace(logits, seq.bitmask.to(logits.device))\n",
             "        seq.bitmask.to(logits.device)\n",
             [ENGINE], e2e_on("transformers", "test_required_gives_only_valid_calls",
                              "test_response_format_json_schema")),
    Mutation("tf-first-token-unmasked", "the transformers engine samples under the grammar",
             "functionary/engines/transformers_engine/loop.py",
             "_prefill(): the first token is the model's own choice, not the grammar's",
             "        token = next_token(seq, out.logits[0, -1], self.vocab_size)\n        if seq.append(token) is None:",
             "        token = int(out.logits[0, -1].argmax())\n        if seq.append(token) is None:",
             [ENGINE], e2e_on("transformers", "test_required_gives_only_valid_calls",
                              "test_response_format_json_schema")),
    Mutation("tf-grammar-cache-any-spec", "the transformers engine samples under the request's grammar",
             "functionary/engines/transformers_engine/grammar.py",
             "GrammarCache: a lookup returns the first cached grammar, whatever the spec",
             "            hit = self._cache.get(spec.key)\n",
             "            hit = next(iter(self._cache.values()), None)\n",
             [ENGINE], e2e_on("transformers", "test_required_gives_only_valid_calls",
                              "test_named_tool_gives_exactly_one_valid_call[book_flight-80]")),
    Mutation("vllm-constraint-dropped", "the vLLM engine samples under the grammar",
             "functionary/engines/vllm_engine.py", "_sampling(): no structured outputs passed to vLLM",
             "        structured_outputs=_structured_outputs(spec),\n", "        structured_outputs=None,\n",
             [VLLM_ARGS], e2e_on("vllm", "test_required_gives_only_valid_calls", "test_response_format_json_schema"),
             engine="vllm"),
    # (Every constraint the server builds is a structural tag: _structured_outputs()'s
    # json_schema and grammar branches serve the engine seam, not the server.)
    Mutation("vllm-tag-as-any-json", "the vLLM engine samples under the request's grammar",
             "functionary/engines/vllm_engine.py", "_structured_outputs(): the structural tag becomes any JSON object",
             "        return StructuredOutputsParams(structural_tag=spec.value)\n",
             "        return StructuredOutputsParams(json_object=True)\n",
             [VLLM_ARGS], e2e_on("vllm", "test_required_gives_only_valid_calls", "test_response_format_json_schema"),
             engine="vllm"),
]


# ----------------------------------------------------------------------------- the copy


def checkout_files(repo: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         check=True, capture_output=True).stdout.decode()
    return [p for p in out.split("\0") if p and (repo / p).is_file()]


def make_copy(repo: Path, root: Path) -> Path:
    """The working tree (as it is now, uncommitted changes included) under root/<name>,
    with the shared folder the tests expect beside the checkout linked in."""
    copy = root / repo.name
    for rel in checkout_files(repo):
        dest = copy / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / rel, dest)
    shared = repo.parent / "shared"
    if shared.exists():
        (root / "shared").symlink_to(shared)
    return copy


def env_for(copy: Path, engine: Optional[str] = None) -> dict[str, str]:
    """The environment of a pytest run in the copy; `engine`: e2e tests run on that engine only."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # a mutated file and its restored original never share a .pyc
    if engine is not None:
        env["FUNCTIONARY_TEST_ENGINES"] = engine
    return env


def imported_from(python: str, copy: Path, module: str) -> str:
    code = f"import importlib; print(importlib.import_module({module!r}).__file__)"
    return subprocess.run([python, "-c", code], cwd=copy, env=env_for(copy), check=True,
                          capture_output=True, text=True).stdout.strip()


def check_imports_from_copy(python: str, copy: Path, module: str = "functionary") -> None:
    where = imported_from(python, copy, module)
    if not Path(where).resolve().is_relative_to(copy.resolve()):
        sys.exit(f"{module} is imported from {where}, not from the copy at {copy}: mutations would not be seen")


# ----------------------------------------------------------------------------- running tests


@dataclass
class Outcome:
    status: str  # "passed", "failed", "timeout", "error"
    failed: list[str]  # node ids of failed / errored tests
    counts: dict
    seconds: float
    tail: str = ""


def run_pytest(python: str, copy: Path, tests: list[str], *, engine: Optional[str] = None, timeout: float,
               maxfail: int) -> Outcome:
    shutil.rmtree(copy / ".hypothesis", ignore_errors=True)  # no examples carried from one run to the next
    junit = copy / ".mutation-junit.xml"
    junit.unlink(missing_ok=True)
    cmd = [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-o", "console_output_style=classic",
           f"--junitxml={junit}", *(["--maxfail", str(maxfail)] if maxfail else []), *tests]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=copy, env=env_for(copy, engine), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return Outcome("timeout", [], {}, time.monotonic() - start, out[-3000:])
    seconds = time.monotonic() - start
    failed, counts = parse_junit(junit)
    tail = (proc.stdout + proc.stderr)[-3000:]
    if proc.returncode == 0:
        return Outcome("passed", [], counts, seconds, tail)
    if proc.returncode in (1, 2) and (failed or counts.get("errors") or counts.get("failures")):
        return Outcome("failed", failed, counts, seconds, tail)
    if proc.returncode == 2 or proc.returncode == 4:  # interrupted / usage error: no tests judged
        return Outcome("error", failed, counts, seconds, tail)
    return Outcome("failed" if failed else "error", failed, counts, seconds, tail)


def parse_junit(path: Path) -> tuple[list[str], dict]:
    if not path.exists():
        return [], {}
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    counts = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
    failed = []
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            classname, name = case.get("classname", ""), case.get("name", "")
            failed.append(f"{classname.replace('.', '/')}.py::{name}" if classname else name)
    return failed, counts


def short_names(failed: list[str], limit: int = 4) -> str:
    """Failed tests grouped by function (parametrized cases counted), the first few named."""
    groups: "OrderedDict[str, int]" = OrderedDict()
    for nodeid in failed:
        base = re.sub(r"\[.*\]$", "", nodeid)
        path, _, name = base.rpartition("::")
        base = f"{Path(path).stem}::{name}" if path else name
        groups[base] = groups.get(base, 0) + 1
    parts = [f"`{name}`" + (f" ×{n}" if n > 1 else "") for name, n in list(groups.items())[:limit]]
    if len(groups) > limit:
        parts.append(f"… (+{len(groups) - limit} more)")
    return ", ".join(parts)


# ----------------------------------------------------------------------------- mutations


def apply(copy: Path, m: Mutation) -> str:
    path = copy / m.file
    original = path.read_text()
    n = original.count(m.old)
    if n != 1:
        raise SystemExit(f"mutation {m.id}: `old` occurs {n} times in {m.file} (must be exactly once)")
    path.write_text(original.replace(m.old, m.new))
    return original


def module_of(file: str) -> str:
    mod = file[:-3].replace("/", ".")
    return mod[: -len(".__init__")] if mod.endswith(".__init__") else mod


def result_cell(o: Outcome, maxfail: int) -> str:
    if o.status == "passed":
        return "**SURVIVED**"
    if o.status == "timeout":
        return "killed (timeout: the tests hung)"
    if o.status == "error":
        return "error (no verdict; see log)"
    n = len(o.failed)
    at_least = "≥" if maxfail and n >= maxfail else ""
    return f"killed by {at_least}{n} test{'s' if n != 1 else ''}: {short_names(o.failed)}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated mutation ids (default: all)")
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    ap.add_argument("--e2e", action="store_true",
                    help="also run each mutation's e2e tests (live servers, on the engine of the mutated code)")
    ap.add_argument("--no-escalate", action="store_true",
                    help="do not rerun survivors against every offline test (tests/unit, tests/client)")
    ap.add_argument("--python", default=str(REPO / ".venv" / "bin" / "python")
                    if (REPO / ".venv" / "bin" / "python").exists() else sys.executable)
    ap.add_argument("--timeout", type=float, default=900, help="seconds per pytest run (default 900)")
    ap.add_argument("--maxfail", type=int, default=25, help="stop a run after this many failures (0: never)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copy")
    ap.add_argument("--out", help="also write the Markdown table here")
    ap.add_argument("--json", help="write the raw results here")
    args = ap.parse_args()

    mutations = MUTATIONS
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - {m.id for m in MUTATIONS}
        if unknown:
            ap.error(f"unknown mutation ids: {', '.join(sorted(unknown))}")
        mutations = [m for m in MUTATIONS if m.id in wanted]
    if args.list:
        for m in mutations:
            print(f"{m.id:28} {m.file}: {m.what}")
        return 0

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="functionary-mutations-"))
    copy = make_copy(REPO, root)
    log(f"copy of {REPO} at {copy}")
    results = []
    try:
        check_imports_from_copy(args.python, copy)
        for m in mutations:  # every replacement applies, before spending time on tests
            text = (copy / m.file).read_text()
            if text.count(m.old) != 1:
                sys.exit(f"mutation {m.id}: `old` occurs {text.count(m.old)} times in {m.file} (must be exactly once)")

        selection = sorted({t for m in mutations for t in m.tests})
        log(f"baseline: {' '.join(selection)}")
        base = run_pytest(args.python, copy, selection, timeout=args.timeout * 2, maxfail=0)
        log(f"baseline: {base.status} {base.counts} in {base.seconds:.0f} s")
        if base.status != "passed":
            print(base.tail, file=sys.stderr)
            sys.exit("the unmutated baseline does not pass: no mutation verdict would mean anything")
        broad_base: Optional[Outcome] = None
        e2e_base: dict[str, Outcome] = {}

        for i, m in enumerate(mutations, 1):
            original = apply(copy, m)
            try:
                where = imported_from(args.python, copy, module_of(m.file))
                assert Path(where).resolve() == (copy / m.file).resolve(), where
                log(f"[{i}/{len(mutations)}] {m.id}: {m.file}")
                o = run_pytest(args.python, copy, m.tests, timeout=args.timeout, maxfail=args.maxfail)
                log(f"    {m.tests}: {o.status} ({len(o.failed)} failed) in {o.seconds:.0f} s")
                entry = {"mutation": m, "targeted": o, "broad": None, "e2e": None}
                if o.status == "passed" and not args.no_escalate:
                    if broad_base is None:
                        restored = (copy / m.file).read_text()
                        (copy / m.file).write_text(original)
                        broad_base = run_pytest(args.python, copy, BROAD, timeout=args.timeout * 2, maxfail=0)
                        log(f"    broad baseline ({' '.join(BROAD)}): {broad_base.status} {broad_base.counts} "
                            f"in {broad_base.seconds:.0f} s")
                        (copy / m.file).write_text(restored)
                    if broad_base.status == "passed":
                        entry["broad"] = run_pytest(args.python, copy, BROAD, timeout=args.timeout,
                                                    maxfail=args.maxfail)
                        log(f"    broad: {entry['broad'].status} ({len(entry['broad'].failed)} failed) "
                            f"in {entry['broad'].seconds:.0f} s")
                if args.e2e and m.e2e:
                    key = f"{m.engine}: {' '.join(m.e2e)}"
                    if key not in e2e_base:
                        (copy / m.file).write_text(original)
                        e2e_base[key] = run_pytest(args.python, copy, m.e2e, engine=m.engine,
                                                   timeout=args.timeout * 2, maxfail=0)
                        log(f"    e2e baseline {key}: {e2e_base[key].status} in {e2e_base[key].seconds:.0f} s")
                        apply(copy, m)
                    if e2e_base[key].status == "passed":
                        entry["e2e"] = run_pytest(args.python, copy, m.e2e, engine=m.engine,
                                                  timeout=args.timeout * 2, maxfail=args.maxfail)
                        log(f"    e2e: {entry['e2e'].status} ({len(entry['e2e'].failed)} failed) "
                            f"in {entry['e2e'].seconds:.0f} s")
                    else:
                        entry["e2e"] = Outcome("error", [], {}, 0.0, "the e2e baseline does not pass")
                results.append(entry)
            finally:
                (copy / m.file).write_text(original)
    finally:
        if args.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    total = time.monotonic() - started
    table = render(results, base, broad_base, args, total)
    print(table)
    if args.out:
        Path(args.out).write_text(table)
    if args.json:
        Path(args.json).write_text(json.dumps([{
            "id": r["mutation"].id, "file": r["mutation"].file, "tests": r["mutation"].tests,
            "e2e_tests": r["mutation"].e2e, "engine": r["mutation"].engine,
            **{k: (None if r[k] is None else {"status": r[k].status, "failed": r[k].failed, "seconds": round(r[k].seconds, 1)})
               for k in ("targeted", "broad", "e2e")}} for r in results], indent=1))
    survivors = [r["mutation"].id for r in results if final_status(r) == "passed"]
    log(f"done in {total / 60:.1f} min; survivors: {', '.join(survivors) or 'none'}")
    return 0


def final_status(r) -> str:
    """"passed" (the mutation survived) only when every run it had passed."""
    runs = [r[k] for k in ("targeted", "broad", "e2e") if r[k] is not None]
    failed = [o.status for o in runs if o.status != "passed"]
    return failed[0] if failed else "passed"


def render(results, base: Outcome, broad_base: Optional[Outcome], args, total: float) -> str:
    lines = [f"Baseline (unmutated): {base.counts.get('tests', '?')} tests passed in {base.seconds:.0f} s "
             f"({', '.join(sorted({t for r in results for t in r['mutation'].tests}))})."]
    if broad_base is not None:
        lines.append(f"Broad baseline for survivors ({' '.join(BROAD)}): {broad_base.status}, "
                     f"{broad_base.counts.get('tests', '?')} tests in {broad_base.seconds:.0f} s.")
    lines += [f"Total run time: {total / 60:.1f} min.", "",
              "| guarantee | mutation (file: what) | tests run | result |", "|---|---|---|---|"]
    for r in results:
        m, o = r["mutation"], r["targeted"]
        tests = ", ".join(f"`{t.split('tests/', 1)[-1]}`" for t in m.tests)
        result = result_cell(o, args.maxfail)
        if r["broad"] is not None or r["e2e"] is not None:
            result = "selection: " + result
        if r["broad"] is not None:
            tests += "; then all of `unit/`, `client/`"
            result += "; all offline tests: " + result_cell(r["broad"], args.maxfail)
        if r["e2e"] is not None:
            tests += f"; e2e on {m.engine}: " + ", ".join(f"`{t.split('tests/', 1)[-1]}`" for t in m.e2e)
            result += "; e2e: " + result_cell(r["e2e"], args.maxfail)
        elif m.e2e:
            tests += f" (e2e on {m.engine} with `--e2e`: " + ", ".join(f"`{t.split('tests/', 1)[-1]}`" for t in m.e2e) + ")"
        else:
            tests += " (no e2e test)"
        what = f"`{m.file.removeprefix('functionary/')}`: {m.what}"
        lines.append(f"| {m.guarantee} | {what} | {tests} | {result} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
