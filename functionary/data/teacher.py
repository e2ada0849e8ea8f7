"""A teacher: any OpenAI-compatible endpoint that fills values, phrases requests and
checks examples (the semantic stage). Every answer it gives is checked like any other
input: requests must be non-empty text, filled calls must validate (the format stage),
and a teacher that fails falls back to the offline writer for that item.
"""

from __future__ import annotations

import json
from typing import Optional

from functionary.eval.scoring import match_calls


class TeacherError(RuntimeError):
    """The teacher's answer could not be used."""


PHRASE_SYSTEM = ("You write realistic messages that users send to an assistant that can call tools. "
                 "Answer with JSON only.")


class Teacher:
    def __init__(self, client, model: str, *, temperature: float = 0.8, max_tokens: int = 400):
        self.client, self.model = client, model
        self.temperature, self.max_tokens = temperature, max_tokens

    @classmethod
    def connect(cls, base_url: str, model: Optional[str], api_key: str = "none", timeout: float = 120) -> "Teacher":
        import openai

        client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=1)
        return cls(client, model or client.models.list().data[0].id)

    def _chat(self, **body):
        try:
            return self.client.chat.completions.create(model=self.model, **body).choices[0].message
        except Exception as exc:  # noqa: BLE001 - any failure of the endpoint is a teacher failure
            raise TeacherError(f"{type(exc).__name__}: {exc}") from None

    def phrase(self, function: dict, arguments: dict, n: int) -> list[str]:
        """Up to `n` distinct user requests that should lead to exactly this call."""
        schema = {"type": "object", "additionalProperties": False, "required": ["requests"],
                  "properties": {"requests": {"type": "array", "minItems": 1, "maxItems": n,
                                              "items": {"type": "string", "minLength": 3, "maxLength": 300}}}}
        prompt = (f"Function: {json.dumps(function, ensure_ascii=False)}\n"
                  f"Call: {function['name']}({json.dumps(arguments, ensure_ascii=False)})\n"
                  f"Write {n} different requests a user might send that should lead to exactly this call. "
                  "State every argument value in words; vary the wording, length and tone. "
                  'Answer as {"requests": [...]}.')
        message = self._chat(messages=[{"role": "system", "content": PHRASE_SYSTEM},
                                       {"role": "user", "content": prompt}],
                             response_format={"type": "json_schema",
                                              "json_schema": {"name": "requests", "schema": schema}},
                             temperature=self.temperature, max_tokens=self.max_tokens)
        try:
            found = json.loads(message.content or "")["requests"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise TeacherError(f"the teacher's requests are not the JSON asked for ({exc})") from None
        texts = [" ".join(t.split()) for t in found if isinstance(t, str) and t.strip()]
        if not texts:
            raise TeacherError("the teacher wrote no requests")
        return list(dict.fromkeys(texts))[:n]

    def fill(self, function: dict) -> dict:
        """One realistic call of `function`, as its arguments."""
        message = self._chat(
            messages=[{"role": "system", "content": "You invent realistic, varied example calls of functions."},
                      {"role": "user", "content": f"Invent one realistic call of {function['name']} "
                                                  f"({function.get('description') or 'no description'}) "
                                                  "with plausible values a real user would ask for."}],
            tools=[{"type": "function", "function": function}],
            tool_choice={"type": "function", "function": {"name": function["name"]}},
            temperature=self.temperature, max_tokens=self.max_tokens)
        calls = message.tool_calls or []
        if not calls:
            raise TeacherError("the teacher made no call")
        try:
            args = json.loads(calls[0].function.arguments or "{}")
        except json.JSONDecodeError as exc:
            raise TeacherError(f"the teacher's arguments are not JSON ({exc})") from None
        if not isinstance(args, dict):
            raise TeacherError("the teacher's arguments are not an object")
        return args

    def disagreement(self, messages: list[dict], tools: list[dict]) -> Optional[str]:
        """Answer the conversation before its last assistant turn with the tools; why the
        answer disagrees with that turn, or None when it agrees (same calls, or no call
        where the example answers in text)."""
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        expected = messages[last].get("tool_calls") or []
        try:
            answer = self._chat(messages=messages[:last], tools=tools, tool_choice="auto", temperature=0,
                                max_tokens=self.max_tokens)
        except TeacherError as exc:
            return f"the teacher could not answer: {exc}"
        got = [(c.function.name, c.function.arguments) for c in answer.tool_calls or []]
        if not expected:
            called = ", ".join(n for n, _ in got)
            return None if not got else f"the teacher called {called} where the example answers in text"
        wanted = [{"name": c["function"]["name"],
                   "arguments": {k: [v] for k, v in json.loads(c["function"]["arguments"]).items()}} for c in expected]
        ok, reasons = match_calls(wanted, got)
        return None if ok else "the teacher's call differs: " + "; ".join(reasons)
