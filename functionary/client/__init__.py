"""Client helpers: structured results from pydantic models and plain functions.

    from functionary.client import get_completion_sync
    result = get_completion_sync(user_message="...", tools=[MyModel, my_function], retries=2)
    result.results        # validated MyModel instances / my_function return values

See README.md, "Client helpers".
"""

from functionary.client.calls import CallOutcome, ToolError
from functionary.client.completion import (DEFAULT_BASE_URL, CompletionResult, ToolCallsFailed, capture_completions,
                                           default_client, get_completion, get_completion_sync)
from functionary.client.distill import Distilled, distill, distill_pipeline
from functionary.client.docstrings import parse_docstring
from functionary.client.finetune import append_jsonl, finetune_example
from functionary.client.schemas import Tool, as_tool

__all__ = [
    "get_completion", "get_completion_sync", "CompletionResult", "ToolCallsFailed", "ToolError", "CallOutcome",
    "Tool", "as_tool", "parse_docstring", "finetune_example", "append_jsonl", "distill", "distill_pipeline",
    "Distilled", "capture_completions", "default_client", "DEFAULT_BASE_URL",
]
