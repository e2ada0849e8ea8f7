"""functionary.metrics: each method shows up in the exposition as the metric it names,
with bounded labels; the engine gauges are read at scrape time; the grammar cache reports
hits and compiles."""

from __future__ import annotations

import json

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from functionary.constraint import ConstraintSpec
from functionary.domain import Function, ToolRequest
from functionary.metrics import LATENCY_BUCKETS, Metrics, mode_label

F = Function("get_weather", "", {"type": "object", "properties": {"city": {"type": "string"}}})
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}}


def scrape(metrics: Metrics) -> dict:
    """{family name: family} from the text exposition."""
    body, content_type = metrics.exposition()
    assert content_type == CONTENT_TYPE_LATEST
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def value(families: dict, sample: str, **labels) -> float:
    """The value of one sample (by its full name and exact labels); KeyError if absent."""
    for fam in families.values():
        for s in fam.samples:
            if s.name == sample and s.labels == labels:
                return s.value
    raise KeyError(f"{sample}{labels}")


# ----------------------------------------------------------------------------- mode_label


@pytest.mark.parametrize("tools, label", [
    (ToolRequest((F,), "auto"), "auto"),
    (ToolRequest((F,), "none"), "none"),
    (ToolRequest((), "none"), "none"),
    (ToolRequest((), "auto"), "none"),  # tool_choice auto without tools: text only
    (ToolRequest((F,), "required"), "required"),
    (ToolRequest((F,), "named", "get_weather"), "named"),
    (ToolRequest((), "none", response_schema=SCHEMA), "response_format"),
    (ToolRequest((F,), "auto", response_schema=SCHEMA), "response_format"),  # a call or the JSON answer
    (ToolRequest((F,), "none", response_schema=SCHEMA), "response_format"),
    (ToolRequest((F,), "required", response_schema=SCHEMA), "required"),  # calls only: the schema is moot
    (ToolRequest((F,), "named", "get_weather", response_schema=SCHEMA), "named"),
])
def test_mode_label(tools, label):
    assert mode_label(tools) == label


# ----------------------------------------------------------------------------- requests


def test_requests_by_status_mode_and_stream():
    m = Metrics()
    m.count_request(200, "auto", False)
    m.count_request(200, "auto", False)
    m.count_request(400, "named", True)
    m.count_request(500, "client-chosen nonsense", True)  # never a label value
    fams = scrape(m)
    assert fams["functionary_requests"].type == "counter"
    assert value(fams, "functionary_requests_total", status="200", mode="auto", stream="false") == 2
    assert value(fams, "functionary_requests_total", status="400", mode="named", stream="true") == 1
    assert value(fams, "functionary_requests_total", status="500", mode="unknown", stream="true") == 1
    modes = {s.labels["mode"] for s in fams["functionary_requests"].samples}
    assert modes <= {"auto", "none", "required", "named", "response_format", "unknown"}


