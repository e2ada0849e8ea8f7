"""Reading training files: OpenAI chat fine-tuning JSONL, as the data synthesizer, the
client helpers' `finetune_file` and `@distill` records all write it, rendered into
token sequences by the served format."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from functionary.eval.dataset import object_lines
from functionary.train.render import ConversationRenderer, ExampleError, Rendered


@dataclass
class Loaded:
    examples: list[Rendered]
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    samples: list[str] = field(default_factory=list)  # a few "file:line: reason"


def read_rows(paths: Iterable[str]) -> list[tuple[str, dict]]:
    """(where, row) for every non-empty line; a line that is not a JSON object fails loudly."""
    rows = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        rows += [(f"{path}:{n}", row) for n, row in object_lines(p.read_text(encoding="utf-8").splitlines(), path)]
    return rows


def load(paths: Iterable[str], renderer: ConversationRenderer, max_length: int) -> Loaded:
    """Rendered examples; unusable or too long ones are counted, not trained on."""
    out = Loaded([])
    for where, row in read_rows(paths):
        try:
            ex = renderer.render(row)
        except ExampleError as exc:
            reason = str(exc)
        else:
            if len(ex.input_ids) <= max_length:
                out.examples.append(ex)
                continue
            reason = f"longer than --max-length {max_length} tokens"
        key = reason.split(":")[0]
        out.skipped[key] += 1
        if len(out.samples) < 10:
            out.samples.append(f"{where}: {reason}")
    return out
