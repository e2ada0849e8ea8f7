"""The command line without vLLM: these run whether or not vLLM is installed (the vLLM
side is test_vllm_engine_args.py, which needs it)."""

from __future__ import annotations

import pytest

from functionary import cli


def test_explicit_engine_choice_wins():
    assert cli.choose_engine(["--engine", "transformers"]) == "transformers"
    assert cli.choose_engine(["--port", "1", "--engine=vllm"]) == "vllm"


def test_transformers_engine_rejects_vllm_only_arguments(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser("transformers").parse_args(["--tensor-parallel-size", "2"])
    assert "--tensor-parallel-size" in capsys.readouterr().err


def test_host_default_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("FUNCTIONARY_HOST", "0.0.0.0")
    assert cli.build_parser("transformers").parse_args([]).host == "0.0.0.0"
    assert cli.build_parser("transformers").parse_args(["--host", "10.0.0.1"]).host == "10.0.0.1"


def test_log_level_accepted_in_any_case():
    assert cli.build_parser("transformers").parse_args(["--log-level", "WARNING"]).log_level == "warning"


def test_max_request_bytes_defaults_to_4_mib():
    assert cli.build_parser("transformers").parse_args([]).max_request_bytes == 4 << 20
    assert cli.build_parser("transformers").parse_args(["--max-request-bytes", "10"]).max_request_bytes == 10
