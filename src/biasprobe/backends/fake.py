"""A fake backend with queued answers, for tests and dry runs (like llm's mock model)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

from biasprobe.backends.base import BackendInfo, ChatRequest, Generation
from biasprobe.config import GenerationSettings
from biasprobe.reasoning import split_reasoning

Responder = Callable[[ChatRequest], str]


def echo(request: ChatRequest) -> str:
    """Default responder: answers with the last user message, deterministically."""
    return f"Answer to: {request.messages[-1].content}"


class FakeBackend:
    """Answers from a queue (in order), falling back to ``responder`` when it is empty.

    Completions may contain ``<think>…</think>`` blocks; they are split like real output.
    ``calls`` records each batch for assertions.
    """

    def __init__(
        self,
        answers: Iterable[str] = (),
        responder: Responder = echo,
        model_id: str = "fake",
        delay_s: float = 0.0,
    ) -> None:
        self.queue: deque[str] = deque(answers)
        self.responder = responder
        self.model_id = model_id
        self.delay_s = delay_s
        self.calls: list[list[ChatRequest]] = []
        self.closed = False

    def info(self) -> BackendInfo:
        return BackendInfo(backend="fake", model_id=self.model_id, dtype="none", device="none")

    def batch_hint(self) -> int | None:
        return None

    def generate(
        self, requests: list[ChatRequest], settings: GenerationSettings
    ) -> list[Generation]:
        self.calls.append(list(requests))
        out = []
        for req in requests:
            start = time.perf_counter()
            if self.delay_s:
                time.sleep(self.delay_s)
            raw = self.queue.popleft() if self.queue else self.responder(req)
            raw = (req.prefill or "") + raw  # a prefill is the start of the assistant turn
            words = raw.split()
            truncated = len(words) > settings.max_new_tokens
            if truncated:
                raw = " ".join(words[: settings.max_new_tokens])
            split = split_reasoning(raw)
            prompt = "\n".join(f"<{m.role}>{m.content}" for m in req.messages)
            if req.prefill:
                prompt += f"\n<assistant>{req.prefill}"
            out.append(
                Generation(
                    key=req.key,
                    prompt=prompt,
                    answer=split.answer,
                    reasoning=split.reasoning,
                    think_state=split.think_state,
                    finish_reason="length" if truncated else "stop",
                    tokens_in=len(prompt.split()),
                    tokens_out=min(len(words), settings.max_new_tokens),
                    latency_s=time.perf_counter() - start,
                )
            )
        return out

    def close(self) -> None:
        self.closed = True
