"""Reviewed answers as a gold set: ``biasprobe eval-classifier --from-run RUN``.

Every answer of the run with an override is gold, the reviewer's label the truth: changed
labels and *confirmations* (a reviewer kept the classifier's label) alike. The prediction is the
classifier's own label in ``scores.jsonl`` (before any override), so the figures measure the
labels behind the run's statistics; to measure another classifier on the same gold, re-score the
run (``biasprobe score RUN --embedder …``): overrides are keyed by (probe_id, sample) and stay.
Gold answers a reviewer marked ``uncertain`` are left out (counted). For an ``uncertain``
prediction the classifier's best guess (its ``best_guess:`` flag) is used, as in
:func:`biasprobe.classify.evaluate.evaluate`.

Caveat printed with the figures: a reviewer who saw the classifier's label may lean towards it,
so agreement on reviewed answers can be higher than on blind labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

from biasprobe.errors import BiasprobeError
from biasprobe.records import Label, Score

if TYPE_CHECKING:  # the classifier package is imported only when a gold set is loaded
    from biasprobe.classify.evaluate import LabelledRow

    class GoldRow(LabelledRow):
        label: Label  # the reviewer's label (biasprobe's four labels, uncertain left out)


class GoldSetError(BiasprobeError):
    """The run has no usable reviewed answers."""


class GoldInfo(TypedDict):
    """Where a gold set came from (``eval-classifier --from-run --json`` prints it as ``gold``)."""

    run: str
    reviewed: int
    agrees_with_classifier: int
    reviewed_uncertain_left_out: int
    classifier_versions: list[str]
    embedders: list[str]


@dataclass(frozen=True)
class GoldSet:
    """Rows in :func:`~biasprobe.classify.evaluate.read_labelled`'s shape, with the stored
    predictions for them and where they came from."""

    rows: list[GoldRow]
    predictions: list[Label]
    best: list[Label]
    info: GoldInfo


def best_guess(score: Score) -> Label:
    """The score's label, or for ``uncertain`` its best guess (flag ``best_guess:LABEL``)."""
    if score.label is not Label.uncertain:
        return score.label
    for flag in score.flags:
        if flag.startswith("best_guess:"):
            try:
                return Label(flag.removeprefix("best_guess:"))
            except ValueError:
                break
    return Label.uncertain


def load_gold(run: str, *, blind_only: bool = False) -> GoldSet:
    """The reviewed answers of ``run`` (id or directory) against the classifier's labels
    (``blind_only``: only answers reviewed blind, each with its latest blind label)."""
    from biasprobe.classify.evaluate import to_gold
    from biasprobe.diff import read_scores
    from biasprobe.overrides import latest_blind, latest_overrides
    from biasprobe.store import SCORES, read_manifest, read_responses, resolve_run_dir

    run_dir = resolve_run_dir(run)
    run_id = str(read_manifest(run_dir).get("run_id", run_dir.name))
    if not (run_dir / SCORES).exists():
        raise GoldSetError(f"run {run_id!r} has no scores: run `biasprobe score {run_id}` first")
    scores = read_scores(run_dir, reviewed=False)
    overrides = latest_blind(run_dir) if blind_only else latest_overrides(run_dir)
    rows: list[GoldRow] = []
    used: list[Score] = []
    skipped = 0
    for r in read_responses(run_dir):
        ov, score = overrides.get(r.key), scores.get(r.key)
        if ov is None or score is None:
            continue
        gold = to_gold(ov.label_after.value)
        if gold is None:  # the reviewer could not tell either
            skipped += 1
            continue
        rows.append({"text": r.answer, "gold": gold, "prompt": r.probe_text,
                     "language": r.language, "group": r.probe_id, "label": ov.label_after})
        used.append(score)
    if not rows:
        kind, how = ("blind-reviewed", " --blind") if blind_only else ("reviewed", "")
        raise GoldSetError(f"run {run_id!r} has no {kind} answers: "
                           f"review some first with `biasprobe review {run_id}{how}`")
    info: GoldInfo = {"run": run_id, "reviewed": len(rows),
            "agrees_with_classifier": sum(
                row["label"] is s.label for row, s in zip(rows, used, strict=True)),
            "reviewed_uncertain_left_out": skipped,
            "classifier_versions": sorted({s.classifier_version for s in used}),
            "embedders": sorted({s.embedder for s in used})}
    preds = [s.label for s in used]
    best = [best_guess(s) for s in used]
    return GoldSet(rows=rows, predictions=preds, best=best, info=info)


def label_kappa(gold: GoldSet) -> float | None:
    """Cohen's κ on biasprobe's four labels (deflection and official_line kept apart)."""
    from biasprobe.classify.evaluate import cohen_kappa

    return cohen_kappa([row["label"].value for row in gold.rows], [b.value for b in gold.best])
