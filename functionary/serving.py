"""The chat service: request -> prompt -> constrained generation -> OpenAI response.

It knows the format and engine seams, but neither HTTP nor engine internals.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import AsyncIterator, Optional

from functionary.budget import BudgetGuard, shortest_reply
from functionary.budget.minimal import TooLong
from functionary.constraint import ConstraintSpec
from functionary.domain import ToolRequest, tool_request
from functionary.engines.base import Engine, SamplingParams
from functionary.errors import (
    BadRequest,
    BudgetTooSmall,
    ContextTooLong,
    EngineUnavailable,
    GenerationFailed,
    NotFound,
)
from functionary.formats.base import ToolFormat
from functionary.formats.parser import ArgsDelta, CallEnd, CallStart, Event, TextDelta
from functionary.formats.text_scan import partial_suffix
from functionary.openai_types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    Delta,
    DeltaFunctionCall,
    DeltaToolCall,
    ResponseFunctionCall,
    ResponseMessage,
    ResponseToolCall,
    Usage,
    new_id,
)
from functionary.metrics import Metrics, RequestTrack
from functionary.prompt_tokens import encode_prompt
from functionary.request_limits import check_request, client_chars
from functionary.validation import CallJudge, content_problem

log = logging.getLogger(__name__)


def _reply_kind(tools: ToolRequest) -> str:
    """What the shortest reply is, for BudgetTooSmall's message."""
    if tools.calls_only:
        return "a call"
    return "a JSON answer" if not tools.calls_allowed else "a call or a JSON answer"


def _int64(seed: int) -> int:
    """A seed wrapped into the signed 64-bit range that engines accept."""
    return (seed + 2**63) % 2**64 - 2**63


@dataclass
class Prepared:
    """Everything one request needs before generation starts."""

    request: ChatCompletionRequest
    tools: ToolRequest
    judge: CallJudge  # the final check of every call before it leaves
    prompt_ids: list[int]
    spec: Optional[ConstraintSpec]
    sampling: SamplingParams
    stops: list[str]
    shortest: Optional[tuple[str, int]]  # the shortest valid reply (text, tokens), for the budget guard
    track: Optional[RequestTrack] = None  # the request's metrics (mode, time to first token)


class StopMatcher:
    """Cuts content at the first stop string, holding back text that may begin one."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = stops
        self.held = ""
        self.hit = False

    def feed(self, text: str) -> str:
        if not self.stops or self.hit:
            return "" if self.hit else text
        self.held += text
        # The stop string completed first wins, as it would token by token.
        ends = [(i + len(s), i) for s, i in ((s, self.held.find(s)) for s in self.stops) if i >= 0]
        if ends:
            self.hit = True
            out, self.held = self.held[: min(ends)[1]], ""
            return out
        keep = max(partial_suffix(self.held, s) for s in self.stops)
        out = self.held[: len(self.held) - keep]
        self.held = self.held[len(self.held) - keep :]
        return out

    def flush(self) -> str:
        out, self.held = ("" if self.hit else self.held), ""
        return out


@dataclass
class _CallState:
    id: str
    name: str
    arguments: str = ""
    complete: bool = False


@dataclass
class _ChoiceState:
    """One choice's progress; the same object drives streamed and whole responses."""

    content: str = ""
    calls: list[_CallState] = field(default_factory=list)
    finish_reason: Optional[str] = None
    completion_tokens: int = 0


