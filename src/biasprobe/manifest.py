"""The run manifest (``outputs/<run>/manifest.json``) as one typed, versioned model.

Local runs (``runner``) and imports (``importer``) both build a :class:`Manifest` and write it
through :func:`manifest_json`, so the file has one shape: sections a kind of run does not have
are left out (an import has no ``generation``; a local run has no import ``source``), never
filled with guesses. Reading validates the untrusted file (``store.read_manifest`` /
``store.load_manifest``): a wrong type is one ``error:`` line, not a crash three modules later.

Versions: ``schema_version`` 1 is the shape biasprobe 0.2 wrote from both writers; it is still
the current one (nothing was removed or renamed), so old run folders read unchanged. A manifest
from a newer biasprobe (a higher version) is refused with a clear message. Unknown keys are kept
(a newer minor version may add sections) but not interpreted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from biasprobe.errors import RunStoreError
from biasprobe.records import JSONObject

MANIFEST_VERSION = 1


class _Section(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class ModelSection(_Section):
    """What answered: a models.yaml entry with resolved provenance, or an imported model name."""

    name: str | None = None
    source: str | None = None  # "import" for answers imported from a file
    entry: JSONObject | None = None  # the models.yaml entry as run (config.ModelEntry)
    origin: dict[str, str] | None = None
    resolved_revision: str | None = None
    files_sha256: dict[str, str] | None = None
    weights_sha256: dict[str, str] | None = None
    tokenizer_sha256: str | None = None


class ProbesSection(_Section):
    set: str | None = None
    count: int | None = Field(default=None, ge=0)
    sha256: str | None = None
    responses: int | None = Field(default=None, ge=0)  # imports: answers (several per prompt)


class BackendSection(_Section):
    """``backends.base.BackendInfo`` as recorded (``backend: import`` for imports)."""

    backend: str | None = None
    model_id: str | None = None
    resolved_revision: str | None = None
    weights_sha256: dict[str, str] = Field(default_factory=dict)
    tokenizer_sha256: str | None = None
    chat_template_sha256: str | None = None
    dtype: str | None = None
    device: str | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    extra: JSONObject = Field(default_factory=dict)


class ImportSection(_Section):
    """The file answers were imported from."""

    path: str
    sha256: str
    lines: int = Field(ge=0)


class RunFingerprint(_Section):
    """What a resumed run must share with the stored one (``store.check_same_fingerprint``);
    an import records the file and model its answers came from."""

    backend: str | None = None  # imports: "import"
    # local runs: config.ModelEntry.fingerprint() (the entry's answer-changing fields, as
    # written by that biasprobe version); imports: the model name
    model: JSONObject | str | None = None
    files_sha256: dict[str, str] | None = None
    revision: str | None = None
    probes_sha256: str | None = None
    source_sha256: str | None = None  # imports


class Manifest(_Section):
    schema_version: int = Field(default=1, ge=1)
    run_id: str = Field(min_length=1)
    biasprobe_version: str | None = None
    model: ModelSection = ModelSection()
    probes: ProbesSection = ProbesSection()
    backend: BackendSection | None = None
    fingerprint: RunFingerprint = RunFingerprint()  # local runs only
    generation: JSONObject | None = None  # config.GenerationSettings as run
    seed: int | None = None
    batch_size: int | None = None
    environment: dict[str, str] | None = None
    source: ImportSection | None = None
    created: str | None = None
    resumed: list[str] = Field(default_factory=list)
    completed: str | None = None
    status: str | None = None
    finished: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _model_may_be_a_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("model"), str):
            data = {**data, "model": {"name": data["model"]}}
        return data

    @model_validator(mode="after")
    def _not_from_the_future(self) -> Manifest:
        if self.schema_version > MANIFEST_VERSION:
            raise ValueError(f"schema_version {self.schema_version} is newer than this biasprobe "
                             f"reads ({MANIFEST_VERSION}); upgrade biasprobe")
        return self

    @property
    def imported(self) -> bool:
        return self.source is not None or self.model.source == "import"

    @property
    def model_name(self) -> str | None:
        if self.model.name:
            return self.model.name
        return self.backend.model_id if self.backend is not None else None

    @property
    def complete(self) -> bool:
        return bool(self.completed) or self.status == "complete"


def manifest_json(manifest: Manifest) -> JSONObject:
    """The JSON object written to manifest.json (the one writer for runs and imports): the
    fields the builder set, so a section a run kind does not have stays out of the file."""
    return manifest.model_dump(mode="json", exclude_unset=True)


def parse_manifest(data: Any, path: Path) -> Manifest:
    """Validate a manifest read from ``path``; a bad one is a one-line :class:`RunStoreError`."""
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = repr(".".join(str(p) for p in err["loc"])[:120])[1:-1] or "manifest"
        raise RunStoreError(f"{path}: corrupt manifest ({where}: {err['msg']})") from None
