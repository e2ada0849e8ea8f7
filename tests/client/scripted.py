"""A scripted OpenAI-compatible endpoint for deterministic client tests.

It answers chat completions from a list of replies, in order, and records each request
body; `/v1/models` lists one model. Clients reach it through httpx.MockTransport, so
no socket is opened.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai

MODEL = "scripted-model"


def reply(*calls: tuple[str, Any], content: str | None = None, usage: tuple[int, int] = (10, 5)) -> dict:
    """One assistant reply: calls are (name, arguments) with arguments a dict (sent as
    JSON) or a str (sent as it is, e.g. broken JSON)."""
    return {"content": content, "calls": list(calls), "usage": usage}


def text(content: str, usage: tuple[int, int] = (10, 5)) -> dict:
    return reply(content=content, usage=usage)


class Scripted:
    _count = 0

    def __init__(self, *replies: dict):
        Scripted._count += 1  # a host of its own: the served model is cached per base URL
        self.base_url = f"http://scripted-{Scripted._count}.test/v1"
        self.replies = list(replies)
        self.requests: list[dict] = []
        self.model_lookups = 0
        self._ids = 0

    # -------------------------------------------------------------- what was asked

    def offered(self, i: int) -> list[str]:
        """Names of the tools offered in request i."""
        return [t["function"]["name"] for t in self.requests[i].get("tools", [])]

    def choice(self, i: int) -> Any:
        return self.requests[i].get("tool_choice")

    # -------------------------------------------------------------- clients

    def async_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.base_url, api_key="k", max_retries=0,
                                  http_client=httpx.AsyncClient(transport=httpx.MockTransport(self.handle)))

    def sync_client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base_url, api_key="k", max_retries=0,
                             http_client=httpx.Client(transport=httpx.MockTransport(self.handle)))

    # -------------------------------------------------------------- the endpoint

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            self.model_lookups += 1
            return httpx.Response(200, json={"object": "list", "data": [
                {"id": MODEL, "object": "model", "created": 0, "owned_by": "test"},
                {"id": "other-model", "object": "model", "created": 0, "owned_by": "test"}]})
        body = json.loads(request.content)
        self.requests.append(body)
        if not self.replies:
            return httpx.Response(500, json={"error": {"message": "script exhausted", "type": "test"}})
        r = self.replies.pop(0)
        tool_calls = []
        for name, args in r["calls"]:
            self._ids += 1
            tool_calls.append({"id": f"call_{self._ids}", "type": "function",
                               "function": {"name": name, "arguments": args if isinstance(args, str)
                                            else json.dumps(args)}})
        message: dict = {"role": "assistant", "content": r["content"]}
        if tool_calls:
            message["tool_calls"] = tool_calls
        prompt, completion = r["usage"]
        return httpx.Response(200, json={
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": 0,
            "model": body.get("model"),
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if tool_calls else "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion}})
