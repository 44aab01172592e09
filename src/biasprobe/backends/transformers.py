"""Local generation with Hugging Face transformers (CPU, CUDA or MPS).

Batched and left-padded; greedy by default; sampling is seeded per batch from the batch's
keys, so the same batch gives the same answers. Imports torch/transformers on construction.
"""

from __future__ import annotations

import time
import zlib
from typing import Any, cast

from biasprobe.backends.base import BackendInfo, ChatRequest, Generation
from biasprobe.config import GenerationSettings, ModelEntry
from biasprobe.errors import BackendError
from biasprobe.reasoning import detect_think_markers, split_reasoning
from biasprobe.records import ThinkState
from biasprobe.sources import ResolvedModel


def pick_device(requested: str) -> str:
    import torch

    if requested != "auto":
        if requested == "cuda" and not torch.cuda.is_available():
            raise BackendError("device 'cuda' requested but no CUDA GPU is available")
        if requested == "mps" and not torch.backends.mps.is_available():
            raise BackendError("device 'mps' requested but MPS is not available")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(requested: str, device: str) -> Any:
    import torch

    if requested != "auto":
        return getattr(torch, requested)
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def batch_seed(base: int, requests: list[ChatRequest]) -> int:
    keys = "|".join(f"{pid}#{s}" for pid, s in (r.key for r in requests))
    return (base + zlib.crc32(keys.encode())) % (2**32)


class TransformersBackend:
    def __init__(self, entry: ModelEntry, resolved: ResolvedModel) -> None:
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.entry = entry
        self.resolved = resolved
        self.device = pick_device(entry.device)
        self.dtype = pick_dtype(entry.dtype, self.device)
        path = str(resolved.path)
        self.tokenizer: Any = AutoTokenizer.from_pretrained(
            path, trust_remote_code=entry.trust_remote_code
        )
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.chat_template: str | None = entry.chat_template or self.tokenizer.chat_template
        if not self.chat_template:
            raise BackendError(
                f"{entry.name}: the tokenizer has no chat template; set chat_template in models.yaml"
            )
        self.model: Any = cast(Any, AutoModelForCausalLM).from_pretrained(
            path,
            dtype=self.dtype,
            trust_remote_code=entry.trust_remote_code,
            use_safetensors=not entry.allow_pickle,
        )
        self.model.to(self.device)
        self.model.eval()
        gen_cfg = self.model.generation_config
        eos = gen_cfg.eos_token_id if gen_cfg.eos_token_id is not None else self.tokenizer.eos_token_id
        self.eos_ids: set[int] = set(eos if isinstance(eos, list) else [eos])
        self.think = entry.reasoning.mode == "think" or (
            entry.reasoning.mode == "auto"
            and detect_think_markers(self.chat_template, entry.name, entry.reasoning.start)
        )
        self._versions = {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        }

    def info(self) -> BackendInfo:
        import hashlib

        return BackendInfo(
            backend="transformers",
            model_id=self.entry.name,
            resolved_revision=self.resolved.revision,
            weights_sha256=self.resolved.weights_sha256,
            tokenizer_sha256=self.resolved.tokenizer_sha256,
            chat_template_sha256=hashlib.sha256((self.chat_template or "").encode()).hexdigest(),
            dtype=str(self.dtype).removeprefix("torch."),
            device=self.device,
            versions=self._versions,
            extra={"reasoning_split": self.think, "model_dir": str(self.resolved.path)},
        )

    def render(self, request: ChatRequest) -> str:
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        text = self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, chat_template=self.chat_template
        )
        return str(text)

    def generate(
        self, requests: list[ChatRequest], settings: GenerationSettings
    ) -> list[Generation]:
        import torch
        from transformers import set_seed

        if not requests:
            return []
        prompts = [self.render(r) for r in requests]
        enc = self.tokenizer(
            prompts, return_tensors="pt", padding=True, add_special_tokens=False
        ).to(self.device)
        kwargs: dict[str, Any] = {
            "max_new_tokens": settings.max_new_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
            "do_sample": not settings.greedy,
        }
        if settings.greedy:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(temperature=settings.temperature, top_p=settings.top_p)
            set_seed(batch_seed(settings.seed, requests))
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        latency = time.perf_counter() - start
        width = enc["input_ids"].shape[1]
        lengths = enc["attention_mask"].sum(dim=1).tolist()
        results = []
        for i, req in enumerate(requests):
            new = out[i, width:].tolist()
            n, stopped = len(new), False
            for j, tok in enumerate(new):
                if tok in self.eos_ids:
                    n, stopped = j, True
                    break
            text = str(self.tokenizer.decode(new[:n], skip_special_tokens=False))
            results.append(self._to_generation(req, prompts[i], text, stopped, int(lengths[i]), n,
                                               latency))
        return results

    def _to_generation(
        self, req: ChatRequest, prompt: str, text: str, stopped: bool, tokens_in: int,
        tokens_out: int, latency: float,
    ) -> Generation:
        fmt = self.entry.reasoning
        if self.think:
            split = split_reasoning(
                text, fmt.start, fmt.end, opened_in_prompt=prompt.rstrip().endswith(fmt.start)
            )
            answer, reasoning, state = split.answer, split.reasoning, split.think_state
        else:
            answer, reasoning, state = text.strip(), None, ThinkState.none
        return Generation(
            key=req.key,
            prompt=prompt,
            answer=answer,
            reasoning=reasoning,
            think_state=state,
            finish_reason="stop" if stopped else "length",
            tokens_in=tokens_in,
            tokens_out=tokens_out + (1 if stopped else 0),
            latency_s=latency,
        )

    def close(self) -> None:
        del self.model

