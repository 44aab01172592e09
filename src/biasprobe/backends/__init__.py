"""Generation backends. Heavy imports (torch, transformers, httpx, vllm) happen inside each module.

``resolve_model`` obtains and verifies what a backend needs (weights, hashes) without loading
it, so a run can check its manifest before spending time on loading; ``load_backend`` then
constructs the backend the entry asks for:

- ``fake`` ({fake: [...]} source): queued answers, for tests and dry runs;
- ``openai`` ({openai: MODEL, base_url: URL} source): an OpenAI-compatible server (vLLM, SGLang,
  llama.cpp server, TGI, ``transformers serve``); nothing is downloaded;
- ``vllm`` (any weights source): in-process vLLM engine (``pip install biasprobe[vllm]``);
- ``transformers`` (any weights source, the default).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from biasprobe.backends.base import Backend
from biasprobe.config import FakeSource, ModelEntry, OpenAISource
from biasprobe.sources import ResolvedModel


def resolve_model(entry: ModelEntry, log: Callable[[str], None] = print) -> ResolvedModel:
    if isinstance(entry.source, FakeSource):
        digest = hashlib.sha256(json.dumps(entry.source.fake).encode()).hexdigest()
        return ResolvedModel(path=Path("."), revision=None, files_sha256={"fake": digest})
    if isinstance(entry.source, OpenAISource):
        # The weights live on the server; its model id is recorded by the backend's info().
        return ResolvedModel(
            path=Path("."), revision=None, files_sha256={},
            origin={"openai": entry.source.openai, "base_url": entry.source.base_url},
        )
    if entry.backend == "vllm":
        from biasprobe.backends.vllm import require_vllm

        require_vllm()  # fail before downloading or converting weights
    from biasprobe.sources import resolve

    return resolve(entry, log)


def load_backend(entry: ModelEntry, resolved: ResolvedModel) -> Backend:
    if isinstance(entry.source, FakeSource):
        from biasprobe.backends.fake import FakeBackend

        return FakeBackend(entry.source.fake, model_id=entry.name, delay_s=entry.source.delay_s)
    if entry.backend == "openai":
        from biasprobe.backends.openai import OpenAIBackend

        return OpenAIBackend(entry)
    if entry.backend == "vllm":
        from biasprobe.backends.vllm import VLLMBackend

        return VLLMBackend(entry, resolved)
    from biasprobe.backends.transformers import TransformersBackend

    return TransformersBackend(entry, resolved)
