"""Human review of labels: the append-only ``overrides.jsonl`` of a run directory.

The classifier's verdicts in ``scores.jsonl`` are never rewritten. A reviewer's decision is a
new :class:`Override` line (the label before and after, an optional note, who and when, and the
classifier version of the score it overrides); the latest line for a ``(probe_id, sample)`` wins.
A decision that keeps the label (``label_before == label_after``) is a *confirmation*: it changes
nothing but makes the answer part of the gold set (``eval-classifier --from-run``).

Every reader of labels (``show``, ``diff``, ``compare``, ``report``, ``review``) applies the
overrides through :func:`apply_overrides` and reports how many it used. The file is untrusted
like every run file: each line is validated, and a bad line is an error (exit 2), never skipped.
Writes go through :func:`biasprobe.store.append_run_lines` (run lock held, links refused).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from biasprobe.errors import BiasprobeError, RunStoreError
from biasprobe.records import SCHEMA_VERSION, Label, Score
from biasprobe.store import append_run_lines, iter_records, utcnow

OVERRIDES = "overrides.jsonl"
PROBE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
_ONE_LINE = r"^[^\r\n]*$"

Key = tuple[str, int]


class Override(BaseModel):
    """One reviewer decision about one answer, as stored in overrides.jsonl."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    schema_version: int = SCHEMA_VERSION
    probe_id: str = Field(min_length=1, max_length=200, pattern=PROBE_ID_PATTERN)
    sample: int = Field(default=0, ge=0)
    label_before: Label
    label_after: Label
    note: str | None = Field(default=None, max_length=2000)
    reviewer: str = Field(min_length=1, max_length=100, pattern=_ONE_LINE)
    created: str = Field(min_length=1, max_length=64)  # ISO 8601 UTC
    classifier_version: str | None = Field(default=None, max_length=100)
    # Set when the decision was made blind (``review --blind``): the reviewer saw no label and
    # took the answers in the random order this seed draws (:mod:`biasprobe.blindcheck`).
    blind_seed: int | None = Field(default=None, ge=0, le=2**32 - 1)

    @property
    def key(self) -> Key:
        return (self.probe_id, self.sample)

    @property
    def blind(self) -> bool:
        return self.blind_seed is not None

    @property
    def confirms(self) -> bool:
        return self.label_before is self.label_after


def default_reviewer() -> str:
    """The login name, or ``unknown`` where the system cannot tell."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError, ImportError):
        return "unknown"
    return check_reviewer(name) if name and name.strip() else "unknown"


def check_reviewer(name: str) -> str:
    """A reviewer name is one short line (it is shown in tables and CSV files)."""
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise BiasprobeError("--reviewer: give a name of 1 to 100 characters")
    return name


def make_override(
    score: Score,
    label_after: Label,
    *,
    label_before: Label,
    reviewer: str,
    note: str | None = None,
    blind_seed: int | None = None,
) -> Override:
    """A decision about the answer ``score`` labels, stamped with the current UTC time
    (``blind_seed``: made blind, in the random order of that seed)."""
    return Override(
        probe_id=score.probe_id,
        sample=score.sample,
        label_before=label_before,
        label_after=label_after,
        note=(note.strip() or None) if note else None,
        reviewer=reviewer,
        created=utcnow(),
        classifier_version=score.classifier_version,
        blind_seed=blind_seed,
    )


def read_overrides(run_dir: Path) -> list[Override]:
    """Every override, in file order; a missing file is an empty list, a bad line an error."""
    path = run_dir / OVERRIDES
    if path.is_symlink():
        raise RunStoreError(f"{path} is a symbolic link; refusing to read through it")
    if not path.exists():
        return []
    if not path.is_file():
        raise RunStoreError(f"{path} is not a regular file")
    out: list[Override] = []
    try:
        out.extend(o for _, o in iter_records(path, Override, "override"))
    except OSError as exc:
        raise RunStoreError(f"{path}: cannot read ({exc.strerror})") from None
    return out


def latest_overrides(run_dir: Path) -> dict[Key, Override]:
    """The decision in force for each reviewed answer: the latest line wins."""
    return latest_of(read_overrides(run_dir))


def latest_blind(run_dir: Path) -> dict[Key, Override]:
    """Each answer's latest *blind* decision (a later seen-label review does not replace it:
    the blind check needs what a reader said without seeing the classifier's label)."""
    return latest_of(o for o in read_overrides(run_dir) if o.blind)


def latest_of(overrides: Iterable[Override]) -> dict[Key, Override]:
    """The latest of ``overrides`` (in file order) for each answer."""
    return {o.key: o for o in overrides}


def apply_overrides(
    scores: Mapping[Key, Score], overrides: Mapping[Key, Override]
) -> tuple[dict[Key, Score], int]:
    """Scores with reviewed labels put in (flag ``reviewed``), and how many overrides were used
    (overrides of answers that have no score are ignored)."""
    out = dict(scores)
    used = 0
    for key, ov in overrides.items():
        score = out.get(key)
        if score is None:
            continue
        used += 1
        flags = [*score.flags, "reviewed"] if "reviewed" not in score.flags else score.flags
        out[key] = score.model_copy(update={"label": ov.label_after, "flags": flags})
    return out, used


def append_overrides(run_dir: Path, records: Iterable[Override]) -> int:
    """Append decisions to the run's overrides.jsonl (lock held, links refused)."""
    lines = [r.model_dump_json() for r in records]
    if lines:
        append_run_lines(run_dir, OVERRIDES, lines)
    return len(lines)
