"""Fuzzing the live server from its own OpenAPI schema (schemathesis, both engines).

Schemathesis generates valid and invalid requests for every operation; each must be
answered without a 5xx and in time, and the server must be alive afterwards. Budgets are
kept small (max_tokens, n) so that the run stays short on a CPU; the hostile shapes that
fuzzing cannot be expected to find are regression tests in test_hostile.py.
"""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 100
CALL_TIMEOUT_S = 120  # far more than any bounded request takes: a timeout is a hang


def bounded(body):
    """The generated body with generation kept short (the fuzzer is after the server's
    answers to odd input, not after long completions)."""
    if not isinstance(body, dict):
        return body
    body = dict(body)
    for key in ("max_tokens", "max_completion_tokens"):
        if isinstance(body.get(key), int) and not isinstance(body.get(key), bool) and body[key] > 8:
            body[key] = 8
    if "max_tokens" not in body and "max_completion_tokens" not in body:
        body["max_tokens"] = 8
    if isinstance(body.get("n"), int) and not isinstance(body.get("n"), bool) and body["n"] > 2:
        body["n"] = 2
    return body


def reachable(body):
    """A schema-valid body nudged past the checks the OpenAPI schema cannot express
    (system and user turns need content), so that more of them reach generation."""
    if isinstance(body, dict) and isinstance(body.get("messages"), list):
        body["messages"] = [{**m, "content": m.get("content") or "hi"}
                            if isinstance(m, dict) and m.get("role") in ("system", "developer", "user") else m
                            for m in body["messages"]]
    return body


CHAT = "/v1/chat/completions"
# (method, path, mode): the GET operations take no input, so only valid ones exist
OPERATIONS = [("POST", CHAT, GenerationMode.POSITIVE), ("POST", CHAT, GenerationMode.NEGATIVE),
              ("GET", "/v1/models", GenerationMode.POSITIVE), ("GET", "/health", GenerationMode.POSITIVE)]


@pytest.mark.parametrize("method, path, mode", OPERATIONS, ids=[f"{p}-{m.value}" for _, p, m in OPERATIONS])
def test_no_request_gets_a_5xx_or_hangs(server, method, path, mode):
    api = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    operation = api[path][method]
    seen: list[int] = []
    codes: Counter = Counter()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES if method == "POST" else 10, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        if case.body is not None and not isinstance(case.body, (bytes, str)):
            case.body = bounded(case.body)
            if mode == GenerationMode.POSITIVE:
                case.body = reachable(case.body)
        headers = {**(case.headers or {}), "Authorization": f"Bearer {server.api_key}"}
        response = case.call(base_url=server.base_url, headers=headers, timeout=CALL_TIMEOUT_S)
        seen.append(response.status_code)
        if response.status_code >= 400 and path.startswith("/v1"):
            codes[response.json()["error"]["code"] or response.json()["error"]["param"]] += 1
        assert response.status_code < 500, (case.body, response.status_code, response.text[:500])
        if response.status_code >= 400 and path.startswith("/v1"):
            error = response.json()["error"]
            assert set(error) == {"message", "type", "param", "code"}, error

    check()
    print(f"\n[{server.engine}] {method} {path} ({mode.value}): {len(seen)} requests, statuses "
          f"{dict(sorted(Counter(seen).items()))}; refusals by code or param: {dict(codes.most_common(6))}")


def test_the_server_is_alive_after_fuzzing(server):
    assert httpx.get(f"{server.base_url}/health", timeout=10).json()["status"] == "ok"
    with server.http() as http:
        r = http.post("/v1/chat/completions", json={"model": server.model, "max_tokens": 2,
                                                    "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200, r.text
