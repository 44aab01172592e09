"""The backend contract: a batch of chat requests in, one ``Generation`` per request out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from biasprobe.config import GenerationSettings
from biasprobe.reasoning import Split
from biasprobe.records import JSONObject, ThinkState


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class ChatRequest:
    """One conversation to complete. ``key`` ties the result back to (probe id, sample)."""

    key: tuple[str, int]
    messages: tuple[Message, ...]
    #: forced start of the assistant turn (a variant probe's prefill); local backends append it
    #: to the rendered prompt and the answer is split from prefill + completion
    prefill: str | None = None


def with_prefill(prompt: str, prefill: str, think_start: str = "<think>") -> tuple[str, str]:
    """(prompt + prefill, the prefill as the completion's start).

    A template that already opens the think block (the prompt ends with ``<think>``) gets the
    prefill without its own opening marker, so ``<think></think>`` closes the block once.
    """
    if prompt.rstrip().endswith(think_start) and prefill.lstrip().startswith(think_start):
        prefill = prefill.lstrip()[len(think_start):]
    return prompt + prefill, prefill


def refuse_prefill(requests: list[ChatRequest], backend: str) -> None:
    """Backends that cannot continue an assistant turn refuse prefill variants up front."""
    from biasprobe.errors import BackendError

    if any(r.prefill for r in requests):
        raise BackendError(
            f"prefill variants need a local backend that renders the prompt (transformers); "
            f"the {backend} backend cannot continue a forced assistant turn"
        )


@dataclass(frozen=True)
class Generation:
    key: tuple[str, int]
    prompt: str  # the prompt as sent (after the chat template), or a JSON dump of messages
    answer: str
    reasoning: str | None
    think_state: ThinkState
    finish_reason: str  # "stop" | "length" | "error" | "unknown"
    tokens_in: int | None
    tokens_out: int | None
    latency_s: float

    @classmethod
    def of(
        cls, key: tuple[str, int], prompt: str, split: Split, finish_reason: str,
        tokens_in: int | None, tokens_out: int | None, latency_s: float,
    ) -> Generation:
        """The one constructor the backends use: answer, reasoning and think state from ``split``."""
        return cls(
            key=key, prompt=prompt, answer=split.answer, reasoning=split.reasoning,
            think_state=split.think_state, finish_reason=finish_reason, tokens_in=tokens_in,
            tokens_out=tokens_out, latency_s=latency_s,
        )


@dataclass(frozen=True)
class BackendInfo:
    """Provenance recorded in the run manifest."""

    backend: str
    model_id: str
    resolved_revision: str | None = None
    weights_sha256: dict[str, str] = field(default_factory=dict)
    tokenizer_sha256: str | None = None
    chat_template_sha256: str | None = None
    dtype: str | None = None
    device: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    extra: JSONObject = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """Every backend (transformers, OpenAI-compatible server, fake) implements this."""

    def info(self) -> BackendInfo: ...

    def generate(
        self, requests: list[ChatRequest], settings: GenerationSettings
    ) -> list[Generation]:
        """Complete every request; results in the same order as ``requests``."""
        ...

    def batch_hint(self) -> int | None:
        """How many requests the runner should hand over per call (and stream to disk per
        batch), or None for the runner's default (the entry's explicit ``batch_size``, or the
        registry default with ``auto``). Only a backend that queues requests behind a fixed
        number of slots (the transformers continuous loop) asks for more than an explicit
        ``batch_size``."""
        ...

    def close(self) -> None: ...
