"""The engine seam: token generation under a constraint, knowing nothing of tools or HTTP."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import AsyncIterator, Optional

from functionary.constraint import ConstraintSpec


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int
    temperature: float = 1.0  # 0 means greedy
    top_p: float = 1.0
    seed: Optional[int] = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0


@dataclass
class GenerationDelta:
    """New text since the last delta; `finish_reason` is set on the last one."""

    text: str
    num_tokens: int  # completion tokens so far
    finish_reason: Optional[str] = None  # "stop" | "length" | "abort"


class Engine(ABC):
    name: str  # "transformers" | "vllm", as --engine spells it
    model_name: str
    max_model_len: int
    tokenizer: object

    @abstractmethod
    async def prepare(self, spec: Optional[ConstraintSpec]) -> None:
        """Compile (and cache) a constraint ahead of generation; raises ValueError if invalid."""

    @abstractmethod
    def generate(
        self, request_id: str, prompt_ids: list[int], params: SamplingParams, spec: Optional[ConstraintSpec]
    ) -> AsyncIterator[GenerationDelta]:
        """Stream the completion. Closing the iterator early aborts the request."""

    @abstractmethod
    async def abort(self, request_id: str) -> None: ...

    def stats(self) -> dict:
        """Load figures for /health: requests decoding and waiting."""
        return {}

    def dead(self) -> Optional[str]:
        """Why the engine can no longer generate (it died), or None while it works."""
        return None

    async def start(self) -> None:
        """Begin serving (called once the event loop runs)."""

    async def stop(self) -> None: ...
