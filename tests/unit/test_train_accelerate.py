"""Multi-process training goes through accelerate: the shipped FSDP and DeepSpeed configs
are valid accelerate configs, and a real two-process run (data parallel on the CPU,
gloo) trains and writes its outputs once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from accelerate.commands.config.config_args import load_config_from_file
from accelerate.utils import DistributedType

from tests.unit.test_train_batching import row

CONFIGS = Path(__file__).resolve().parents[2] / "functionary" / "train" / "accelerate"


@pytest.mark.parametrize("name,kind", [("fsdp.yaml", DistributedType.FSDP),
                                       ("deepspeed_zero2.yaml", DistributedType.DEEPSPEED),
                                       ("deepspeed_zero3.yaml", DistributedType.DEEPSPEED)])
def test_shipped_configs_load_as_accelerate_configs(name, kind):
    config = load_config_from_file(str(CONFIGS / name))
    assert config.distributed_type == kind and config.mixed_precision == "bf16"
    if kind == DistributedType.FSDP:
        assert config.fsdp_config["fsdp_state_dict_type"] == "FULL_STATE_DICT"  # OUT/merged is a whole model
    else:
        assert config.deepspeed_config["zero_stage"] in (2, 3)


def test_two_processes_train_through_accelerate(tmp_path, tiny_dir):
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(row(i)) + "\n" for i in range(16)))
    (tmp_path / "cpu.yaml").write_text("compute_environment: LOCAL_MACHINE\ndistributed_type: MULTI_CPU\n"
                                       "num_machines: 1\nnum_processes: 2\nmachine_rank: 0\nmixed_precision: 'no'\n"
                                       "rdzv_backend: static\nsame_network: true\nuse_cpu: true\n")
    done = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                           str(tmp_path / "cpu.yaml"), "-m", "functionary.train",
                           "--data", str(tmp_path / "train.jsonl"),
                           "--out", str(tmp_path / "out"), "--model", str(tiny_dir), "--max-steps", "2",
                           "--batch-size", "4", "--dtype", "float32", "--logging-steps", "1"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "train_report.json").read_text())
    assert report["steps"] == 2
    assert report["epochs"] == 0.5  # 4 micro-batches a epoch, split over two processes: 2 steps = half of it
    assert (tmp_path / "out" / "merged" / "config.json").is_file()
