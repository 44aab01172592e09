"""A local judge's verdicts: the append-only ``judgements.jsonl`` of a run, and the rule that
combines them with the classifier's labels.

``score --judge MODEL`` / ``run --judge MODEL`` (:mod:`biasprobe.classify.judge`) ask a
registry model for a verdict on answers and append one :class:`Judgement` per answer asked:
the judge's name and the sha256 of its files, the sha256 of the judge prompt, the raw reply
and the label parsed from it (``None`` when the reply does not parse). ``scores.jsonl`` is never
rewritten; the verdicts sit apart, between the classifier and human review:

**The combination rule** (:func:`apply_judgements`). An answer is *unsure* when the classifier
labelled it ``uncertain``, gave it a confidence below :data:`JUDGE_BELOW` (0.75), or flagged its
language as one the embedder does not cover (``language_not_covered:``). For an unsure answer
the judge's verdict is the label (flag ``judge:<label>``). For any other answer the
classifier's label stays and a different verdict is flagged ``judge_disagrees:<label>``. An
unparseable reply changes nothing. When several judgements exist for one answer (another
judge, another prompt), the latest parsed one in the file wins. Human overrides
(``overrides.jsonl``) are applied after this and still win.

This module is light (no model, no numpy): ``show``, ``diff``, ``compare`` and ``report`` read
labels through :func:`biasprobe.diff.read_scores`, which applies judgements then overrides. The
file is untrusted like every run file: each line is validated; a bad line is an error (exit 2).
Writes go through :func:`biasprobe.store.append_run_lines` (run lock held, links refused).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from biasprobe import labels as label_registry
from biasprobe.judgescope import JUDGE_BELOW
from biasprobe.records import SCHEMA_VERSION, Label, Score
from biasprobe.store import append_run_lines, read_side_records

JUDGEMENTS = "judgements.jsonl"
NOT_COVERED_FLAG = "language_not_covered:"
_SHA256 = r"^[0-9a-f]{64}$"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"

Key = tuple[str, int]


class Judgement(BaseModel):
    """One verdict of one judge on one answer, as stored in judgements.jsonl."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    schema_version: int = SCHEMA_VERSION
    probe_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    sample: int = Field(default=0, ge=0)
    judge: str = Field(min_length=1, max_length=100, pattern=_NAME)  # registry name
    judge_sha256: str | None = Field(default=None, pattern=_SHA256)  # None: a served model
    prompt_sha256: str = Field(pattern=_SHA256)
    raw: str = Field(max_length=20000)  # the judge's reply as generated
    label: Label | None  # parsed from ``raw``; None = unparseable
    classifier_label: Label | None = None  # the classifier's label when the judge was asked
    classifier_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    created: str = Field(min_length=1, max_length=64)  # ISO 8601 UTC

    @field_validator("label")
    @classmethod
    def _a_verdict(cls, value: Label | None) -> Label | None:
        if value is not None and value.value not in label_registry.predicted_names():
            raise ValueError(f"a verdict is one of {', '.join(label_registry.predicted_names())}")
        return value

    @property
    def key(self) -> Key:
        return (self.probe_id, self.sample)

    @property
    def identity(self) -> tuple[str, str | None, str]:
        """Judge name, judge files hash, prompt hash: the cache key with the answer's key."""
        return (self.judge, self.judge_sha256, self.prompt_sha256)


def read_judgements(run_dir: Path) -> list[Judgement]:
    """Every judgement, in file order; a missing file is an empty list, a bad line an error."""
    return read_side_records(run_dir, JUDGEMENTS, Judgement, "judgement")


def latest_verdicts(judgements: Iterable[Judgement]) -> dict[Key, Judgement]:
    """The verdict in force for each judged answer: the latest *parsed* judgement wins."""
    return {j.key: j for j in judgements if j.label is not None}


def is_unsure(score: Score) -> bool:
    """Where the judge decides: uncertain, low confidence, or a language the embedder lacks."""
    return unsure(score.label, score.confidence, score.flags)


def unsure(label: Label, confidence: float, flags: Iterable[str]) -> bool:
    """:func:`is_unsure` on the parts of a score (or of a prediction not stored yet)."""
    return (
        label is Label.uncertain
        or confidence < JUDGE_BELOW
        or any(f.startswith(NOT_COVERED_FLAG) for f in flags)
    )


def combine(score: Score, verdict: Label) -> Score:
    """``score`` with the judge's ``verdict`` put in by the rule of the module docstring."""
    if is_unsure(score):
        return score.model_copy(update={"label": verdict, "flags": [*score.flags, f"judge:{verdict.value}"]})
    if verdict is not score.label:
        return score.model_copy(update={"flags": [*score.flags, f"judge_disagrees:{verdict.value}"]})
    return score


def apply_judgements(
    scores: Mapping[Key, Score], verdicts: Mapping[Key, Judgement]
) -> tuple[dict[Key, Score], int]:
    """Scores combined with the verdicts, and how many labels the judge set."""
    out = dict(scores)
    decided = 0
    for key, j in verdicts.items():
        score = out.get(key)
        if score is None or j.label is None:
            continue
        decided += is_unsure(score)
        out[key] = combine(score, j.label)
    return out, decided


def judged_scores(run_dir: Path, scores: Mapping[Key, Score]) -> dict[Key, Score]:
    """``scores`` of ``run_dir`` with its judgements applied (no file: unchanged)."""
    return apply_judgements(scores, latest_verdicts(read_judgements(run_dir)))[0]


def append_judgements(run_dir: Path, records: Iterable[Judgement]) -> int:
    """Append verdicts to the run's judgements.jsonl (lock held, links refused)."""
    lines = [r.model_dump_json() for r in records]
    if lines:
        append_run_lines(run_dir, JUDGEMENTS, lines)
    return len(lines)