class ChatService:
    def __init__(self, engine: Engine, fmt: ToolFormat, *, budget_closing: bool = True,
                 metrics: Optional[Metrics] = None) -> None:
        self.engine = engine
        self.format = fmt
        self.budget_closing = budget_closing
        self.metrics = metrics if metrics is not None else Metrics()

    # ------------------------------------------------------------------ preparation

    async def prepare(self, req: ChatCompletionRequest, track: Optional[RequestTrack] = None) -> Prepared:
        dead = self.engine.dead()
        if dead:
            raise EngineUnavailable(dead)
        if req.model and req.model != self.engine.model_name:
            raise NotFound(
                f"The model '{req.model}' does not exist; this server serves '{self.engine.model_name}'",
                param="model",
                code="model_not_found",
            )
        for param, why in req.unsupported_features():
            raise BadRequest(why, param=param, code="unsupported_parameter")
        # Checks, rendering and tokenizing take long on big requests: off the event loop,
        # so that /health and other requests keep being answered meanwhile.
        p = await asyncio.to_thread(self._prepare_prompt, req, track)
        try:
            await self.engine.prepare(p.spec)
        except ValueError as exc:
            raise BadRequest(str(exc), param="tools" if p.tools.calls_allowed else "response_format",
                             code="invalid_schema") from None
        if p.shortest is not None and p.shortest[1] > p.sampling.max_tokens:
            raise BudgetTooSmall(p.sampling.max_tokens, p.shortest[1], _reply_kind(p.tools),
                                 from_context=req.effective_max_tokens() is None)
        return p

    def _prepare_prompt(self, req: ChatCompletionRequest, track: Optional[RequestTrack]) -> Prepared:
        check_request(req)
        limit = self.engine.max_model_len
        # No token holds more characters than the longest in the vocabulary: a prompt whose
        # text alone needs more tokens than the context is refused before tokenizing it.
        at_least = client_chars(req) // self.max_token_chars
        if at_least >= limit:
            raise ContextTooLong(at_least, 0, limit, at_least=True)
        tools = tool_request(req)
        if track is not None:
            track.set_mode(tools)
        prompt_ids = encode_prompt(self.format, req.messages, tools)
        asked = req.effective_max_tokens()
        if asked is not None and len(prompt_ids) + asked > limit:
            raise ContextTooLong(len(prompt_ids), asked, limit)
        if len(prompt_ids) >= limit:
            raise ContextTooLong(len(prompt_ids), 1, limit)
        sampling = SamplingParams(
            max_tokens=asked or (limit - len(prompt_ids)),
            temperature=1.0 if req.temperature is None else req.temperature,
            top_p=1.0 if req.top_p is None else req.top_p,
            seed=req.seed,
            presence_penalty=req.presence_penalty or 0.0,
            frequency_penalty=req.frequency_penalty or 0.0,
        )
        shortest = None
        if self.budget_closing:
            try:
                shortest = shortest_reply(self.format, tools, self.count_tokens)
            except TooLong:  # (huge minItems and kin)
                raise BudgetTooSmall(sampling.max_tokens, None, _reply_kind(tools),
                                     from_context=asked is None) from None
        spec = self.format.constraint(tools)
        # Stop strings cut free text only: a JSON answer (like a call) always ends whole.
        stops = (req.stop or []) if tools.response_schema is None else []
        return Prepared(req, tools, tools.judge(), prompt_ids, spec, sampling, stops, shortest, track)

    @cached_property
    def max_token_chars(self) -> int:
        vocab = self.engine.tokenizer.get_vocab()
        return max(1, max((len(t) for t in vocab), default=1))

    def count_tokens(self, text: str) -> int:
        return len(self.engine.tokenizer.encode(text, add_special_tokens=False))

    # ------------------------------------------------------------------ generation

    async def _engine_outputs(self, stream):
        """The engine's deltas; an engine that dies mid-request becomes a server error."""
        try:
            async for out in stream:
                yield out
        except Exception as exc:  # noqa: BLE001 - vLLM raises its own types when its core dies
            why = self.engine.dead()
            if why is None:
                raise
            raise GenerationFailed(f"the inference engine died during generation: {why}",
                                   code="engine_dead") from exc

    async def _run_choice(self, p: Prepared, index: int) -> AsyncIterator[tuple[int, Optional[Delta], _ChoiceState]]:
        """Yield (index, delta to stream, state) as the choice progresses; a final
        (index, None, state) carries the finish reason."""
        sampling = p.sampling
        if index and sampling.seed is not None:  # n > 1 with a seed: distinct yet reproducible
            sampling = SamplingParams(**{**sampling.__dict__, "seed": _int64(sampling.seed + index)})
        parser = self.format.stream_parser(p.tools)
        guard = BudgetGuard(self.format, p.tools, sampling.max_tokens, self.count_tokens, p.shortest,
                            p.request.max_identical_items)
        stop = StopMatcher(p.stops)
        state = _ChoiceState()
        request_id = new_id("gen-")
        engine_finish = None
        stream = self.engine.generate(request_id, p.prompt_ids, sampling, p.spec)
        outputs = self._engine_outputs(stream)
        try:
            async for out in outputs:
                state.completion_tokens = out.num_tokens
                events = parser.feed(guard.push(out.text, out.num_tokens))
                if out.finish_reason is None and guard.repeating:  # looping: close the reply now
                    engine_finish = "repeat"
                if engine_finish or out.finish_reason is not None:
                    engine_finish = engine_finish or out.finish_reason
                    closing, state.completion_tokens = guard.finish(engine_finish, out.num_tokens)
                    if engine_finish == "repeat" or (engine_finish == "length" and guard.active and closing):
                        self.metrics.reply_closed(engine_finish)
                    events += parser.feed(closing) + parser.finish()
                delta = self._apply(events, state, stop, p.judge)
                if delta is not None:
                    if p.track is not None:
                        p.track.first_token()
                    yield index, delta, state
                if stop.hit:
                    engine_finish = "stop"
                    break
                if engine_finish == "repeat":
                    break
        finally:
            await outputs.aclose()
            await stream.aclose()  # stops generation early when we break or the client left
            self.metrics.add_tokens(completion=state.completion_tokens)
        if engine_finish is None or engine_finish.startswith("error"):
            raise GenerationFailed(f"generation failed: {engine_finish or 'engine stopped'}",
                                   code="engine_dead" if self.engine.dead() else "engine_error")
        if engine_finish == "length" and not guard.active and self.budget_closing:
            self._check_unclosed(p, state)
        tail = stop.flush()
        if tail:
            state.content += tail
            yield index, Delta(content=tail), state
        state.finish_reason = self._finish_reason(engine_finish, state)
        yield index, None, state

    def _apply(self, events: list[Event], state: _ChoiceState, stop: StopMatcher, judge: CallJudge) -> Optional[Delta]:
        """Fold parser events into the state; return what to stream (None if nothing)."""
        content: list[str] = []
        calls: list[DeltaToolCall] = []
        for ev in events:
            if isinstance(ev, TextDelta):
                text = stop.feed(ev.text)
                if text:
                    state.content += text
                    content.append(text)
            elif isinstance(ev, CallStart):
                call = _CallState(new_id("call_"), ev.name)
                state.calls.append(call)
                calls.append(DeltaToolCall(index=ev.index, id=call.id, type="function",
                                           function=DeltaFunctionCall(name=ev.name, arguments="")))
            elif isinstance(ev, ArgsDelta):
                state.calls[ev.index].arguments += ev.text
                if calls and calls[-1].index == ev.index:
                    calls[-1].function.arguments += ev.text
                else:
                    calls.append(DeltaToolCall(index=ev.index, function=DeltaFunctionCall(arguments=ev.text)))
            elif isinstance(ev, CallEnd):
                call = state.calls[ev.index]
                problem = judge.problem(call.name, call.arguments)
                if problem is not None:
                    self.metrics.call_rejected()
                    log.error("generated call escaped the constraint: %s (%s)", problem, call)
                    raise GenerationFailed(f"the generated call to {call.name!r} failed validation: {problem}",
                                           code="invalid_generated_call")
                self.metrics.call_validated()
                call.complete = True
        if not content and not calls:
            return None
        return Delta(content="".join(content) or None, tool_calls=calls or None)

    @staticmethod
    def _check_unclosed(p: Prepared, state: _ChoiceState) -> None:
        """The budget ran out where the guard could not help: no valid reply was found for
        the request's schema (the closer's and the fallback search's, budget/fallback.py),
        e.g. one the grammar itself cannot write. Rather than answer `required` without a
        call, or a JSON answer cut in two, say so."""
        if any(c.complete for c in state.calls):
            return
        if p.tools.calls_only:
            what = "the call"
        elif content_problem(state.content, p.tools.response_schema) is not None:
            what = "the JSON answer"
        else:
            return
        raise GenerationFailed(
            f"max_tokens ({p.sampling.max_tokens}) ran out inside {what}, and the server found no valid way to "
            f"close it under this schema (keywords it cannot complete, or no value its grammar can write); "
            f"raise max_tokens or simplify the schema", code="reply_not_closed")

    @staticmethod
    def _finish_reason(engine_finish: str, state: _ChoiceState) -> str:
        if engine_finish == "length":
            return "length"
        return "tool_calls" if any(c.complete for c in state.calls) else "stop"

    # ------------------------------------------------------------------ whole responses

    async def complete(self, p: Prepared) -> ChatCompletion:
        self.metrics.add_tokens(prompt=len(p.prompt_ids))
        tasks = [asyncio.ensure_future(self._drain(p, i)) for i in range(p.request.n)]
        try:
            states = await asyncio.gather(*tasks)
        finally:  # one choice failed or the client left: stop the others too
            for t in tasks:
                t.cancel()
        choices = []
        for i, st in enumerate(states):
            calls = [c for c in st.calls if c.complete]  # a call cut off by length is not returned
            if p.tools.response_schema is not None and not calls and st.finish_reason == "stop":
                problem = content_problem(st.content, p.tools.response_schema)
                if problem is not None:
                    raise GenerationFailed(problem, code="invalid_generated_content")
            message = ResponseMessage(
                content=st.content if (st.content or not (calls or p.tools.calls_only)) else None,
                tool_calls=[ResponseToolCall(id=c.id, function=ResponseFunctionCall(name=c.name, arguments=c.arguments))
                            for c in calls] or None,
            )
            choices.append(Choice(index=i, message=message, finish_reason=st.finish_reason))
        return ChatCompletion(id=new_id("chatcmpl-"), model=self.engine.model_name, choices=choices,
                              usage=self._usage(p, states))

    async def _drain(self, p: Prepared, index: int) -> _ChoiceState:
        state = _ChoiceState()
        async for _, _, state in self._run_choice(p, index):
            pass
        return state

    def _usage(self, p: Prepared, states: list[_ChoiceState]) -> Usage:
        completion = sum(s.completion_tokens for s in states)
        return Usage(prompt_tokens=len(p.prompt_ids), completion_tokens=completion,
                     total_tokens=len(p.prompt_ids) + completion)

    # ------------------------------------------------------------------ streaming

    async def stream(self, p: Prepared) -> AsyncIterator[ChatCompletionChunk]:
        self.metrics.add_tokens(prompt=len(p.prompt_ids))
        chunk_id, created = new_id("chatcmpl-"), int(time.time())

        def chunk(choices: list[ChunkChoice], usage: Optional[Usage] = None) -> ChatCompletionChunk:
            return ChatCompletionChunk(id=chunk_id, created=created, model=self.engine.model_name,
                                       choices=choices, usage=usage)

        for i in range(p.request.n):
            yield chunk([ChunkChoice(index=i, delta=Delta(role="assistant", content=""))])
        states: dict[int, _ChoiceState] = {}
        async for index, delta, state in _merge([self._run_choice(p, i) for i in range(p.request.n)]):
            states[index] = state
            if delta is not None:
                yield chunk([ChunkChoice(index=index, delta=delta)])
            else:
                yield chunk([ChunkChoice(index=index, delta=Delta(), finish_reason=state.finish_reason)])
        options = p.request.stream_options
        if options is not None and options.include_usage:
            yield chunk([], usage=self._usage(p, list(states.values())))


async def _merge(streams: list[AsyncIterator]) -> AsyncIterator:
    """Interleave several async iterators (n > 1 choices) as items arrive."""
    if len(streams) == 1:
        async for item in streams[0]:
            yield item
        return
    queue: asyncio.Queue = asyncio.Queue()
    done = object()

    async def pump(it):
        try:
            async for item in it:
                await queue.put(item)
            await queue.put(done)
        except BaseException as exc:  # surface errors to the consumer
            await queue.put(exc)

    tasks = [asyncio.create_task(pump(s)) for s in streams]
    try:
        remaining = len(tasks)
        while remaining:
            item = await queue.get()
            if item is done:
                remaining -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        for t in tasks:
            t.cancel()
