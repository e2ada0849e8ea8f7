"""Prometheus metrics for the server: what `/metrics` exposes.

A `Metrics` owns its own `CollectorRegistry` (not prometheus_client's global one), so
several apps or tests in one process never clash over metric names. The server calls its
methods at fixed points (requests, tokens, calls, budget closes, engine life); the
engine's load (`engine.stats()`) is read at scrape time, so those gauges are always
current. Every label takes values from a small fixed set: nothing a client writes or the
model generates ever becomes a label value.

Every method is cheap and never raises on a label value it does not know (it falls back
to "unknown"/"other"): metrics must not fail a request.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Iterable, Optional

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from functionary.domain import ToolRequest

log = logging.getLogger(__name__)

MODES = ("auto", "none", "required", "named", "response_format")
UNKNOWN_MODE = "unknown"  # the request failed before its tools were read (bad JSON, bad tools)
CLOSE_REASONS = ("length", "repeat")

# Seconds, for a server that may be a CPU: a cached short reply takes tens of ms, a long
# one on a small CPU minutes.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
# xgrammar compiles a small schema in about a millisecond, a large tool set in seconds.
COMPILE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def mode_label(tools: ToolRequest) -> str:
    """The request's tool_choice mode as a label: what actually constrains the reply.

    `required` / `named`: calls only (a response_format beside them does not apply);
    otherwise a response_format schema makes it `response_format`; `auto` when calls
    may be made; `none` when the reply is text only (tool_choice none, or no tools).
    """
    if tools.calls_only:
        return tools.mode  # "required" | "named"
    if tools.response_schema is not None:
        return "response_format"
    return "auto" if tools.calls_allowed else "none"


def _flag(value: bool) -> str:
    return "true" if value else "false"


class RequestTrack:
    """One chat request's clock: made when the request arrives, told its mode, its first
    token and its end. `first_token` and `done` count once, however often they are called
    (n > 1 choices, an error path after a success path)."""

    def __init__(self, metrics: "Metrics", stream: bool, started: Optional[float] = None) -> None:
        self.metrics = metrics
        self.stream = bool(stream)
        self.started = time.perf_counter() if started is None else started
        self.mode = UNKNOWN_MODE
        self._first = False
        self._done = False

    def set_mode(self, tools: ToolRequest) -> None:
        self.mode = mode_label(tools)

    def first_token(self) -> None:
        if not self._first:
            self._first = True
            self.metrics.observe_ttft(time.perf_counter() - self.started, self.stream)

    def done(self, status: int) -> None:
        if self._done:
            return
        self._done = True
        self.metrics.count_request(status, self.mode, self.stream)
        if status < 400:  # an error's time says nothing about serving speed
            self.metrics.observe_latency(time.perf_counter() - self.started, self.stream)


class _EngineCollector:
    """Reads the engine's stats() at scrape time (running / waiting, prefix-cache figures)."""

    def __init__(self) -> None:
        self.stats: Optional[Callable[[], dict]] = None

    def describe(self) -> Iterable[Metric]:
        # Declared so the registry need not call collect() (and the engine) at registration.
        return self._families({})

    def collect(self) -> Iterable[Metric]:
        if self.stats is None:
            return []
        try:
            stats = self.stats() or {}
        except Exception:  # noqa: BLE001 - a dead engine must not break the scrape
            log.debug("engine stats failed at scrape", exc_info=True)
            return []
        return [family for family in self._families(stats) if family.samples]

    @staticmethod
    def _families(stats: dict) -> list[Metric]:
        running = GaugeMetricFamily("functionary_requests_running", "Sequences the engine is decoding now.")
        waiting = GaugeMetricFamily("functionary_requests_waiting",
                                    "Sequences queued for the engine, not yet decoding.")
        hits = CounterMetricFamily("functionary_prefix_cache_hits", "Prompts that reused a cached prefix "
                                   "(transformers engine).")
        reused = CounterMetricFamily("functionary_prefix_cache_reused_tokens", "Prompt tokens taken from the "
                                     "prefix cache instead of prefilled (transformers engine).")
        for family, key in ((running, "running"), (waiting, "waiting"),
                            (hits, "prefix_cache_hits"), (reused, "prefix_cache_tokens")):
            value = stats.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                family.add_metric([], value)
        return [running, waiting, hits, reused]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("functionary_requests", "Chat completion requests by HTTP status, tool_choice mode "
                                "and streaming (a stream that failed after its headers: the error's status).",
                                ["status", "mode", "stream"], registry=r)
        self.latency = Histogram("functionary_request_duration_seconds", "Time from a chat request's arrival to "
                                 "its last byte, for requests answered without error.", ["stream"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.ttft = Histogram("functionary_time_to_first_token_seconds", "Time from a chat request's arrival to "
                              "its first generated text or call.", ["stream"], buckets=LATENCY_BUCKETS, registry=r)
        self.prompt_tokens = Counter("functionary_prompt_tokens", "Prompt tokens of requests that reached "
                                     "generation.", registry=r)
        self.completion_tokens = Counter("functionary_completion_tokens", "Completion tokens, as usage counts "
                                         "them (closing text included).", registry=r)
        self.grammar_compile = Histogram("functionary_grammar_compile_seconds", "Time to compile a constraint "
                                         "grammar (a cache miss; failed compiles too).", buckets=COMPILE_BUCKETS,
                                         registry=r)
        self.grammar_hits = Counter("functionary_grammar_cache_hits", "Constraint grammars found compiled in "
                                    "the cache.", registry=r)
        self.grammar_misses = Counter("functionary_grammar_cache_misses", "Constraint grammars that had to be "
                                      "compiled.", registry=r)
        self.calls_validated = Counter("functionary_calls_validated", "Generated calls whose arguments passed "
                                       "the schema check.", registry=r)
        self.calls_rejected = Counter("functionary_calls_rejected", "Generated calls that failed the schema "
                                      "check (the request failed).", registry=r)
        self.replies_closed = Counter("functionary_replies_closed", "Replies the server closed itself: length "
                                      "(the budget ran out inside a call or JSON answer, which the closer "
                                      "finished) or repeat (an array looped).", ["reason"], registry=r)
        # A dead engine makes the process exit for its supervisor to restart it, so restarts
        # show as changes of process_start_time_seconds (from the process collector).
        ProcessCollector(registry=r)
        self.engine_deaths = Counter("functionary_engine_deaths", "Times the engine was found dead.", registry=r)
        self.engine_up = Gauge("functionary_engine_up", "1 while the engine serves, else 0.", registry=r)
        # Series that should read 0 from the start rather than appear on first use.
        for stream in (False, True):
            self.latency.labels(stream=_flag(stream))
            self.ttft.labels(stream=_flag(stream))
        for reason in CLOSE_REASONS:
            self.replies_closed.labels(reason=reason)
        self._engine = _EngineCollector()
        r.register(self._engine)

    # ------------------------------------------------------------------ wiring

    def watch_engine(self, engine) -> None:
        """Read `engine.stats()` at every scrape; on an engine with a grammar cache that
        takes an observer (the transformers engine's `grammars`), count its hits and compiles."""
        self._engine.stats = engine.stats
        grammars = getattr(engine, "grammars", None)
        if grammars is not None and hasattr(grammars, "observer"):
            grammars.observer = self

    # ------------------------------------------------------------------ requests

    def track_request(self, stream: bool) -> RequestTrack:
        """Start a request's clock (call as the request arrives)."""
        return RequestTrack(self, stream)

    def count_request(self, status: int, mode: str, stream: bool) -> None:
        mode = mode if mode in MODES else UNKNOWN_MODE
        self.requests.labels(status=str(int(status)), mode=mode, stream=_flag(stream)).inc()

    def observe_latency(self, seconds: float, stream: bool) -> None:
        self.latency.labels(stream=_flag(stream)).observe(max(0.0, seconds))

    def observe_ttft(self, seconds: float, stream: bool) -> None:
        self.ttft.labels(stream=_flag(stream)).observe(max(0.0, seconds))

    def add_tokens(self, prompt: int = 0, completion: int = 0) -> None:
        if prompt > 0:
            self.prompt_tokens.inc(prompt)
        if completion > 0:
            self.completion_tokens.inc(completion)

    # ------------------------------------------------------------------ grammars (GrammarObserver)

    def grammar_cache_hit(self) -> None:
        self.grammar_hits.inc()

    def grammar_compiled(self, seconds: float) -> None:
        self.grammar_misses.inc()
        self.grammar_compile.observe(max(0.0, seconds))

    # ------------------------------------------------------------------ calls and closing

    def call_validated(self) -> None:
        self.calls_validated.inc()

    def call_rejected(self) -> None:
        self.calls_rejected.inc()

    def reply_closed(self, reason: str) -> None:
        """`length`: the budget closer finished a call or JSON answer; `repeat`: a loop was cut."""
        self.replies_closed.labels(reason=reason if reason in CLOSE_REASONS else "other").inc()

    # ------------------------------------------------------------------ engine life

    def engine_died(self) -> None:
        self.engine_deaths.inc()
        self.engine_up.set(0)

    def set_engine_up(self, up: bool) -> None:
        self.engine_up.set(1 if up else 0)

    # ------------------------------------------------------------------ exposition

    def exposition(self, accept: Optional[str] = None) -> tuple[bytes, str]:
        """(body, content type) for GET /metrics: the Prometheus text format, or OpenMetrics
        when the scraper's Accept header asks for it."""
        if accept:
            encoder, content_type = choose_encoder(accept)
            return encoder(self.registry), content_type
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