def test_request_track_counts_once_and_times_only_successes(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("functionary.metrics.time.perf_counter", lambda: clock[0])
    m = Metrics()

    ok = m.track_request(stream=True)
    ok.set_mode(ToolRequest((F,), "required"))
    clock[0] += 0.3
    ok.first_token()
    clock[0] += 0.2
    ok.first_token()  # a second choice's first token: not counted again
    clock[0] += 1.5
    ok.done(200)
    ok.done(500)  # an error path after the success path: ignored

    failed = m.track_request(stream=False)  # failed before its tools were read
    clock[0] += 0.05
    failed.done(400)

    fams = scrape(m)
    assert value(fams, "functionary_requests_total", status="200", mode="required", stream="true") == 1
    assert value(fams, "functionary_requests_total", status="400", mode="unknown", stream="false") == 1
    with pytest.raises(KeyError):
        value(fams, "functionary_requests_total", status="500", mode="required", stream="true")

    assert value(fams, "functionary_time_to_first_token_seconds_count", stream="true") == 1
    assert value(fams, "functionary_time_to_first_token_seconds_sum", stream="true") == pytest.approx(0.3)
    assert value(fams, "functionary_time_to_first_token_seconds_bucket", stream="true", le="0.25") == 0
    assert value(fams, "functionary_time_to_first_token_seconds_bucket", stream="true", le="0.5") == 1
    assert value(fams, "functionary_request_duration_seconds_count", stream="true") == 1
    assert value(fams, "functionary_request_duration_seconds_sum", stream="true") == pytest.approx(2.0)
    # the 400 is not timed
    assert value(fams, "functionary_request_duration_seconds_count", stream="false") == 0


def test_latency_buckets_span_10ms_to_120s():
    m = Metrics()
    for seconds in (0.005, 0.5, 119.0, 500.0):
        m.observe_latency(seconds, stream=False)
    fams = scrape(m)
    assert fams["functionary_request_duration_seconds"].type == "histogram"
    les = [s.labels["le"] for s in fams["functionary_request_duration_seconds"].samples
           if s.name.endswith("_bucket") and s.labels["stream"] == "false"]
    assert les == [repr(float(b)) for b in LATENCY_BUCKETS] + ["+Inf"]
    assert les[0] == "0.01" and les[-2] == "120.0"
    def bucket(le: str) -> float:
        return value(fams, "functionary_request_duration_seconds_bucket", stream="false", le=le)

    assert (bucket("0.01"), bucket("0.5"), bucket("120.0"), bucket("+Inf")) == (1, 2, 3, 4)
    assert value(fams, "functionary_request_duration_seconds_count", stream="false") == 4


def test_tokens():
    m = Metrics()
    m.add_tokens(prompt=120, completion=30)
    m.add_tokens(completion=5)
    m.add_tokens(prompt=0, completion=-1)  # nonsense is ignored, not an error
    fams = scrape(m)
    assert value(fams, "functionary_prompt_tokens_total") == 120
    assert value(fams, "functionary_completion_tokens_total") == 35


# ----------------------------------------------------------------------------- engine


class FakeEngine:
    def __init__(self, stats: dict) -> None:
        self._stats = stats
        self.fail = False

    def stats(self) -> dict:
        if self.fail:
            raise RuntimeError("engine is dead")
        return dict(self._stats)


def test_running_and_waiting_are_read_at_scrape_time():
    m = Metrics()
    assert "functionary_requests_running" not in scrape(m)  # no engine watched yet
    engine = FakeEngine({"running": 3, "waiting": 1})
    m.watch_engine(engine)
    fams = scrape(m)
    assert fams["functionary_requests_running"].type == "gauge"
    assert value(fams, "functionary_requests_running") == 3
    assert value(fams, "functionary_requests_waiting") == 1
    assert "functionary_prefix_cache_hits" not in fams  # vLLM's stats have no prefix-cache figures

    engine._stats = {"running": 0, "waiting": 7, "prefix_cache_hits": 4, "prefix_cache_tokens": 512}
    fams = scrape(m)
    assert value(fams, "functionary_requests_running") == 0
    assert value(fams, "functionary_requests_waiting") == 7
    assert value(fams, "functionary_prefix_cache_hits_total") == 4
    assert value(fams, "functionary_prefix_cache_reused_tokens_total") == 512

    engine.fail = True  # the scrape still works, without the engine's figures
    fams = scrape(m)
    assert "functionary_requests_running" not in fams
    assert "functionary_engine_up" in fams


def test_engine_life():
    m = Metrics()
    assert value(scrape(m), "functionary_engine_up") == 0
    m.set_engine_up(True)
    assert value(scrape(m), "functionary_engine_up") == 1
    m.engine_died()
    fams = scrape(m)
    assert value(fams, "functionary_engine_up") == 0
    assert value(fams, "functionary_engine_deaths_total") == 1
    assert value(fams, "process_start_time_seconds") > 0  # restarts: its changes, across processes
    m.set_engine_up(True)
    assert value(scrape(m), "functionary_engine_up") == 1


# ----------------------------------------------------------------------------- calls


def test_calls_and_closing():
    m = Metrics()
    fams = scrape(m)
    assert value(fams, "functionary_replies_closed_total", reason="length") == 0  # present from the start
    assert value(fams, "functionary_replies_closed_total", reason="repeat") == 0
    for _ in range(3):
        m.call_validated()
    m.call_rejected()
    m.reply_closed("length")
    m.reply_closed("length")
    m.reply_closed("repeat")
    m.reply_closed("abort")  # not a close reason: bounded as "other"
    fams = scrape(m)
    assert value(fams, "functionary_calls_validated_total") == 3
    assert value(fams, "functionary_calls_rejected_total") == 1
    assert value(fams, "functionary_replies_closed_total", reason="length") == 2
    assert value(fams, "functionary_replies_closed_total", reason="repeat") == 1
    assert value(fams, "functionary_replies_closed_total", reason="other") == 1


# ----------------------------------------------------------------------------- grammars


def test_grammar_methods():
    m = Metrics()
    m.grammar_cache_hit()
    m.grammar_compiled(0.004)
    m.grammar_compiled(2.0)
    fams = scrape(m)
    assert value(fams, "functionary_grammar_cache_hits_total") == 1
    assert value(fams, "functionary_grammar_cache_misses_total") == 2
    assert fams["functionary_grammar_compile_seconds"].type == "histogram"
    assert value(fams, "functionary_grammar_compile_seconds_count") == 2
    assert value(fams, "functionary_grammar_compile_seconds_sum") == pytest.approx(2.004)
    assert value(fams, "functionary_grammar_compile_seconds_bucket", le="0.005") == 1
    assert value(fams, "functionary_grammar_compile_seconds_bucket", le="1.0") == 1
    assert value(fams, "functionary_grammar_compile_seconds_bucket", le="2.5") == 2


def test_grammar_cache_reports_to_the_metrics():
    from functionary.engines.transformers_engine.grammar import GrammarCache

    from .formats.support import VOCAB_SIZE, load_tokenizer

    tok = load_tokenizer()
    cache = GrammarCache(tok, vocab_size=VOCAB_SIZE, stop_token_ids=[tok.eos_token_id])

    class Engine(FakeEngine):
        grammars = cache

    m = Metrics()
    m.watch_engine(Engine({"running": 0, "waiting": 0}))
    assert cache.observer is m

    spec = ConstraintSpec("json_schema", json.dumps(SCHEMA))
    cache.get(spec)  # compiled: a miss
    cache.get(spec)  # a hit
    cache.matcher(spec)  # a choice's matcher after prepare(): no second hit
    with pytest.raises(ValueError):
        cache.get(ConstraintSpec("grammar", "root ::= undefined_rule"))  # a failed compile: a miss too
    fams = scrape(m)
    assert value(fams, "functionary_grammar_cache_misses_total") == 2
    assert value(fams, "functionary_grammar_cache_hits_total") == 1
    assert value(fams, "functionary_grammar_compile_seconds_count") == 2


def test_grammar_cache_without_observer_still_works():
    from functionary.engines.transformers_engine.grammar import GrammarCache

    from .formats.support import VOCAB_SIZE, load_tokenizer

    tok = load_tokenizer()
    cache = GrammarCache(tok, vocab_size=VOCAB_SIZE, stop_token_ids=[tok.eos_token_id])
    spec = ConstraintSpec("json_schema", json.dumps(SCHEMA))
    assert cache.get(spec) is cache.get(spec)
    assert cache.matcher(spec).accept_string('{"answer": "x"}')


# ----------------------------------------------------------------------------- exposition


def test_registries_are_separate():
    a, b = Metrics(), Metrics()  # would raise "Duplicated timeseries" on one shared registry
    a.call_validated()
    assert value(scrape(a), "functionary_calls_validated_total") == 1
    assert value(scrape(b), "functionary_calls_validated_total") == 0


def test_names_are_prefixed_and_carry_units():
    fams = scrape(Metrics())
    for name, fam in fams.items():
        if name.startswith("process_"):  # the standard process collector (start time, memory)
            continue
        assert name.startswith("functionary_"), name
        if fam.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in fam.samples), name
        if fam.type == "histogram":
            assert name.endswith("_seconds"), name


def test_openmetrics_when_asked():
    m = Metrics()
    m.call_validated()
    body, content_type = m.exposition("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")
    assert b"functionary_calls_validated_total 1.0" in body
    body, content_type = m.exposition("text/plain")
    assert content_type.startswith("text/plain;")
    assert b"functionary_calls_validated_total 1.0" in body
