"""Fine-tuning examples in the OpenAI chat format with `tools` (not legacy `functions`):
one JSON object per line, `{"messages": [...], "tools": [...], "parallel_tool_calls": ...}`.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Sequence

__all__ = ["finetune_example", "append_jsonl"]

_write_lock = threading.Lock()  # one line at a time, also from worker threads


def finetune_example(messages: Sequence[dict], tools: Sequence[dict],
                     parallel_tool_calls: bool | None = None) -> dict:
    """An example from a clean history. Trailing tool results are dropped: the example
    ends with the assistant turn being trained (its calls, or its final answer)."""
    msgs = [{k: v for k, v in m.items() if v is not None} for m in messages]
    while msgs and msgs[-1].get("role") == "tool":
        msgs.pop()
    if not msgs or msgs[-1].get("role") != "assistant":
        raise ValueError("a fine-tuning example must end with an assistant message")
    example: dict = {"messages": msgs, "tools": list(tools)}
    if parallel_tool_calls is not None:
        example["parallel_tool_calls"] = parallel_tool_calls
    return example


def append_jsonl(path: str | Path, example: dict) -> None:
    """Append one example as a line of `path` (parent folders are created)."""
    path = Path(path)
    line = json.dumps(example, ensure_ascii=False) + "\n"
    with _write_lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(line)
