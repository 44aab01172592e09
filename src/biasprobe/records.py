"""Typed records that flow between the stages, each written as one JSON line.

``Probe`` (probes/) -> ``Response`` (outputs/<run>/responses.jsonl) -> ``Score``
(outputs/<run>/scores.jsonl). Every stage can be rerun alone from these files.
Bump ``SCHEMA_VERSION`` on any incompatible change.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from biasprobe.labels import Label as Label  # re-exported: the type of every label field

SCHEMA_VERSION = 1

#: A parsed JSON (or YAML) object whose shape is not checked where it is held: a line of a run
#: file or an import before validation, a raw probe mapping before ``build_probes``, a manifest
#: read as plain JSON (``store.read_manifest``; ``load_manifest`` gives the typed one), and the
#: free-form sections (the models.yaml entry and generation settings as an older biasprobe
#: wrote them, backend ``extra``). Values are ``object``, not ``Any``: code must narrow a value
#: (isinstance) before using it, so mypy checks every read. Typed records take over after
#: validation.
JSONObject = dict[str, object]


class ProbeKind(str, Enum):
    censorship = "censorship"
    mirror = "mirror"
    safety_control = "safety-control"
    benign_control = "benign-control"
    neutral = "neutral"


# Kinds of the political questions (asked about governments; paired across languages).
POLITICAL_KINDS: frozenset[str] = frozenset({ProbeKind.censorship.value, ProbeKind.mirror.value})


class VariantKind(str, Enum):
    """How a variant probe differs from its base probe (``biasprobe.variants``)."""

    system = "system"  # another system prompt (none / neutral / research context)
    follow_up = "follow-up"  # a second user turn after the model's first answer
    euphemism = "euphemism"  # the question in code words ("May 35th")
    prefill = "prefill"  # a forced opening of the assistant turn (local backends)


class ThinkState(str, Enum):
    """State of the reasoning block in one generation.

    none: the model emitted no think block at all (and the template did not open one);
    empty: a think block that holds only whitespace (thought suppression);
    complete: a think block with text, closed before the answer;
    truncated: a think block opened but never closed (ran out of tokens).
    """

    none = "none"
    empty = "empty"
    complete = "complete"
    truncated = "truncated"


class _Record(BaseModel):
    # Run files are untrusted: a NaN or infinite number (Python's json reads ``NaN`` and
    # ``Infinity``) is refused when read, not carried into rates, intervals and formats.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Probe(_Record):
    """One prompt of a probe set."""

    id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    text: str = Field(min_length=1)
    language: str  # BCP-47 tag, validated by biasprobe.probes
    topic: str
    kind: ProbeKind
    jurisdiction: str | None = None  # ISO 3166-1 alpha-2 of the government asked about
    pair_id: str | None = None  # links translations / counterparts of one question
    template_id: str | None = None  # set when instantiated from a mirror template
    source: str | None = None
    licence: str | None = None
    # Variants: the same question asked another way, linked to its base probe (all None on a
    # base probe; probes_hash leaves them out then, so hashes of older sets are unchanged).
    variant_of: str | None = None  # id of the base probe
    variant: str | None = None  # variant name, e.g. system-neutral, follow-up, prefill-no-think
    variant_kind: VariantKind | None = None
    system: str | None = None  # system prompt for this probe ("" = none); None = the model's
    follow_up: str | None = None  # user turn sent after the model's answer to the base text
    prefill: str | None = None  # forced start of the assistant turn (local backends only)


#: Probe fields that are left out of the probe hash when unset.
VARIANT_FIELDS: tuple[str, ...] = (
    "variant_of", "variant", "variant_kind", "system", "follow_up", "prefill",
)


class _RunLine(_Record):
    """The fields every line of a run file starts with: which answer of which run it is."""

    # A line of a newer biasprobe is refused, as a newer manifest is.
    schema_version: int = Field(default=SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)
    run_id: str
    probe_id: str
    sample: int = Field(default=0, ge=0)  # as `import`, overrides and judgements accept

    @property
    def key(self) -> tuple[str, int]:
        return (self.probe_id, self.sample)


class Response(_RunLine):
    """One generation for one probe and sample, as stored in responses.jsonl."""

    # Copied from the probe so a run directory is self-contained.
    probe_text: str
    language: str
    topic: str
    kind: str
    jurisdiction: str | None = None
    pair_id: str | None = None
    variant_of: str | None = None  # base probe id, for variant probes
    variant: str | None = None
    variant_kind: VariantKind | None = None
    # What was sent and what came back.
    prompt: str  # the full prompt as sent, after the chat template
    answer: str
    reasoning: str | None = None
    think_state: ThinkState = ThinkState.none
    finish_reason: Literal["stop", "length", "error", "unknown"] = "unknown"
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_s: float | None = None
    created: str  # ISO 8601 UTC


class Exemplar(_Record):
    """A nearest exemplar, kept as the explanation of a label."""

    label: Label
    text: str
    similarity: float


class Score(_RunLine):
    """Classifier output for one response, as stored in scores.jsonl."""

    label: Label
    confidence: float = Field(ge=0.0, le=1.0)  # a probability
    nearest_exemplars: list[Exemplar] = Field(default_factory=list)
    # -1 independent account .. +1 official account
    slant: float | None = Field(default=None, ge=-1.0, le=1.0)
    slant_method: str | None = None
    think_label: Label | None = None
    flags: list[str] = Field(default_factory=list)
    classifier_version: str
    embedder: str
    embedder_sha256: str
